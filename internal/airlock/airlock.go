// Package airlock moves data into and out of a project under control: data
// owners import datasets, which are scanned for malware, reviewed and made
// an immutable version in the raw area; researchers export results from the
// workspace, which are scanned, checked for identifiers (a de-identification
// report per table, with k-anonymity and l-diversity over the columns
// labelled quasi-identifiers) and released to the zone's external area only
// after a reviewer — never the requester — approves.
//
// A request's life is a state machine held as data (Machine): every
// transition is written with its audit record and the work it starts (a
// task of the work queue) in one transaction, and every step that moves
// bytes copies them first and then, in one transaction, makes the copy
// count and the original a tombstone, so a kill -9 at any point leaves each
// file in exactly one place and the request able to go on.
package airlock

import (
	"context"
	"slices"
	"time"

	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/deid"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// Type is what a request does: bring data in, or take results out.
type Type string

// The request types.
const (
	Import Type = "import"
	Export Type = "export"
)

// Validate checks a request type.
func (t Type) Validate() error {
	if t != Import && t != Export {
		return enclave.FieldError("type", "type must be import or export")
	}
	return nil
}

// State is where a request is.
type State string

// The states of a request.
const (
	Draft               State = "draft"
	Submitted           State = "submitted"
	InReview            State = "in_review"
	ApprovalInProgress  State = "approval_in_progress"
	Approved            State = "approved"
	RejectionInProgress State = "rejection_in_progress"
	Rejected            State = "rejected"
	BlockingInProgress  State = "blocking_in_progress"
	BlockedByScan       State = "blocked_by_scan"
	Cancelled           State = "cancelled"
	Failed              State = "failed"
	Revoked             State = "revoked"
)

// States lists every state.
var States = []State{Draft, Submitted, InReview, ApprovalInProgress, Approved, RejectionInProgress, Rejected,
	BlockingInProgress, BlockedByScan, Cancelled, Failed, Revoked}

// Validate checks a state.
func (s State) Validate(field string) error {
	if !slices.Contains(States, s) {
		return enclave.FieldError(field, "%s is not a request state", s)
	}
	return nil
}

// Final reports whether nothing more happens to a request in state s but,
// for an approved one, revocation.
func (s State) Final() bool {
	return s == Approved || s == Rejected || s == BlockedByScan || s == Cancelled || s == Failed || s == Revoked
}

// Request is an import or export request with its files, checks, reviews
// and history.
type Request struct {
	ID            string `json:"id"`
	Zone          string `json:"zone"`
	Project       string `json:"project"`
	ZoneID        string `json:"zone_id"`
	ProjectID     string `json:"project_id"`
	Type          Type   `json:"type"`
	Title         string `json:"title"`
	Justification string `json:"justification"`
	State         State  `json:"state"`
	RequesterID   string `json:"requester_id"`
	RequesterName string `json:"requester"`
	// Classification is the data's: chosen by the data owner for an
	// import, the highest of the sources' for an export.
	Classification enclave.Classification `json:"classification"`
	// Target is the raw-area dataset an import becomes the next version of.
	Target string `json:"target,omitempty"`
	// Staging is the airlock dataset holding the request's files.
	Staging string `json:"staging_dataset"`
	// Result is where approved files went: the raw dataset version of an
	// import, the external-area dataset of an export, the quarantine
	// dataset of a blocked request.
	Result *Location `json:"result,omitempty"`
	// Labels say which columns are quasi-identifiers and sensitive
	// attributes, for the k-anonymity and l-diversity checks.
	Labels map[string]catalog.ColumnLabel `json:"labels"`
	// Files is the manifest, fixed when the request is submitted.
	Files             []*File   `json:"files"`
	Checks            *Checks   `json:"checks,omitempty"`
	ApprovalsRequired int       `json:"approvals_required"`
	Reviews           []*Review `json:"reviews,omitempty"`
	History           []*Step   `json:"history,omitempty"`
	// Actions are what the caller may do with the request now.
	Actions []string `json:"actions"`
	// Previous are the requester's earlier requests of the same type in the
	// project, shown to reviewers so that piecewise exfiltration shows.
	Previous []*Summary `json:"previous,omitempty"`
	Failure  string     `json:"failure,omitempty"`
	Revision int        `json:"revision"`

	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
}

// Scope is the project scope the request lives at.
func (r *Request) Scope() string { return "/zones/" + r.Zone + "/projects/" + r.Project }

// Location names a dataset version.
type Location struct {
	Area    catalog.Area `json:"area"`
	Dataset string       `json:"dataset"`
	Version int          `json:"version"`
}

// File is one file of a request.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Format string `json:"format,omitempty"`
	// Source names, for an export, the workspace dataset version the file
	// was copied from ("dataset@version/path").
	Source string `json:"source,omitempty"`
}

// Checks are the automated checks of a submitted request.
type Checks struct {
	Scanner   string       `json:"scanner,omitempty"`
	ScannedAt *time.Time   `json:"scanned_at,omitempty"`
	Files     []*FileCheck `json:"files,omitempty"`
	// Deid holds, for an export, the de-identification report of each table.
	Deid []*TableReport `json:"deid,omitempty"`
	// WaitingSince is set while the scanner cannot be reached: the request
	// waits in submitted and an alert was raised.
	WaitingSince *time.Time `json:"waiting_for_scanner_since,omitempty"`
}

// Infected returns the files the scan found malware in.
func (c *Checks) Infected() []*FileCheck {
	var out []*FileCheck
	if c == nil {
		return nil
	}
	for _, f := range c.Files {
		if f.Infected {
			out = append(out, f)
		}
	}
	return out
}

// FileCheck is the malware scan's verdict on one file.
type FileCheck struct {
	Path      string `json:"path"`
	Infected  bool   `json:"infected"`
	Signature string `json:"signature,omitempty"`
}

// TableReport is the de-identification report of one table of an export.
type TableReport struct {
	Path   string       `json:"path"`
	Report *deid.Report `json:"report,omitempty"`
	// Error says why a table could not be checked (not a readable table).
	Error string `json:"error,omitempty"`
}

// Review is a reviewer's decision.
type Review struct {
	ReviewerID   string    `json:"reviewer_id"`
	ReviewerName string    `json:"reviewer"`
	Decision     string    `json:"decision"`
	Comment      string    `json:"comment"`
	At           time.Time `json:"at"`
}

// Step is one transition in a request's history.
type Step struct {
	Seq       int       `json:"seq"`
	From      State     `json:"from"`
	To        State     `json:"to"`
	Action    string    `json:"action"`
	ActorID   string    `json:"actor_id"`
	ActorName string    `json:"actor"`
	Comment   string    `json:"comment,omitempty"`
	At        time.Time `json:"at"`
}

// Summary is a short view of a request, for the reviewer's history.
type Summary struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	State       State      `json:"state"`
	Files       int        `json:"files"`
	Size        int64      `json:"size"`
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
}

// Settings are a project's airlock rules.
type Settings struct {
	ProjectID string `json:"-"`
	// ApprovalsRequired is 1, or 2 for a second approver.
	ApprovalsRequired int `json:"approvals_required"`
	// ImportReview says whether clean imports need a reviewer's approval
	// (true) or go straight through (false).
	ImportReview bool      `json:"import_review"`
	UpdatedAt    time.Time `json:"updated_at"`
	UpdatedBy    string    `json:"updated_by,omitempty"`
}

// DefaultSettings apply to a project that set none.
func DefaultSettings() Settings { return Settings{ApprovalsRequired: 1, ImportReview: true} }

// Link is a short-lived download link for an approved export.
type Link struct {
	// Hash is the SHA-256 of the token; the token itself is shown once.
	Hash      string     `json:"-"`
	RequestID string     `json:"request_id"`
	CreatedBy string     `json:"-"`
	ExpiresAt time.Time  `json:"expires_at"`
	CreatedAt time.Time  `json:"created_at"`
	Token     string     `json:"token,omitempty"`
	URL       string     `json:"url,omitempty"`
	Files     []string   `json:"files,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Filter selects requests in a listing.
type Filter struct {
	Type        Type
	State       State
	RequesterID string
}

// Store keeps requests. Methods run in the caller's transaction when the
// context carries one.
type Store interface {
	CreateRequest(ctx context.Context, r *Request) error
	GetRequest(ctx context.Context, id string) (*Request, error)
	// ListRequests returns requests of a project (all projects when
	// projectID is empty), newest first, with IDs before beforeID.
	ListRequests(ctx context.Context, projectID string, f Filter, beforeID string, limit int) ([]*Request, error)
	// UpdateRequest writes r if its stored revision is still r.Revision-1;
	// otherwise it fails with a conflict.
	UpdateRequest(ctx context.Context, r *Request) error
	AddStep(ctx context.Context, requestID string, s *Step) error
	Steps(ctx context.Context, requestID string) ([]*Step, error)
	AddReview(ctx context.Context, requestID string, rv *Review) error
	Reviews(ctx context.Context, requestID string) ([]*Review, error)
	GetSettings(ctx context.Context, projectID string) (*Settings, error)
	PutSettings(ctx context.Context, s *Settings) error
	CreateLink(ctx context.Context, l *Link) error
	GetLink(ctx context.Context, hash string) (*Link, error)
	RevokeLinks(ctx context.Context, requestID string, at time.Time) error
}
