package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
)

func datasetPath(zoneName, project string, rest ...string) (string, error) {
	return escapePath(append([]string{"zones", zoneName, "projects", project, "datasets"}, rest...)...)
}

// ListDatasets returns one page of a project's datasets matching f.
func (c *Client) ListDatasets(ctx context.Context, zoneName, project string, f catalog.Filter, page enclave.Page) ([]*catalog.Dataset, string, error) {
	p, err := datasetPath(zoneName, project)
	if err != nil {
		return nil, "", err
	}
	q := url.Values{}
	setIf(q, "name", f.NamePrefix)
	setIf(q, "tag", f.Tag)
	setIf(q, "classification", string(f.Classification))
	setIf(q, "area", string(f.Area))
	return list[catalog.Dataset](ctx, c, p, q, page)
}

// CreateDataset catalogs a dataset; the caller becomes its data owner.
func (c *Client) CreateDataset(ctx context.Context, zoneName, project string, in catalog.DatasetCreate) (*catalog.Dataset, error) {
	p, err := datasetPath(zoneName, project)
	if err != nil {
		return nil, err
	}
	return send[catalog.Dataset](ctx, c, http.MethodPost, p, in)
}

// GetDataset returns a dataset's metadata.
func (c *Client) GetDataset(ctx context.Context, zoneName, project, name string) (*catalog.Dataset, error) {
	p, err := datasetPath(zoneName, project, name)
	if err != nil {
		return nil, err
	}
	return get[catalog.Dataset](ctx, c, p)
}

// ClassifyDataset changes a dataset's classification.
func (c *Client) ClassifyDataset(ctx context.Context, zoneName, project, name string, to enclave.Classification, reason string) (*catalog.Dataset, error) {
	p, err := datasetPath(zoneName, project, name, "classify")
	if err != nil {
		return nil, err
	}
	return send[catalog.Dataset](ctx, c, http.MethodPost, p, map[string]any{"classification": to, "reason": reason})
}

// ListVersions returns one page of a dataset's versions.
func (c *Client) ListVersions(ctx context.Context, zoneName, project, name string, page enclave.Page) ([]*catalog.Version, string, error) {
	p, err := datasetPath(zoneName, project, name, "versions")
	if err != nil {
		return nil, "", err
	}
	return list[catalog.Version](ctx, c, p, url.Values{}, page)
}

// CreateVersion opens a dataset's next version.
func (c *Client) CreateVersion(ctx context.Context, zoneName, project, name string) (*catalog.Version, error) {
	p, err := datasetPath(zoneName, project, name, "versions")
	if err != nil {
		return nil, err
	}
	return send[catalog.Version](ctx, c, http.MethodPost, p, catalog.VersionCreate{})
}

// GetVersion returns a version with its files.
func (c *Client) GetVersion(ctx context.Context, zoneName, project, name string, number int) (*catalog.Version, error) {
	p, err := datasetPath(zoneName, project, name, "versions", strconv.Itoa(number))
	if err != nil {
		return nil, err
	}
	return get[catalog.Version](ctx, c, p)
}

// CommitVersion makes a version immutable.
func (c *Client) CommitVersion(ctx context.Context, zoneName, project, name string, number int) (*catalog.Version, error) {
	p, err := datasetPath(zoneName, project, name, "versions", strconv.Itoa(number), "commit")
	if err != nil {
		return nil, err
	}
	return send[catalog.Version](ctx, c, http.MethodPost, p, nil)
}

// CopyToArea copies a committed version into another area (curate,
// provision).
func (c *Client) CopyToArea(ctx context.Context, zoneName, project, name string, number int, in catalog.AreaCopy) (*catalog.Version, error) {
	p, err := datasetPath(zoneName, project, name, "versions", strconv.Itoa(number), "copy")
	if err != nil {
		return nil, err
	}
	return send[catalog.Version](ctx, c, http.MethodPost, p, in)
}

// ShareDataset shares a dataset with its zone, or stops sharing it.
func (c *Client) ShareDataset(ctx context.Context, zoneName, project, name string, shared bool) (*catalog.Dataset, error) {
	p, err := datasetPath(zoneName, project, name, "share")
	if err != nil {
		return nil, err
	}
	return send[catalog.Dataset](ctx, c, http.MethodPost, p, map[string]bool{"shared": shared})
}

// ListShared returns one page of the datasets shared with a project's zone.
func (c *Client) ListShared(ctx context.Context, zoneName, project string, page enclave.Page) ([]*catalog.Dataset, string, error) {
	p, err := escapePath("zones", zoneName, "projects", project, "shared-datasets")
	if err != nil {
		return nil, "", err
	}
	return list[catalog.Dataset](ctx, c, p, url.Values{}, page)
}

// GetSharedVersion returns a version of a dataset project from shares with
// the zone.
func (c *Client) GetSharedVersion(ctx context.Context, zoneName, project, from, name string, number int) (*catalog.Version, error) {
	p, err := escapePath("zones", zoneName, "projects", project, "shared-datasets", from, name, "versions", strconv.Itoa(number))
	if err != nil {
		return nil, err
	}
	return get[catalog.Version](ctx, c, p)
}

// SetVersionTier moves a committed version's files to a storage tier.
func (c *Client) SetVersionTier(ctx context.Context, zoneName, project, name string, number int, tier string) (*catalog.Version, error) {
	p, err := datasetPath(zoneName, project, name, "versions", strconv.Itoa(number), "tier")
	if err != nil {
		return nil, err
	}
	return send[catalog.Version](ctx, c, http.MethodPost, p, map[string]string{"tier": tier})
}

// filePath escapes a file path inside a version segment by segment.
func filePath(path string) ([]string, error) {
	if err := catalog.ValidatePath(path); err != nil {
		return nil, err
	}
	return strings.Split(path, "/"), nil
}

// streamClient is the client for bodies of any size: no overall deadline.
func (c *Client) streamClient() *http.Client {
	return &http.Client{Transport: c.http.Transport, CheckRedirect: c.http.CheckRedirect}
}

// UploadFile streams size bytes from r into a file of an open version.
// sha256, when set, is checked by the server before anything is stored.
func (c *Client) UploadFile(ctx context.Context, zoneName, project, name string, number int, path string, r io.Reader, size int64, sha256 string) (*catalog.File, error) {
	segs, err := filePath(path)
	if err != nil {
		return nil, err
	}
	p, err := datasetPath(zoneName, project, append([]string{name, "versions", strconv.Itoa(number), "files"}, segs...)...)
	if err != nil {
		return nil, err
	}
	var f catalog.File
	return &f, c.stream(ctx, http.MethodPut, p, r, size, sha256, &f)
}

// stream sends a body of any size (none when r is nil), without the
// client's overall deadline, and decodes the answer into out.
func (c *Client) stream(ctx context.Context, method, p string, r io.Reader, size int64, sha256 string, out any) error {
	if r == nil {
		r = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+apiPrefix+p, r)
	if err != nil {
		return enclave.Wrap(enclave.CodeInvalidArgument, err, "cannot build the upload request")
	}
	req.ContentLength = size
	c.authorize(req)
	req.Header.Set("Content-Type", "application/octet-stream")
	if sha256 != "" {
		req.Header.Set("Content-SHA256", sha256)
	}
	resp, err := c.streamClient().Do(req)
	if err != nil {
		return c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return decodeProblem(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBodyBytes)).Decode(out); err != nil {
		return enclave.Wrap(enclave.CodeInternal, err, "cannot decode the upload's response")
	}
	return nil
}

func uploadsPath(zoneName, project, name string, number int, rest ...string) (string, error) {
	return datasetPath(zoneName, project, append([]string{name, "versions", strconv.Itoa(number), "uploads"}, rest...)...)
}

// StartUpload begins a multipart upload of a file of an open version.
func (c *Client) StartUpload(ctx context.Context, zoneName, project, name string, number int, path string) (*catalog.FileUpload, error) {
	p, err := uploadsPath(zoneName, project, name, number)
	if err != nil {
		return nil, err
	}
	return send[catalog.FileUpload](ctx, c, http.MethodPost, p, map[string]string{"path": path})
}

// ListUploads returns the caller's multipart uploads into a version.
func (c *Client) ListUploads(ctx context.Context, zoneName, project, name string, number int) ([]*catalog.FileUpload, error) {
	p, err := uploadsPath(zoneName, project, name, number)
	if err != nil {
		return nil, err
	}
	l, err := get[struct {
		Items []*catalog.FileUpload `json:"items"`
	}](ctx, c, p)
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// PutUploadPart sends part n of an upload: size bytes from r, checked
// against sha256 when it is set.
func (c *Client) PutUploadPart(ctx context.Context, zoneName, project, name string, number int, id string, n int, r io.Reader, size int64, sha256 string) (*objects.UploadPart, error) {
	p, err := uploadsPath(zoneName, project, name, number, id, "parts", strconv.Itoa(n))
	if err != nil {
		return nil, err
	}
	var part objects.UploadPart
	return &part, c.stream(ctx, http.MethodPut, p, r, size, sha256, &part)
}

// CompleteUpload joins an upload's parts into its file; sha256, when set,
// is the whole file's.
func (c *Client) CompleteUpload(ctx context.Context, zoneName, project, name string, number int, id, sha256 string) (*catalog.File, error) {
	p, err := uploadsPath(zoneName, project, name, number, id, "complete")
	if err != nil {
		return nil, err
	}
	var f catalog.File
	return &f, c.stream(ctx, http.MethodPost, p, nil, 0, sha256, &f)
}

// AbortUpload abandons an upload and its parts.
func (c *Client) AbortUpload(ctx context.Context, zoneName, project, name string, number int, id string) error {
	p, err := uploadsPath(zoneName, project, name, number, id)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p}, nil)
}

// Download is a file being downloaded.
type Download struct {
	Body io.ReadCloser
	// Size is the number of bytes Body holds; SHA256 is the whole file's.
	Size   int64
	SHA256 string
}

// DownloadFile reads a file of a committed version in an environment;
// rangeHeader, when set, is sent as the Range header ("bytes=0-99").
func (c *Client) DownloadFile(ctx context.Context, zoneName, project, env, name string, number int, path, rangeHeader string) (*Download, error) {
	return c.DownloadSharedFile(ctx, zoneName, project, env, "", name, number, path, rangeHeader)
}

// DownloadSharedFile is DownloadFile for a dataset that project from
// shares with the zone ("" for one of project's own), read in an
// environment of project.
func (c *Client) DownloadSharedFile(ctx context.Context, zoneName, project, env, from, name string, number int, path, rangeHeader string) (*Download, error) {
	segs, err := filePath(path)
	if err != nil {
		return nil, err
	}
	where := []string{"datasets", name}
	if from != "" {
		where = []string{"shared-datasets", from, name}
	}
	p, err := escapePath(append(append(append([]string{"zones", zoneName, "projects", project, "environments", env}, where...),
		"versions", strconv.Itoa(number), "files"), segs...)...)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+apiPrefix+p, nil)
	if err != nil {
		return nil, enclave.Wrap(enclave.CodeInvalidArgument, err, "cannot build the download request")
	}
	c.authorize(req)
	if rangeHeader != "" {
		req.Header.Set("Range", rangeHeader)
	}
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

// ProjectKeys lists the versions of a project's key-encryption key.
func (c *Client) ProjectKeys(ctx context.Context, zoneName, project string) ([]catalog.KeyVersion, error) {
	p, err := escapePath("zones", zoneName, "projects", project, "keys")
	if err != nil {
		return nil, err
	}
	out, err := get[[]catalog.KeyVersion](ctx, c, p)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// RotateProjectKey rotates a project's key-encryption key.
func (c *Client) RotateProjectKey(ctx context.Context, zoneName, project string) (*objects.Rotation, error) {
	p, err := escapePath("zones", zoneName, "projects", project, "keys", "rotate")
	if err != nil {
		return nil, err
	}
	return send[objects.Rotation](ctx, c, http.MethodPost, p, nil)
}

// Lineage returns a version's parents and children.
func (c *Client) Lineage(ctx context.Context, zoneName, project, name string, number int) (*LineageResult, error) {
	p, err := datasetPath(zoneName, project, name, "versions", strconv.Itoa(number), "lineage")
	if err != nil {
		return nil, err
	}
	return get[LineageResult](ctx, c, p)
}

// LineageResult is a version's lineage.
type LineageResult struct {
	Parents  []catalog.LineageEdge `json:"parents"`
	Children []catalog.LineageEdge `json:"children"`
}

// LabelColumn labels a dataset's column ("" removes the label).
func (c *Client) LabelColumn(ctx context.Context, zoneName, project, name, column string, label catalog.ColumnLabel) (map[string]catalog.ColumnLabel, error) {
	p, err := datasetPath(zoneName, project, name, "columns", column)
	if err != nil {
		return nil, err
	}
	out, err := send[map[string]catalog.ColumnLabel](ctx, c, http.MethodPut, p, map[string]any{"label": label})
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// ListRequests returns one page of a project's data requests.
func (c *Client) ListRequests(ctx context.Context, zoneName, project string, page enclave.Page) ([]*catalog.Request, string, error) {
	p, err := escapePath("zones", zoneName, "projects", project, "data-requests")
	if err != nil {
		return nil, "", err
	}
	return list[catalog.Request](ctx, c, p, url.Values{}, page)
}

// DecideRequest approves or rejects a data request.
func (c *Client) DecideRequest(ctx context.Context, zoneName, project, id string, approve bool, comment string) (*catalog.Request, error) {
	verb := "reject"
	if approve {
		verb = "approve"
	}
	p, err := escapePath("zones", zoneName, "projects", project, "data-requests", id, verb)
	if err != nil {
		return nil, err
	}
	return send[catalog.Request](ctx, c, http.MethodPost, p, catalog.Decision{Comment: comment})
}

// RequestKeyDestruction asks for a project's keys to be destroyed.
func (c *Client) RequestKeyDestruction(ctx context.Context, zoneName, project, confirm, justification string) (*catalog.Request, error) {
	p, err := escapePath("zones", zoneName, "projects", project, "keys", "destroy")
	if err != nil {
		return nil, err
	}
	return send[catalog.Request](ctx, c, http.MethodPost, p, map[string]string{"confirm": confirm, "justification": justification})
}

// RequestGrant asks the data owner for time-boxed access to a version from
// an environment not certified for it.
func (c *Client) RequestGrant(ctx context.Context, zoneName, project, name string, number int, in catalog.GrantRequest) (*catalog.Request, error) {
	p, err := datasetPath(zoneName, project, name, "versions", strconv.Itoa(number), "grants")
	if err != nil {
		return nil, err
	}
	return send[catalog.Request](ctx, c, http.MethodPost, p, in)
}

// CopyUnderGrant makes the copy an approved grant allows.
func (c *Client) CopyUnderGrant(ctx context.Context, zoneName, project, id, target string) (*catalog.Dataset, error) {
	p, err := escapePath("zones", zoneName, "projects", project, "data-requests", id, "copy")
	if err != nil {
		return nil, err
	}
	return send[catalog.Dataset](ctx, c, http.MethodPost, p, map[string]string{"name": target})
}
