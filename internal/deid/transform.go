package deid

import (
	"bytes"
	"math"
	"strconv"
	"time"

	"github.com/enclave-ml/enclave/internal/tabular"
)

// cell is one value on its way through a recipe: CSV text, or a typed
// Parquet value.
type cell struct {
	kind tabular.Kind
	// b is the text of KindString and KindBytes; for a CSV null, the null
	// token as the file wrote it, which the output keeps.
	b []byte
	// n is the value of KindInt, KindBool (0 or 1) and KindDate (days
	// since 1970-01-01), the bits of KindFloat, the Unix seconds of
	// KindTimestamp.
	n int64
	// nanos are KindTimestamp's nanoseconds.
	nanos int32
}

func (c *cell) null() bool { return c.kind == tabular.KindNull }

// cellOf converts a row value.
func cellOf(v *tabular.Value) cell {
	switch v.Kind {
	case tabular.KindString, tabular.KindBytes:
		return cell{kind: v.Kind, b: stringBytes(v.Str)}
	case tabular.KindFloat:
		return cell{kind: v.Kind, n: int64(math.Float64bits(v.Float))}
	case tabular.KindTimestamp:
		return cell{kind: v.Kind, n: v.Time.Unix(), nanos: int32(v.Time.Nanosecond())}
	case tabular.KindNull:
		return cell{}
	}
	return cell{kind: v.Kind, n: v.Int}
}

func (c *cell) time() time.Time { return time.Unix(c.n, int64(c.nanos)).UTC() }

// appendText appends the cell's value as text: integers in decimal,
// floats in Go's shortest form, booleans as true and false, dates as
// YYYY-MM-DD, timestamps in RFC 3339.
func (c *cell) appendText(dst []byte) []byte {
	switch c.kind {
	case tabular.KindString, tabular.KindBytes:
		return append(dst, c.b...)
	case tabular.KindInt:
		return strconv.AppendInt(dst, c.n, 10)
	case tabular.KindFloat:
		return strconv.AppendFloat(dst, math.Float64frombits(uint64(c.n)), 'g', -1, 64)
	case tabular.KindBool:
		return strconv.AppendBool(dst, c.n != 0)
	case tabular.KindDate:
		return time.Unix(c.n*86400, 0).UTC().AppendFormat(dst, time.DateOnly)
	case tabular.KindTimestamp:
		return c.time().AppendFormat(dst, time.RFC3339Nano)
	}
	return dst
}

// transformer applies actions to cells.
type transformer struct {
	cc *compiled
	f  *finder
	ps Pseudonymiser
	ms []match
}

// text returns the cell's text, converting a typed value into arena.
func text(c *cell, arena *[]byte) []byte {
	if c.kind == tabular.KindString || c.kind == tabular.KindBytes {
		return c.b
	}
	start := len(*arena)
	*arena = c.appendText(*arena)
	return (*arena)[start:]
}

// str returns a KindString cell of what was appended to arena from start.
func str(arena []byte, start int) cell {
	return cell{kind: tabular.KindString, b: arena[start:len(arena):len(arena)]}
}

var nullCell = cell{kind: tabular.KindNull}

// apply returns c transformed by action a, writing new text to arena, and
// whether the value changed. asText asks for a string even where the
// action keeps the value (a Parquet quasi-identifier, which suppression
// may overwrite with "*").
func (t *transformer) apply(a Action, c cell, asText bool, arena *[]byte) (cell, bool) {
	if c.null() {
		return c, false
	}
	switch a {
	case ActionKeep:
		if asText && c.kind != tabular.KindString && c.kind != tabular.KindBytes {
			start := len(*arena)
			*arena = c.appendText(*arena)
			return str(*arena, start), false
		}
		return c, false
	case ActionMask:
		start := len(*arena)
		*arena = append(*arena, MaskText...)
		return str(*arena, start), true
	case ActionPseudonymise:
		v := text(&c, arena)
		start := len(*arena)
		*arena = t.ps.Pseudonym(*arena, v)
		return str(*arena, start), true
	case ActionGeneraliseDate:
		var year int
		switch c.kind {
		case tabular.KindDate:
			year = time.Unix(c.n*86400, 0).UTC().Year()
		case tabular.KindTimestamp:
			year = c.time().Year()
		case tabular.KindString, tabular.KindBytes:
			y, ok := parseDateCell(c.b)
			if !ok {
				return nullCell, true
			}
			year = y
		default:
			return nullCell, true
		}
		start := len(*arena)
		*arena = strconv.AppendInt(*arena, int64(year), 10)
		out := str(*arena, start)
		return out, !bytes.Equal(out.b, c.b)
	case ActionGeneraliseAge:
		return t.age(c, arena)
	case ActionGeneralisePostcode:
		return t.postcode(c, arena)
	case ActionRedact:
		v := text(&c, arena)
		t.ms = t.f.find(v, t.ms[:0])
		if len(t.ms) == 0 {
			if c.kind == tabular.KindString || c.kind == tabular.KindBytes {
				return c, false
			}
			return cell{kind: tabular.KindString, b: v}, false
		}
		start := len(*arena)
		prev := 0
		for _, m := range t.ms {
			*arena = append(*arena, v[prev:m.start]...)
			*arena = append(*arena, redactionTokens[m.kind]...)
			prev = int(m.end)
		}
		*arena = append(*arena, v[prev:]...)
		return str(*arena, start), true
	}
	return c, false
}

// age applies generalise-age: over 89 becomes "90+"; a number up to 89 is
// kept (as text); anything else, negative numbers included, becomes null.
func (t *transformer) age(c cell, arena *[]byte) (cell, bool) {
	start := len(*arena)
	var over bool
	switch c.kind {
	case tabular.KindInt:
		if c.n < 0 {
			return nullCell, true
		}
		over = c.n > 89
	case tabular.KindFloat:
		f := math.Float64frombits(uint64(c.n))
		if !(f >= 0) || math.IsInf(f, 0) {
			return nullCell, true
		}
		over = f > 89
	case tabular.KindString, tabular.KindBytes:
		v := trimSpace(c.b)
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || !(f >= 0) || math.IsInf(f, 0) {
			return nullCell, true
		}
		over = f > 89
		if !over {
			return c, false
		}
	default:
		return nullCell, true
	}
	if over {
		*arena = append(*arena, "90+"...)
		return str(*arena, start), true
	}
	*arena = c.appendText(*arena)
	return str(*arena, start), false
}

// postcode applies generalise-postcode.
func (t *transformer) postcode(c cell, arena *[]byte) (cell, bool) {
	start := len(*arena)
	var v []byte
	switch c.kind {
	case tabular.KindInt:
		if c.n < 0 || c.n > 99999 {
			return nullCell, true
		}
		var num [20]byte
		d := strconv.AppendInt(num[:0], c.n, 10)
		for range 5 - len(d) { // a ZIP code stored as a number lost its zeros
			*arena = append(*arena, '0')
		}
		*arena = append(*arena, d...)
		v = (*arena)[start:]
	case tabular.KindString, tabular.KindBytes:
		v = trimSpace(c.b)
	default:
		return nullCell, true
	}
	// Work on an upper-case copy: "sw1a 1aa" is a postcode too.
	up := len(*arena)
	for _, ch := range v {
		if isLower(ch) {
			ch -= 'a' - 'A'
		}
		*arena = append(*arena, ch)
	}
	u := (*arena)[up:]
	out := len(*arena)
	switch {
	case zipCell(u):
		if t.cc.restricted[atoi(u[:3])] {
			*arena = append(*arena, "000"...)
		} else {
			*arena = append(*arena, u[:3]...)
		}
		*arena = append(*arena, "**"...)
	case ukFullPostcode(u):
		outward := u[:len(u)-3]
		if outward[len(outward)-1] == ' ' {
			outward = outward[:len(outward)-1]
		}
		*arena = append(*arena, outward...)
	case ukOutward(u) || string(u) == "GIR":
		*arena = append(*arena, u...)
	default:
		return nullCell, true
	}
	res := str(*arena, out)
	return res, !bytes.Equal(res.b, c.b)
}

// ukFullPostcode reports whether u is exactly one full UK postcode.
func ukFullPostcode(u []byte) bool {
	if len(u) < 5 || !isUpper(u[0]) {
		return false
	}
	end, ok := ukPostcodeAt(u, 0)
	return ok && end == len(u)
}
