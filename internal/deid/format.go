package deid

import "github.com/enclave-ml/enclave/internal/tabular"

// DetectFormat names the format of a file from its name and first bytes:
// "parquet" for the PAR1 magic, "csv" for delimited text, or "" for a file
// that is not tabular (the airlock then has nothing to scan column by
// column). It follows tabular.DetectFormat.
func DetectFormat(name string, head []byte) string {
	return string(tabular.DetectFormat(name, head))
}
