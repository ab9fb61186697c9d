package api

import (
	"net/http"

	"github.com/enclave-ml/enclave/internal/workqueue"
)

// Example values of the task routes' bodies, for the OpenAPI document.
var (
	taskOut  = workqueue.Task{}
	taskList = List[*workqueue.Task]{}
)

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) error {
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ts, next, err := s.Queue.List(r.Context(), workqueue.Filter{State: workqueue.State(q.Get("state")), Kind: q.Get("kind")}, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(ts, next))
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Queue.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (s *Server) retryTask(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Queue.Retry(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}
