package client

import (
	"context"
	"net/http"
	"strconv"

	"github.com/enclave-ml/enclave/internal/catalog"
)

// Deidentify applies a de-identification recipe to a committed version;
// the result is the next version of a workspace dataset.
func (c *Client) Deidentify(ctx context.Context, zoneName, project, name string, number int, in catalog.DeidRequest) (*catalog.DeidResult, error) {
	p, err := datasetPath(zoneName, project, name, "versions", strconv.Itoa(number), "deid")
	if err != nil {
		return nil, err
	}
	return send[catalog.DeidResult](ctx, c, http.MethodPost, p, in)
}
