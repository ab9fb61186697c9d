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
	return wordTable.lookup(w)
}

// wordTable is nameDict as an open-addressing hash table with a cheap
// hash: the scanner looks up every capitalised word of every cell, and a
// Go map's hashing costs more than the rest of the lookup.
var wordTable = func() *dictTable {
	t := &dictTable{}
	for w, f := range nameDict {
		i := dictHash([]byte(w)) & (len(t.slots) - 1)
		for t.slots[i].key != "" {
			i = (i + 1) & (len(t.slots) - 1)
		}
		t.slots[i] = dictSlot{key: w, flags: f}
	}
	return t
}()

type dictTable struct {
	slots [4096]dictSlot // a power of two, several times the words
}

type dictSlot struct {
	key   string
	flags uint8
}

func dictHash(w []byte) int {
	h := uint32(2166136261)
	for _, c := range w {
		h = (h ^ uint32(c)) * 16777619
	}
	return int(h ^ h>>15)
}

func (t *dictTable) lookup(w []byte) uint8 {
	for i := dictHash(w) & (len(t.slots) - 1); ; i = (i + 1) & (len(t.slots) - 1) {
		s := &t.slots[i]
		if s.key == "" {
			return 0
		}
		if s.key == string(w) {
			return s.flags
		}
	}
}

// lookupName returns the dictionary flags of a token as written, or, for a
// token in capitals ("SMITH"), of its capitalised form.
func lookupName(tok []byte) uint8 {
	if f := wordFlags(tok); f != 0 {
		return f & (nameGiven | nameSurname)
	}
	if len(tok) < 2 || len(tok) > 32 || !isUpper(tok[0]) || !isUpper(tok[len(tok)-1]) {
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
