package search

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Limits on what Parse and ParseOrderBy accept. MLflow has none; these keep
// a hostile filter from costing more than a normal one.
const (
	// MaxFilterBytes is the longest filter string.
	MaxFilterBytes = 64 << 10
	// MaxClauses is the most comparisons in a filter, and the most
	// order_by clauses.
	MaxClauses = 100
	// MaxListValues is the most values in an IN or NOT IN list.
	MaxListValues = 1000
	// MaxKeyBytes is the longest metric, parameter, tag or attribute key.
	MaxKeyBytes = 250

	maxOrderByBytes = 1 << 10
	// maxExact is the largest integer a float64 holds exactly: whole-number
	// attributes (timestamps, versions) beyond it would be compared wrongly.
	maxExact = 1 << 53
)

// Parse reads an MLflow search filter for entity e: comparisons joined by
// AND, as MLflow's SearchUtils classes accept them. An empty or all-space
// filter is no filter (nil, nil). Errors are invalid_argument errors on the
// field "filter" that name the offending token.
//
// The grammar, per comparison:
//
//	key op value
//	key IN ( 'a', 'b', ... )      key NOT IN ( ... )
//	key IS NULL                   key IS NOT NULL
//
// A key is [prefix "."] name. The prefix is metrics, params, tags,
// attributes or datasets (or an alias MLflow accepts: metric, param,
// parameter(s), tag, attribute, attr, run, dataset); without one the name is
// an attribute. The name is a word, dotted words (tags.mlflow.runName), or
// any text in backquotes, double or single quotes (metrics.`my key`). Quoted
// text is taken verbatim, as MLflow does: a doubled quote does not end it
// and stays doubled, and a backslash is an ordinary character.
//
// A value is a number (1, -2.5, .5, 1e-3) or a string in single or double
// quotes, read as quoted keys are. The strings of an IN list are Python
// literals, as MLflow reads them with ast.literal_eval: backslash escapes
// apply and adjacent literals concatenate. Operators and AND are
// case-insensitive; prefixes and names are not.
//
// Keys are canonicalised: the Comparison holds the tag, metric or parameter
// name as written, and the canonical attribute name listed at specs in
// search.go (MLflow's aliases resolved).
func Parse(e Entity, filter string) (Filter, error) {
	sp, err := specFor(e)
	if err != nil {
		return nil, err
	}
	if err := checkText("filter", "the filter", filter, MaxFilterBytes); err != nil {
		return nil, err
	}
	s := &scanner{src: filter, field: "filter"}
	s.skipSpace()
	if s.eof() {
		return nil, nil
	}
	var f Filter
	for {
		if len(f) == MaxClauses {
			return nil, s.errorf("the filter has more than %d comparisons", MaxClauses)
		}
		c, err := s.comparison(sp)
		if err != nil {
			return nil, err
		}
		f = append(f, c)
		s.skipSpace()
		if s.eof() {
			return f, nil
		}
		if err := s.and(); err != nil {
			return nil, err
		}
		s.skipSpace()
		if s.eof() {
			return nil, s.errorf("the filter ends with AND; a comparison must follow it")
		}
	}
}

// ParseOrderBy reads MLflow order_by clauses for entity e, each
// "key [ASC|DESC]" with a key written as in a filter. Ascending is the
// default. Errors are invalid_argument errors on the field "order_by".
//
// Logged models take their order_by as structured field names, not
// clauses; see ParseLoggedModelOrderBy.
func ParseOrderBy(e Entity, clauses []string) ([]OrderBy, error) {
	sp, err := specFor(e)
	if err != nil {
		return nil, err
	}
	if len(clauses) > MaxClauses {
		return nil, enclave.FieldError("order_by", "at most %d order_by clauses are allowed", MaxClauses)
	}
	if len(clauses) == 0 {
		return nil, nil
	}
	out := make([]OrderBy, 0, len(clauses))
	for i, clause := range clauses {
		o, err := parseOrderBy(sp, i, clause)
		if err != nil {
			return nil, err
		}
		if sp.uniqueOrder {
			for _, p := range out {
				if p.Type == o.Type && p.Key == o.Key {
					return nil, enclave.FieldError("order_by", "order_by clause %d orders by %s %q again", i+1, o.Type, excerpt(o.Key))
				}
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// ParseLoggedModelOrderBy reads one entry of search-logged-models' order_by,
// which MLflow sends structured: a field name and a direction. The field is
// a logged-model attribute or "metrics.<name>", the name taken verbatim
// after the first dot, as MLflow's store does.
func ParseLoggedModelOrderBy(field string, ascending bool) (OrderBy, error) {
	if err := checkText("order_by", "field_name", field, maxOrderByBytes); err != nil {
		return OrderBy{}, err
	}
	if prefix, key, ok := strings.Cut(field, "."); ok {
		if prefix != "metrics" {
			return OrderBy{}, enclave.FieldError("order_by", "cannot order logged models by %q: only attributes and metrics.<name> are allowed", excerpt(field))
		}
		if err := checkKey("order_by", key); err != nil {
			return OrderBy{}, err
		}
		return OrderBy{Type: Metric, Key: key, Asc: ascending}, nil
	}
	name, ok := specs[LoggedModels].orderAttrs[strings.TrimSpace(field)]
	if !ok {
		return OrderBy{}, enclave.FieldError("order_by", "cannot order logged models by %q; valid fields: %s, metrics.<name>",
			excerpt(field), strings.Join(specs[LoggedModels].orderNames, ", "))
	}
	return OrderBy{Type: Attribute, Key: name, Asc: ascending}, nil
}

func parseOrderBy(sp *entitySpec, i int, clause string) (OrderBy, error) {
	n := i + 1
	if err := checkText("order_by", "order_by clause "+strconv.Itoa(n), clause, maxOrderByBytes); err != nil {
		return OrderBy{}, err
	}
	s := &scanner{src: clause, field: "order_by", clause: n}
	s.skipSpace()
	if s.eof() {
		return OrderBy{}, s.errorf("the clause is empty")
	}
	start := s.pos
	parts, err := s.key()
	if err != nil {
		return OrderBy{}, err
	}
	typ, raw, err := sp.split(s, parts, s.src[start:s.pos])
	if err != nil {
		return OrderBy{}, err
	}
	o := OrderBy{Type: typ, Key: raw, Asc: true}
	switch {
	case typ == Attribute:
		name, ok := sp.orderAttrs[raw]
		if !ok {
			return OrderBy{}, s.errorf("cannot order %s by attribute %q; valid attributes: %s", sp.name, excerpt(raw), strings.Join(sp.orderNames, ", "))
		}
		o.Key = name
	case !sp.orderTypes[typ]:
		return OrderBy{}, s.errorf("cannot order %s by %s %q; order by %s", sp.name, typ, excerpt(raw), sp.orderHint)
	}
	s.skipSpace()
	if s.eof() {
		return o, nil
	}
	at := s.pos
	switch w := strings.ToUpper(s.word()); w {
	case "ASC":
	case "DESC":
		o.Asc = false
	default:
		s.pos = at
		return OrderBy{}, s.errorf("expected ASC or DESC after the key, found %q", s.rest())
	}
	s.skipSpace()
	if !s.eof() {
		return OrderBy{}, s.errorf("unexpected %q after the direction; an order_by clause is \"key [ASC|DESC]\"", s.rest())
	}
	return o, nil
}

// checkText refuses input that is too long, not UTF-8 or holds NUL bytes,
// before anything of it is echoed in a message.
func checkText(field, what, s string, limit int) error {
	switch {
	case len(s) > limit:
		return enclave.FieldError(field, "%s is longer than %d bytes", what, limit)
	case !utf8.ValidString(s):
		return enclave.FieldError(field, "%s is not valid UTF-8", what)
	case strings.IndexByte(s, 0) >= 0:
		return enclave.FieldError(field, "%s contains a NUL byte", what)
	}
	return nil
}

func checkKey(field, key string) error {
	switch {
	case key == "":
		return enclave.FieldError(field, "a key must not be empty")
	case len(key) > MaxKeyBytes:
		return enclave.FieldError(field, "key %q is longer than %d bytes", excerpt(key), MaxKeyBytes)
	}
	return nil
}

// excerpt cuts caller input to a few dozen bytes, at a rune boundary, so
// that no message echoes more than that of it.
func excerpt(s string) string {
	const limit = 32
	if len(s) <= limit {
		return s
	}
	t := enclave.Truncate(s, limit)
	for len(t) > 0 && !utf8.ValidString(t) {
		t = t[:len(t)-1]
	}
	return t + "…"
}

// scanner reads a filter or an order_by clause left to right. It is driven
// by the parser, which knows whether a key, an operator or a value comes
// next, so there is no separate token stream.
type scanner struct {
	src    string
	pos    int
	field  string
	clause int // the order_by clause number, for messages; 0 in a filter
}

func (s *scanner) errorf(format string, args ...any) error {
	if s.clause > 0 {
		format = "order_by clause %d: " + format
		args = append([]any{s.clause}, args...)
	}
	return enclave.FieldError(s.field, format, args...)
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

// rest is an excerpt of the input from the current position, for messages.
func (s *scanner) rest() string { return excerpt(s.src[s.pos:]) }

func (s *scanner) peek() rune {
	r, _ := utf8.DecodeRuneInString(s.src[s.pos:])
	return r
}

func (s *scanner) skipSpace() {
	for !s.eof() {
		r, n := utf8.DecodeRuneInString(s.src[s.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		s.pos += n
	}
}

// isWord reports whether r may be in a bare word: sqlparse's \w[$#\w]*.
func isWord(r rune, first bool) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || !first && (r == '$' || r == '#')
}

// word reads a bare word, or nothing if none starts here.
func (s *scanner) word() string {
	start := s.pos
	for !s.eof() {
		r, n := utf8.DecodeRuneInString(s.src[s.pos:])
		if !isWord(r, s.pos == start) {
			break
		}
		s.pos += n
	}
	return s.src[start:s.pos]
}

// quoted reads text between quotes q, verbatim as sqlparse delimits it: a
// doubled quote does not end the text and stays in it doubled.
func (s *scanner) quoted(q byte) (string, error) {
	start := s.pos
	for i := start + 1; i < len(s.src); i++ {
		if s.src[i] != q {
			continue
		}
		if i+1 < len(s.src) && s.src[i+1] == q {
			i++
			continue
		}
		s.pos = i + 1
		return s.src[start+1 : i], nil
	}
	return "", s.errorf("unterminated %s at offset %d: %q", quoteName(q), start, excerpt(s.src[start:]))
}

func quoteName(q byte) string {
	switch q {
	case '`':
		return "backquoted key"
	case '"':
		return "double-quoted string"
	}
	return "single-quoted string"
}

// keyPart is one dot-separated part of a key as written.
type keyPart struct {
	text  string
	quote byte // 0 for a bare word
}

// key reads a key: parts separated by dots, each a bare word or quoted.
func (s *scanner) key() ([]keyPart, error) {
	var parts []keyPart
	for {
		if s.eof() {
			return nil, s.errorf("expected a key such as metrics.accuracy, found the end of the input")
		}
		switch c := s.src[s.pos]; c {
		case '`', '"', '\'':
			text, err := s.quoted(c)
			if err != nil {
				return nil, err
			}
			parts = append(parts, keyPart{text, c})
		case '(', ')':
			return nil, s.errorf("parentheses at offset %d are not supported: MLflow's grammar has no grouping", s.pos)
		default:
			w := s.word()
			if w == "" {
				return nil, s.errorf("expected a key such as metrics.accuracy at offset %d, found %q", s.pos, s.rest())
			}
			parts = append(parts, keyPart{w, 0})
		}
		if s.eof() || s.src[s.pos] != '.' {
			return parts, nil
		}
		s.pos++
	}
}

// split turns the parts of a key into its type and name, as MLflow's
// _get_identifier does: the first part names the type when a dot follows it.
func (sp *entitySpec) split(s *scanner, parts []keyPart, written string) (KeyType, string, error) {
	if len(parts) == 1 {
		p := parts[0]
		if p.quote == 0 && s.clause == 0 {
			switch u := strings.ToUpper(p.text); u {
			case "AND", "OR", "NOT":
				return "", "", s.errorf("expected a comparison, found %s: a filter is comparisons joined by AND", u)
			}
		}
		return Attribute, p.text, checkKey(s.field, p.text)
	}
	prefix := parts[0]
	typ, ok := sp.prefixes[prefix.text]
	if !ok || prefix.quote == '"' || prefix.quote == '\'' {
		return "", "", s.errorf("unknown key type %q in %q; valid types for %s: %s", excerpt(prefix.text), excerpt(written), sp.name, sp.prefixHint)
	}
	rest := parts[1:]
	var key string
	if len(rest) == 1 {
		key = rest[0].text
	} else {
		words := make([]string, len(rest))
		for i, p := range rest {
			if p.quote != 0 {
				return "", "", s.errorf("key %q mixes quoted and bare parts; quote the whole name, as in tags.`a.b`", excerpt(written))
			}
			words[i] = p.text
		}
		key = strings.Join(words, ".")
	}
	if err := checkKey(s.field, key); err != nil {
		return "", "", err
	}
	return typ, key, nil
}

// and reads the AND between two comparisons.
func (s *scanner) and() error {
	at := s.pos
	switch c := s.src[s.pos]; {
	case c == '(' || c == ')':
		return s.errorf("parentheses at offset %d are not supported: MLflow's grammar has no grouping", at)
	case c == ';':
		return s.errorf("unexpected ';' at offset %d: a filter is comparisons joined by AND", at)
	}
	w := strings.ToUpper(s.word())
	switch w {
	case "AND":
		return nil
	case "OR":
		return s.errorf("OR at offset %d is not supported: comparisons can only be joined by AND", at)
	}
	s.pos = at
	return s.errorf("expected AND at offset %d, found %q", at, s.rest())
}

// operator reads a comparison operator and returns it in upper case.
func (s *scanner) operator() (string, error) {
	if s.eof() {
		return "", s.errorf("expected an operator after the key, found the end of the filter")
	}
	at := s.pos
	if strings.IndexByte("<>=~!", s.src[s.pos]) >= 0 {
		for !s.eof() && strings.IndexByte("<>=~!", s.src[s.pos]) >= 0 {
			s.pos++
		}
		op := s.src[at:s.pos]
		if opBit(op) == 0 {
			return "", s.errorf("unknown operator %q at offset %d; operators are =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL", excerpt(op), at)
		}
		return op, nil
	}
	next := func() string {
		s.skipSpace()
		return strings.ToUpper(s.word())
	}
	switch w := strings.ToUpper(s.word()); w {
	case "LIKE", "ILIKE", "IN":
		return w, nil
	case "NOT":
		switch w2 := next(); w2 {
		case "IN":
			return "NOT IN", nil
		case "LIKE", "ILIKE":
			return "", s.errorf("NOT %s at offset %d is not supported; use != or NOT IN", w2, at)
		}
	case "IS":
		switch next() {
		case "NULL":
			return "IS NULL", nil
		case "NOT":
			if next() == "NULL" {
				return "IS NOT NULL", nil
			}
		}
		return "", s.errorf("expected IS NULL or IS NOT NULL at offset %d", at)
	case "RLIKE", "REGEXP":
		return "", s.errorf("%s at offset %d is not supported; use LIKE or ILIKE", w, at)
	case "":
		// A key running straight into something else wanted quoting.
		if r, _ := utf8.DecodeLastRuneInString(s.src[:at]); !unicode.IsSpace(r) {
			return "", s.errorf("expected an operator at offset %d, found %q; quote keys with special characters, as in metrics.`my-key`", at, s.rest())
		}
	}
	s.pos = at
	return "", s.errorf("expected an operator at offset %d, found %q", at, s.rest())
}

// comparison reads one "key op value" and checks it against the entity.
func (s *scanner) comparison(sp *entitySpec) (Comparison, error) {
	start := s.pos
	parts, err := s.key()
	if err != nil {
		return Comparison{}, err
	}
	written := excerpt(s.src[start:s.pos])
	typ, raw, err := sp.split(s, parts, s.src[start:s.pos])
	if err != nil {
		return Comparison{}, err
	}
	name, fs, err := sp.field(s, typ, raw)
	if err != nil {
		return Comparison{}, err
	}
	s.skipSpace()
	op, err := s.operator()
	if err != nil {
		return Comparison{}, err
	}
	if fs.ops&opBit(op) == 0 {
		return Comparison{}, s.errorf("operator %s is not supported for %s; use %s", op, written, fs.ops)
	}
	c := Comparison{Type: typ, Key: name, Op: op}
	switch op {
	case "IS NULL", "IS NOT NULL":
		return c, nil
	case "IN", "NOT IN":
		s.skipSpace()
		if s.eof() || s.src[s.pos] != '(' {
			return Comparison{}, s.errorf("%s needs a parenthesised list of quoted strings, as in %s ('a', 'b'); found %q", op, op, s.rest())
		}
		c.Value, err = s.list()
		return c, err
	}
	s.skipSpace()
	at := s.pos
	if s.eof() {
		return Comparison{}, s.errorf("expected a value after %s %s, found the end of the filter", written, op)
	}
	switch ch := s.src[s.pos]; {
	case ch == '\'' || ch == '"':
		str, err := s.quoted(ch)
		if err != nil {
			return Comparison{}, err
		}
		if fs.kind == stringValue {
			c.Value = str
			return c, nil
		}
		if fs.quotedInt {
			if n, err := strconv.ParseInt(strings.TrimSpace(str), 10, 64); err == nil && n >= -maxExact && n <= maxExact {
				c.Value = float64(n)
				return c, nil
			}
		}
		return Comparison{}, s.errorf("%s needs a number, found the string %q at offset %d", written, excerpt(str), at)
	case ch == '-' || ch == '.' || ch >= '0' && ch <= '9':
		v, err := s.number()
		if err != nil {
			return Comparison{}, err
		}
		switch fs.kind {
		case stringValue:
			return Comparison{}, s.errorf("%s needs a quoted string, found the number %s at offset %d", written, excerpt(s.src[at:s.pos]), at)
		case integerValue:
			if v != math.Trunc(v) || math.Abs(v) > maxExact {
				return Comparison{}, s.errorf("%s needs a whole number, found %s at offset %d", written, excerpt(s.src[at:s.pos]), at)
			}
		}
		c.Value = v
		return c, nil
	case ch == '(':
		return Comparison{}, s.errorf("a list of values at offset %d needs IN or NOT IN, not %s", at, op)
	case ch == '`':
		return Comparison{}, s.errorf("backquotes at offset %d are for keys; quote values with ' or \"", at)
	}
	what := "a quoted string"
	if fs.kind != stringValue {
		what = "a number"
	}
	return Comparison{}, s.errorf("%s needs %s, found %q at offset %d", written, what, s.rest(), at)
}

// number reads a number as sqlparse does: -?(D+(.D+)?E-?D+ | D+.D* | .D+ | D+),
// not followed by a word character.
func (s *scanner) number() (float64, error) {
	start := s.pos
	digits := func() int {
		n := 0
		for !s.eof() && s.src[s.pos] >= '0' && s.src[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	if s.src[s.pos] == '-' {
		s.pos++
	}
	whole, frac, dot := digits(), 0, false
	if !s.eof() && s.src[s.pos] == '.' {
		s.pos++
		dot = true
		frac = digits()
	}
	if whole > 0 && (!dot || frac > 0) && !s.eof() && (s.src[s.pos] == 'e' || s.src[s.pos] == 'E') {
		mark := s.pos
		s.pos++
		if !s.eof() && s.src[s.pos] == '-' {
			s.pos++
		}
		if digits() == 0 {
			s.pos = mark
		}
	}
	bad := whole == 0 && frac == 0
	if !s.eof() {
		if r := s.peek(); isWord(r, false) || r == '.' {
			bad = true
		}
	}
	if bad {
		end := s.pos
		for !s.eof() && (isWord(s.peek(), false) || strings.IndexByte(".+-", s.src[s.pos]) >= 0) {
			_, n := utf8.DecodeRuneInString(s.src[s.pos:])
			s.pos += n
		}
		text := s.src[start:max(end, s.pos)]
		return 0, s.errorf("malformed number %q at offset %d", excerpt(text), start)
	}
	v, err := strconv.ParseFloat(s.src[start:s.pos], 64)
	if err != nil {
		return 0, s.errorf("number %q at offset %d is out of range", excerpt(s.src[start:s.pos]), start)
	}
	return v, nil
}

// list reads the parenthesised list of IN and NOT IN. MLflow evaluates it
// as a Python tuple of strings, so its items are Python string literals.
func (s *scanner) list() ([]string, error) {
	open := s.pos
	s.pos++ // (
	var vals []string
	for {
		s.skipSpace()
		if s.eof() {
			return nil, s.errorf("unterminated list starting at offset %d", open)
		}
		if s.src[s.pos] == ')' {
			if len(vals) == 0 {
				return nil, s.errorf("the list at offset %d is empty; IN needs at least one value", open)
			}
			s.pos++
			return vals, nil
		}
		if len(vals) == MaxListValues {
			return nil, s.errorf("the list at offset %d has more than %d values", open, MaxListValues)
		}
		if c := s.src[s.pos]; c != '\'' && c != '"' {
			return nil, s.errorf("lists hold quoted strings; found %q at offset %d", s.rest(), s.pos)
		}
		var b strings.Builder
		for !s.eof() && (s.src[s.pos] == '\'' || s.src[s.pos] == '"') {
			// Adjacent literals concatenate, as in Python.
			if err := s.pyString(&b); err != nil {
				return nil, err
			}
			s.skipSpace()
		}
		vals = append(vals, b.String())
		if s.eof() {
			return nil, s.errorf("unterminated list starting at offset %d", open)
		}
		switch s.src[s.pos] {
		case ',':
			s.pos++
		case ')':
		default:
			return nil, s.errorf("expected ',' or ')' in the list at offset %d, found %q", s.pos, s.rest())
		}
	}
}

// pyString reads one Python string literal in single or double quotes onto
// b, applying Python's backslash escapes (\N{name} aside).
func (s *scanner) pyString(b *strings.Builder) error {
	start := s.pos
	q := s.src[s.pos]
	s.pos++
	for !s.eof() {
		c := s.src[s.pos]
		switch {
		case c == q:
			s.pos++
			return nil
		case c == '\n' || c == '\r':
			return s.errorf("line break inside the list value at offset %d; write it as \\n", start)
		case c != '\\':
			b.WriteByte(c)
			s.pos++
			continue
		}
		at := s.pos
		s.pos++ // the backslash
		if s.eof() {
			break
		}
		e := s.src[s.pos]
		s.pos++
		switch e {
		case '\n':
		case '\r':
			if !s.eof() && s.src[s.pos] == '\n' {
				s.pos++
			}
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			r := rune(e - '0')
			for i := 0; i < 2 && !s.eof() && s.src[s.pos] >= '0' && s.src[s.pos] <= '7'; i++ {
				r = r*8 + rune(s.src[s.pos]-'0')
				s.pos++
			}
			if err := s.writeEscaped(b, r, at); err != nil {
				return err
			}
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if s.pos+n > len(s.src) {
				return s.errorf("truncated \\%c escape at offset %d", e, at)
			}
			v, err := strconv.ParseUint(s.src[s.pos:s.pos+n], 16, 32)
			if err != nil {
				return s.errorf("malformed \\%c escape at offset %d", e, at)
			}
			s.pos += n
			if err := s.writeEscaped(b, rune(v), at); err != nil {
				return err
			}
		case 'N':
			return s.errorf("\\N{...} escapes at offset %d are not supported", at)
		default:
			// Python keeps an unknown escape as written.
			b.WriteByte('\\')
			s.pos--
		}
	}
	return s.errorf("unterminated string in the list at offset %d: %q", start, excerpt(s.src[start:]))
}

func (s *scanner) writeEscaped(b *strings.Builder, r rune, at int) error {
	if r == 0 || r > unicode.MaxRune || r >= 0xD800 && r <= 0xDFFF {
		return s.errorf("escape at offset %d is not an allowed character", at)
	}
	b.WriteRune(r)
	return nil
}

// field looks a key up in the entity's table: the canonical name and what
// it accepts.
func (sp *entitySpec) field(s *scanner, typ KeyType, key string) (string, fieldSpec, error) {
	switch typ {
	case Attribute:
		a, ok := sp.attrs[key]
		if !ok {
			return "", fieldSpec{}, s.errorf("unknown attribute %q for %s; valid attributes: %s", excerpt(key), sp.name, strings.Join(sp.attrNames, ", "))
		}
		return a.name, a.fieldSpec, nil
	case Dataset:
		f, ok := datasetFields[key]
		if !ok {
			return "", fieldSpec{}, s.errorf("unknown dataset key %q; valid keys: context, digest, name", excerpt(key))
		}
		return key, f, nil
	}
	return key, sp.keyed[typ], nil
}

func specFor(e Entity) (*entitySpec, error) {
	sp, ok := specs[e]
	if !ok {
		return nil, enclave.Errorf(enclave.CodeInternal, "search: unknown entity %d", e)
	}
	return sp, nil
}
