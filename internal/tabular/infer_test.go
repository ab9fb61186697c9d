package tabular

import (
	"math"
	"testing"
	"time"
)

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in    string
		class numClass
		i     int64
		f     float64
	}{
		{"0", numInt, 0, 0},
		{"-0", numInt, 0, 0},
		{"42", numInt, 42, 42},
		{"-17", numInt, -17, -17},
		{"9223372036854775807", numInt, math.MaxInt64, math.MaxInt64},
		{"-9223372036854775808", numInt, math.MinInt64, math.MinInt64},
		// Beyond int64: an identifier unless the column has fractions.
		{"9223372036854775808", numBigInt, 0, 9223372036854775808},
		{"123456789012345678901234567890", numBigInt, 0, 1.2345678901234568e29},
		{"1.5", numFloat, 0, 1.5},
		{"-0.25", numFloat, 0, -0.25},
		{".5", numFloat, 0, 0.5},
		{"5.", numFloat, 0, 5},
		{"1e3", numFloat, 0, 1000},
		{"1.5E-3", numFloat, 0, 0.0015},
		{"0e0", numFloat, 0, 0},
		{"1e999", numFloat, 0, math.Inf(1)},
		{"inf", numFloat, 0, math.Inf(1)},
		{"-Infinity", numFloat, 0, math.Inf(-1)},
		{"+INF", numFloat, 0, math.Inf(1)},
		// Leading zeros and plus signs are identifiers: zip codes, IDs,
		// phone numbers.
		{"007", notNumber, 0, 0},
		{"00", notNumber, 0, 0},
		{"01.5", notNumber, 0, 0},
		{"-007", notNumber, 0, 0},
		{"+5", notNumber, 0, 0},
		{"+4420794600", notNumber, 0, 0},
		{"+1.5", notNumber, 0, 0},
		{"", notNumber, 0, 0},
		{"-", notNumber, 0, 0},
		{".", notNumber, 0, 0},
		{"1e", notNumber, 0, 0},
		{"1e+", notNumber, 0, 0},
		{"1,000", notNumber, 0, 0},
		{"1_000", notNumber, 0, 0},
		{"0x1F", notNumber, 0, 0},
		{"12a", notNumber, 0, 0},
		{"1.2.3", notNumber, 0, 0},
		{"-nan", notNumber, 0, 0},
		{"info", notNumber, 0, 0},
	}
	for _, tt := range tests {
		c, i, f := parseNumber(tt.in)
		if c != tt.class {
			t.Errorf("parseNumber(%q) class = %d, want %d", tt.in, c, tt.class)
			continue
		}
		if c == numInt && i != tt.i {
			t.Errorf("parseNumber(%q) = %d, want %d", tt.in, i, tt.i)
		}
		if c != notNumber && f != tt.f {
			t.Errorf("parseNumber(%q) = %g, want %g", tt.in, f, tt.f)
		}
	}
	if c, _, f := parseNumber("NaN"); c != numFloat || !math.IsNaN(f) {
		t.Errorf("parseNumber(NaN) = %d %g", c, f)
	}
}

func TestParseBool(t *testing.T) {
	for _, s := range []string{"true", "True", "TRUE", "false", "False", "FALSE"} {
		if _, ok := parseBool(s); !ok {
			t.Errorf("parseBool(%q) refused", s)
		}
	}
	for _, s := range []string{"yes", "no", "y", "n", "t", "f", "1", "0", "tRUE", ""} {
		if _, ok := parseBool(s); ok {
			t.Errorf("parseBool(%q) accepted", s)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when refused
	}{
		{"2024-01-02", "2024-01-02"},
		{"1970-01-01", "1970-01-01"},
		{"1969-12-31", "1969-12-31"},
		{"2024-02-29", "2024-02-29"},
		{"2000-02-29", "2000-02-29"},
		{"0001-01-01", "0001-01-01"},
		{"9999-12-31", "9999-12-31"},
		{"2023-02-29", ""},
		{"1900-02-29", ""},
		{"2024-04-31", ""},
		{"2024-13-01", ""},
		{"2024-00-10", ""},
		{"2024-1-02", ""},
		{"02/01/2024", ""},
		{"2024/01/02", ""},
		{"20240102", ""},
	}
	for _, tt := range tests {
		days, ok := parseDate(tt.in)
		if tt.want == "" {
			if ok {
				t.Errorf("parseDate(%q) accepted", tt.in)
			}
			continue
		}
		if !ok {
			t.Errorf("parseDate(%q) refused", tt.in)
			continue
		}
		if got := dateString(days); got != tt.want {
			t.Errorf("parseDate(%q) = %s", tt.in, got)
		}
		want, _ := time.Parse(time.DateOnly, tt.in)
		if days*86400 != want.Unix() {
			t.Errorf("parseDate(%q) = %d days, want %d", tt.in, days, want.Unix()/86400)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 UTC; "" when refused
	}{
		{"2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"},
		{"2024-01-02 03:04:05", "2024-01-02T03:04:05Z"},
		{"2024-01-02t03:04:05z", "2024-01-02T03:04:05Z"},
		{"2024-01-02T03:04", "2024-01-02T03:04:00Z"},
		{"2024-01-02T03:04:05.123", "2024-01-02T03:04:05.123Z"},
		{"2024-01-02T03:04:05.123456789Z", "2024-01-02T03:04:05.123456789Z"},
		{"2024-01-02T03:04:05+02:00", "2024-01-02T01:04:05Z"},
		{"2024-01-02T01:00:00+0230", "2024-01-01T22:30:00Z"},
		{"2024-01-02T23:00:00-05", "2024-01-03T04:00:00Z"},
		{"2024-01-02T03:04:05.5-08:00", "2024-01-02T11:04:05.5Z"},
		{"2024-01-02T24:00:00Z", ""},
		{"2024-01-02T03:60:00Z", ""},
		{"2024-01-02T03:04:60Z", ""},
		{"2024-01-02T03:04:05.Z", ""},
		{"2024-01-02T03:04:05.1234567890Z", ""},
		{"2024-01-02T03:04:05+2:00", ""},
		{"2024-01-02T03:04:05 CET", ""},
		{"2024-01-02X03:04:05", ""},
		{"2024-02-30T03:04:05", ""},
		{"2024-01-02", ""},
	}
	for _, tt := range tests {
		ts, ok := parseTimestamp(tt.in)
		if tt.want == "" {
			if ok {
				t.Errorf("parseTimestamp(%q) accepted as %s", tt.in, ts)
			}
			continue
		}
		if !ok {
			t.Errorf("parseTimestamp(%q) refused", tt.in)
			continue
		}
		if got := timestampString(ts); got != tt.want {
			t.Errorf("parseTimestamp(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
