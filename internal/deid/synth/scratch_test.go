package synth

import (
	"os"
	"testing"
)

func TestScratch(t *testing.T) {
	tr, err := WriteCSV(os.Stdout, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", tr)
}
