package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/workqueue"
)

// ListTasks returns one page of the background tasks that match f, newest
// first, and the token of the next page ("" after the last).
func (c *Client) ListTasks(ctx context.Context, f workqueue.Filter, page enclave.Page) ([]*workqueue.Task, string, error) {
	q := url.Values{}
	setIf(q, "state", string(f.State))
	setIf(q, "kind", f.Kind)
	return list[workqueue.Task](ctx, c, "/tasks", q, page)
}

// GetTask returns the task with the given ID.
func (c *Client) GetTask(ctx context.Context, id string) (*workqueue.Task, error) {
	p, err := escapePath("tasks", id)
	if err != nil {
		return nil, err
	}
	return get[workqueue.Task](ctx, c, p)
}

// RetryTask makes a dead task pending again with a fresh set of attempts.
func (c *Client) RetryTask(ctx context.Context, id string) (*workqueue.Task, error) {
	p, err := escapePath("tasks", id, "retry")
	if err != nil {
		return nil, err
	}
	return send[workqueue.Task](ctx, c, http.MethodPost, p, nil)
}
