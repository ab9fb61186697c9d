package deid

import (
	"context"
	"io"
)

// Accuracy is the detectors' cell-level precision and recall for one kind
// of identifier, in structured columns or in free text, measured against
// labels.
type Accuracy struct {
	Kind Kind `json:"kind"`
	// FreeText says the figures are for free-text columns.
	FreeText bool `json:"free_text"`
	// TruePositives counts the cells said to hold the kind that do;
	// FalsePositives those said to that do not; FalseNegatives those that
	// hold it but were not said to.
	TruePositives  int64   `json:"true_positives"`
	FalsePositives int64   `json:"false_positives"`
	FalseNegatives int64   `json:"false_negatives"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
}

// EvaluateCSV scans a labelled CSV file and measures, per kind, how well
// the scan's conclusions about each cell match the labels: labels(row,
// column) returns the kinds the cell at that data row (1 for the first)
// and column truly holds. A cell of a structured column is said to hold
// the kinds it matches as a whole among those its column is reported to
// hold (the column-level rules decide: the threshold, bare SSNs); a cell
// of a free-text column the kinds found anywhere in it. It keeps a few
// bytes per cell until the end, so it is meant for evaluation sets, not
// for whole datasets.
func EvaluateCSV(ctx context.Context, r io.Reader, labels func(row int64, column int) []Kind, opts ScanOptions) ([]Accuracy, *Report, error) {
	cc, err := opts.Config.compile()
	if err != nil {
		return nil, nil, err
	}
	cr, names, err := newCSVReader(r, opts.Limits)
	if err != nil {
		return nil, nil, err
	}
	s, err := newScanner(cc, names, opts)
	if err != nil {
		return nil, nil, err
	}
	// Per cell: the kinds matched whole (low 16 bits), anywhere (next
	// 15) and whether it is a bare SSN (top bit).
	var seen []uint32
	ncols := len(names)
	s.onCell = func(row int64, col int, whole, anywhere kindSet, bare bool) {
		i := int(row-1)*ncols + col
		for len(seen) <= i {
			seen = append(seen, 0)
		}
		v := uint32(whole) | uint32(anywhere)<<16
		if bare {
			v |= 1 << 31
		}
		seen[i] = v
	}
	rep, err := s.scanCSV(ctx, cr)
	if err != nil {
		return nil, nil, err
	}
	var counts [2][numKinds]struct{ tp, fp, fn int64 }
	for j, c := range rep.Columns {
		var reported kindSet
		for _, f := range c.Findings {
			if f.Direct {
				reported.add(indexOf(f.Kind))
			}
		}
		bareCounts := s.cols[j].ssnShaped == s.cols[j].nonNull && reported.has(kSSN)
		part := 0
		if c.FreeText {
			part = 1
		}
		for row := int64(1); row <= rep.Rows; row++ {
			var v uint32
			if i := int(row-1)*ncols + j; i < len(seen) {
				v = seen[i]
			}
			var predicted kindSet
			if c.FreeText {
				predicted = kindSet(v >> 16 & 0x7fff)
			} else {
				predicted = kindSet(v&0xffff) & reported
				if v&(1<<31) != 0 && bareCounts {
					predicted.add(kSSN)
				}
			}
			var truth kindSet
			for _, k := range labels(row, j) {
				truth.add(indexOf(k))
			}
			for k := range kindIdx(numKinds) {
				cnt := &counts[part][k]
				switch {
				case predicted.has(k) && truth.has(k):
					cnt.tp++
				case predicted.has(k):
					cnt.fp++
				case truth.has(k):
					cnt.fn++
				}
			}
		}
	}
	var out []Accuracy
	for part := range 2 {
		for k := range kindIdx(numKinds) {
			c := counts[part][k]
			if c.tp+c.fp+c.fn == 0 {
				continue
			}
			a := Accuracy{Kind: kindByIndex[k], FreeText: part == 1, TruePositives: c.tp, FalsePositives: c.fp, FalseNegatives: c.fn,
				Precision: 1, Recall: 1}
			if c.tp+c.fp > 0 {
				a.Precision = float64(c.tp) / float64(c.tp+c.fp)
			}
			if c.tp+c.fn > 0 {
				a.Recall = float64(c.tp) / float64(c.tp+c.fn)
			}
			out = append(out, a)
		}
	}
	return out, rep, nil
}

// indexOf returns a kind's index; an unknown kind gets one past the last,
// which no set holds.
func indexOf(k Kind) kindIdx {
	for i, x := range kindByIndex {
		if x == k {
			return kindIdx(i)
		}
	}
	return numKinds
}
