package deid

import (
	"bytes"
	"context"
	"testing"

	"github.com/enclave-ml/enclave/internal/deid/synth"
)

// labelledSynth generates a labelled synthetic table and returns it with
// a function answering its labels.
func labelledSynth(t testing.TB, rows int, seed uint64) ([]byte, func(row int64, col int) []Kind) {
	t.Helper()
	var buf bytes.Buffer
	var labels [][][]Kind
	if _, err := synth.WriteCSVLabels(&buf, rows, seed, func(_ int, l []synth.Label) {
		row := make([][]Kind, len(l))
		for i, x := range l {
			for _, k := range x.Kinds {
				row[i] = append(row[i], Kind(k))
			}
		}
		labels = append(labels, row)
	}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), func(row int64, col int) []Kind { return labels[row-1][col] }
}

// TestPrecisionRecall requires, on a labelled synthetic table with near
// misses, recall of at least 0.99 and precision of at least 0.95 at cell
// level for the identifiers with check digits and for SSNs, in structured
// columns and in free text, and logs every kind's figures.
func TestPrecisionRecall(t *testing.T) {
	data, labels := labelledSynth(t, 20000, 42)
	acc, rep, err := EvaluateCSV(context.Background(), bytes.NewReader(data), labels, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 20000 {
		t.Fatalf("%d rows", rep.Rows)
	}
	strict := map[Kind]bool{KindUKNHS: true, KindPaymentCard: true, KindIBAN: true, KindUSSSN: true}
	seen := map[Kind]int{}
	for _, a := range acc {
		part := "structured"
		if a.FreeText {
			part = "free text"
		}
		t.Logf("%-10s %-14s precision %.4f recall %.4f (tp %d, fp %d, fn %d)", part, a.Kind, a.Precision, a.Recall,
			a.TruePositives, a.FalsePositives, a.FalseNegatives)
		if strict[a.Kind] {
			seen[a.Kind]++
			if a.Recall < 0.99 || a.Precision < 0.95 {
				t.Errorf("%s %s: precision %.4f, recall %.4f; want at least 0.95 and 0.99", part, a.Kind, a.Precision, a.Recall)
			}
			if a.TruePositives < 500 {
				t.Errorf("%s %s: only %d true positives to measure", part, a.Kind, a.TruePositives)
			}
		}
	}
	for k := range strict {
		if seen[k] != 2 {
			t.Errorf("%s measured in %d of structured and free text", k, seen[k])
		}
	}
}

// TestEvaluateCSVCountsMistakes checks the evaluation itself on a table
// whose mistakes are known.
func TestEvaluateCSVCountsMistakes(t *testing.T) {
	data := "nhs,notes\n943 476 5919,none\n401 023 2137,NHS 943 476 5919 seen in clinic on the ward this morning\n943 476 5918,nothing to see here in this rather long note\n"
	truth := map[[2]int64][]Kind{
		{1, 0}: {KindUKNHS}, {2, 0}: {KindUKNHS}, {3, 0}: {KindUKNHS}, // the last is wrong: a false negative
		{3, 1}: {KindEmail}, // a false negative in free text
	}
	acc, _, err := EvaluateCSV(context.Background(), bytes.NewReader([]byte(data)),
		func(row int64, col int) []Kind { return truth[[2]int64{row, int64(col)}] }, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Accuracy{}
	for _, a := range acc {
		key := string(a.Kind)
		if a.FreeText {
			key += "/text"
		}
		got[key] = a
	}
	if a := got["uk-nhs"]; a.TruePositives != 2 || a.FalseNegatives != 1 || a.FalsePositives != 0 {
		t.Errorf("structured NHS: %+v", a)
	}
	if a := got["uk-nhs/text"]; a.FalsePositives != 1 || a.Precision != 0 {
		t.Errorf("free-text NHS: %+v", a)
	}
	if a := got["email/text"]; a.FalseNegatives != 1 || a.Recall != 0 {
		t.Errorf("free-text email: %+v", a)
	}
}
