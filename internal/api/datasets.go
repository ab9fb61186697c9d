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
				{"classification", "only this classification"}, {"area", "only this area"}}, pageQuery...)},
		{method: "POST", pattern: "/api/v1/zones/{zone}/projects/{project}/datasets", perm: "datasets/write", summary: "Catalog a dataset (the caller becomes its data owner)",
			tag: tag, in: datasetCreate, out: datasetOut, status: 201, handle: s.createDataset},
		{method: "GET", pattern: datasetPath, perm: "datasets/read", summary: "A dataset's metadata", tag: tag, out: datasetOut, status: 200, handle: s.getDataset},
		{method: "PATCH", pattern: datasetPath, perm: "datasets/write", summary: "Change a dataset's description, tags or retention",
			tag: tag, in: datasetUpdate, out: datasetOut, status: 200, handle: s.updateDataset},
		{method: "POST", pattern: datasetPath + "/classify", perm: "datasets/write", summary: "Raise a dataset's classification, or lower it (data owner only, with a reason)",
			tag: tag, in: ClassifyRequest{}, out: datasetOut, status: 200, handle: s.classifyDataset},
		{method: "GET", pattern: datasetPath + "/versions", perm: "datasets/read", summary: "List a dataset's versions",
			tag: tag, out: versionList, status: 200, handle: s.listVersions, query: pageQuery},
		{method: "POST", pattern: datasetPath + "/versions", perm: "datasets/contents/write", summary: "Open the dataset's next version for uploads",
			tag: tag, in: catalog.VersionCreate{}, out: versionOut, status: 201, handle: s.createVersion},
		{method: "GET", pattern: versionPath, perm: "datasets/read", summary: "A version with its file manifest and schemas",
			tag: tag, out: versionOut, status: 200, handle: s.getVersion},
		{method: "PUT", pattern: versionPath + "/files/{path...}", perm: "datasets/contents/write", stream: true,
			summary: "Upload a file of an open version (streamed; optional Content-SHA256 header checked)",
			tag:     tag, out: fileOut, status: 201, handle: s.putFile},
		{method: "POST", pattern: versionPath + "/commit", perm: "datasets/contents/write", summary: "Commit a version: it becomes immutable",
			tag: tag, out: versionOut, status: 200, handle: s.commitVersion},
		{method: "GET", pattern: "/api/v1/zones/{zone}/projects/{project}/keys", perm: "keys/read",
			summary: "The versions of a project's key-encryption key and the objects each protects", tag: "keys",
			out: []catalog.KeyVersion{}, status: 200, handle: s.projectKeys},
		{method: "POST", pattern: "/api/v1/zones/{zone}/projects/{project}/keys/rotate", perm: "keys/write",
			summary: "Rotate a project's key-encryption key: re-wrap every data key without re-encrypting data",
			tag: "keys", out: objects.Rotation{}, status: 200, handle: s.rotateProjectKey},
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
		Area: catalog.Area(q.Get("area"))}, page)
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
