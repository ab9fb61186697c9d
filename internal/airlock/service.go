package airlock

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/deid"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/notify"
	"github.com/enclave-ml/enclave/internal/scanner"
	"github.com/enclave-ml/enclave/internal/workqueue"
	"github.com/enclave-ml/enclave/internal/zone"
	"github.com/google/uuid"
)

// Kind is the resource kind policies judge requests by.
const Kind = "airlock-request"

// The work queue's task kinds: the checks of a submitted request, and the
// move of its files once a decision is made.
const (
	CheckTask = "airlock.check"
	MoveTask  = "airlock.move"
)

// Role names notifications go to.
const (
	reviewerRole = "airlock-reviewer"
	adminRole    = "platform-admin"
)

// Defaults.
const (
	DefaultScanRetry = 30 * time.Second
	DefaultLinkTTL   = 15 * time.Minute
	MaxLinkTTL       = 24 * time.Hour
	maxLabels        = 1000
)

// Service runs the airlock. Routes authorize the caller for the request's
// type (airlock/imports/* or airlock/exports/*) at the project; the service
// keeps the rules no role bypasses: only the requester changes a draft,
// nobody reviews their own request, a scan is never skipped, and files move
// only along the state machine.
type Service struct {
	// Admission runs every create and update of a request through the
	// assigned policies, in the transaction that stores it.
	Admission enclave.Admitter
	Store     Store
	Zones     *zone.Service
	Catalog   *catalog.Service
	Queue     *workqueue.Queue
	Tx        enclave.Transactor
	Audit     *audit.Recorder
	Clock     enclave.Clock
	// Scanner scans every file of every request; nil means none is
	// configured, and submitted requests wait until one is.
	Scanner scanner.Scanner
	// Notifier tells whoever acts next (nil: nobody).
	Notifier *notify.Notifier
	// Authorize checks a permission of the caller at a scope.
	Authorize func(ctx context.Context, perm, scope string) error
	// Recipients returns the email addresses of the people holding one of
	// the roles at scope or above it.
	Recipients func(ctx context.Context, scope string, roles ...string) []string
	// Email returns a principal's email address ("" if none).
	Email func(ctx context.Context, principalID string) string
	// Deid configures the de-identification detectors (nil: defaults).
	Deid *deid.Config
	// ScanRetry is how long a request waits before its scan is tried again
	// while the scanner is down.
	ScanRetry time.Duration
	// LinkTTL is a download link's default lifetime.
	LinkTTL time.Duration
	// ScannerUp, when set, is told whether the scanner answered.
	ScannerUp func(up bool)
	Logger    *slog.Logger
}

// Create is the input that opens a request.
type Create struct {
	Title         string `json:"title"`
	Justification string `json:"justification"`
	// Classification of the imported data (imports only; exports take the
	// highest of their sources').
	Classification enclave.Classification `json:"classification,omitempty"`
	// Target is the raw-area dataset an import becomes the next version of
	// (created on approval when missing).
	Target string                         `json:"target,omitempty"`
	Labels map[string]catalog.ColumnLabel `json:"labels,omitempty"`
}

// AddFiles selects files of a workspace dataset version for an export.
type AddFiles struct {
	Dataset string   `json:"dataset"`
	Version int      `json:"version"`
	Paths   []string `json:"paths,omitempty"`
	// Dir selects a whole directory ("" with no paths: every file).
	Dir string `json:"dir,omitempty"`
	// Prefix is put before each file's path in the request.
	Prefix string `json:"prefix,omitempty"`
}

// Decision is a reviewer's approval or rejection.
type Decision struct {
	Comment string `json:"comment"`
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func caller(ctx context.Context) (*enclave.Actor, error) {
	a := enclave.ActorFrom(ctx)
	if a == nil {
		return nil, enclave.Errorf(enclave.CodeUnauthenticated, "no caller")
	}
	return a, nil
}

func perm(t Type, what string) string { return "airlock/" + string(t) + "s/" + what }

func validateText(field, v string, min, max int) error {
	switch {
	case len(strings.TrimSpace(v)) < min:
		return enclave.FieldError(field, "%s is required", field)
	case len(v) > max:
		return enclave.FieldError(field, "%s must be at most %d bytes", field, max)
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		return enclave.FieldError(field, "%s must be UTF-8 text", field)
	}
	return nil
}

func validateLabels(labels map[string]catalog.ColumnLabel) error {
	if len(labels) > maxLabels {
		return enclave.FieldError("labels", "at most %d column labels", maxLabels)
	}
	for col, l := range labels {
		if err := validateText("labels", col, 1, 256); err != nil {
			return err
		}
		if err := l.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// stagingName names the airlock dataset of a request in an area.
func stagingName(prefix, id string) string { return prefix + "-" + strings.ReplaceAll(id, "-", "") }

func (s *Service) activeProject(ctx context.Context, zoneName, project string) (*zone.Project, error) {
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	if p.State != zone.Active {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "project %s is %s", p.Name, p.State)
	}
	return p, nil
}

func (s *Service) admit(ctx context.Context, op string, r, old *Request) error {
	return enclave.Admit(ctx, s.Admission, enclave.Change{Kind: Kind, Operation: op, Scope: r.Scope(), Object: r, Old: old,
		Validate: func() error {
			if old != nil && (r.ID != old.ID || r.State != old.State || r.RequesterID != old.RequesterID || r.Type != old.Type) {
				return enclave.Errorf(enclave.CodeInvalidArgument, "a policy cannot change a request's identity or state")
			}
			return nil
		}})
}

func (s *Service) record(ctx context.Context, r *Request, action string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	details["type"], details["state"] = r.Type, r.State
	return s.Audit.Record(ctx, audit.Event{Action: action, TargetType: Kind, TargetID: r.ID, Scope: r.Scope(),
		Classification: string(r.Classification), Details: details})
}

// Create opens a draft request in a project, with a staging dataset in the
// inbox (import) or export area for its files.
func (s *Service) Create(ctx context.Context, zoneName, project string, t Type, in Create) (*Request, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := validateText("title", in.Title, 1, 200); err != nil {
		return nil, err
	}
	if err := validateText("justification", in.Justification, 1, 4000); err != nil {
		return nil, err
	}
	if err := validateLabels(in.Labels); err != nil {
		return nil, err
	}
	area, prefix := catalog.Inbox, "in"
	switch t {
	case Import:
		if err := in.Classification.Validate("classification"); err != nil {
			return nil, err
		}
		if err := enclave.ValidateName("target", in.Target); err != nil {
			return nil, err
		}
	case Export:
		if in.Target != "" {
			return nil, enclave.FieldError("target", "an export goes to the zone's external area: target is for imports")
		}
		if in.Classification != "" {
			return nil, enclave.FieldError("classification", "an export takes its classification from its files: classification is for imports")
		}
		in.Classification = enclave.Public
		area, prefix = catalog.Export, "out"
	}
	var out *Request
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.activeProject(ctx, zoneName, project)
		if err != nil {
			return err
		}
		if t == Import {
			if d, err := s.Catalog.GetDataset(ctx, zoneName, project, in.Target); err == nil && d.Area != catalog.Raw {
				return enclave.FieldError("target", "%s is in the %s area: imports go to raw", d.Name, d.Area)
			}
		}
		now := s.Clock.Now()
		id := newID()
		r := &Request{ID: id, Zone: p.Zone, Project: p.Name, ZoneID: p.ZoneID, ProjectID: p.ID, Type: t, Title: in.Title,
			Justification: in.Justification, State: Draft, RequesterID: a.PrincipalID, RequesterName: a.Name,
			Classification: in.Classification, Target: in.Target, Staging: stagingName(prefix, id), Labels: in.Labels,
			Files: []*File{}, ApprovalsRequired: 1, Revision: 1, CreatedAt: now, UpdatedAt: now}
		if r.Labels == nil {
			r.Labels = map[string]catalog.ColumnLabel{}
		}
		if err := s.admit(ctx, enclave.OpCreate, r, nil); err != nil {
			return err
		}
		if _, err := s.Catalog.CreateStaging(ctx, p, catalog.Staging{Area: area, Name: r.Staging, Classification: r.Classification,
			Description: string(t) + " request " + id + ": " + enclave.Truncate(r.Title, 200),
			Tags:        enclave.Tags{"airlock-request": id}, OwnerID: a.PrincipalID, OwnerName: a.Name}); err != nil {
			return err
		}
		if err := s.Store.CreateRequest(ctx, r); err != nil {
			return err
		}
		if err := s.Store.AddStep(ctx, r.ID, &Step{To: Draft, Action: "create", ActorID: a.PrincipalID, ActorName: a.Name, At: now}); err != nil {
			return err
		}
		out = r
		return s.record(ctx, r, "airlock.request.create", map[string]any{"title": r.Title, "staging": r.Staging, "target": r.Target})
	})
	if err != nil {
		return nil, err
	}
	return s.view(ctx, out)
}

// load returns a request of the project, checking it is of type t. A
// request of another project is "not found".
func (s *Service) load(ctx context.Context, zoneName, project string, t Type, id string) (*Request, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, enclave.Errorf(enclave.CodeNotFound, "%s request %s not found", t, id)
	}
	r, err := s.Store.GetRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Zone != zoneName || r.Project != project || r.Type != t {
		return nil, enclave.Errorf(enclave.CodeNotFound, "%s request %s not found", t, id)
	}
	return r, nil
}

// Get returns a request with its history, reviews and the caller's actions;
// reviewers also see the requester's earlier requests.
func (s *Service) Get(ctx context.Context, zoneName, project string, t Type, id string) (*Request, error) {
	r, err := s.load(ctx, zoneName, project, t, id)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, r)
}

func (s *Service) view(ctx context.Context, r *Request) (*Request, error) {
	var err error
	if r.History, err = s.Store.Steps(ctx, r.ID); err != nil {
		return nil, err
	}
	if r.Reviews, err = s.Store.Reviews(ctx, r.ID); err != nil {
		return nil, err
	}
	r.Actions = s.actions(ctx, r)
	if s.can(ctx, r, "approve") {
		prev, err := s.Store.ListRequests(ctx, r.ProjectID, Filter{Type: r.Type, RequesterID: r.RequesterID}, "", 50)
		if err != nil {
			return nil, err
		}
		for _, p := range prev {
			if p.ID == r.ID || p.State == Draft {
				continue
			}
			sum := &Summary{ID: p.ID, Title: p.Title, State: p.State, Files: len(p.Files), SubmittedAt: p.SubmittedAt}
			for _, f := range p.Files {
				sum.Size += f.Size
			}
			r.Previous = append(r.Previous, sum)
		}
	}
	return r, nil
}

func (s *Service) can(ctx context.Context, r *Request, what string) bool {
	return s.Authorize != nil && s.Authorize(ctx, perm(r.Type, what), r.Scope()) == nil
}

// actions lists what the caller may do with r now.
func (s *Service) actions(ctx context.Context, r *Request) []string {
	a := enclave.ActorFrom(ctx)
	out := []string{}
	if a == nil {
		return out
	}
	mine := a.PrincipalID == r.RequesterID
	write, review := mine && s.can(ctx, r, "write"), !mine && s.can(ctx, r, "approve")
	reviewed := slices.ContainsFunc(r.Reviews, func(rv *Review) bool { return rv.ReviewerID == a.PrincipalID })
	switch r.State {
	case Draft:
		if write {
			if r.Type == Import {
				out = append(out, "upload")
			} else {
				out = append(out, "add-files")
			}
			out = append(out, "remove-file", "submit", "cancel")
		}
	case InReview:
		if review && !reviewed {
			out = append(out, "approve", "reject")
		}
		if write {
			out = append(out, "cancel")
		}
	case Approved:
		if r.Type == Export && write {
			out = append(out, "create-link")
		}
		if r.Type == Export && (write || review) {
			out = append(out, "revoke")
		}
	}
	if review && (r.State == Submitted || r.State == InReview || r.State == ApprovalInProgress || r.State == RejectionInProgress) {
		out = append(out, "open-files")
	}
	return out
}

// List returns one page of a project's requests of a type, newest first.
// Reviewers and requesters alike see them all: previous requests stay
// visible so that piecewise exfiltration shows.
func (s *Service) List(ctx context.Context, zoneName, project string, t Type, f Filter, page enclave.Page) ([]*Request, string, error) {
	if f.State != "" {
		if err := f.State.Validate("state"); err != nil {
			return nil, "", err
		}
	}
	f.Type = t
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, "", err
	}
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	rs, err := s.Store.ListRequests(ctx, p.ID, f, cur.After, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	rs, next := enclave.PageOf(rs, page.Size, func(r *Request) string { return r.ID })
	for _, r := range rs {
		r.Actions = s.actions(ctx, r)
	}
	return rs, next, nil
}

// Quarantined lists the requests the malware scan blocked, platform-wide,
// for the security team.
func (s *Service) Quarantined(ctx context.Context, page enclave.Page) ([]*Request, string, error) {
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	rs, err := s.Store.ListRequests(ctx, "", Filter{State: BlockedByScan}, cur.After, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	rs, next := enclave.PageOf(rs, page.Size, func(r *Request) string { return r.ID })
	return rs, next, nil
}

// draft loads a request its requester is still filling.
func (s *Service) draft(ctx context.Context, zoneName, project string, t Type, id string) (*Request, *catalog.Dataset, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.load(ctx, zoneName, project, t, id)
	if err != nil {
		return nil, nil, err
	}
	if r.RequesterID != a.PrincipalID {
		return nil, nil, enclave.Errorf(enclave.CodePermissionDenied, "only the requester, %s, changes the request's files", r.RequesterName)
	}
	if r.State != Draft {
		return nil, nil, enclave.Errorf(enclave.CodeFailedPrecondition, "the request is %s: its files are fixed once it is submitted", r.State)
	}
	d, _, err := s.Catalog.StagingByID(ctx, r.Zone, r.Project, r.Staging)
	if err != nil {
		return nil, nil, err
	}
	return r, d, nil
}

// PutFile uploads a file into an import's draft.
func (s *Service) PutFile(ctx context.Context, zoneName, project, id, filePath string, body io.Reader, wantSHA256 string) (*File, error) {
	_, d, err := s.draft(ctx, zoneName, project, Import, id)
	if err != nil {
		return nil, err
	}
	f, err := s.Catalog.StageFile(ctx, d, filePath, body, wantSHA256)
	if err != nil {
		return nil, err
	}
	return &File{Path: f.Path, Size: f.Size, SHA256: f.SHA256, Format: f.Format}, nil
}

// AddFiles copies files of a workspace dataset version into an export's
// draft; the source's column labels are added to the request's where the
// request has none for a column.
func (s *Service) AddFiles(ctx context.Context, zoneName, project, id string, in AddFiles) ([]*File, error) {
	r, d, err := s.draft(ctx, zoneName, project, Export, id)
	if err != nil {
		return nil, err
	}
	if err := enclave.ValidateName("dataset", in.Dataset); err != nil {
		return nil, err
	}
	if in.Version < 1 {
		return nil, enclave.FieldError("version", "version must be a positive number")
	}
	if in.Prefix != "" && !strings.HasSuffix(in.Prefix, "/") {
		return nil, enclave.FieldError("prefix", "prefix must end with /")
	}
	fs, labels, err := s.Catalog.StageCopy(ctx, d, in.Dataset, in.Version, in.Paths, in.Dir, in.Prefix)
	if err != nil {
		return nil, err
	}
	out := make([]*File, 0, len(fs))
	for _, f := range fs {
		out = append(out, &File{Path: f.Path, Size: f.Size, SHA256: f.SHA256, Format: f.Format})
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.Store.GetRequest(ctx, r.ID)
		if err != nil {
			return err
		}
		old := *cur
		changed := false
		for col, l := range labels {
			if _, ok := cur.Labels[col]; !ok && l != "" {
				cur.Labels[col], changed = l, true
			}
		}
		if staged, err := s.Catalog.GetDataset(ctx, r.Zone, r.Project, r.Staging); err == nil && staged.Classification != cur.Classification {
			cur.Classification, changed = staged.Classification, true
		}
		if !changed {
			return nil
		}
		cur.Revision++
		cur.UpdatedAt = s.Clock.Now()
		if err := s.admit(ctx, enclave.OpUpdate, cur, &old); err != nil {
			return err
		}
		return s.Store.UpdateRequest(ctx, cur)
	})
	return out, err
}

// RemoveFile takes a file out of a draft.
func (s *Service) RemoveFile(ctx context.Context, zoneName, project string, t Type, id, filePath string) error {
	_, d, err := s.draft(ctx, zoneName, project, t, id)
	if err != nil {
		return err
	}
	return s.Catalog.UnstageFile(ctx, d, filePath)
}

// Submit fixes a draft's files and starts its checks.
func (s *Service) Submit(ctx context.Context, zoneName, project string, t Type, id string) (*Request, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *Request
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		r, err := s.load(ctx, zoneName, project, t, id)
		if err != nil {
			return err
		}
		if r.RequesterID != a.PrincipalID {
			return enclave.Errorf(enclave.CodePermissionDenied, "only the requester, %s, submits the request", r.RequesterName)
		}
		if _, err := check(r.State, Submitted); err != nil {
			return err
		}
		d, _, err := s.Catalog.StagingByID(ctx, r.Zone, r.Project, r.Staging)
		if err != nil {
			return err
		}
		v, err := s.Catalog.CommitStaging(ctx, d)
		if err != nil {
			if enclave.ErrorCode(err) == enclave.CodeFailedPrecondition {
				return enclave.Errorf(enclave.CodeFailedPrecondition, "the request has no files to submit")
			}
			return err
		}
		r.Files = r.Files[:0]
		for _, f := range v.Files {
			r.Files = append(r.Files, &File{Path: f.Path, Size: f.Size, SHA256: f.SHA256, Format: f.Format})
		}
		r.Classification = d.Classification
		settings, err := s.settings(ctx, r.ProjectID)
		if err != nil {
			return err
		}
		r.ApprovalsRequired = settings.ApprovalsRequired
		now := s.Clock.Now()
		r.SubmittedAt = &now
		if err := s.transition(ctx, r, Submitted, "submit", "", map[string]any{"files": len(r.Files), "sha256": v.SHA256, "size": v.Size}); err != nil {
			return err
		}
		if _, err := s.Queue.Enqueue(ctx, CheckTask, taskPayload{RequestID: r.ID}, workqueue.EnqueueOptions{Scope: r.Scope(), MaxAttempts: 1 << 30}); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	enclave.Failpoint("airlock.submit.committed")
	return s.view(ctx, out)
}

// Cancel withdraws a draft, or a request in review, and deletes its files.
func (s *Service) Cancel(ctx context.Context, zoneName, project string, t Type, id string) (*Request, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out *Request
	var gone []string
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		r, err := s.load(ctx, zoneName, project, t, id)
		if err != nil {
			return err
		}
		if r.RequesterID != a.PrincipalID {
			return enclave.Errorf(enclave.CodePermissionDenied, "only the requester, %s, cancels the request", r.RequesterName)
		}
		if _, err := check(r.State, Cancelled); err != nil {
			return err
		}
		d, _, err := s.Catalog.StagingByID(ctx, r.Zone, r.Project, r.Staging)
		if err != nil {
			return err
		}
		if gone, err = s.Catalog.DropStaging(catalog.ViaAirlock(ctx), d); err != nil {
			return err
		}
		out = r
		return s.transition(ctx, r, Cancelled, "cancel", "", map[string]any{"files_deleted": len(gone)})
	})
	if err != nil {
		return nil, err
	}
	s.Catalog.DropObjects(ctx, gone)
	return s.view(ctx, out)
}

// Review records a reviewer's approval or rejection. Nobody reviews their
// own request, nor the same request twice. A rejection decides at once; an
// approval decides when the project's number of approvals is reached.
func (s *Service) Review(ctx context.Context, zoneName, project string, t Type, id string, approve bool, in Decision) (*Request, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validateText("comment", in.Comment, 0, 4000); err != nil {
		return nil, err
	}
	if !approve && strings.TrimSpace(in.Comment) == "" {
		return nil, enclave.FieldError("comment", "a rejection needs a comment for the requester")
	}
	decision := map[bool]string{true: "approve", false: "reject"}[approve]
	var out *Request
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		r, err := s.load(ctx, zoneName, project, t, id)
		if err != nil {
			return err
		}
		if r.RequesterID == a.PrincipalID {
			// The API records the refusal (permission_denied) on its own.
			return enclave.Errorf(enclave.CodePermissionDenied, "nobody reviews their own request: another airlock reviewer of the project must %s it", decision)
		}
		if r.State != InReview {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "the request is %s: only a request in review can be reviewed", r.State)
		}
		reviews, err := s.Store.Reviews(ctx, r.ID)
		if err != nil {
			return err
		}
		approvals := 0
		for _, rv := range reviews {
			if rv.ReviewerID == a.PrincipalID {
				return enclave.Errorf(enclave.CodeConflict, "you reviewed this request already: a second approval must come from another reviewer")
			}
			if rv.Decision == "approve" {
				approvals++
			}
		}
		rv := &Review{ReviewerID: a.PrincipalID, ReviewerName: a.Name, Decision: decision, Comment: in.Comment, At: s.Clock.Now()}
		if err := s.Store.AddReview(ctx, r.ID, rv); err != nil {
			return err
		}
		out = r
		if approve {
			approvals++
			if approvals < r.ApprovalsRequired {
				old := *r
				r.Revision++
				r.UpdatedAt = rv.At
				if err := s.admit(ctx, enclave.OpUpdate, r, &old); err != nil {
					return err
				}
				if err := s.Store.UpdateRequest(ctx, r); err != nil {
					return err
				}
				if err := s.notify(ctx, r, "airlock.request.second_approval", "needs a second approval",
					"Approved by "+a.Name+"; the project requires another reviewer's approval.", s.reviewers(ctx, r, a.PrincipalID)); err != nil {
					return err
				}
				return s.record(ctx, r, "airlock.request.review", map[string]any{"decision": decision, "comment": in.Comment,
					"approvals": approvals, "approvals_required": r.ApprovalsRequired})
			}
			if err := s.transition(ctx, r, ApprovalInProgress, "approve", in.Comment, map[string]any{"approvals": approvals}); err != nil {
				return err
			}
		} else if err := s.transition(ctx, r, RejectionInProgress, "reject", in.Comment, nil); err != nil {
			return err
		}
		_, err = s.Queue.Enqueue(ctx, MoveTask, taskPayload{RequestID: r.ID}, workqueue.EnqueueOptions{Scope: r.Scope()})
		return err
	})
	if err != nil {
		return nil, err
	}
	enclave.Failpoint("airlock.review.committed")
	return s.view(ctx, out)
}

// Revoke stops the downloads of an approved export.
func (s *Service) Revoke(ctx context.Context, zoneName, project, id string, in Decision) (*Request, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := validateText("comment", in.Comment, 0, 4000); err != nil {
		return nil, err
	}
	var out *Request
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		r, err := s.load(ctx, zoneName, project, Export, id)
		if err != nil {
			return err
		}
		if r.RequesterID != a.PrincipalID && !s.can(ctx, r, "approve") {
			return enclave.Errorf(enclave.CodePermissionDenied, "only the requester or an airlock reviewer revokes an export")
		}
		if _, err := check(r.State, Revoked); err != nil {
			return err
		}
		if err := s.Store.RevokeLinks(ctx, r.ID, s.Clock.Now()); err != nil {
			return err
		}
		out = r
		return s.transition(ctx, r, Revoked, "revoke", in.Comment, nil)
	})
	if err != nil {
		return nil, err
	}
	return s.view(ctx, out)
}

// OpenFile opens a file of a request for a reviewer, in place, and records
// that they opened it.
func (s *Service) OpenFile(ctx context.Context, zoneName, project string, t Type, id, filePath string) (*File, io.ReadCloser, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := catalog.ValidatePath(filePath); err != nil {
		return nil, nil, err
	}
	r, err := s.load(ctx, zoneName, project, t, id)
	if err != nil {
		return nil, nil, err
	}
	if r.RequesterID == a.PrincipalID {
		return nil, nil, enclave.Errorf(enclave.CodePermissionDenied, "files are opened in place by the request's reviewers")
	}
	switch r.State {
	case Submitted, InReview, ApprovalInProgress, RejectionInProgress:
	default:
		return nil, nil, enclave.Errorf(enclave.CodeFailedPrecondition, "the request is %s: its files are no longer in review", r.State)
	}
	d, _, err := s.Catalog.StagingByID(ctx, r.Zone, r.Project, r.Staging)
	if err != nil {
		return nil, nil, err
	}
	f, rc, err := s.Catalog.OpenStaged(ctx, d, filePath)
	if err != nil {
		return nil, nil, err
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		return s.record(ctx, r, "airlock.file.open", map[string]any{"path": f.Path, "sha256": f.SHA256, "size": f.Size})
	})
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	return &File{Path: f.Path, Size: f.Size, SHA256: f.SHA256, Format: f.Format}, rc, nil
}

// CreateLink makes a short-lived download link for an approved export, for
// its requester. The token is returned once; only its hash is kept.
func (s *Service) CreateLink(ctx context.Context, zoneName, project, id string, ttl time.Duration) (*Link, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if ttl == 0 {
		ttl = s.LinkTTL
		if ttl <= 0 {
			ttl = DefaultLinkTTL
		}
	}
	if ttl < time.Minute || ttl > MaxLinkTTL {
		return nil, enclave.FieldError("ttl", "a link lasts between a minute and %s", MaxLinkTTL)
	}
	var out *Link
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		r, err := s.load(ctx, zoneName, project, Export, id)
		if err != nil {
			return err
		}
		if r.RequesterID != a.PrincipalID {
			return enclave.Errorf(enclave.CodePermissionDenied, "only the requester, %s, downloads an approved export", r.RequesterName)
		}
		if r.State != Approved {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "the export is %s: only approved exports are downloaded", r.State)
		}
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return err
		}
		token := "encdl_" + base64.RawURLEncoding.EncodeToString(raw)
		now := s.Clock.Now()
		l := &Link{Hash: hashToken(token), RequestID: r.ID, CreatedBy: a.PrincipalID, CreatedAt: now, ExpiresAt: now.Add(ttl)}
		if err := s.Store.CreateLink(ctx, l); err != nil {
			return err
		}
		l.Token = token
		l.URL = "/api/v1/zones/" + r.Zone + "/projects/" + r.Project + "/airlock/downloads/" + token
		for _, f := range r.Files {
			l.Files = append(l.Files, f.Path)
		}
		out = l
		return s.record(ctx, r, "airlock.link.create", map[string]any{"expires_at": l.ExpiresAt, "link": l.Hash[:16]})
	})
	return out, err
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// Download opens a file of an approved export through a link, for the
// requester who made the link, while the link lasts and the export is not
// revoked; every download is recorded as a transfer out of the platform.
func (s *Service) Download(ctx context.Context, zoneName, project, token, filePath string) (*File, io.ReadCloser, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := catalog.ValidatePath(filePath); err != nil {
		return nil, nil, err
	}
	notFound := enclave.Errorf(enclave.CodeNotFound, "no such download link")
	if !strings.HasPrefix(token, "encdl_") || len(token) > 100 {
		return nil, nil, notFound
	}
	l, err := s.Store.GetLink(ctx, hashToken(token))
	if enclave.ErrorCode(err) == enclave.CodeNotFound {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	r, err := s.Store.GetRequest(ctx, l.RequestID)
	if err != nil {
		return nil, nil, err
	}
	if r.Zone != zoneName || r.Project != project || l.CreatedBy != a.PrincipalID {
		return nil, nil, notFound
	}
	now := s.Clock.Now()
	switch {
	case l.RevokedAt != nil || r.State == Revoked:
		return nil, nil, enclave.Errorf(enclave.CodeFailedPrecondition, "the export was revoked: it can no longer be downloaded")
	case !now.Before(l.ExpiresAt):
		return nil, nil, enclave.Errorf(enclave.CodeFailedPrecondition, "the link expired at %s: make a new one", l.ExpiresAt.Format(time.RFC3339))
	case r.State != Approved || r.Result == nil:
		return nil, nil, enclave.Errorf(enclave.CodeFailedPrecondition, "the export is %s", r.State)
	}
	d, err := s.Catalog.GetDataset(ctx, r.Zone, r.Project, r.Result.Dataset)
	if err != nil {
		return nil, nil, err
	}
	f, rc, err := s.Catalog.OpenStaged(ctx, d, filePath)
	if err != nil {
		return nil, nil, err
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		return s.record(ctx, r, "airlock.download", map[string]any{"path": f.Path, "sha256": f.SHA256, "size": f.Size,
			"link": l.Hash[:16], "dataset": d.Name})
	})
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	return &File{Path: f.Path, Size: f.Size, SHA256: f.SHA256, Format: f.Format}, rc, nil
}

func (s *Service) settings(ctx context.Context, projectID string) (*Settings, error) {
	st, err := s.Store.GetSettings(ctx, projectID)
	if enclave.ErrorCode(err) == enclave.CodeNotFound {
		d := DefaultSettings()
		d.ProjectID = projectID
		return &d, nil
	}
	return st, err
}

// GetSettings returns a project's airlock settings.
func (s *Service) GetSettings(ctx context.Context, zoneName, project string) (*Settings, error) {
	p, err := s.Zones.GetProject(ctx, zoneName, project)
	if err != nil {
		return nil, err
	}
	return s.settings(ctx, p.ID)
}

// PutSettings changes a project's airlock settings; requests already
// submitted keep the number of approvals they were submitted under.
func (s *Service) PutSettings(ctx context.Context, zoneName, project string, in Settings) (*Settings, error) {
	if in.ApprovalsRequired != 1 && in.ApprovalsRequired != 2 {
		return nil, enclave.FieldError("approvals_required", "approvals_required must be 1, or 2 for a second approver")
	}
	var out *Settings
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.activeProject(ctx, zoneName, project)
		if err != nil {
			return err
		}
		old, err := s.settings(ctx, p.ID)
		if err != nil {
			return err
		}
		in.ProjectID, in.UpdatedAt, in.UpdatedBy = p.ID, s.Clock.Now(), enclave.ActorName(ctx)
		if err := enclave.Admit(ctx, s.Admission, enclave.Change{Kind: "airlock-settings", Operation: enclave.OpUpdate,
			Scope: string(access.ProjectScope(p.Zone, p.Name)), Object: &in, Old: old, Parent: p}); err != nil {
			return err
		}
		if err := s.Store.PutSettings(ctx, &in); err != nil {
			return err
		}
		out = &in
		return s.Audit.Record(ctx, audit.Event{Action: "airlock.settings.update", TargetType: "project", TargetID: p.ID,
			Scope: string(access.ProjectScope(p.Zone, p.Name)), Details: map[string]any{"approvals_required": in.ApprovalsRequired,
				"import_review": in.ImportReview, "was": map[string]any{"approvals_required": old.ApprovalsRequired, "import_review": old.ImportReview}}})
	})
	return out, err
}

// transition moves r to state to in ctx's transaction, with its history
// step, audit record and notification.
func (s *Service) transition(ctx context.Context, r *Request, to State, action, comment string, details map[string]any) error {
	if _, err := check(r.State, to); err != nil {
		return err
	}
	a := enclave.ActorFrom(ctx)
	if a == nil {
		a = enclave.SystemActor("airlock")
	}
	old := *r
	now := s.Clock.Now()
	from := r.State
	r.State, r.UpdatedAt = to, now
	r.Revision++
	if err := s.admit(ctx, enclave.OpUpdate, r, &old); err != nil {
		return err
	}
	if err := s.Store.UpdateRequest(ctx, r); err != nil {
		return err
	}
	if err := s.Store.AddStep(ctx, r.ID, &Step{From: from, To: to, Action: action, ActorID: a.PrincipalID, ActorName: a.Name,
		Comment: comment, At: now}); err != nil {
		return err
	}
	if details == nil {
		details = map[string]any{}
	}
	details["from"], details["action"] = from, action
	if comment != "" {
		details["comment"] = comment
	}
	if err := s.record(ctx, r, "airlock.request."+string(to), details); err != nil {
		return err
	}
	return s.notifyTransition(ctx, r, from)
}
