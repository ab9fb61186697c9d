package cli

import (
	"fmt"
	"strconv"

	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/spf13/cobra"
)

var keyColumns = []column[catalog.KeyVersion]{
	{"VERSION", func(k catalog.KeyVersion) string { return strconv.FormatUint(uint64(k.Version), 10) }},
	{"PROVIDER", func(k catalog.KeyVersion) string { return k.Provider }},
	{"KEY", func(k catalog.KeyVersion) string { return k.KeyURI }},
	{"OBJECTS", func(k catalog.KeyVersion) string { return strconv.FormatInt(k.Objects, 10) }},
	{"CREATED", func(k catalog.KeyVersion) string { return formatTime(k.CreatedAt) }},
}

var rotationColumns = []column[*objects.Rotation]{
	{"VERSION", func(r *objects.Rotation) string { return strconv.FormatUint(uint64(r.Version), 10) }},
	{"REWRAPPED", func(r *objects.Rotation) string { return strconv.Itoa(r.Rewrapped) }},
	{"RETIRED", func(r *objects.Rotation) string { return fmt.Sprint(r.Retired) }},
	{"KEPT", func(r *objects.Rotation) string { return fmt.Sprint(r.Kept) }},
}

// NewKeysCommand returns "enclave keys": the keys that protect a project's data.
func NewKeysCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Aliases: []string{"key"}, Short: "See and rotate the keys that protect a project's data",
		Args: noArgs, RunE: showHelp}
	var zoneName, project string
	show := &cobra.Command{
		Use:     "show --zone ZONE --project PROJECT",
		Short:   "List the versions of a project's key-encryption key",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			ks, err := c.ProjectKeys(cmd.Context(), zoneName, project)
			if err != nil {
				return err
			}
			return printList(app, ks, keyColumns)
		}),
	}
	app.projectFlags(show, &zoneName, &project)
	rotate := &cobra.Command{
		Use:     "rotate --zone ZONE --project PROJECT",
		Short:   "Rotate a project's key-encryption key: re-wrap every data key, re-encrypt no data",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return requireFlags(cmd, "zone", "project") },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			r, err := c.RotateProjectKey(cmd.Context(), zoneName, project)
			if err != nil {
				return err
			}
			return printItem(app, r, rotationColumns)
		}),
	}
	app.projectFlags(rotate, &zoneName, &project)
	var dz, dp, confirm, why string
	destroy := &cobra.Command{
		Use:   "destroy --zone ZONE --project PROJECT --confirm PROJECT --justification TEXT",
		Short: "Ask for a project's keys to be destroyed: all its data becomes unreadable for good once another Platform Admin approves",
		Args:  noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return requireFlags(cmd, "zone", "project", "confirm", "justification")
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			r, err := c.RequestKeyDestruction(cmd.Context(), dz, dp, confirm, why)
			if err != nil {
				return err
			}
			if err := printItem(app, r, requestColumns); err != nil {
				return err
			}
			if app.Output == formatTable {
				fmt.Fprintf(app.Stderr, "Another Platform Admin approves with: enclave data requests approve %s --zone %s --project %s\n", r.ID, dz, dp)
			}
			return nil
		}),
	}
	app.projectFlags(destroy, &dz, &dp)
	destroy.Flags().StringVar(&confirm, "confirm", "", "the project's name, to confirm (required)")
	destroy.Flags().StringVar(&why, "justification", "", "why (required)")
	cmd.AddCommand(show, rotate, destroy)
	return cmd
}
