package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/policy"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// policyColumns is the table of policy definitions.
var policyColumns = []column[*policy.StoredDefinition]{
	{"ID", func(d *policy.StoredDefinition) string { return d.ID }},
	{"EFFECT", func(d *policy.StoredDefinition) string { return string(d.Effect) }},
	{"KINDS", func(d *policy.StoredDefinition) string { return strings.Join(d.Kinds, ",") }},
	{"BUILTIN", func(d *policy.StoredDefinition) string { return strconv.FormatBool(d.Builtin) }},
	{"DESCRIPTION", func(d *policy.StoredDefinition) string { return truncate(d.Description, 72) }},
}

func newPolicyListCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List policy definitions, built in and the platform's own",
		Args:  noArgs,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			defs, err := client.Collect(cmd.Context(), 0, func(ctx context.Context, p enclave.Page) ([]*policy.StoredDefinition, string, error) {
				return c.ListPolicies(ctx, p)
			})
			if err != nil {
				return err
			}
			return printList(app, defs, policyColumns)
		}),
	}
}

func newPolicyShowCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a policy definition (YAML, or JSON with -o json)",
		Long: "Show a policy definition with its condition, effect, fields and parameters. The YAML can be\n" +
			"edited and given back to `enclave policy apply -f` (under another ID, for a built-in policy):\n" +
			"the fields the server sets (builtin, created_*, updated_*) are ignored there.",
		Args:              exactArgs(1),
		ValidArgsFunction: app.completePolicyArg,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			d, err := c.GetPolicy(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printValue(app, d)
		}),
	}
}

func newPolicyApplyCommand(app *App) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or replace the policy definitions of a YAML file",
		Long: "Create or replace the policy definitions in FILE (YAML, one or more documents separated by ---;\n" +
			"- reads standard input). The server type-checks every expression first: a definition whose\n" +
			"condition or field values do not compile is refused with the expression's line and column, and\n" +
			"nothing of it is stored. Definitions are applied in the file's order and the command stops at the\n" +
			"first refusal. Definitions already stored as they are in the file are left unchanged. Fixture\n" +
			"documents (with cases:) are skipped: run them with `enclave policy test`.",
		Example: "  enclave policy apply -f policies/require-description.yaml\n" +
			"  enclave policy show require-cost-center-tag | sed 's/^id: .*/id: my-cost-centers/' | enclave policy apply -f -",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "file") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			defs, fixtures, err := readPolicyFile(app, file)
			if err != nil {
				return err
			}
			if fixtures > 0 {
				fmt.Fprintf(app.Stderr, "Skipped %d fixture document(s): run them with enclave policy test\n", fixtures)
			}
			var applied []*policy.StoredDefinition
			for _, d := range defs {
				verb, stored, err := applyPolicy(cmd.Context(), c, d)
				if err != nil {
					return policyError(d.ID, err)
				}
				applied = append(applied, stored)
				if err := app.printDone("%s policy %s", verb, d.ID); err != nil {
					return err
				}
			}
			if app.Output != formatTable {
				return printValue(app, applied)
			}
			return nil
		}),
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "YAML file of policy definitions, - for standard input (required)")
	return cmd
}

// applyPolicy stores one definition unless the server holds it as it is,
// and says what it did: Created, Updated or Unchanged.
func applyPolicy(ctx context.Context, c *client.Client, d *policy.Definition) (string, *policy.StoredDefinition, error) {
	cur, err := c.GetPolicy(ctx, d.ID)
	switch {
	case err == nil && !cur.Builtin && sameDefinition(&cur.Definition, d):
		return "Unchanged", cur, nil
	case err != nil && !enclave.IsCode(err, enclave.CodeNotFound):
		return "", nil, err
	}
	stored, created, err := c.PutPolicy(ctx, *d)
	if err != nil {
		return "", nil, err
	}
	if created {
		return "Created", stored, nil
	}
	return "Updated", stored, nil
}

// sameDefinition compares two definitions by their JSON form, so that
// numbers read from YAML and from JSON compare equal.
func sameDefinition(a, b *policy.Definition) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return false
	}
	var va, vb any
	if json.Unmarshal(ja, &va) != nil || json.Unmarshal(jb, &vb) != nil {
		return false
	}
	na, _ := json.Marshal(va) // maps marshal with sorted keys
	nb, _ := json.Marshal(vb)
	return bytes.Equal(na, nb)
}

// policyError names the definition a refusal is about, keeping the exit
// code Main gives API errors: the server's message names the expression
// but not the definition.
func policyError(id string, err error) error {
	var ae *client.APIError
	if !errors.As(err, &ae) {
		return fmt.Errorf("policy %s: %w", id, err)
	}
	code := ExitAPI
	if ae.Status >= 500 {
		code = ExitUnavailable
	}
	return &exitError{code: code, err: fmt.Errorf("policy %s: %s", id, ae.Error())}
}

// serverFields are the fields of a stored definition that the server
// sets; `policy show` prints them, apply ignores them.
var serverFields = map[string]bool{"builtin": true, "created_at": true, "created_by": true, "updated_at": true, "updated_by": true}

// readPolicyFile reads the definitions of a YAML file (or stdin for "-")
// with policy.ParseDocuments and counts its fixtures. The fields a stored
// definition carries from the server are dropped first, so that the output
// of `policy show` can be applied again.
func readPolicyFile(app *App, file string) ([]*policy.Definition, int, error) {
	var raw []byte
	var err error
	if file == "-" {
		raw, err = io.ReadAll(io.LimitReader(app.Stdin, maxPolicyFile+1))
	} else {
		raw, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, 0, err
	}
	if len(raw) > maxPolicyFile {
		return nil, 0, fmt.Errorf("%s: larger than %d bytes", file, maxPolicyFile)
	}
	name := file
	if file == "-" {
		name = "standard input"
	}
	var buf bytes.Buffer
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	enc := yaml.NewEncoder(&buf)
	for i := 1; ; i++ {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, 0, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
			m := doc.Content[0]
			kept := m.Content[:0:0]
			for j := 0; j+1 < len(m.Content); j += 2 {
				if !serverFields[m.Content[j].Value] {
					kept = append(kept, m.Content[j], m.Content[j+1])
				}
			}
			m.Content = kept
		}
		if err := enc.Encode(&doc); err != nil {
			return nil, 0, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, 0, err
	}
	defs, fixtures, err := policy.ParseDocuments(buf.Bytes())
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	if len(defs) == 0 {
		return nil, 0, fmt.Errorf("%s holds no policy definition (a document with id, kinds, condition and effect)", name)
	}
	seen := map[string]bool{}
	for i, d := range defs {
		if d.ID == "" {
			return nil, 0, fmt.Errorf("%s: definition %d has no id", name, i+1)
		}
		if seen[d.ID] {
			return nil, 0, fmt.Errorf("%s: policy %s is defined twice", name, d.ID)
		}
		seen[d.ID] = true
	}
	return defs, len(fixtures), nil
}

// maxPolicyFile bounds the file apply reads.
const maxPolicyFile = 4 << 20

func newPolicyDeleteCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:               "delete ID",
		Short:             "Delete a policy definition that no assignment uses",
		Args:              exactArgs(1),
		ValidArgsFunction: app.completePolicyArg,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.DeletePolicy(cmd.Context(), args[0]); err != nil {
				return err
			}
			return app.printDone("Deleted policy %s", args[0])
		}),
	}
}

// completePolicyArg completes a policy definition ID as the first argument.
func (app *App) completePolicyArg(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeFrom(app, cmd, func(ctx context.Context, c *client.Client) ([]string, error) {
		defs, _, err := c.ListPolicies(ctx, enclave.Page{Size: enclave.MaxPageSize})
		ids := make([]string, len(defs))
		for i, d := range defs {
			ids[i] = d.ID
		}
		return ids, err
	})
}

// completeFrom completes from a list the server gives, when logged in.
func completeFrom(app *App, cmd *cobra.Command, names func(context.Context, *client.Client) ([]string, error)) ([]cobra.Completion, cobra.ShellCompDirective) {
	c, err := app.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	out, err := names(ctx, c)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
