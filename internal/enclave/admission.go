package enclave

import (
	"context"
	"slices"
	"sync"
)

// The operations a change can be.
const (
	OpCreate = "create"
	OpUpdate = "update"
	OpDelete = "delete"
)

// Change is a create, update or delete of a resource as policy admission
// sees it. Services build one right before they store the resource, in the
// transaction that stores it.
type Change struct {
	// Kind is the resource kind ("zone", "project", "dataset", …): the
	// name policies select resources by.
	Kind      string
	Operation string
	// Scope is where the resource lives: "/", "/zones/eu",
	// "/zones/eu/projects/onc". Assignments and exemptions apply by it.
	Scope string
	// Object is the resource as it will be stored (on delete: as it was).
	// It must be a pointer: append and modify policies write their
	// changes back into it.
	Object any
	// Old is the resource before an update or delete; nil on create.
	Old any
	// Parent is the resource Object lives in, if any (a project's zone).
	Parent any
	// Validate checks Object again after policies changed it; a policy
	// cannot make a resource invalid.
	Validate func() error
}

// Admitter runs admission: it applies the assigned policies to a change,
// changing Object (append, modify), refusing it (deny, as a policy_denied
// error) or recording its non-compliance (audit, dry-run).
type Admitter interface {
	Admit(ctx context.Context, c Change) error
}

// Admit runs a change through a, and notes on the request's trace that
// admission ran for its kind. A nil Admitter admits everything (unit tests
// of a service wire none; the server always wires one, and a test of the
// server checks it).
func Admit(ctx context.Context, a Admitter, c Change) error {
	if a == nil {
		return nil
	}
	if err := a.Admit(ctx, c); err != nil {
		return err
	}
	if t, ok := ctx.Value(traceKey{}).(*AdmissionTrace); ok {
		t.add(c.Kind)
	}
	return nil
}

// AdmissionTrace lists the resource kinds admission ran for while one
// request was served; the API compares it with what the route declares.
type AdmissionTrace struct {
	mu    sync.Mutex
	kinds []string
}

func (t *AdmissionTrace) add(kind string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !slices.Contains(t.kinds, kind) {
		t.kinds = append(t.kinds, kind)
	}
}

// Kinds returns the kinds admitted so far.
func (t *AdmissionTrace) Kinds() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.kinds)
}

type traceKey struct{}

// WithAdmissionTrace returns a context whose admissions are noted on t.
func WithAdmissionTrace(ctx context.Context, t *AdmissionTrace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}
