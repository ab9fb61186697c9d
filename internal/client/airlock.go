package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/enclave-ml/enclave/internal/airlock"
	"github.com/enclave-ml/enclave/internal/enclave"
)

func airlockPath(zoneName, project string, t airlock.Type, rest ...string) (string, error) {
	return escapePath(append([]string{"zones", zoneName, "projects", project, "airlock", string(t) + "s"}, rest...)...)
}

// ListAirlock returns one page of a project's requests of a type.
func (c *Client) ListAirlock(ctx context.Context, zoneName, project string, t airlock.Type, state string, page enclave.Page) ([]*airlock.Request, string, error) {
	p, err := airlockPath(zoneName, project, t)
	if err != nil {
		return nil, "", err
	}
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	return list[airlock.Request](ctx, c, p, q, page)
}

// CreateAirlock opens a draft request.
func (c *Client) CreateAirlock(ctx context.Context, zoneName, project string, t airlock.Type, in airlock.Create) (*airlock.Request, error) {
	p, err := airlockPath(zoneName, project, t)
	if err != nil {
		return nil, err
	}
	return send[airlock.Request](ctx, c, http.MethodPost, p, in)
}

// GetAirlock returns a request with its checks, reviews and history.
func (c *Client) GetAirlock(ctx context.Context, zoneName, project string, t airlock.Type, id string) (*airlock.Request, error) {
	p, err := airlockPath(zoneName, project, t, id)
	if err != nil {
		return nil, err
	}
	return get[airlock.Request](ctx, c, p)
}

// UploadAirlockFile streams a file into an import's draft.
func (c *Client) UploadAirlockFile(ctx context.Context, zoneName, project, id, path string, r io.Reader, size int64, sha256 string) (*airlock.File, error) {
	segs, err := filePath(path)
	if err != nil {
		return nil, err
	}
	p, err := airlockPath(zoneName, project, airlock.Import, append([]string{id, "files"}, segs...)...)
	if err != nil {
		return nil, err
	}
	var f airlock.File
	return &f, c.stream(ctx, http.MethodPut, p, r, size, sha256, &f)
}

// AddAirlockFiles adds files of a workspace dataset version to an export's draft.
func (c *Client) AddAirlockFiles(ctx context.Context, zoneName, project, id string, in airlock.AddFiles) ([]*airlock.File, error) {
	p, err := airlockPath(zoneName, project, airlock.Export, id, "files")
	if err != nil {
		return nil, err
	}
	out, err := send[[]*airlock.File](ctx, c, http.MethodPost, p, in)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// RemoveAirlockFile takes a file out of a draft.
func (c *Client) RemoveAirlockFile(ctx context.Context, zoneName, project string, t airlock.Type, id, path string) error {
	segs, err := filePath(path)
	if err != nil {
		return err
	}
	p, err := airlockPath(zoneName, project, t, append([]string{id, "files"}, segs...)...)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}

// AirlockAction takes an action on a request: submit, cancel, approve,
// reject or revoke, with a comment where one applies.
func (c *Client) AirlockAction(ctx context.Context, zoneName, project string, t airlock.Type, id, action, comment string) (*airlock.Request, error) {
	p, err := airlockPath(zoneName, project, t, id, action)
	if err != nil {
		return nil, err
	}
	var body any
	if action == "approve" || action == "reject" || action == "revoke" {
		body = airlock.Decision{Comment: comment}
	}
	return send[airlock.Request](ctx, c, http.MethodPost, p, body)
}

// OpenAirlockFile reads a file of a request in review, for a reviewer.
func (c *Client) OpenAirlockFile(ctx context.Context, zoneName, project string, t airlock.Type, id, path string) (*Download, error) {
	segs, err := filePath(path)
	if err != nil {
		return nil, err
	}
	p, err := airlockPath(zoneName, project, t, append([]string{id, "files"}, segs...)...)
	if err != nil {
		return nil, err
	}
	return c.getStream(ctx, p)
}

// CreateAirlockLink makes a short-lived download link for an approved export.
func (c *Client) CreateAirlockLink(ctx context.Context, zoneName, project, id string, ttlSeconds int) (*airlock.Link, error) {
	p, err := airlockPath(zoneName, project, airlock.Export, id, "links")
	if err != nil {
		return nil, err
	}
	return send[airlock.Link](ctx, c, http.MethodPost, p, map[string]int{"ttl_seconds": ttlSeconds})
}

// DownloadAirlock reads a file of an approved export through a link.
func (c *Client) DownloadAirlock(ctx context.Context, zoneName, project, token, path string) (*Download, error) {
	segs, err := filePath(path)
	if err != nil {
		return nil, err
	}
	p, err := escapePath(append([]string{"zones", zoneName, "projects", project, "airlock", "downloads", token}, segs...)...)
	if err != nil {
		return nil, err
	}
	return c.getStream(ctx, p)
}

// GetAirlockSettings returns a project's airlock settings.
func (c *Client) GetAirlockSettings(ctx context.Context, zoneName, project string) (*airlock.Settings, error) {
	p, err := escapePath("zones", zoneName, "projects", project, "airlock", "settings")
	if err != nil {
		return nil, err
	}
	return get[airlock.Settings](ctx, c, p)
}

// PutAirlockSettings changes a project's airlock settings.
func (c *Client) PutAirlockSettings(ctx context.Context, zoneName, project string, in airlock.Settings) (*airlock.Settings, error) {
	p, err := escapePath("zones", zoneName, "projects", project, "airlock", "settings")
	if err != nil {
		return nil, err
	}
	return send[airlock.Settings](ctx, c, http.MethodPut, p, in)
}

// ListQuarantine returns the requests the malware scan blocked.
func (c *Client) ListQuarantine(ctx context.Context, page enclave.Page) ([]*airlock.Request, string, error) {
	return list[airlock.Request](ctx, c, "/airlock/quarantine", nil, page)
}

// getStream GETs a body of any size.
func (c *Client) getStream(ctx context.Context, p string) (*Download, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+apiPrefix+p, nil)
	if err != nil {
		return nil, enclave.Wrap(enclave.CodeInvalidArgument, err, "cannot build the download request")
	}
	c.authorize(req)
	resp, err := c.streamClient().Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, decodeProblem(resp)
	}
	return &Download{Body: resp.Body, Size: resp.ContentLength, SHA256: resp.Header.Get("Content-SHA256")}, nil
}
