package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/airlock"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// Example values of the airlock routes' bodies, for the OpenAPI document.
var (
	airlockOut  = airlock.Request{}
	airlockList = List[*airlock.Request]{}
)

// LinkRequest asks for a download link lasting TTL seconds (0: the default).
type LinkRequest struct {
	TTLSeconds int `json:"ttl_seconds,omitempty"`
}

const airlockBase = "/api/v1/zones/{zone}/projects/{project}/airlock"

func (s *Server) airlockRoutes() []route {
	const tag = "airlock"
	var rs []route
	for _, t := range []airlock.Type{airlock.Import, airlock.Export} {
		base := airlockBase + "/" + string(t) + "s"
		one := base + "/{id}"
		read, write, approve := airlockPerm(t, "read"), airlockPerm(t, "write"), airlockPerm(t, "approve")
		rs = append(rs,
			route{method: "GET", pattern: base, perm: read, summary: "List the project's " + string(t) + " requests, newest first",
				tag: tag, out: airlockList, status: 200, handle: s.listAirlock(t),
				query: append([]param{{"state", "only requests in this state"}, {"requester", "only this requester's (principal ID)"}}, pageQuery...)},
			route{method: "POST", pattern: base, kind: airlock.Kind, perm: write, summary: "Open a draft " + string(t) + " request",
				tag: tag, in: airlock.Create{}, out: airlockOut, status: 201, handle: s.createAirlock(t)},
			route{method: "GET", pattern: one, perm: read, summary: "A " + string(t) + " request with its files, checks, reviews, history and the caller's actions",
				tag: tag, out: airlockOut, status: 200, handle: s.getAirlock(t)},
			route{method: "DELETE", pattern: one + "/files/{path...}", kind: "dataset-file", perm: write,
				summary: "Take a file out of a draft (requester only)", tag: tag, status: 204, handle: s.removeAirlockFile(t)},
			route{method: "POST", pattern: one + "/submit", kind: airlock.Kind, perm: write,
				summary: "Submit a draft (requester only): its files are fixed and scanned", tag: tag, out: airlockOut, status: 200, handle: s.submitAirlock(t)},
			route{method: "POST", pattern: one + "/cancel", kind: airlock.Kind, perm: write,
				summary: "Cancel a draft or a request in review (requester only); its files are deleted", tag: tag, out: airlockOut, status: 200, handle: s.cancelAirlock(t)},
			route{method: "POST", pattern: one + "/approve", kind: airlock.Kind, perm: approve,
				summary: "Approve a request in review (an airlock reviewer other than the requester)", tag: tag, in: airlock.Decision{}, out: airlockOut, status: 200, handle: s.reviewAirlock(t, true)},
			route{method: "POST", pattern: one + "/reject", kind: airlock.Kind, perm: approve,
				summary: "Reject a request in review, with a comment (an airlock reviewer other than the requester)", tag: tag, in: airlock.Decision{}, out: airlockOut, status: 200, handle: s.reviewAirlock(t, false)},
			route{method: "GET", pattern: one + "/files/{path...}", perm: approve, stream: true,
				summary: "Open a file of a request in place, to review it (recorded)", tag: tag, status: 200, handle: s.openAirlockFile(t)},
		)
	}
	rs = append(rs,
		route{method: "PUT", pattern: airlockBase + "/imports/{id}/files/{path...}", kind: "dataset-file", perm: airlockPerm(airlock.Import, "write"), stream: true,
			summary: "Upload a file into an import's draft (streamed; optional Content-SHA256 header checked)", tag: tag, out: airlock.File{}, status: 201, handle: s.putAirlockFile},
		route{method: "POST", pattern: airlockBase + "/exports/{id}/files", kind: "dataset-file", perm: airlockPerm(airlock.Export, "write"),
			summary: "Add files of a workspace dataset version (some paths, a directory, or all) to an export's draft", tag: tag,
			in: airlock.AddFiles{}, out: []*airlock.File{}, status: 201, handle: s.addAirlockFiles},
		route{method: "POST", pattern: airlockBase + "/exports/{id}/revoke", kind: airlock.Kind, perm: airlockPerm(airlock.Export, "read"),
			summary: "Revoke an approved export: no more downloads (the requester or an airlock reviewer)", tag: tag, in: airlock.Decision{}, out: airlockOut, status: 200, handle: s.revokeAirlock},
		route{method: "POST", pattern: airlockBase + "/exports/{id}/links", perm: airlockPerm(airlock.Export, "write"), secretResponse: true,
			noAdmission: "a download link is a short-lived credential of the requester for an export already approved; it changes no resource",
			summary:     "Make a short-lived download link for an approved export (requester only; the token is shown once)", tag: tag,
			in: LinkRequest{}, out: airlock.Link{}, status: 201, handle: s.createAirlockLink},
		route{method: "GET", pattern: airlockBase + "/downloads/{token}/{path...}", perm: airlockPerm(airlock.Export, "write"), stream: true,
			summary: "Download a file of an approved export through its link (the link's maker only; recorded)", tag: tag, status: 200, handle: s.downloadAirlock},
		route{method: "GET", pattern: airlockBase + "/settings", perm: "projects/read", summary: "The project's airlock settings",
			tag: tag, out: airlock.Settings{}, status: 200, handle: s.getAirlockSettings},
		route{method: "PUT", pattern: airlockBase + "/settings", kind: "airlock-settings", perm: "projects/write",
			summary: "Set the number of approvals (1 or 2) and whether clean imports need review", tag: tag,
			in: airlock.Settings{}, out: airlock.Settings{}, status: 200, handle: s.putAirlockSettings},
		route{method: "GET", pattern: "/api/v1/airlock/quarantine", perm: "airlock/quarantine/read",
			summary: "Requests the malware scan blocked, platform-wide, with their signatures (security team)", tag: tag,
			out: airlockList, status: 200, query: pageQuery, handle: s.listQuarantine},
	)
	return rs
}

func airlockPerm(t airlock.Type, what string) access.Permission {
	return access.Permission("airlock/" + string(t) + "s/" + what)
}

func (s *Server) listAirlock(t airlock.Type) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, err := pageParams(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		rs, next, err := s.Airlock.List(r.Context(), r.PathValue("zone"), r.PathValue("project"), t,
			airlock.Filter{State: airlock.State(q.Get("state")), RequesterID: q.Get("requester")}, page)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, listOf(rs, next))
	}
}

func (s *Server) createAirlock(t airlock.Type) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in airlock.Create
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
		req, err := s.Airlock.Create(r.Context(), r.PathValue("zone"), r.PathValue("project"), t, in)
		if err != nil {
			return err
		}
		w.Header().Set("Location", fmt.Sprintf("/api/v1/zones/%s/projects/%s/airlock/%ss/%s", req.Zone, req.Project, t, req.ID))
		return writeJSON(w, http.StatusCreated, req)
	}
}

func (s *Server) getAirlock(t airlock.Type) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		req, err := s.Airlock.Get(r.Context(), r.PathValue("zone"), r.PathValue("project"), t, r.PathValue("id"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, req)
	}
}

func (s *Server) putAirlockFile(w http.ResponseWriter, r *http.Request) error {
	f, err := s.Airlock.PutFile(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("id"), r.PathValue("path"),
		r.Body, r.Header.Get(ContentSHA256Header))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe)
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, f)
}

func (s *Server) addAirlockFiles(w http.ResponseWriter, r *http.Request) error {
	var in airlock.AddFiles
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	fs, err := s.Airlock.AddFiles(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, fs)
}

func (s *Server) removeAirlockFile(t airlock.Type) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.Airlock.RemoveFile(r.Context(), r.PathValue("zone"), r.PathValue("project"), t, r.PathValue("id"), r.PathValue("path")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) submitAirlock(t airlock.Type) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		req, err := s.Airlock.Submit(r.Context(), r.PathValue("zone"), r.PathValue("project"), t, r.PathValue("id"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, req)
	}
}

func (s *Server) cancelAirlock(t airlock.Type) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		req, err := s.Airlock.Cancel(r.Context(), r.PathValue("zone"), r.PathValue("project"), t, r.PathValue("id"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, req)
	}
}

func (s *Server) reviewAirlock(t airlock.Type, approve bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in airlock.Decision
		if r.ContentLength != 0 {
			if err := decodeJSON(r, &in); err != nil {
				return err
			}
		}
		req, err := s.Airlock.Review(r.Context(), r.PathValue("zone"), r.PathValue("project"), t, r.PathValue("id"), approve, in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, req)
	}
}

func (s *Server) revokeAirlock(w http.ResponseWriter, r *http.Request) error {
	var in airlock.Decision
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	req, err := s.Airlock.Revoke(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

func (s *Server) openAirlockFile(t airlock.Type) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		f, rc, err := s.Airlock.OpenFile(r.Context(), r.PathValue("zone"), r.PathValue("project"), t, r.PathValue("id"), r.PathValue("path"))
		if err != nil {
			return err
		}
		return s.sendWhole(w, r, f, rc)
	}
}

func (s *Server) createAirlockLink(w http.ResponseWriter, r *http.Request) error {
	var in LinkRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	if in.TTLSeconds < 0 {
		return enclave.FieldError("ttl_seconds", "ttl_seconds must be positive")
	}
	l, err := s.Airlock.CreateLink(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("id"), time.Duration(in.TTLSeconds)*time.Second)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, l)
}

func (s *Server) downloadAirlock(w http.ResponseWriter, r *http.Request) error {
	f, rc, err := s.Airlock.Download(r.Context(), r.PathValue("zone"), r.PathValue("project"), r.PathValue("token"), r.PathValue("path"))
	if err != nil {
		return err
	}
	return s.sendWhole(w, r, f, rc)
}

// sendWhole streams a whole airlock file; a read that fails midway cuts the
// connection so that the client never takes a partial body for the file.
func (s *Server) sendWhole(w http.ResponseWriter, r *http.Request, f *airlock.File, rc io.ReadCloser) error {
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", "attachment")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("ETag", `"`+f.SHA256+`"`)
	h.Set(ContentSHA256Header, f.SHA256)
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, rc); err != nil {
		s.Logger.WarnContext(r.Context(), "airlock download cut short", "error", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (s *Server) getAirlockSettings(w http.ResponseWriter, r *http.Request) error {
	st, err := s.Airlock.GetSettings(r.Context(), r.PathValue("zone"), r.PathValue("project"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (s *Server) putAirlockSettings(w http.ResponseWriter, r *http.Request) error {
	var in airlock.Settings
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	st, err := s.Airlock.PutSettings(r.Context(), r.PathValue("zone"), r.PathValue("project"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (s *Server) listQuarantine(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	rs, next, err := s.Airlock.Quarantined(r.Context(), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(rs, next))
}
