package access

import (
	"context"
	"encoding/json"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/workqueue"
	"github.com/google/uuid"
)

// RequestElevation asks for a role at a scope for a while. Only people
// request elevations; the duration is bounded by the role's maximum.
func (s *Service) RequestElevation(ctx context.Context, in ElevationRequest) (*Elevation, error) {
	a := enclave.ActorFrom(ctx)
	if a.Kind != enclave.PrincipalUser {
		return nil, enclave.Errorf(enclave.CodePermissionDenied, "only people request just-in-time elevation; service principals hold standing roles")
	}
	if _, _, err := s.roleAt("role", in.Role, in.Scope); err != nil {
		return nil, err
	}
	d, err := time.ParseDuration(in.Duration)
	if err != nil {
		return nil, enclave.FieldError("duration", "duration must be like 2h or 90m")
	}
	e := &Elevation{ID: newID(), PrincipalID: a.PrincipalID, PrincipalName: a.Name, Role: in.Role, Scope: in.Scope,
		Duration: d, Justification: in.Justification, State: ElevationPending, RequestedAt: s.Clock.Now()}
	if err := s.checkElevation(e); err != nil {
		return nil, err
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.requireScope(ctx, in.Scope); err != nil {
			return err
		}
		if err := s.admitElevation(ctx, enclave.OpCreate, e, nil); err != nil {
			return err
		}
		if err := s.Store.CreateElevation(ctx, e); err != nil {
			return err
		}
		return s.recordElevation(ctx, "access.elevation.request", e, nil)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// checkElevation checks what an elevation asks for: a role assignable at
// its scope, for a duration within the role's bounds, and why.
func (s *Service) checkElevation(e *Elevation) error {
	role, _, err := s.roleAt("role", e.Role, e.Scope)
	if err != nil {
		return err
	}
	minimum := s.MinElevation
	if minimum <= 0 {
		minimum = DefaultMinElevation
	}
	if e.Duration < minimum || e.Duration > role.MaxElevation {
		return enclave.FieldError("duration", "an elevation to %s lasts between %v and %v, not %v", role.ID, minimum, role.MaxElevation, e.Duration)
	}
	if len(e.Justification) < 10 {
		return enclave.FieldError("justification", "justification must say why, in at least 10 characters")
	}
	return enclave.ValidateText("justification", e.Justification, 2000)
}

// saveElevation stores a decided or ended elevation after policy
// admission; old is the elevation as it was read, in state old.State.
func (s *Service) saveElevation(ctx context.Context, e, old *Elevation) error {
	if err := s.admitElevation(ctx, enclave.OpUpdate, e, old); err != nil {
		return err
	}
	return s.Store.UpdateElevation(ctx, e, old.State)
}

func (s *Service) recordElevation(ctx context.Context, action string, e *Elevation, extra map[string]any) error {
	details := map[string]any{"principal": e.PrincipalName, "role": e.Role, "duration": e.Duration.String(), "state": e.State}
	if action == "access.elevation.request" {
		details["justification"] = e.Justification
	}
	for k, v := range extra {
		details[k] = v
	}
	return s.Audit.Record(ctx, audit.Event{Action: action, TargetType: "elevation", TargetID: e.ID, Scope: string(e.Scope), Details: details})
}

func (s *Service) pending(ctx context.Context, id string) (*Elevation, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, enclave.FieldError("id", "id is not an elevation ID")
	}
	e, err := s.Store.GetElevation(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.State != ElevationPending {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "elevation %s is %s, not pending", e.ID, e.State)
	}
	return e, nil
}

// decideOn checks that the actor may decide e: it did not request e, it
// holds access/elevations/approve at e's scope by a standing assignment,
// and it holds every control-plane right of the role (only a platform
// admin approves platform-admin). Requests left pending too long expire.
func (s *Service) decideOn(ctx context.Context, e *Elevation) error {
	actor := enclave.ActorFrom(ctx)
	if actor.PrincipalID == e.PrincipalID {
		return enclave.Errorf(enclave.CodePermissionDenied, "nobody approves or rejects their own elevation")
	}
	if err := s.authorizeStanding(ctx, ElevationsApprove, e.Scope); err != nil {
		return err
	}
	if s.Clock.Now().Sub(e.RequestedAt) > PendingElevationTTL {
		return enclave.Errorf(enclave.CodeFailedPrecondition, "elevation %s was requested over %v ago; ask for a new one", e.ID, PendingElevationTTL)
	}
	role, ok := RoleByID(e.Role)
	if !ok {
		return enclave.Errorf(enclave.CodeFailedPrecondition, "role %s no longer exists", e.Role)
	}
	sub := actorSubject(actor)
	sub.standingOnly = true
	missing, err := s.uncovered(ctx, sub, role, e.Scope)
	if err != nil {
		return err
	}
	if missing != "" {
		return enclave.Errorf(enclave.CodePermissionDenied, "approving %s at %s needs every control-plane right it carries; %s does not hold %s there",
			role.ID, e.Scope, actor.Name, missing)
	}
	return nil
}

// ApproveElevation activates a pending elevation: the requester holds the
// role at the scope until it expires, when the work queue revokes it.
func (s *Service) ApproveElevation(ctx context.Context, id string, in ElevationDecision) (*Elevation, error) {
	return s.decidePending(ctx, id, in, func(ctx context.Context, e, old *Elevation, now time.Time) error {
		expires := now.Add(e.Duration)
		e.State, e.ActivatedAt, e.ExpiresAt = ElevationActive, &now, &expires
		if err := s.saveElevation(ctx, e, old); err != nil {
			return err
		}
		a := &Assignment{ID: newID(), AssigneeID: e.PrincipalID, AssigneeKind: AssigneeUser, AssigneeName: e.PrincipalName,
			Role: e.Role, Scope: e.Scope, CreatedBy: e.DecidedBy, CreatedAt: now, ElevationID: e.ID, ExpiresAt: &expires}
		if err := s.admitAssignment(ctx, enclave.OpCreate, a); err != nil {
			return err
		}
		if err := s.Store.CreateAssignment(ctx, a); err != nil {
			return err
		}
		if _, err := s.Queue.Enqueue(ctx, ExpireElevationTask, expirePayload{ElevationID: e.ID},
			workqueue.EnqueueOptions{Scope: string(e.Scope), RunAt: expires}); err != nil {
			return err
		}
		return s.recordElevation(ctx, "access.elevation.approve", e, map[string]any{"expires_at": expires, "note": in.Note})
	})
}

// RejectElevation declines a pending elevation.
func (s *Service) RejectElevation(ctx context.Context, id string, in ElevationDecision) (*Elevation, error) {
	return s.decidePending(ctx, id, in, func(ctx context.Context, e, old *Elevation, now time.Time) error {
		e.State, e.EndedAt = ElevationRejected, &now
		if err := s.saveElevation(ctx, e, old); err != nil {
			return err
		}
		return s.recordElevation(ctx, "access.elevation.reject", e, map[string]any{"note": in.Note})
	})
}

// decidePending runs a decision on a pending elevation in one transaction,
// after checking that the actor may decide it, and records who did and
// when. apply is given the elevation as it was read too.
func (s *Service) decidePending(ctx context.Context, id string, in ElevationDecision,
	apply func(ctx context.Context, e, old *Elevation, now time.Time) error) (*Elevation, error) {
	if err := enclave.ValidateText("note", in.Note, 2000); err != nil {
		return nil, err
	}
	var e *Elevation
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if e, err = s.pending(ctx, id); err != nil {
			return err
		}
		if err := s.decideOn(ctx, e); err != nil {
			return err
		}
		old, now := *e, s.Clock.Now()
		e.DecidedBy, e.DecidedAt, e.DecisionNote = enclave.ActorFrom(ctx).Name, &now, in.Note
		return apply(ctx, e, &old, now)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// CancelElevation withdraws one's own pending request, or ends one's own
// active elevation early. An approver at the scope may also end an active one.
func (s *Service) CancelElevation(ctx context.Context, id string) (*Elevation, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, enclave.FieldError("id", "id is not an elevation ID")
	}
	var e *Elevation
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if e, err = s.Store.GetElevation(ctx, id); err != nil {
			return err
		}
		own := enclave.ActorFrom(ctx).PrincipalID == e.PrincipalID
		old, now := *e, s.Clock.Now()
		switch {
		case e.State == ElevationPending && own:
			e.State = ElevationCancelled
		case e.State == ElevationActive:
			if !own {
				if err := s.Authorize(ctx, ElevationsApprove, e.Scope); err != nil {
					return err
				}
			}
			if err := s.endAssignment(ctx, e); err != nil {
				return err
			}
			e.State = ElevationRevoked
		case e.State == ElevationPending:
			return enclave.Errorf(enclave.CodePermissionDenied, "only the requester withdraws a pending elevation; approvers reject it")
		default:
			return enclave.Errorf(enclave.CodeFailedPrecondition, "elevation %s is already %s", e.ID, e.State)
		}
		e.EndedAt = &now
		if err := s.saveElevation(ctx, e, &old); err != nil {
			return err
		}
		return s.recordElevation(ctx, "access.elevation.cancel", e, nil)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (s *Service) endAssignment(ctx context.Context, e *Elevation) error {
	as, err := s.Store.ListAssignments(ctx, AssignmentFilter{Scope: e.Scope, AssigneeID: e.PrincipalID, Role: e.Role}, "", 1000)
	if err != nil {
		return err
	}
	for _, a := range as {
		if a.ElevationID == e.ID {
			if err := s.Store.DeleteAssignment(ctx, a.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// ListElevations returns the caller's own elevations and those it may
// decide on, newest first.
func (s *Service) ListElevations(ctx context.Context, f ElevationFilter, page enclave.Page) ([]*Elevation, string, error) {
	if f.State != "" {
		if err := f.State.Validate("state"); err != nil {
			return nil, "", err
		}
	}
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	me := enclave.ActorFrom(ctx).PrincipalID
	var out []*Elevation
	before := cur.After
	mayDecide := map[Scope]bool{}
	// Read in batches, keeping what the caller may see, until the page is
	// full or a bounded number of rows has been looked at.
	for scanned := 0; len(out) <= page.Size && scanned < maxElevationScan; {
		batch, err := s.Store.ListElevations(ctx, f, before, 200)
		if err != nil {
			return nil, "", err
		}
		scanned += len(batch)
		for _, e := range batch {
			ok, known := mayDecide[e.Scope]
			if !known {
				ok = s.Authorize(ctx, ElevationsApprove, e.Scope) == nil
				mayDecide[e.Scope] = ok
			}
			if e.PrincipalID == me || ok {
				out = append(out, e)
			}
		}
		if len(batch) < 200 {
			break
		}
		before = batch[len(batch)-1].ID
	}
	out, next := enclave.PageOf(out, page.Size, func(e *Elevation) string { return e.ID })
	return out, next, nil
}

// maxElevationScan bounds the rows one listing reads on behalf of a caller
// who may see few of them.
const maxElevationScan = 5000

// GetElevation returns one elevation the caller requested or may decide on.
func (s *Service) GetElevation(ctx context.Context, id string) (*Elevation, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, enclave.FieldError("id", "id is not an elevation ID")
	}
	e, err := s.Store.GetElevation(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.PrincipalID != enclave.ActorFrom(ctx).PrincipalID {
		if err := s.Authorize(ctx, ElevationsApprove, e.Scope); err != nil {
			return nil, enclave.Errorf(enclave.CodeNotFound, "elevation %s not found", id)
		}
	}
	return e, nil
}

type expirePayload struct {
	ElevationID string `json:"elevation_id"`
}

// ExpireElevation is the work-queue handler that ends an elevation when its
// time is up, without anyone acting. It is idempotent: an elevation already
// ended (revoked early, expired by an earlier attempt) is left alone.
func (s *Service) ExpireElevation(ctx context.Context, t *workqueue.Task) error {
	var p expirePayload
	if err := json.Unmarshal(t.Payload, &p); err != nil || p.ElevationID == "" {
		return workqueue.Permanent(enclave.Errorf(enclave.CodeInvalidArgument, "malformed elevation expiry payload"))
	}
	ctx = enclave.WithActor(ctx, enclave.SystemActor("elevation-expiry"))
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		e, err := s.Store.GetElevation(ctx, p.ElevationID)
		if enclave.IsCode(err, enclave.CodeNotFound) {
			return workqueue.Permanent(err)
		}
		if err != nil {
			return err
		}
		if e.State != ElevationActive {
			return nil
		}
		now := s.Clock.Now()
		if now.Before(*e.ExpiresAt) {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "elevation %s expires at %s", e.ID, e.ExpiresAt)
		}
		if err := s.endAssignment(ctx, e); err != nil {
			return err
		}
		e.State, e.EndedAt = ElevationExpired, &now
		if err := s.Store.UpdateElevation(ctx, e, ElevationActive); err != nil {
			return err
		}
		return s.recordElevation(ctx, "access.elevation.expire", e, nil)
	})
}

// ScopeDeleted ends all access at a scope that is being deleted, and below
// it: standing assignments are removed, pending elevations cancelled and
// active ones revoked, each audited, in the transaction of the deletion.
// A zone or project created later with the same name starts with no access.
func (s *Service) ScopeDeleted(ctx context.Context, scope string) error {
	sc := Scope(scope)
	for {
		as, err := s.Store.ListAssignments(ctx, AssignmentFilter{Scope: sc}, "", 500)
		if err != nil {
			return err
		}
		for _, a := range as {
			if err := s.Store.DeleteAssignment(ctx, a.ID); err != nil {
				return err
			}
			if err := s.Audit.Record(ctx, audit.Event{Action: "access.revoke", TargetType: "role_assignment", TargetID: a.ID,
				Scope: string(a.Scope), Reason: "scope deleted",
				Details: map[string]any{"assignee": a.AssigneeName, "assignee_kind": a.AssigneeKind, "role": a.Role}}); err != nil {
				return err
			}
		}
		if len(as) < 500 {
			break
		}
	}
	now := s.Clock.Now()
	for _, st := range []ElevationState{ElevationPending, ElevationActive} {
		es, err := s.Store.ListElevations(ctx, ElevationFilter{State: st, Scope: sc}, "", 10000)
		if err != nil {
			return err
		}
		for _, e := range es {
			e.State, e.EndedAt = ElevationCancelled, &now
			if st == ElevationActive {
				e.State = ElevationRevoked
			}
			if err := s.Store.UpdateElevation(ctx, e, st); err != nil {
				return err
			}
			if err := s.recordElevation(ctx, "access.elevation.cancel", e, map[string]any{"reason": "scope deleted"}); err != nil {
				return err
			}
		}
	}
	return nil
}
