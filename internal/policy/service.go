package policy

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/workqueue"
	"github.com/google/uuid"
)

// StoredDefinition is a definition as the platform holds it: built in
// (embedded in the binary, read-only) or written by the platform team.
type StoredDefinition struct {
	Definition
	Builtin   bool      `json:"builtin"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	CreatedBy string    `json:"created_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// Assignment applies one definition at a scope (the platform "/", a zone
// "/zones/eu" or a project "/zones/eu/projects/onc") and everything below
// it, with parameter values and an enforcement mode.
type Assignment struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Definition  string         `json:"definition"`
	Scope       string         `json:"scope"`
	Params      map[string]any `json:"params,omitempty"`
	Mode        Mode           `json:"mode"`
	Description string         `json:"description,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
	CreatedBy   string         `json:"created_by"`
	UpdatedAt   time.Time      `json:"updated_at"`
	UpdatedBy   string         `json:"updated_by"`
}

// AssignmentCreate is the request to assign a definition.
type AssignmentCreate struct {
	Name        string         `json:"name"`
	Definition  string         `json:"definition"`
	Scope       string         `json:"scope"`
	Params      map[string]any `json:"params,omitempty"`
	Mode        Mode           `json:"mode,omitempty"`
	Description string         `json:"description,omitempty"`
}

// AssignmentUpdate changes an assignment's parameters, mode or description.
type AssignmentUpdate struct {
	Params      *map[string]any `json:"params,omitempty"`
	Mode        *Mode           `json:"mode,omitempty"`
	Description *string         `json:"description,omitempty"`
}

// ExemptionState is where an exemption is in its approval.
type ExemptionState string

// The states of an exemption. Only an approved, unexpired exemption applies.
const (
	ExemptionPending  ExemptionState = "pending"
	ExemptionApproved ExemptionState = "approved"
	ExemptionRejected ExemptionState = "rejected"
)

// Exemption lets a scope, or one resource in it, off one assignment until
// it expires, once a Platform Admin other than the requester approved it.
type Exemption struct {
	ID         string `json:"id"`
	Assignment string `json:"assignment"`
	// Scope is where the exemption applies (at or below the assignment's).
	Scope string `json:"scope"`
	// ResourceKind and ResourceName narrow it to one resource in Scope.
	ResourceKind string         `json:"resource_kind,omitempty"`
	ResourceName string         `json:"resource_name,omitempty"`
	Reason       string         `json:"reason"`
	ExpiresAt    time.Time      `json:"expires_at"`
	State        ExemptionState `json:"state"`
	RequestedBy  string         `json:"requested_by"`
	// RequestedByID is the requester's principal ID: approval compares it.
	RequestedByID string     `json:"-"`
	RequestedAt   time.Time  `json:"requested_at"`
	DecidedBy     string     `json:"decided_by,omitempty"`
	DecidedAt     *time.Time `json:"decided_at,omitempty"`
	Comment       string     `json:"comment,omitempty"`
}

// ExemptionCreate is the request for an exemption.
type ExemptionCreate struct {
	Assignment   string    `json:"assignment"`
	Scope        string    `json:"scope,omitempty"`
	ResourceKind string    `json:"resource_kind,omitempty"`
	ResourceName string    `json:"resource_name,omitempty"`
	Reason       string    `json:"reason"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// MaxExemption is the longest an exemption may last.
const MaxExemption = 366 * 24 * time.Hour

// Store persists definitions, assignments, exemptions and compliance.
// Every change bumps the generation, which admission caches by.
type Store interface {
	Generation(ctx context.Context) (int64, error)
	BumpGeneration(ctx context.Context) error

	CreateDefinition(ctx context.Context, d *StoredDefinition) error
	UpdateDefinition(ctx context.Context, d *StoredDefinition) error
	GetDefinition(ctx context.Context, id string) (*StoredDefinition, error)
	ListDefinitions(ctx context.Context) ([]*StoredDefinition, error)
	DeleteDefinition(ctx context.Context, id string) error

	CreateAssignment(ctx context.Context, a *Assignment) error
	UpdateAssignment(ctx context.Context, a *Assignment) error
	GetAssignment(ctx context.Context, name string) (*Assignment, error)
	ListAssignments(ctx context.Context) ([]*Assignment, error)
	DeleteAssignment(ctx context.Context, id string) error

	CreateExemption(ctx context.Context, e *Exemption) error
	UpdateExemption(ctx context.Context, e *Exemption) error
	GetExemption(ctx context.Context, id string) (*Exemption, error)
	ListExemptions(ctx context.Context) ([]*Exemption, error)
	DeleteExemption(ctx context.Context, id string) error

	// ReplaceCompliance stores a scan's results in place of the last's.
	ReplaceCompliance(ctx context.Context, recs []ComplianceRecord, at time.Time) error
	ListCompliance(ctx context.Context) ([]ComplianceRecord, error)
}

// Service manages definitions, assignments and exemptions, admits changes
// and scans existing resources for compliance. Callers of its management
// methods have been authorized for the route; every change is written with
// its audit record in one transaction.
type Service struct {
	Store Store
	Tx    enclave.Transactor
	Audit *audit.Recorder
	Clock enclave.Clock
	Queue *workqueue.Queue
	// ScopeExists says whether a zone or project scope names one that
	// exists; assignments and exemptions are refused otherwise.
	ScopeExists func(ctx context.Context, scope string) error
	// Sources list the existing resources of each kind for the scan.
	Sources []Source

	builtins    map[string]*StoredDefinition
	builtinErr  error
	builtinOnce sync.Once

	mu    sync.Mutex
	cache *policySet
}

// ScanTask is the work-queue kind of a compliance scan.
const ScanTask = "policy.scan"

var (
	nameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$`)
)

func (s *Service) loadBuiltins() (map[string]*StoredDefinition, error) {
	s.builtinOnce.Do(func() {
		defs, _, err := Builtin()
		if err != nil {
			s.builtinErr = err
			return
		}
		s.builtins = map[string]*StoredDefinition{}
		for _, d := range defs {
			s.builtins[d.ID] = &StoredDefinition{Definition: *d, Builtin: true}
		}
	})
	return s.builtins, s.builtinErr
}

func actorID(ctx context.Context) string {
	if a := enclave.ActorFrom(ctx); a != nil {
		return a.PrincipalID
	}
	return "system"
}

// policyScope checks that scope is the platform, a zone or a project:
// where assignments, exemptions and compliance reports apply.
func policyScope(field, scope string) error {
	lvl, err := access.ParseScope(field, access.Scope(scope))
	if err == nil && lvl == access.LevelEnvironment {
		err = enclave.FieldError(field, "%s must be /, /zones/ZONE or /zones/ZONE/projects/PROJECT", field)
	}
	return err
}

// validScope checks a scope's form and that the zone or project it names exists.
func (s *Service) validScope(ctx context.Context, field, scope string) error {
	if err := policyScope(field, scope); err != nil {
		return err
	}
	if scope != "/" && s.ScopeExists != nil {
		return s.ScopeExists(ctx, scope)
	}
	return nil
}

// covers reports whether a policy scope covers a resource's scope: it is
// the same or an ancestor.
func covers(scope, resource string) bool {
	return access.Scope(resource).Within(access.Scope(scope))
}

// record writes a security-policy change's audit record.
func (s *Service) record(ctx context.Context, action, targetType, targetID, scope string, details map[string]any) error {
	if err := s.Store.BumpGeneration(ctx); err != nil {
		return err
	}
	if details == nil {
		details = map[string]any{}
	}
	details["category"] = "security_policy"
	return s.Audit.Record(ctx, audit.Event{Action: action, TargetType: targetType, TargetID: targetID, Scope: scope, Details: details})
}

// ListDefinitions returns the built-in definitions and the platform's own, by ID.
func (s *Service) ListDefinitions(ctx context.Context) ([]*StoredDefinition, error) {
	builtins, err := s.loadBuiltins()
	if err != nil {
		return nil, err
	}
	custom, err := s.Store.ListDefinitions(ctx)
	if err != nil {
		return nil, err
	}
	out := custom
	for _, d := range builtins {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// GetDefinition returns one definition, built in or not.
func (s *Service) GetDefinition(ctx context.Context, id string) (*StoredDefinition, error) {
	builtins, err := s.loadBuiltins()
	if err != nil {
		return nil, err
	}
	if d, ok := builtins[id]; ok {
		return d, nil
	}
	if !idRe.MatchString(id) {
		return nil, enclave.Errorf(enclave.CodeNotFound, "policy %s not found", enclave.Truncate(id, 80))
	}
	return s.Store.GetDefinition(ctx, id)
}

// PutDefinition creates or replaces a definition after compiling it: a
// definition whose condition does not type-check is never stored. Built-in
// definitions cannot be replaced.
func (s *Service) PutDefinition(ctx context.Context, id string, d Definition) (*StoredDefinition, bool, error) {
	if d.ID == "" {
		d.ID = id
	}
	if d.ID != id {
		return nil, false, enclave.FieldError("id", "the body's id %q differs from the path's %q", d.ID, id)
	}
	builtins, err := s.loadBuiltins()
	if err != nil {
		return nil, false, err
	}
	if _, ok := builtins[id]; ok {
		return nil, false, enclave.Errorf(enclave.CodeFailedPrecondition, "policy %s is built in and cannot be changed; write your own under another id", id)
	}
	if _, err := Compile(&d); err != nil {
		return nil, false, err
	}
	var out *StoredDefinition
	created := false
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now()
		old, err := s.Store.GetDefinition(ctx, id)
		switch {
		case enclave.IsCode(err, enclave.CodeNotFound):
			created = true
			out = &StoredDefinition{Definition: d, CreatedAt: now, CreatedBy: enclave.ActorName(ctx), UpdatedAt: now, UpdatedBy: enclave.ActorName(ctx)}
			if err := enclave.Admit(ctx, s, enclave.Change{Kind: KindDefinition, Operation: enclave.OpCreate, Scope: "/", Object: out}); err != nil {
				return err
			}
			if err := s.Store.CreateDefinition(ctx, out); err != nil {
				return err
			}
			return s.record(ctx, "policy.definition.create", "policy_definition", id, "/",
				map[string]any{"definition": out.Definition})
		case err != nil:
			return err
		}
		out = &StoredDefinition{Definition: d, CreatedAt: old.CreatedAt, CreatedBy: old.CreatedBy, UpdatedAt: now, UpdatedBy: enclave.ActorName(ctx)}
		if err := enclave.Admit(ctx, s, enclave.Change{Kind: KindDefinition, Operation: enclave.OpUpdate, Scope: "/", Object: out, Old: old}); err != nil {
			return err
		}
		if err := s.Store.UpdateDefinition(ctx, out); err != nil {
			return err
		}
		return s.record(ctx, "policy.definition.update", "policy_definition", id, "/",
			map[string]any{"from": old.Definition, "to": out.Definition})
	})
	if err != nil {
		return nil, false, err
	}
	s.invalidate()
	return out, created, nil
}

// DeleteDefinition removes a definition no assignment uses.
func (s *Service) DeleteDefinition(ctx context.Context, id string) error {
	def, err := s.GetDefinition(ctx, id)
	if err != nil {
		return err
	}
	if d, _ := s.loadBuiltins(); d[id] != nil {
		return enclave.Errorf(enclave.CodeFailedPrecondition, "policy %s is built in and cannot be deleted", id)
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := enclave.Admit(ctx, s, enclave.Change{Kind: KindDefinition, Operation: enclave.OpDelete, Scope: "/", Object: def, Old: def}); err != nil {
			return err
		}
		as, err := s.Store.ListAssignments(ctx)
		if err != nil {
			return err
		}
		for _, a := range as {
			if a.Definition == id {
				return enclave.Errorf(enclave.CodeFailedPrecondition, "policy %s is assigned (%s); remove its assignments first", id, a.Name)
			}
		}
		if err := s.Store.DeleteDefinition(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, "policy.definition.delete", "policy_definition", id, "/", nil)
	})
	if err == nil {
		s.invalidate()
	}
	return err
}

// CreateAssignment assigns a definition at a scope. The parameters are
// resolved against the definition now, so a bad value is refused here and
// not at the next change.
func (s *Service) CreateAssignment(ctx context.Context, in AssignmentCreate) (*Assignment, error) {
	if !nameRe.MatchString(in.Name) {
		return nil, enclave.FieldError("name", "name must be a lowercase name of letters, digits and '-' (at most 64)")
	}
	if in.Mode == "" {
		in.Mode = Enforce
	}
	if in.Mode != Enforce && in.Mode != DryRun {
		return nil, enclave.FieldError("mode", "mode must be enforce or dry-run")
	}
	if len(in.Description) > 2000 {
		return nil, enclave.FieldError("description", "description is longer than 2000 characters")
	}
	def, err := s.GetDefinition(ctx, in.Definition)
	if err != nil {
		if enclave.IsCode(err, enclave.CodeNotFound) {
			return nil, enclave.FieldError("definition", "no policy %s", enclave.Truncate(in.Definition, 80))
		}
		return nil, err
	}
	if _, err := def.Params(in.Params); err != nil {
		return nil, err
	}
	if err := s.validScope(ctx, "scope", in.Scope); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	a := &Assignment{ID: uuid.Must(uuid.NewV7()).String(), Name: in.Name, Definition: def.ID, Scope: in.Scope,
		Params: in.Params, Mode: in.Mode, Description: in.Description,
		CreatedAt: now, CreatedBy: enclave.ActorName(ctx), UpdatedAt: now, UpdatedBy: enclave.ActorName(ctx)}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := enclave.Admit(ctx, s, enclave.Change{Kind: KindAssignment, Operation: enclave.OpCreate, Scope: a.Scope, Object: a}); err != nil {
			return err
		}
		if err := s.Store.CreateAssignment(ctx, a); err != nil {
			return err
		}
		return s.record(ctx, "policy.assignment.create", "policy_assignment", a.ID, a.Scope,
			map[string]any{"name": a.Name, "definition": a.Definition, "mode": a.Mode, "params": a.Params})
	})
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return a, nil
}

// The resource kinds of the policy engine itself. Policies for "*" do not
// cover them: a guardrail must name them to govern the guardrails.
const (
	KindDefinition = "policy-definition"
	KindAssignment = "policy-assignment"
	KindExemption  = "policy-exemption"
)

// GetAssignment returns an assignment by name.
func (s *Service) GetAssignment(ctx context.Context, name string) (*Assignment, error) {
	if !nameRe.MatchString(name) {
		return nil, enclave.Errorf(enclave.CodeNotFound, "policy assignment %s not found", enclave.Truncate(name, 80))
	}
	return s.Store.GetAssignment(ctx, name)
}

// ListAssignments returns every assignment, by name.
func (s *Service) ListAssignments(ctx context.Context) ([]*Assignment, error) {
	return s.Store.ListAssignments(ctx)
}

// UpdateAssignment changes an assignment's mode, parameters or description:
// switching dry-run to enforce is how a guardrail goes live.
func (s *Service) UpdateAssignment(ctx context.Context, name string, in AssignmentUpdate) (*Assignment, error) {
	var a *Assignment
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if a, err = s.GetAssignment(ctx, name); err != nil {
			return err
		}
		old := *a
		changed := map[string]any{}
		if in.Mode != nil {
			if *in.Mode != Enforce && *in.Mode != DryRun {
				return enclave.FieldError("mode", "mode must be enforce or dry-run")
			}
			if *in.Mode != a.Mode {
				changed["mode"] = map[string]any{"from": a.Mode, "to": *in.Mode}
			}
			a.Mode = *in.Mode
		}
		if in.Params != nil {
			def, err := s.GetDefinition(ctx, a.Definition)
			if err != nil {
				return err
			}
			if _, err := def.Params(*in.Params); err != nil {
				return err
			}
			changed["params"] = map[string]any{"from": a.Params, "to": *in.Params}
			a.Params = *in.Params
		}
		if in.Description != nil {
			if len(*in.Description) > 2000 {
				return enclave.FieldError("description", "description is longer than 2000 characters")
			}
			a.Description = *in.Description
			changed["description"] = a.Description
		}
		a.UpdatedAt, a.UpdatedBy = s.Clock.Now(), enclave.ActorName(ctx)
		if err := enclave.Admit(ctx, s, enclave.Change{Kind: KindAssignment, Operation: enclave.OpUpdate, Scope: a.Scope, Object: a, Old: &old}); err != nil {
			return err
		}
		if err := s.Store.UpdateAssignment(ctx, a); err != nil {
			return err
		}
		changed["name"] = a.Name
		return s.record(ctx, "policy.assignment.update", "policy_assignment", a.ID, a.Scope, changed)
	})
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return a, nil
}

// DeleteAssignment removes an assignment and its exemptions.
func (s *Service) DeleteAssignment(ctx context.Context, name string) error {
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := s.GetAssignment(ctx, name)
		if err != nil {
			return err
		}
		if err := enclave.Admit(ctx, s, enclave.Change{Kind: KindAssignment, Operation: enclave.OpDelete, Scope: a.Scope, Object: a, Old: a}); err != nil {
			return err
		}
		if err := s.Store.DeleteAssignment(ctx, a.ID); err != nil {
			return err
		}
		return s.record(ctx, "policy.assignment.delete", "policy_assignment", a.ID, a.Scope,
			map[string]any{"name": a.Name, "definition": a.Definition})
	})
	if err == nil {
		s.invalidate()
	}
	return err
}

// RequestExemption asks for an assignment not to apply to a scope or one
// resource until a time; it applies once another Platform Admin approves.
func (s *Service) RequestExemption(ctx context.Context, in ExemptionCreate) (*Exemption, error) {
	a, err := s.GetAssignment(ctx, in.Assignment)
	if err != nil {
		if enclave.IsCode(err, enclave.CodeNotFound) {
			return nil, enclave.FieldError("assignment", "no policy assignment %s", enclave.Truncate(in.Assignment, 80))
		}
		return nil, err
	}
	if in.Scope == "" {
		in.Scope = a.Scope
	}
	if err := s.validScope(ctx, "scope", in.Scope); err != nil {
		return nil, err
	}
	if !covers(a.Scope, in.Scope) {
		return nil, enclave.FieldError("scope", "scope %s is outside the assignment's scope %s", in.Scope, a.Scope)
	}
	if (in.ResourceKind == "") != (in.ResourceName == "") {
		return nil, enclave.FieldError("resource_name", "a resource is named by its kind and its name together")
	}
	if in.ResourceKind != "" && (!kindRe.MatchString(in.ResourceKind) || in.ResourceKind == "*" || len(in.ResourceName) > 200) {
		return nil, enclave.FieldError("resource_kind", "resource_kind and resource_name must name one resource")
	}
	if r := strings.TrimSpace(in.Reason); len(r) < 10 || len(r) > 2000 {
		return nil, enclave.FieldError("reason", "reason must say why, in 10 to 2000 characters")
	}
	now := s.Clock.Now()
	if !in.ExpiresAt.After(now) || in.ExpiresAt.Sub(now) > MaxExemption {
		return nil, enclave.FieldError("expires_at", "expires_at must be in the future and at most a year away")
	}
	e := &Exemption{ID: uuid.Must(uuid.NewV7()).String(), Assignment: a.Name, Scope: in.Scope, ResourceKind: in.ResourceKind,
		ResourceName: in.ResourceName, Reason: strings.TrimSpace(in.Reason), ExpiresAt: in.ExpiresAt.UTC().Truncate(time.Microsecond),
		State: ExemptionPending, RequestedBy: enclave.ActorName(ctx), RequestedByID: actorID(ctx), RequestedAt: now}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := enclave.Admit(ctx, s, enclave.Change{Kind: KindExemption, Operation: enclave.OpCreate, Scope: e.Scope, Object: e}); err != nil {
			return err
		}
		if err := s.Store.CreateExemption(ctx, e); err != nil {
			return err
		}
		return s.record(ctx, "policy.exemption.request", "policy_exemption", e.ID, e.Scope, exemptionDetails(e))
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

func exemptionDetails(e *Exemption) map[string]any {
	d := map[string]any{"assignment": e.Assignment, "reason": e.Reason, "expires_at": e.ExpiresAt, "state": e.State}
	if e.ResourceKind != "" {
		d["resource"] = e.ResourceKind + "/" + e.ResourceName
	}
	if e.Comment != "" {
		d["comment"] = e.Comment
	}
	return d
}

// GetExemption returns one exemption.
func (s *Service) GetExemption(ctx context.Context, id string) (*Exemption, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, enclave.Errorf(enclave.CodeNotFound, "policy exemption %s not found", enclave.Truncate(id, 80))
	}
	return s.Store.GetExemption(ctx, id)
}

// ListExemptions returns every exemption, newest first.
func (s *Service) ListExemptions(ctx context.Context) ([]*Exemption, error) {
	return s.Store.ListExemptions(ctx)
}

// DecideExemption approves or rejects a pending exemption. The requester
// never decides their own: a second Platform Admin does.
func (s *Service) DecideExemption(ctx context.Context, id string, approve bool, comment string) (*Exemption, error) {
	if len(comment) > 2000 {
		return nil, enclave.FieldError("comment", "comment is longer than 2000 characters")
	}
	var e *Exemption
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if e, err = s.GetExemption(ctx, id); err != nil {
			return err
		}
		if e.State != ExemptionPending {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "exemption %s is %s, not pending", e.ID, e.State)
		}
		if e.RequestedByID == actorID(ctx) {
			return enclave.Errorf(enclave.CodePermissionDenied, "an exemption is approved or rejected by a Platform Admin other than its requester")
		}
		now := s.Clock.Now()
		if approve && !e.ExpiresAt.After(now) {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "exemption %s expired before it was approved", e.ID)
		}
		old := *e
		e.State, e.DecidedBy, e.DecidedAt, e.Comment = ExemptionRejected, enclave.ActorName(ctx), &now, comment
		action := "policy.exemption.reject"
		if approve {
			e.State, action = ExemptionApproved, "policy.exemption.approve"
		}
		if err := enclave.Admit(ctx, s, enclave.Change{Kind: KindExemption, Operation: enclave.OpUpdate, Scope: e.Scope, Object: e, Old: &old}); err != nil {
			return err
		}
		if err := s.Store.UpdateExemption(ctx, e); err != nil {
			return err
		}
		return s.record(ctx, action, "policy_exemption", e.ID, e.Scope, exemptionDetails(e))
	})
	if err != nil {
		return nil, err
	}
	s.invalidate()
	return e, nil
}

// DeleteExemption withdraws an exemption, whatever its state.
func (s *Service) DeleteExemption(ctx context.Context, id string) error {
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		e, err := s.GetExemption(ctx, id)
		if err != nil {
			return err
		}
		if err := enclave.Admit(ctx, s, enclave.Change{Kind: KindExemption, Operation: enclave.OpDelete, Scope: e.Scope, Object: e, Old: e}); err != nil {
			return err
		}
		if err := s.Store.DeleteExemption(ctx, e.ID); err != nil {
			return err
		}
		return s.record(ctx, "policy.exemption.delete", "policy_exemption", e.ID, e.Scope, exemptionDetails(e))
	})
	if err == nil {
		s.invalidate()
	}
	return err
}
