// Package tabular reads CSV and Parquet files as streams of rows and
// profiles them for the dataset catalog: the row count and, per column, an
// inferred logical type, null and distinct counts, extremes, mean and
// standard deviation, and string lengths.
//
// Everything works in memory bounded by the limits in [Limits], whatever the
// size of the file: CSV is read from an [io.Reader] a record at a time, and
// Parquet a page per column at a time from an [io.ReaderAt]. The row readers
// ([Rows], [NewCSVRows], [NewParquetRows]) are exported on their own so that
// other checks over whole files (the airlock's de-identification scans) use
// the same hardened readers as the profiler.
//
// Errors about the input are *enclave.Error values of kind invalid_argument
// or too_large whose messages name the line (CSV) or the column and row group
// (Parquet) but never quote the data, which may be sensitive.
package tabular
