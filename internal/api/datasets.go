package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
)

// Example values of the dataset routes' bodies, for the OpenAPI document.
var (
	datasetOut    = catalog.Dataset{}
	datasetList   = List[*catalog.Dataset]{}
	datasetCreate = catalog.DatasetCreate{}
	datasetUpdate = catalog.DatasetUpdate{}
	versionOut    = catalog.Version{}
	versionList   = List[*catalog.Version]{}
	fileOut       = catalog.File{}
)

// ClassifyRequest changes a dataset's classification.
type ClassifyRequest struct {
	Classification enclave.Classification `json:"classification"`
	// Reason is required to lower a classification.
	Reason string `json:"reason,omitempty"`
}

const (
	datasetPath = "/api/v1/zones/{zone}/projects/{project}/datasets/{dataset}"
	versionPath = datasetPath + "/versions/{version}"
	// ContentSHA256Header carries the SHA-256 an upload must have.
	ContentSHA256Header = "Content-SHA256"
)

func (s *Server) datasetRoutes() []route {
	const tag = "datasets"
	return []route{
		{method: "GET", pattern: "/api/v1/zones/{zone}/projects/{project}/datasets", perm: "datasets/read", summary: "List and search a project's datasets",
			tag: tag, out: datasetList, status: 200, handle: s.listDatasets,
			query: append([]param{{"name", "names starting with this"}, {"tag", "tag key, or key=value"},
				{"classification", "only this classification"}, {"area", "only this area"},
				{"column", "only datasets with a table column of this name"}}, pageQuery...)},
		{method: "POST", pattern: "/api/v1/zones/{zone}/projects/{project}/datasets", kind: "dataset", perm: "datasets/write", summary: "Catalog a dataset (the caller becomes its data owner)",
			tag: tag, in: datasetCreate, out: datasetOut, status: 201, handle: s.createDataset},
		{method: "GET", pattern: datasetPath, perm: "datasets/read", summary: "A dataset's metadata", tag: tag, out: datasetOut, status: 200, handle: s.getDataset},
		{method: "PATCH", pattern: datasetPath, kind: "dataset", perm: "datasets/write", summary: "Change a dataset's description, tags or retention",
			tag: tag, in: datasetUpdate, out: datasetOut, status: 200, handle: s.updateDataset},
		{method: "POST", pattern: datasetPath + "/classify", kind: "dataset", perm: "datasets/write", summary: "Raise a dataset's classification, or lower it (data owner only, with a reason)",
			tag: tag, in: ClassifyRequest{}, out: datasetOut, status: 200, handle: s.classifyDataset},
		{method: "GET", pattern: datasetPath + "/versions", perm: "datasets/read", summary: "List a dataset's versions",
			tag: tag, out: versionList, status: 200, handle: s.listVersions, query: pageQuery},
		{method: "POST", pattern: datasetPath + "/versions", kind: "dataset-version", perm: "datasets/contents/write", summary: "Open the dataset's next version for uploads",
			tag: tag, in: catalog.VersionCreate{}, out: versionOut, status: 201, handle: s.createVersion},
		{method: "GET", pattern: versionPath, perm: "datasets/read", summary: "A version with its file manifest and schemas",
			tag: tag, out: versionOut, status: 200, handle: s.getVersion},
		{method: "PUT", pattern: versionPath + "/files/{path...}", kind: "dataset-file", perm: "datasets/contents/write", stream: true,
			summary: "Upload a file of an open version (streamed; optional Content-SHA256 header checked)",
			tag:     tag, out: fileOut, status: 201, handle: s.putFile},
		{method: "POST", pattern: versionPath + "/uploads", kind: "upload", perm: "datasets/contents/write",
			summary: "Start a multipart upload of a large file: send its parts, resume after a break, then complete it",
			tag:     tag, in: UploadRequest{}, out: catalog.FileUpload{}, status: 201, handle: s.startUpload},
		{method: "GET", pattern: versionPath + "/uploads", perm: "datasets/contents/write", summary: "The caller's multipart uploads into a version",
			tag: tag, out: List[*catalog.FileUpload]{}, status: 200, handle: s.listUploads},
		{method: "GET", pattern: versionPath + "/uploads/{upload}", perm: "datasets/contents/write",
			summary: "A multipart upload with the parts received (what a client that resumes still has to send)",
			tag:     tag, out: catalog.FileUpload{}, status: 200, handle: s.getUpload},
		{method: "PUT", pattern: versionPath + "/uploads/{upload}/parts/{part}", kind: "upload", perm: "datasets/contents/write", stream: true,
			summary: "Send part N (1 to 10000) of a multipart upload; sending it again replaces it (optional Content-SHA256 header checked)",
			tag:     tag, out: objects.UploadPart{}, status: 200, handle: s.putUploadPart},
		{method: "POST", pattern: versionPath + "/uploads/{upload}/complete", kind: "dataset-file", perm: "datasets/contents/write", stream: true,
			summary: "Join the parts, 1 to N without a gap, into the file (optional Content-SHA256 header of the whole file checked)",
			tag:     tag, out: fileOut, status: 201, handle: s.completeUpload},
		{method: "DELETE", pattern: versionPath + "/uploads/{upload}", kind: "upload", perm: "datasets/contents/write",
			summary: "Abandon a multipart upload and delete its parts", tag: tag, status: 204, handle: s.abortUpload},
		{method: "POST", pattern: versionPath + "/commit", kind: "dataset-version", perm: "datasets/contents/write", summary: "Commit a version: it becomes immutable",
			tag: tag, out: versionOut, status: 200, handle: s.commitVersion},
		{method: "POST", pattern: versionPath + "/tier", kind: "dataset-version", perm: "datasets/write",
			summary: "Move a committed version's files to the hot or cold storage tier, where the backend has one",
			tag:     tag, in: TierRequest{}, out: versionOut, status: 200, handle: s.setTier},
		{method: "POST", pattern: versionPath + "/copy", kind: "dataset-version", perm: "datasets/write",
			summary: "Copy a committed version into another area: curate (raw to curated) or provision (raw or curated to workspace); needs the right to read contents too",
			tag:     tag, in: catalog.AreaCopy{}, out: versionOut, status: 201, handle: s.copyToArea},
		{method: "GET", pattern: versionPath + "/lineage", perm: "datasets/read", summary: "Where a version came from and what was made from it",
			tag: tag, out: LineageResponse{}, status: 200, handle: s.lineage},
		{method: "GET", pattern: datasetPath + "/columns", perm: "datasets/read", summary: "A dataset's column labels",
			tag: tag, out: map[string]catalog.ColumnLabel{}, status: 200, handle: s.columnLabels},
		{method: "PUT", pattern: datasetPath + "/columns/{column}", kind: "dataset", perm: "datasets/write",
			summary: "Label a column: direct-identifier, quasi-identifier, sensitive-attribute (empty removes the label)",
			tag:     tag, in: LabelRequest{}, out: map[string]catalog.ColumnLabel{}, status: 200, handle: s.labelColumn},
		{method: "DELETE", pattern: versionPath, kind: "data-request", perm: "datasets/write", summary: "Ask for a version's contents to be deleted (after its retention; another person approves)",
			tag: tag, in: JustificationRequest{}, out: catalog.Request{}, status: 202, handle: s.requestVersionDeletion},
		{method: "POST", pattern: versionPath + "/grants", kind: "data-request", perm: "datasets/contents/read",
			summary: "Ask the data owner for time-boxed access to this production data from a dev environment",
			tag:     tag, in: catalog.GrantRequest{}, out: catalog.Request{}, status: 201, handle: s.requestGrant},
		{method: "GET", pattern: "/api/v1/zones/{zone}/projects/{project}/data-requests", perm: "datasets/read",
			summary: "A project's data requests (grants, deletions, key destructions), newest first", tag: tag,
			out: List[*catalog.Request]{}, status: 200, handle: s.listRequests, query: pageQuery},
		{method: "GET", pattern: "/api/v1/zones/{zone}/projects/{project}/data-requests/{id}", perm: "datasets/read",
			summary: "A data request", tag: tag, out: catalog.Request{}, status: 200, handle: s.getRequest},
		{method: "POST", pattern: "/api/v1/zones/{zone}/projects/{project}/data-requests/{id}/approve", kind: "data-request", perm: "datasets/read",
			summary: "Approve a request (never one's own; keys: another Platform Admin; grants: the data owner; deletions: someone who may catalog the dataset)",
			tag:     tag, in: catalog.Decision{}, out: catalog.Request{}, status: 200, handle: s.decide(true)},
		{method: "POST", pattern: "/api/v1/zones/{zone}/projects/{project}/data-requests/{id}/reject", kind: "data-request", perm: "datasets/read",
			summary: "Reject a request (the same people as approve it)", tag: tag, in: catalog.Decision{}, out: catalog.Request{}, status: 200, handle: s.decide(false)},
		{method: "POST", pattern: "/api/v1/zones/{zone}/projects/{project}/data-requests/{id}/cancel", kind: "data-request", perm: "datasets/read",
			summary: "Withdraw one's own pending request", tag: tag, out: catalog.Request{}, status: 200, handle: s.cancelRequest},
		{method: "POST", pattern: "/api/v1/zones/{zone}/projects/{project}/data-requests/{id}/copy", kind: "dataset-version", perm: "datasets/contents/read",
			summary: "Use an approved grant: copy the version into the workspace area as a new dataset readable in the grant's environment until it expires",
			tag:     tag, in: CopyRequest{}, out: datasetOut, status: 201, handle: s.copyUnderGrant},
		{method: "POST", pattern: "/api/v1/zones/{zone}/projects/{project}/keys/destroy", kind: "data-request", perm: "keys/write",
			summary: "Ask for a project's keys to be destroyed, making all its data unreadable for good (another Platform Admin approves)",
			tag:     "keys", in: DestroyKeysRequest{}, out: catalog.Request{}, status: 202, handle: s.requestKeyDestruction},
		{method: "GET", pattern: "/api/v1/zones/{zone}/projects/{project}/keys", perm: "keys/read",
			summary: "The versions of a project's key-encryption key and the objects each protects", tag: "keys",
			out: []catalog.KeyVersion{}, status: 200, handle: s.projectKeys},
		{method: "POST", pattern: "/api/v1/zones/{zone}/projects/{project}/keys/rotate", kind: "project-key", perm: "keys/write",
			summary: "Rotate a project's key-encryption key: re-wrap every data key without re-encrypting data",
			tag:     "keys", out: objects.Rotation{}, status: 200, handle: s.rotateProjectKey},
		{method: "POST", pattern: datasetPath + "/share", kind: "dataset", perm: "datasets/write",
			summary: "Share a raw or curated dataset with the zone's other projects, or stop sharing it (its data owner only)",
			tag:     tag, in: ShareRequest{}, out: datasetOut, status: 200, handle: s.shareDataset},
		{method: "GET", pattern: "/api/v1/zones/{zone}/projects/{project}/shared-datasets", perm: "datasets/read",
			summary: "The datasets shared with the project's zone", tag: tag, out: datasetList, status: 200, handle: s.listShared, query: pageQuery},
		{method: "GET", pattern: "/api/v1/zones/{zone}/projects/{project}/shared-datasets/{owner}/{dataset}/versions/{version}",
			perm: "datasets/read", summary: "A version of a dataset shared with the zone, with its files", tag: tag,
			out: versionOut, status: 200, handle: s.getSharedVersion},
		{method: "GET", pattern: "/api/v1/zones/{zone}/projects/{project}/environments/{environment}/shared-datasets/{owner}/{dataset}/versions/{version}/files/{path...}",
			perm: "datasets/contents/read", stream: true,
			summary: "Read a file of a dataset shared with the zone, in an environment of the caller's project certified for its classification",
			tag:     tag, status: 200, handle: s.getSharedFile},
		{method: "GET", pattern: "/api/v1/zones/{zone}/projects/{project}/environments/{environment}/datasets/{dataset}/versions/{version}/files/{path...}",
			perm: "datasets/contents/read", stream: true,
			summary: "Read a file in an environment (HTTP Range supported); refused when the data is classified above the environment's certification",
			tag:     tag, status: 200, handle: s.getFile},
	}
}

func (s *Server) listDatasets(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ds, next, err := s.Catalog.ListDatasets(r.Context(), r.PathValue("zone"), r.PathValue("project"), catalog.Filter{
		NamePrefix: q.Get("name"), Tag: q.Get("tag"), Classification: enclave.Classification(q.Get("classification")),
		Area: catalog.Area(q.Get("area")), Column: q.Get("column")}, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(ds, next))
}

func (s *Server) createDataset(w http.ResponseWriter, r *http.Request) error {
	var in catalog.DatasetCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := s.Catalog.CreateDataset(r.Context(), r.PathValue("zone"), r.PathValue("project"), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/zones/"+d.Zone+"/projects/"+d.Project+"/datasets/"+d.Name)
	return writeJSON(w, http.StatusCreated, d)
}

func (s *Server) getDataset(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Catalog.GetDataset(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) updateDataset(w http.ResponseWriter, r *http.Request) error {
	var in catalog.DatasetUpdate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := s.Catalog.UpdateDataset(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) classifyDataset(w http.ResponseWriter, r *http.Request) error {
	var in ClassifyRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := s.Catalog.Classify(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), in.Classification, in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func versionParam(r *http.Request) (int, error) {
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 {
		return 0, enclave.FieldError("version", "version must be a positive number")
	}
	return n, nil
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	vs, next, err := s.Catalog.ListVersions(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(vs, next))
}

func (s *Server) createVersion(w http.ResponseWriter, r *http.Request) error {
	var in catalog.VersionCreate
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	v, err := s.Catalog.CreateVersion(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	v, err := s.Catalog.GetVersion(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) commitVersion(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	v, err := s.Catalog.CommitVersion(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// putFile streams the request body into a file. The body is read as it
// arrives, never buffered; a body shorter than its Content-Length, or one
// the client abandons, stores nothing.
func (s *Server) putFile(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	f, err := s.Catalog.PutFile(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n,
		r.PathValue("path"), r.Body, r.Header.Get(ContentSHA256Header))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe)
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, f)
}

func (s *Server) copyToArea(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	var in catalog.AreaCopy
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, err := s.Catalog.CopyToArea(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

// UploadRequest starts a multipart upload.
type UploadRequest struct {
	// Path is the file's path in the version.
	Path string `json:"path"`
}

func (s *Server) startUpload(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	var in UploadRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := s.Catalog.StartUpload(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n, in.Path)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, u)
}

func (s *Server) listUploads(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	us, err := s.Catalog.ListUploads(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(us, ""))
}

func (s *Server) getUpload(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	u, err := s.Catalog.GetUpload(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n, r.PathValue("upload"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// putUploadPart streams one part, as putFile streams a whole file.
func (s *Server) putUploadPart(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	part, err := strconv.Atoi(r.PathValue("part"))
	if err != nil {
		return enclave.FieldError("part", "part must be a number from 1 to %d", objects.MaxParts)
	}
	p, err := s.Catalog.PutUploadPart(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n,
		r.PathValue("upload"), part, r.Body, r.Header.Get(ContentSHA256Header))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe)
		}
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// completeUpload joins the parts; it reads and re-encrypts the whole file,
// so it runs without the usual request deadline.
func (s *Server) completeUpload(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	f, err := s.Catalog.CompleteUpload(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n,
		r.PathValue("upload"), r.Header.Get(ContentSHA256Header))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, f)
}

func (s *Server) abortUpload(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	if err := s.Catalog.AbortUpload(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n, r.PathValue("upload")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getFile streams a file, or the one range a Range header asks for. Once
// the first byte is sent an error can no longer become a problem document:
// the connection is cut instead, so the client sees a short body rather
// than a complete-looking corrupt one.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	c, err := s.Catalog.OpenFile(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("environment"),
		r.PathValue("dataset"), n, r.PathValue("path"))
	if err != nil {
		return err
	}
	return s.sendContents(w, r, c)
}

// getSharedFile streams a file of a dataset shared with the zone, read in
// an environment of the caller's project.
func (s *Server) getSharedFile(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	c, err := s.Catalog.OpenSharedFile(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("environment"),
		r.PathValue("owner"), r.PathValue("dataset"), n, r.PathValue("path"))
	if err != nil {
		return err
	}
	return s.sendContents(w, r, c)
}

// ShareRequest shares a dataset with its zone, or stops sharing it.
type ShareRequest struct {
	Shared bool `json:"shared"`
}

func (s *Server) shareDataset(w http.ResponseWriter, r *http.Request) error {
	var in ShareRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := s.Catalog.Share(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), in.Shared)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) listShared(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	ds, next, err := s.Catalog.ListShared(r.Context(), r.PathValue("zone"), r.PathValue("project"), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(ds, next))
}

func (s *Server) getSharedVersion(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	_, v, err := s.Catalog.GetSharedVersion(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("owner"), r.PathValue("dataset"), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// sendContents streams c, or the one range a Range header asks for.
func (s *Server) sendContents(w http.ResponseWriter, r *http.Request, c *catalog.Contents) error {
	size := c.Size()
	off, length, partial, err := parseRange(r.Header.Get("Range"), size)
	if err != nil {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		return err
	}
	rc, err := c.ReadRange(r.Context(), off, length)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", "attachment")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", `"`+c.File.SHA256+`"`)
	h.Set(ContentSHA256Header, c.File.SHA256)
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+length-1, size))
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, rc); err != nil {
		s.Logger.WarnContext(r.Context(), "file download cut short", "error", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// parseRange reads a single-range Range header ("bytes=a-b", "bytes=a-",
// "bytes=-n") against a size. Without a header it returns the whole file.
func parseRange(h string, size int64) (off, length int64, partial bool, err error) {
	if h == "" {
		return 0, size, false, nil
	}
	bad := &enclave.Error{Code: codeRangeNotSatisfiable, Field: "Range", Message: "the Range header must be one range bytes=a-b, bytes=a- or bytes=-n within the file"}
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, 0, false, bad
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, 0, false, bad
	}
	if a == "" { // the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false, bad
		}
		n = min(n, size)
		return size - n, n, true, nil
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false, bad
	}
	end := size - 1
	if b != "" {
		if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
			return 0, 0, false, bad
		}
		end = min(end, size-1)
	}
	return start, end - start + 1, true, nil
}

func (s *Server) projectKeys(w http.ResponseWriter, r *http.Request) error {
	ks, err := s.Catalog.ProjectKeys(r.Context(), r.PathValue("zone"), r.PathValue("project"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ks)
}

func (s *Server) rotateProjectKey(w http.ResponseWriter, r *http.Request) error {
	rot, err := s.Catalog.RotateProjectKey(r.Context(), r.PathValue("zone"), r.PathValue("project"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rot)
}

// LineageResponse is a version's lineage.
type LineageResponse struct {
	Parents  []catalog.LineageEdge `json:"parents"`
	Children []catalog.LineageEdge `json:"children"`
}

// LabelRequest labels a column.
type LabelRequest struct {
	Label catalog.ColumnLabel `json:"label"`
}

// JustificationRequest says why.
type JustificationRequest struct {
	Justification string `json:"justification"`
}

// CopyRequest names the dataset a grant's copy becomes.
type CopyRequest struct {
	Name string `json:"name"`
}

// DestroyKeysRequest asks for a project's keys to be destroyed.
type DestroyKeysRequest struct {
	// Confirm repeats the project's name.
	Confirm       string `json:"confirm"`
	Justification string `json:"justification"`
}

func (s *Server) lineage(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	ps, cs, err := s.Catalog.Lineage(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n)
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []catalog.LineageEdge{}
	}
	if cs == nil {
		cs = []catalog.LineageEdge{}
	}
	return writeJSON(w, http.StatusOK, LineageResponse{Parents: ps, Children: cs})
}

func (s *Server) columnLabels(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.Catalog.ColumnLabels(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ls)
}

func (s *Server) labelColumn(w http.ResponseWriter, r *http.Request) error {
	var in LabelRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ls, err := s.Catalog.LabelColumn(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), r.PathValue("column"), in.Label)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ls)
}

func (s *Server) requestVersionDeletion(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	var in JustificationRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	q, err := s.Catalog.RequestVersionDeletion(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n, in.Justification)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, q)
}

func (s *Server) requestGrant(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	var in catalog.GrantRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	q, err := s.Catalog.RequestGrant(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, q)
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	qs, next, err := s.Catalog.ListRequests(r.Context(), r.PathValue("zone"), r.PathValue("project"), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(qs, next))
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request) error {
	q, err := s.Catalog.GetRequest(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, q)
}

func (s *Server) decide(approve bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in catalog.Decision
		if r.ContentLength != 0 {
			if err := decodeJSON(r, &in); err != nil {
				return err
			}
		}
		q, err := s.Catalog.Decide(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("id"), approve, in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, q)
	}
}

func (s *Server) cancelRequest(w http.ResponseWriter, r *http.Request) error {
	q, err := s.Catalog.Cancel(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, q)
}

func (s *Server) copyUnderGrant(w http.ResponseWriter, r *http.Request) error {
	var in CopyRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := s.Catalog.CopyUnderGrant(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("id"), in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, d)
}

func (s *Server) requestKeyDestruction(w http.ResponseWriter, r *http.Request) error {
	var in DestroyKeysRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	q, err := s.Catalog.RequestKeyDestruction(r.Context(), r.PathValue("zone"), r.PathValue("project"), in.Confirm, in.Justification)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, q)
}

// TierRequest names a storage tier.
type TierRequest struct {
	Tier string `json:"tier"`
}

func (s *Server) setTier(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	var in TierRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, err := s.Catalog.SetVersionTier(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n, in.Tier)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}
