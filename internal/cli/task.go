package cli

import (
	"context"
	"fmt"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/workqueue"
	"github.com/spf13/cobra"
)

// taskColumns is the table of background tasks. The last error is cut
// short; -o json or yaml shows it whole.
var taskColumns = []column[*workqueue.Task]{
	{"ID", func(t *workqueue.Task) string { return t.ID }},
	{"KIND", func(t *workqueue.Task) string { return t.Kind }},
	{"STATE", func(t *workqueue.Task) string { return string(t.State) }},
	{"ATTEMPTS", func(t *workqueue.Task) string { return fmt.Sprintf("%d/%d", t.Attempts, t.MaxAttempts) }},
	{"RUN AT", func(t *workqueue.Task) string { return formatTime(t.RunAt) }},
	{"LAST ERROR", func(t *workqueue.Task) string { return truncate(t.LastError, 60) }},
}

// taskStates are the values of task list --state.
var taskStates = []string{string(workqueue.Pending), string(workqueue.Running), string(workqueue.Succeeded), string(workqueue.Dead)}

// NewTaskCommand returns "enclave task": the platform's background work queue.
func NewTaskCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "task",
		Aliases: []string{"tasks"},
		Short:   "Inspect and retry background tasks",
		Args:    noArgs,
		RunE:    showHelp,
	}
	cmd.AddCommand(newTaskListCommand(app), newTaskShowCommand(app), newTaskRetryCommand(app))
	return cmd
}

func newTaskListCommand(app *App) *cobra.Command {
	var state string
	var f workqueue.Filter
	var limit int
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List background tasks, newest first",
		Args:    noArgs,
		PreRunE: func(*cobra.Command, []string) error { return checkLimit(limit) },
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			f.State = workqueue.State(state)
			tasks, err := client.Collect(cmd.Context(), limit, func(ctx context.Context, p enclave.Page) ([]*workqueue.Task, string, error) {
				return c.ListTasks(ctx, f, p)
			})
			if err != nil {
				return err
			}
			return printList(app, tasks, taskColumns)
		}),
	}
	cmd.Flags().StringVar(&state, "state", "", "only tasks in this state: pending, running, succeeded or dead")
	cmd.Flags().StringVar(&f.Kind, "kind", "", "only tasks of this kind")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many tasks (0 for all)")
	_ = cmd.RegisterFlagCompletionFunc("state", fixedCompletion(taskStates...))
	return cmd
}

func newTaskShowCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a background task",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			t, err := c.GetTask(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printItem(app, t, taskColumns)
		}),
	}
}

func newTaskRetryCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "retry ID",
		Short: "Retry a dead task with a fresh set of attempts",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			t, err := c.RetryTask(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printItem(app, t, taskColumns)
		}),
	}
}
