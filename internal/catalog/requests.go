package catalog

import (
	"context"
	"strconv"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/zone"
)

// RequestKind is what a request asks a second person to allow.
type RequestKind string

// The kinds of request.
const (
	// KeyDestruction destroys a project's keys, and so its data, for good.
	// Another Platform Admin approves.
	KeyDestruction RequestKind = "key-destruction"
	// VersionDeletion deletes a committed version's contents once its
	// retention has ended. Another person who may catalog the dataset
	// approves.
	VersionDeletion RequestKind = "version-deletion"
	// DataGrant lets the requester copy a version of production data into
	// a dev area and read it there, for a limited time. The dataset's data
	// owner approves.
	DataGrant RequestKind = "data-grant"
)

// RequestState is where a request is.
type RequestState string

// The states of a request.
const (
	Pending   RequestState = "pending"
	Approved  RequestState = "approved"
	Rejected  RequestState = "rejected"
	Cancelled RequestState = "cancelled"
)

// MaxGrant bounds a production-data access grant; DefaultGrant is its
// length when none is asked for.
const (
	MaxGrant     = 7 * 24 * time.Hour
	DefaultGrant = 8 * time.Hour
)

// Request asks a second person to allow something.
type Request struct {
	ID            string       `json:"id"`
	Kind          RequestKind  `json:"kind"`
	ProjectID     string       `json:"project_id"`
	Scope         string       `json:"scope"`
	DatasetID     string       `json:"dataset_id,omitempty"`
	Dataset       string       `json:"dataset,omitempty"`
	Version       int          `json:"version,omitempty"`
	Environment   string       `json:"environment,omitempty"`
	Justification string       `json:"justification"`
	Duration      Duration     `json:"duration,omitempty"`
	State         RequestState `json:"state"`
	RequestedBy   string       `json:"requested_by"`
	RequesterName string       `json:"requester"`
	DecidedBy     string       `json:"decided_by,omitempty"`
	DeciderName   string       `json:"decider,omitempty"`
	Comment       string       `json:"comment,omitempty"`
	CreatedAt     time.Time    `json:"created_at"`
	DecidedAt     *time.Time   `json:"decided_at,omitempty"`
	// ExpiresAt is when an approved grant ends.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// UsedAt is when a grant's copy was made (a grant allows one).
	UsedAt *time.Time `json:"used_at,omitempty"`
}

// Duration is a time.Duration written as text ("8h") in JSON.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return enclave.FieldError("duration", "duration must be like 8h or 90m")
	}
	*d = Duration(v)
	return nil
}

// GrantRequest asks for production data in a dev environment.
type GrantRequest struct {
	Environment   string   `json:"environment"`
	Justification string   `json:"justification"`
	Duration      Duration `json:"duration,omitempty"`
}

// Decision approves or rejects a request.
type Decision struct {
	Comment string `json:"comment,omitempty"`
}

// RequestStore keeps requests.
type RequestStore interface {
	CreateRequest(ctx context.Context, r *Request) error
	GetRequest(ctx context.Context, projectID, id string) (*Request, error)
	ListRequests(ctx context.Context, projectID, after string, limit int) ([]*Request, error)
	// UpdateRequest writes r if the stored request is still in state from;
	// otherwise it fails with a conflict.
	UpdateRequest(ctx context.Context, r *Request, from RequestState) error
}

func checkJustification(justification string) error {
	if err := validateText("justification", justification, 2000); err != nil {
		return err
	}
	if len(justification) < 10 {
		return enclave.FieldError("justification", "say why, in at least 10 characters")
	}
	return nil
}

func (s *Service) newRequest(ctx context.Context, p *zone.Project, kind RequestKind, justification string) (*Request, error) {
	if err := checkJustification(justification); err != nil {
		return nil, err
	}
	a := enclave.ActorFrom(ctx)
	if a == nil {
		return nil, enclave.Errorf(enclave.CodeUnauthenticated, "no caller")
	}
	return &Request{ID: newID(), Kind: kind, ProjectID: p.ID, Scope: "/zones/" + p.Zone + "/projects/" + p.Name,
		Justification: justification, State: Pending, RequestedBy: a.PrincipalID, RequesterName: a.Name,
		CreatedAt: s.Clock.Now()}, nil
}

func (s *Service) recordRequest(ctx context.Context, r *Request, action string, outcome audit.Outcome, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	details["kind"], details["request"] = r.Kind, r.ID
	if r.Dataset != "" {
		details["dataset"], details["version"] = r.Dataset, r.Version
	}
	return s.Audit.Record(ctx, audit.Event{Action: action, TargetType: "data-request", TargetID: r.ID, Scope: r.Scope,
		Outcome: outcome, Details: details})
}

// createRequest admits and stores a new request of project p, in ctx's
// transaction.
func (s *Service) createRequest(ctx context.Context, p *zone.Project, r *Request) error {
	if err := s.admit(ctx, KindRequest, enclave.OpCreate, p, r, nil, checkRequest(r, enclave.OpCreate)); err != nil {
		return err
	}
	return s.Requests.CreateRequest(ctx, r)
}

// updateRequest admits and stores next, a change of the pending request r
// of project p, in ctx's transaction.
func (s *Service) updateRequest(ctx context.Context, p *zone.Project, next, r *Request) error {
	if err := s.admit(ctx, KindRequest, enclave.OpUpdate, p, next, r, checkRequest(next, enclave.OpUpdate)); err != nil {
		return err
	}
	return s.Requests.UpdateRequest(ctx, next, Pending)
}

// RequestKeyDestruction asks for a project's keys to be destroyed, which
// makes all its stored data unreadable for good. confirm must repeat the
// project's name. Another Platform Admin must approve.
func (s *Service) RequestKeyDestruction(ctx context.Context, zoneName, project, confirm, justification string) (*Request, error) {
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	if confirm != p.Name {
		return nil, enclave.FieldError("confirm", "to destroy project %s's keys and with them all its data, confirm with the project's name", p.Name)
	}
	r, err := s.newRequest(ctx, p, KeyDestruction, justification)
	if err != nil {
		return nil, err
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.createRequest(ctx, p, r); err != nil {
			return err
		}
		return s.recordRequest(ctx, r, "keys.destroy.request", audit.Success, nil)
	})
	return r, err
}

// RequestVersionDeletion asks for a committed version's contents to be
// deleted. It is refused while the version's retention holds; another
// person who may catalog the dataset must approve.
func (s *Service) RequestVersionDeletion(ctx context.Context, zoneName, project, name string, number int, justification string) (*Request, error) {
	d, v, err := s.version(ctx, zoneName, project, name, number)
	if err != nil {
		return nil, err
	}
	if v.State != Committed {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "version %d of %s is %s", v.Number, d.Name, v.State)
	}
	if v.RetainUntil != nil && s.Clock.Now().Before(*v.RetainUntil) {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "version %d of %s is retained until %s", v.Number, d.Name,
			v.RetainUntil.Format(time.RFC3339))
	}
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	r, err := s.newRequest(ctx, p, VersionDeletion, justification)
	if err != nil {
		return nil, err
	}
	r.DatasetID, r.Dataset, r.Version = d.ID, d.Name, v.Number
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.createRequest(ctx, p, r); err != nil {
			return err
		}
		return s.recordRequest(ctx, r, "dataset.version.delete.request", audit.Success, nil)
	})
	return r, err
}

// RequestGrant asks the data owner for time-boxed access to a version of
// production data from a dev environment. Only data the environment is not
// certified for needs a grant.
func (s *Service) RequestGrant(ctx context.Context, zoneName, project, name string, number int, in GrantRequest) (*Request, error) {
	d, v, err := s.version(ctx, zoneName, project, name, number)
	if err != nil {
		return nil, err
	}
	if v.State != Committed {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "version %d of %s is %s", v.Number, d.Name, v.State)
	}
	if d.GrantID != "" {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "%s is itself a copy made under a grant", d.Name)
	}
	e, err := s.Zones.GetEnvironment(ctx, zoneName, project, in.Environment)
	if err != nil {
		return nil, err
	}
	if d.Classification.AtMost(e.CertifiedClassification) {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "%s (%s) can be read in %s without a grant", d.Name, d.Classification, e.Name)
	}
	dur := time.Duration(in.Duration)
	if dur == 0 {
		dur = DefaultGrant
	}
	if dur < time.Minute || dur > MaxGrant {
		return nil, enclave.FieldError("duration", "a grant lasts between a minute and %s", MaxGrant)
	}
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	r, err := s.newRequest(ctx, p, DataGrant, in.Justification)
	if err != nil {
		return nil, err
	}
	if r.RequestedBy == d.OwnerID {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "you own %s: a grant needs another person's approval, and you would approve your own", d.Name)
	}
	r.DatasetID, r.Dataset, r.Version, r.Environment, r.Duration = d.ID, d.Name, v.Number, string(e.Name), Duration(dur)
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.createRequest(ctx, p, r); err != nil {
			return err
		}
		return s.recordRequest(ctx, r, "data.grant.request", audit.Success, map[string]any{"environment": r.Environment,
			"duration": time.Duration(r.Duration).String(), "classification": d.Classification})
	})
	return r, err
}

// GetRequest returns a request of a project.
func (s *Service) GetRequest(ctx context.Context, zoneName, project, id string) (*Request, error) {
	_, r, err := s.projectRequest(ctx, zoneName, project, id)
	return r, err
}

// projectRequest returns a request with its project.
func (s *Service) projectRequest(ctx context.Context, zoneName, project, id string) (*zone.Project, *Request, error) {
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.Requests.GetRequest(ctx, p.ID, id)
	if err != nil {
		return nil, nil, err
	}
	return p, r, nil
}

// ListRequests returns one page of a project's requests, newest first.
func (s *Service) ListRequests(ctx context.Context, zoneName, project string, page enclave.Page) ([]*Request, string, error) {
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, "", err
	}
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	rs, err := s.Requests.ListRequests(ctx, p.ID, cur.After, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	rs, next := enclave.PageOf(rs, page.Size, func(r *Request) string { return r.ID })
	return rs, next, nil
}

// Decide approves or rejects a pending request. Nobody decides their own;
// each kind has its own decider: another Platform Admin destroys keys, the
// data owner grants access to their data, another person who may catalog
// the dataset deletes a version. An approval takes effect at once, in the
// transaction that records it.
func (s *Service) Decide(ctx context.Context, zoneName, project, id string, approve bool, in Decision) (*Request, error) {
	if err := validateText("comment", in.Comment, 2000); err != nil {
		return nil, err
	}
	a := enclave.ActorFrom(ctx)
	if a == nil {
		return nil, enclave.Errorf(enclave.CodeUnauthenticated, "no caller")
	}
	p, r, err := s.projectRequest(ctx, zoneName, project, id)
	if err != nil {
		return nil, err
	}
	if r.State != Pending {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "the request is %s", r.State)
	}
	if r.RequestedBy == a.PrincipalID {
		return nil, enclave.Errorf(enclave.CodePermissionDenied, "nobody decides their own request")
	}
	var d *Dataset
	switch r.Kind {
	case KeyDestruction:
		if err := s.Authorize(ctx, "keys/write", "/"); err != nil {
			return nil, enclave.Errorf(enclave.CodePermissionDenied, "only a Platform Admin decides the destruction of keys")
		}
	case VersionDeletion, DataGrant:
		if d, err = s.GetDataset(ctx, zoneName, project, r.Dataset); err != nil {
			return nil, err
		}
		if r.Kind == DataGrant && a.PrincipalID != d.OwnerID {
			return nil, enclave.Errorf(enclave.CodePermissionDenied, "only the data owner of %s (%s) decides access to it", d.Name, d.OwnerName)
		}
		if r.Kind == VersionDeletion {
			if err := s.Authorize(ctx, "datasets/write", d.Scope()); err != nil {
				return nil, enclave.Errorf(enclave.CodePermissionDenied, "only someone who may catalog %s decides its deletion", d.Name)
			}
		}
	}
	now := s.Clock.Now()
	next := *r
	next.DecidedBy, next.DeciderName, next.Comment, next.DecidedAt = a.PrincipalID, a.Name, in.Comment, &now
	next.State = Rejected
	if approve {
		next.State = Approved
	}
	if approve && r.Kind == DataGrant {
		until := now.Add(time.Duration(r.Duration))
		next.ExpiresAt = &until
	}
	var purgeOwner string
	var dropObjects []string
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.updateRequest(ctx, p, &next, r); err != nil {
			return err
		}
		verb := map[RequestKind]string{KeyDestruction: "keys.destroy", VersionDeletion: "dataset.version.delete", DataGrant: "data.grant"}[r.Kind]
		if !approve {
			return s.recordRequest(ctx, &next, verb+".reject", audit.Success, map[string]any{"comment": in.Comment})
		}
		switch r.Kind {
		case KeyDestruction:
			_, place, err := s.projectPlacement(ctx, zoneName, project)
			if err != nil {
				return err
			}
			if err := s.Objects.DestroyKey(ctx, place.Owner); err != nil {
				return err
			}
			purgeOwner = place.Owner
			return s.recordRequest(ctx, &next, verb, audit.Success, map[string]any{"requested_by": r.RequesterName})
		case VersionDeletion:
			ids, err := s.deleteVersion(ctx, d, r.Version)
			if err != nil {
				return err
			}
			dropObjects = ids
			return s.recordRequest(ctx, &next, verb, audit.Success, map[string]any{"requested_by": r.RequesterName, "files": len(ids)})
		default:
			return s.recordRequest(ctx, &next, verb+".approve", audit.Success, map[string]any{"expires_at": next.ExpiresAt,
				"environment": r.Environment})
		}
	})
	if err != nil {
		return nil, err
	}
	// The bytes go after the commit: without their key or their catalog
	// entry they are unreachable already, and the sweeper finishes what a
	// crash interrupts.
	if purgeOwner != "" {
		_, _ = s.Objects.Purge(context.WithoutCancel(ctx), purgeOwner)
	}
	for _, id := range dropObjects {
		s.dropObject(ctx, id)
	}
	return &next, nil
}

// Cancel withdraws one's own pending request.
func (s *Service) Cancel(ctx context.Context, zoneName, project, id string) (*Request, error) {
	a := enclave.ActorFrom(ctx)
	p, r, err := s.projectRequest(ctx, zoneName, project, id)
	if err != nil {
		return nil, err
	}
	if a == nil || r.RequestedBy != a.PrincipalID {
		return nil, enclave.Errorf(enclave.CodePermissionDenied, "only the requester cancels a request")
	}
	if r.State != Pending {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "the request is %s", r.State)
	}
	next := *r
	next.State = Cancelled
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.updateRequest(ctx, p, &next, r); err != nil {
			return err
		}
		return s.recordRequest(ctx, &next, "data.request.cancel", audit.Success, nil)
	})
	return &next, err
}

// deleteVersion turns a committed version into a tombstone (number, hash
// and size stay) and removes its files' rows, returning their objects.
func (s *Service) deleteVersion(ctx context.Context, d *Dataset, number int) ([]string, error) {
	v, err := s.Store.GetVersion(ctx, d.ID, number)
	if err != nil {
		return nil, err
	}
	if v.State != Committed {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "version %d of %s is %s", number, d.Name, v.State)
	}
	if err := s.Store.MarkVersionDeleted(ctx, v.ID); err != nil {
		return nil, err
	}
	files, err := s.Store.ListFiles(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, f := range files {
		if err := s.Store.DeleteFile(ctx, v.ID, f.Path); err != nil {
			return nil, err
		}
		ids = append(ids, f.ObjectID)
	}
	return ids, nil
}

// CopyUnderGrant makes the one copy an approved grant allows: the version's
// files, re-encrypted under fresh data keys, become version 1 of a new
// dataset in the project's workspace area, with the source's
// classification and lineage to it. The copy is readable in the grant's
// environment until the grant expires, and nowhere else it could not be
// read anyway. Only the requester makes it.
func (s *Service) CopyUnderGrant(ctx context.Context, zoneName, project, id, target string) (*Dataset, error) {
	if err := enclave.ValidateName("name", target); err != nil {
		return nil, err
	}
	a := enclave.ActorFrom(ctx)
	r, err := s.GetRequest(ctx, zoneName, project, id)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Kind != DataGrant:
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "request %s is not a data access grant", id)
	case a == nil || a.PrincipalID != r.RequestedBy:
		return nil, enclave.Errorf(enclave.CodePermissionDenied, "only the requester of a grant uses it")
	case r.State != Approved:
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "the grant is %s", r.State)
	case r.UsedAt != nil:
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "the grant was used on %s", r.UsedAt.Format(time.RFC3339))
	case !s.Clock.Now().Before(*r.ExpiresAt):
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "the grant expired on %s", r.ExpiresAt.Format(time.RFC3339))
	}
	src, sv, err := s.version(ctx, zoneName, project, r.Dataset, r.Version)
	if err != nil {
		return nil, err
	}
	files, err := s.committedFiles(ctx, src, sv)
	if err != nil {
		return nil, err
	}
	p, place, err := s.projectPlacement(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	// Copy the bytes first; nothing refers to them until the transaction
	// below commits, and a failure discards them.
	copies, err := s.copyFiles(ctx, files, place)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	d := &Dataset{ID: newID(), Zone: p.Zone, Project: p.Name, ZoneID: p.ZoneID, ProjectID: p.ID, Name: target, Area: Workspace,
		OwnerID: src.OwnerID, OwnerName: src.OwnerName, Description: "copy of " + src.Name + " version " + strconv.Itoa(sv.Number) + " under grant " + r.ID,
		Tags: enclave.Tags{"grant": r.ID}, Classification: src.Classification, LatestVersion: 0, CreatedBy: a.PrincipalID,
		CreatedAt: now, UpdatedAt: now, GrantID: r.ID}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		used := *r
		used.UsedAt = &now
		if err := s.Requests.UpdateRequest(ctx, &used, Approved); err != nil {
			return err
		}
		if err := s.admit(ctx, KindDataset, enclave.OpCreate, p, d, nil, checkDataset(p, d, nil)); err != nil {
			return err
		}
		if err := s.Store.CreateDataset(ctx, d); err != nil {
			return err
		}
		v, err := s.commitCopies(ctx, p, d, 1, "grant-copy", a.PrincipalID, copies, sv)
		if err != nil {
			return err
		}
		return s.record(ctx, d, "data.copy", map[string]any{"grant": r.ID, "source": src.Name, "source_version": sv.Number,
			"environment": r.Environment, "expires_at": r.ExpiresAt, "files": v.FileCount, "sha256": v.SHA256})
	})
	if err != nil {
		s.discardCopies(ctx, copies)
		return nil, err
	}
	return d, nil
}
