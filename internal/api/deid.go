package api

import (
	"net/http"

	"github.com/enclave-ml/enclave/internal/catalog"
)

// deidRoutes are de-identification's: a recipe applied to a committed
// version, into a workspace dataset.
func (s *Server) deidRoutes() []route {
	return []route{
		// stream: de-identifying large files takes longer than a request
		// deadline allows; the handler bounds the body itself.
		{method: "POST", pattern: versionPath + "/deid", kind: "dataset-version", perm: "datasets/write", stream: true,
			summary: "De-identify a committed version's CSV and Parquet files with a recipe (drop, mask, pseudonymise, generalise, redact; k-anonymity) into the next version of a workspace dataset; needs the right to read contents too",
			tag:     "datasets", in: catalog.DeidRequest{}, out: catalog.DeidResult{}, status: 201, handle: s.deidentify},
	}
}

// deidBodyLimit bounds a de-identification request: the recipe (which the
// service bounds to 64 KiB) JSON-escaped, the target and the paths.
const deidBodyLimit = 6*catalog.MaxRecipeSize + 256<<10

func (s *Server) deidentify(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, deidBodyLimit)
	var in catalog.DeidRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.Catalog.Deidentify(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("dataset"), n, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, res)
}
