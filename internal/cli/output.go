package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// The output formats of -o.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatYAML  = "yaml"
)

var outputFormats = []string{formatTable, formatJSON, formatYAML}

// checkOutput refuses an unknown -o value as a usage error. Commands call it
// before they change anything, so that a typo does not leave a created
// resource unprinted.
func (app *App) checkOutput() error {
	for _, f := range outputFormats {
		if app.Output == f {
			return nil
		}
	}
	return usageError{fmt.Errorf("unknown output format %q: use table, json or yaml", app.Output)}
}

// completeOutput completes the values of -o. Register it on the root
// command's persistent flag: root.RegisterFlagCompletionFunc("output", completeOutput).
func completeOutput(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return outputFormats, cobra.ShellCompDirectiveNoFileComp
}

// fixedCompletion completes a flag or argument from a fixed list.
func fixedCompletion(values ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// column is one column of a resource's table: an upper-case header and how
// to render a cell.
type column[T any] struct {
	header string
	value  func(T) string
}

// printValue prints v, which has no table form, in the format -o asks
// for: JSON for json, YAML for yaml and for table (YAML reads well).
func printValue(app *App, v any) error {
	if err := app.checkOutput(); err != nil {
		return err
	}
	if app.Output == formatJSON {
		return writeJSON(app.Stdout, v)
	}
	return writeYAML(app.Stdout, v)
}

// printItem prints one resource in the format -o asks for; a table has one row.
func printItem[T any](app *App, item T, cols []column[T]) error {
	switch app.Output {
	case formatJSON:
		return writeJSON(app.Stdout, item)
	case formatYAML:
		return writeYAML(app.Stdout, item)
	}
	return writeTable(app.Stdout, []T{item}, cols)
}

// printList prints resources in the format -o asks for. JSON and YAML
// print an array of the items (never null).
func printList[T any](app *App, items []T, cols []column[T]) error {
	if items == nil {
		items = []T{}
	}
	switch app.Output {
	case formatJSON:
		return writeJSON(app.Stdout, items)
	case formatYAML:
		return writeYAML(app.Stdout, items)
	}
	return writeTable(app.Stdout, items, cols)
}

func writeTable[T any](w io.Writer, items []T, cols []column[T]) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.header
	}
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	cells := make([]string, len(cols))
	for _, item := range items {
		for i, c := range cols {
			cells[i] = cell(c.value(item))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// cell makes a value fit one table cell: control characters (tabs and
// newlines would break the layout, escapes the terminal) become spaces, and
// runs of white space collapse to one, and an empty value shows as "-".
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return strings.Join(strings.Fields(s), " ")
}

// jsonBytes encodes v as indented JSON without HTML escaping.
func jsonBytes(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSON(w io.Writer, v any) error {
	raw, err := jsonBytes(v)
	if err != nil {
		return err
	}
	_, err = w.Write(raw)
	return err
}

// writeYAML prints v as YAML with the field names and field order of its
// JSON form: the JSON is parsed as YAML (JSON is a subset) and re-emitted in
// block style, so a script sees the same document either way.
func writeYAML(w io.Writer, v any) error {
	raw, err := jsonBytes(v)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return err
	}
	blockStyle(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return enc.Close()
}

// blockStyle clears the flow and quoting styles the JSON brought; the
// encoder still quotes strings that would otherwise read as another type.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// formatTags renders tags as k=v,k=v sorted by key.
func formatTags(t enclave.Tags) string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + t[k]
	}
	return strings.Join(parts, ",")
}

// formatTime renders a time as RFC 3339 in UTC; the zero time is empty.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// truncate shortens s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
