package mlflowapi

import (
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/tracking"
)

const artifactsAPI = "/api/2.0/mlflow-artifacts"

// artifactRoutes are the artifact proxy's: files of runs and logged models
// go through the platform's encrypted object store, never to the client's
// own storage.
func (s *Server) artifactRoutes() []route {
	return []route{
		{method: "PUT", path: artifactsAPI + "/artifacts/", perm: artWriteP, hide: expRead, stream: true, handle: s.uploadArtifact},
		{method: "GET", path: artifactsAPI + "/artifacts/", perm: artRead, hide: expRead, stream: true, handle: s.downloadArtifact},
		{method: "DELETE", path: artifactsAPI + "/artifacts/", perm: artWriteP, hide: expRead, handle: s.deleteArtifact},
		{method: "GET", path: artifactsAPI + "/artifacts", perm: expRead, hide: expRead, handle: s.listArtifacts},
		{method: "POST", path: artifactsAPI + "/mpu/create/", perm: artWriteP, hide: expRead, handle: s.createMultipart},
		{method: "POST", path: artifactsAPI + "/mpu/complete/", perm: artWriteP, hide: expRead, handle: s.completeMultipart},
		{method: "POST", path: artifactsAPI + "/mpu/abort/", perm: artWriteP, hide: expRead, handle: s.abortMultipart},
		{method: "PUT", path: artifactsAPI + "/mpu/parts/", perm: artWriteP, hide: expRead, stream: true, handle: s.putPart},
	}
}

func (s *Server) resolve(c *call, full string) (*tracking.ArtifactRoot, string, error) {
	return s.Tracking.ResolveArtifact(c.ctx, c.zone, c.project, full)
}

func (s *Server) uploadArtifact(c *call) error {
	root, rel, err := s.resolve(c, c.rest)
	if err != nil {
		return err
	}
	if _, err := s.Tracking.PutArtifact(c.ctx, root, rel, c.r.Body); err != nil {
		return err
	}
	return c.ok(nil)
}

func (s *Server) downloadArtifact(c *call) error {
	root, rel, err := s.resolve(c, c.rest)
	if err != nil {
		return err
	}
	a, rc, err := s.Tracking.OpenArtifact(c.ctx, root, rel)
	if err != nil {
		return err
	}
	defer rc.Close()
	ct := mime.TypeByExtension(path.Ext(rel))
	if ct == "" || strings.HasPrefix(ct, "text/html") || strings.Contains(ct, "javascript") || strings.Contains(ct, "svg") {
		ct = "application/octet-stream"
	}
	h := c.w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	h.Set("Content-Disposition", "attachment; filename=\""+strings.ReplaceAll(path.Base(rel), "\"", "")+"\"")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "sandbox")
	c.w.WriteHeader(http.StatusOK)
	_, err = io.Copy(c.w, rc)
	if err != nil {
		// The status is out; the client sees a short body. Log it only.
		s.Logger.WarnContext(c.ctx, "artifact download broke off", "path", rel, "error", err.Error())
	}
	return nil
}

func (s *Server) deleteArtifact(c *call) error {
	root, rel, err := s.resolve(c, c.rest)
	if err != nil {
		return err
	}
	if rel == "" {
		return enclave.FieldError("path", "name a file or directory below the run or model")
	}
	return s.logged(c, s.Tracking.DeleteArtifact(c.ctx, root, rel))
}

type fileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

func files(as []*tracking.Artifact, base func(string) string) []fileInfo {
	out := []fileInfo{}
	for _, a := range as {
		fi := fileInfo{Path: base(a.Path), IsDir: a.IsDir}
		if !a.IsDir {
			n := a.Size
			fi.FileSize = &n
		}
		out = append(out, fi)
	}
	return out
}

// listArtifacts is the proxy's listing, GET …/artifacts?path=<root>/<dir>:
// names relative to the directory listed, as MLflow's proxy answers.
func (s *Server) listArtifacts(c *call) error {
	var in struct {
		Path str `json:"path"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	root, rel, err := s.resolve(c, string(in.Path))
	if err != nil {
		if enclave.IsCode(err, enclave.CodeNotFound) {
			return c.ok(map[string]any{})
		}
		return err
	}
	as, err := s.Tracking.ListArtifacts(c.ctx, root, rel)
	if err != nil {
		return err
	}
	if len(as) == 0 {
		return c.ok(map[string]any{})
	}
	return c.ok(map[string]any{"files": files(as, path.Base)})
}

// listRunArtifacts is the tracking API's listing, artifacts/list?run_id&path:
// paths relative to the run's artifact root.
func (s *Server) listRunArtifacts(c *call) error {
	var in struct {
		RunID   str `json:"run_id"`
		RunUUID str `json:"run_uuid"`
		Path    str `json:"path"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	id, err := runID(in.RunID, in.RunUUID)
	if err != nil {
		return err
	}
	r, err := s.Tracking.GetRun(c.ctx, c.zone, c.project, id)
	if err != nil {
		return err
	}
	return s.listUnder(c, r.Info.ArtifactURI, "path", string(in.Path))
}

func (s *Server) listModelArtifacts(c *call, id string) error {
	var in struct {
		Dir str `json:"artifact_directory_path"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	m, err := s.Tracking.GetLoggedModel(c.ctx, c.zone, c.project, id)
	if err != nil {
		return err
	}
	return s.listUnder(c, m.ArtifactLocation, "artifact_directory_path", string(in.Dir))
}

// listUnder lists a directory below a run's or model's artifact location,
// with paths relative to that location.
func (s *Server) listUnder(c *call, location, field, dir string) error {
	rel, err := tracking.CleanArtifactPath(field, dir)
	if err != nil {
		return err
	}
	root, _, err := s.resolve(c, strings.TrimPrefix(location, "mlflow-artifacts:"))
	if err != nil {
		return err
	}
	as, err := s.Tracking.ListArtifacts(c.ctx, root, rel)
	if err != nil {
		return err
	}
	return c.ok(map[string]any{"root_uri": location, "files": files(as, func(p string) string { return p })})
}

// multipartTarget is where a multipart upload writes: the directory in the
// URL joined with the base name of the client's local file.
func (s *Server) multipartTarget(c *call, local string) (*tracking.ArtifactRoot, string, error) {
	if err := required("path", local); err != nil {
		return nil, "", err
	}
	root, dir, err := s.resolve(c, c.rest)
	if err != nil {
		return nil, "", err
	}
	name := path.Base(strings.ReplaceAll(local, "\\", "/"))
	rel, err := tracking.CleanArtifactPath("path", strings.TrimPrefix(dir+"/"+name, "/"))
	if err != nil {
		return nil, "", err
	}
	return root, rel, nil
}

func (s *Server) createMultipart(c *call) error {
	var in struct {
		Path     str `json:"path"`
		NumParts i64 `json:"num_parts"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	root, rel, err := s.multipartTarget(c, string(in.Path))
	if err != nil {
		return err
	}
	n := int(in.NumParts.v)
	if !in.NumParts.set {
		n = 1
	}
	u, err := s.Tracking.CreateMultipart(c.ctx, root, rel, n)
	if err != nil {
		return err
	}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + c.r.Host + Prefix + c.zone + "/" + c.project + artifactsAPI + "/mpu/parts/" + u.ID + "/"
	// The client sends parts with plain requests and the headers given
	// here: the caller's own credential, so that a part is authenticated,
	// authorized and audited like any other request.
	headers := map[string]string{"Authorization": c.r.Header.Get("Authorization")}
	creds := make([]map[string]any, 0, n)
	for i := 1; i <= n; i++ {
		creds = append(creds, map[string]any{"url": base + strconv.Itoa(i), "part_number": i, "headers": headers})
	}
	return c.ok(map[string]any{"upload_id": u.ID, "credentials": creds})
}

func (s *Server) putPart(c *call) error {
	id, num, ok := strings.Cut(c.rest, "/")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		return enclave.Errorf(enclave.CodeNotFound, "no upload part at this path")
	}
	etag, err := s.Tracking.PutPart(c.ctx, c.zone, c.project, id, n, c.r.Body)
	if err != nil {
		return err
	}
	c.w.Header().Set("ETag", `"`+etag+`"`)
	return c.ok(nil)
}

func (s *Server) completeMultipart(c *call) error {
	var in struct {
		Path     str `json:"path"`
		UploadID str `json:"upload_id"`
		Parts    []struct {
			PartNumber i64 `json:"part_number"`
			ETag       str `json:"etag"`
		} `json:"parts"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	root, rel, err := s.multipartTarget(c, string(in.Path))
	if err != nil {
		return err
	}
	var parts []tracking.CompletePart
	for _, p := range in.Parts {
		parts = append(parts, tracking.CompletePart{Number: int(p.PartNumber.v), ETag: string(p.ETag)})
	}
	if _, err := s.Tracking.CompleteMultipart(c.ctx, root, rel, string(in.UploadID), parts); err != nil {
		return err
	}
	return c.ok(nil)
}

func (s *Server) abortMultipart(c *call) error {
	var in struct {
		Path     str `json:"path"`
		UploadID str `json:"upload_id"`
	}
	if err := c.args(&in); err != nil {
		return err
	}
	root, rel, err := s.multipartTarget(c, string(in.Path))
	if err != nil {
		return err
	}
	return s.logged(c, s.Tracking.AbortMultipart(c.ctx, root, rel, string(in.UploadID)))
}
