package deid

import (
	"bufio"
	"bytes"
	_ "embed"
	"strings"
)

// The name dictionaries: a few hundred common given names and surnames.
// They are deliberately small: a name column is recognised by its header or
// by most of its values matching, and free text by pairs of capitalised
// dictionary words, so the dictionary needs the common names, not all.
var (
	//go:embed dict/given.txt
	givenText []byte
	//go:embed dict/surnames.txt
	surnameText []byte
)

const (
	nameGiven   uint8 = 1 << iota // a given name
	nameSurname                   // a surname
	wordTitle                     // a title before a name: Dr, Mrs
	wordMonth                     // a month's name, capitalised: March, Mar
)

// nameDict maps a capitalised word to what it is: a given name, a surname
// ("Smith", "O'Brien"), both, a title or a month.
var nameDict = func() map[string]uint8 {
	d := map[string]uint8{}
	load := func(text []byte, flag uint8) {
		sc := bufio.NewScanner(bytes.NewReader(text))
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			d[string(line)] |= flag
		}
	}
	load(givenText, nameGiven)
	load(surnameText, nameSurname)
	// One lookup answers every question the scanner asks of a
	// capitalised word.
	for _, t := range titles {
		d[t] |= wordTitle
	}
	for m := range monthNames {
		d[strings.ToUpper(m[:1])+m[1:]] |= wordMonth
	}
	return d
}()

// titles precede a surname in free text ("Dr Patel", "Mrs Jones").
var titles = []string{"Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Sir", "Dame", "Lady", "Lord"}

// dictFilter rejects most words that are not in nameDict without hashing
// them: for each first letter (A–Z) and length (up to 15), the set of last
// letters (a–z) of the dictionary's words.
var dictFilter = func() (t [26][16]uint32) {
	for w := range nameDict {
		if f, ok := filterSlot(w); ok {
			t[f.first][f.length] |= 1 << f.last
		}
	}
	return t
}()

type filterKey struct{ first, length, last int }

func filterSlot[T string | []byte](w T) (filterKey, bool) {
	n := len(w)
	if n < 2 || n > 15 || !isUpper(w[0]) || !isLower(w[n-1]) {
		return filterKey{}, false
	}
	return filterKey{int(w[0] - 'A'), n, int(w[n-1] - 'a')}, true
}

// wordFlags returns what the capitalised word w is, from nameDict.
func wordFlags(w []byte) uint8 {
	k, ok := filterSlot(w)
	if !ok || dictFilter[k.first][k.length]&(1<<k.last) == 0 {
		return 0
	}
	return nameDict[string(w)]
}

// lookupName returns the dictionary flags of a token as written, or, for a
// token in capitals ("SMITH"), of its capitalised form.
func lookupName(tok []byte) uint8 {
	if f := wordFlags(tok); f != 0 {
		return f & (nameGiven | nameSurname)
	}
	if len(tok) < 2 || len(tok) > 32 || !isUpper(tok[0]) || !isUpper(tok[1]) {
		return 0
	}
	var buf [32]byte
	t := buf[:len(tok)]
	t[0] = tok[0]
	for i := 1; i < len(tok); i++ {
		c := tok[i]
		if isUpper(c) && tok[i-1] != '\'' {
			c += 'a' - 'A'
		}
		t[i] = c
	}
	return wordFlags(t) & (nameGiven | nameSurname)
}
