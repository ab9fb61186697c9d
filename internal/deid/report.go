package deid

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Report is the result of a scan. It is stored with an airlock request
// and shown to the reviewer, so it holds no values from the file: only
// counts, kinds, column names and the numbers of a few example rows.
type Report struct {
	// Format is "csv" or "parquet".
	Format string `json:"format"`
	// Rows counts the data rows (the CSV header excluded).
	Rows    int64          `json:"rows"`
	Columns []ColumnReport `json:"columns"`
	// ColumnThreshold is the share of a structured column's cells that
	// made it an identifier column.
	ColumnThreshold float64 `json:"column_threshold"`
	// KAnonymity is present when quasi-identifiers were given.
	KAnonymity *KAnonymityReport `json:"k_anonymity,omitempty"`
	// LDiversity has one entry per sensitive attribute given.
	LDiversity []LDiversityReport `json:"l_diversity,omitempty"`
	// DirectIdentifiers lists the columns found to hold identifiers and
	// their kinds.
	DirectIdentifiers []DirectIdentifier `json:"direct_identifiers"`
	// IdentifiersFound says whether DirectIdentifiers is not empty.
	IdentifiersFound bool `json:"identifiers_found"`
}

// Verdict is the conclusion about one column.
type Verdict string

// The verdicts. A structured column is a direct identifier when at least
// the threshold share of its cells are identifiers of one kind, and a
// possible identifier when some are (or some embed one); a free-text
// column is a direct identifier when any of its cells embeds one.
const (
	VerdictDirect   Verdict = "direct-identifier"
	VerdictPossible Verdict = "possible-identifier"
	VerdictClean    Verdict = "clean"
)

// ColumnReport is what the scan found in one column.
type ColumnReport struct {
	Name string `json:"name"`
	// FreeText says the column was scanned as free text: its non-null
	// values average more than 30 bytes and at least half contain a space.
	FreeText bool  `json:"free_text"`
	NonNull  int64 `json:"non_null"`
	// HeaderHint names what the column's header suggests it holds
	// ("name", "date-of-birth", "postcode", "mrn"), if anything.
	HeaderHint []Kind    `json:"header_hint,omitempty"`
	Findings   []Finding `json:"findings"`
	Verdict    Verdict   `json:"verdict"`
}

// Finding counts the cells of a column holding one kind of identifier.
type Finding struct {
	Kind Kind `json:"kind"`
	// Cells counts, in a structured column, the cells that are an
	// identifier of this kind as a whole; in free text, the cells that
	// contain at least one.
	Cells int64 `json:"cells"`
	// Share is Cells over the column's non-null cells.
	Share float64 `json:"share"`
	// EmbeddedCells counts, in a structured column, the other cells that
	// contain an identifier of this kind inside longer text.
	EmbeddedCells int64 `json:"embedded_cells,omitempty"`
	// ExampleRows are the numbers of up to five rows holding one (1 is
	// the first row after the header), for the reviewer to look at in
	// the file itself.
	ExampleRows []int64 `json:"example_rows"`
	// Direct says this kind made the column a direct identifier.
	Direct bool `json:"direct"`
}

// DirectIdentifier names a column holding identifiers of a kind.
type DirectIdentifier struct {
	Column string `json:"column"`
	Kind   Kind   `json:"kind"`
}

// KAnonymityReport describes the equivalence classes of the quasi-
// identifiers: the rows that share one combination of their values.
type KAnonymityReport struct {
	QuasiIdentifiers []string `json:"quasi_identifiers"`
	// K is the size of the smallest class: every row shares its
	// combination with at least K-1 others.
	K       int64 `json:"k"`
	Classes int64 `json:"classes"`
	// SmallClassSize is the size below which a class counts as small.
	SmallClassSize int `json:"small_class_size"`
	// ClassesBelow and RowsInSmallClasses count the small classes and
	// their rows.
	ClassesBelow       int64 `json:"classes_below_small_class_size"`
	RowsInSmallClasses int64 `json:"rows_in_small_classes"`
	// Truncated says more combinations were met than the configured
	// maximum; UntrackedRows belong to those not tracked, and K and the
	// small-class counts cover the tracked classes only.
	Truncated     bool  `json:"truncated,omitempty"`
	UntrackedRows int64 `json:"untracked_rows,omitempty"`
}

// LDiversityReport is the l-diversity of one sensitive attribute.
type LDiversityReport struct {
	Attribute string `json:"attribute"`
	// L is the smallest number of distinct values of the attribute in any
	// equivalence class (a null counts as a value).
	L         int64 `json:"l"`
	Truncated bool  `json:"truncated,omitempty"`
}

// Text renders the report for people, as the CLI prints it.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s file, %d rows, %d columns\n\n", r.Format, r.Rows, len(r.Columns))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COLUMN\tVERDICT\tTEXT\tFINDINGS")
	for _, c := range r.Columns {
		text := "structured"
		if c.FreeText {
			text = "free text"
		}
		var fs []string
		for _, f := range c.Findings {
			s := fmt.Sprintf("%s %d (%.1f%%)", f.Kind, f.Cells, 100*f.Share)
			if f.EmbeddedCells > 0 {
				s += fmt.Sprintf(" +%d embedded", f.EmbeddedCells)
			}
			if len(f.ExampleRows) > 0 {
				s += " rows " + joinInts(f.ExampleRows)
			}
			fs = append(fs, s)
		}
		findings := strings.Join(fs, "; ")
		if findings == "" {
			findings = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Verdict, text, findings)
	}
	tw.Flush()
	if k := r.KAnonymity; k != nil {
		fmt.Fprintf(&b, "\nk-anonymity over %s: k = %d, %d classes, %d below %d (%d rows)",
			strings.Join(k.QuasiIdentifiers, ", "), k.K, k.Classes, k.ClassesBelow, k.SmallClassSize, k.RowsInSmallClasses)
		if k.Truncated {
			fmt.Fprintf(&b, " (truncated: %d rows in untracked classes)", k.UntrackedRows)
		}
		b.WriteByte('\n')
	}
	for _, l := range r.LDiversity {
		fmt.Fprintf(&b, "l-diversity of %s: l = %d", l.Attribute, l.L)
		if l.Truncated {
			b.WriteString(" (truncated)")
		}
		b.WriteByte('\n')
	}
	if r.IdentifiersFound {
		var ds []string
		for _, d := range r.DirectIdentifiers {
			ds = append(ds, fmt.Sprintf("%s (%s)", d.Column, d.Kind))
		}
		fmt.Fprintf(&b, "\nDirect identifiers found: %s\n", strings.Join(ds, ", "))
	} else {
		b.WriteString("\nNo direct identifiers found.\n")
	}
	return b.String()
}

func joinInts(ns []int64) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}
