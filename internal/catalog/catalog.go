// Package catalog keeps the datasets of every zone and project: where they
// live (the data areas), who owns them, how sensitive they are, and their
// immutable versions — each a manifest of encrypted files with content
// hashes and, for tables, a schema. It enforces the classification rules on
// every read of contents: data more sensitive than the environment it is
// read in is certified for is refused, whatever the role, and every read of
// confidential or restricted contents is recorded as a sensitive-data access.
package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Area is where in a zone or project a dataset's data lives.
type Area string

// The data areas. Raw, curated and workspace are a zone's (its projects'
// datasets live in them too, under the project); inbox and export are a
// project's staging areas for the airlock; external is the zone's area for
// approved exports, downloaded from there through short-lived links; and
// quarantine holds files the malware scan blocked, for the security team.
const (
	Raw        Area = "raw"
	Curated    Area = "curated"
	Workspace  Area = "workspace"
	Inbox      Area = "inbox"
	Export     Area = "export"
	External   Area = "external"
	Quarantine Area = "quarantine"
)

// Areas lists every area.
func Areas() []Area { return []Area{Raw, Curated, Workspace, Inbox, Export, External, Quarantine} }

// Airlock reports whether only the airlock puts data in the area and reads
// it: its staging areas, the external area and quarantine. Nobody catalogs a
// dataset there by hand, and their contents are read through the airlock
// request they belong to, never through the catalog's routes.
func (a Area) Airlock() bool {
	return a == Inbox || a == Export || a == External || a == Quarantine
}

// Validate checks that a is a known area.
func (a Area) Validate() error {
	for _, k := range Areas() {
		if a == k {
			return nil
		}
	}
	return enclave.FieldError("area", "area must be one of raw, curated, workspace, inbox, export, external, quarantine")
}

// Dataset is a named, owned, classified collection of versions.
type Dataset struct {
	ID        string `json:"id"`
	Zone      string `json:"zone"`
	Project   string `json:"project"`
	ZoneID    string `json:"zone_id"`
	ProjectID string `json:"project_id"`
	Name      string `json:"name"`
	Area      Area   `json:"area"`
	// OwnerID is the data owner: the principal accountable for the data,
	// who alone may lower its classification and approves access to it.
	OwnerID        string                 `json:"owner_id"`
	OwnerName      string                 `json:"owner"`
	Description    string                 `json:"description"`
	Tags           enclave.Tags           `json:"tags"`
	Classification enclave.Classification `json:"classification"`
	// RetentionDays is how long each version must be kept after it is
	// committed (0: no retention).
	RetentionDays int `json:"retention_days"`
	// GrantID names the production-data access grant this dataset is a
	// copy under; it is readable in the grant's environment only while the
	// grant lasts.
	GrantID string `json:"grant_id,omitempty"`
	// Shared says its data owner shares it with the zone: the zone's other
	// projects find it and read it in their own environments.
	Shared        bool      `json:"shared"`
	LatestVersion int       `json:"latest_version"`
	CreatedBy     string    `json:"created_by"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Scope returns the scope the dataset lives at.
func (d *Dataset) Scope() string { return "/zones/" + d.Zone + "/projects/" + d.Project }

// DatasetCreate is the input that catalogs a dataset.
type DatasetCreate struct {
	Name           string                 `json:"name"`
	Area           Area                   `json:"area"`
	Description    string                 `json:"description,omitempty"`
	Tags           enclave.Tags           `json:"tags,omitempty"`
	Classification enclave.Classification `json:"classification"`
	RetentionDays  int                    `json:"retention_days,omitempty"`
}

// Validate checks the input.
func (in *DatasetCreate) Validate() error {
	if err := enclave.ValidateName("name", in.Name); err != nil {
		return err
	}
	if err := in.Area.Validate(); err != nil {
		return err
	}
	if err := in.Classification.Validate("classification"); err != nil {
		return err
	}
	if err := validateText("description", in.Description, 2000); err != nil {
		return err
	}
	if err := in.Tags.Validate("tags"); err != nil {
		return err
	}
	if in.RetentionDays < 0 || in.RetentionDays > 36500 {
		return enclave.FieldError("retention_days", "retention_days must be between 0 and 36500")
	}
	return nil
}

// DatasetUpdate changes a dataset's description, tags or retention. Nil
// fields stay as they are. Retention can be lengthened, never shortened
// for versions already committed.
type DatasetUpdate struct {
	Description   *string       `json:"description,omitempty"`
	Tags          *enclave.Tags `json:"tags,omitempty"`
	RetentionDays *int          `json:"retention_days,omitempty"`
}

// VersionState is where a version is in its life.
type VersionState string

// The states of a version: open while files are uploaded, committed (and
// immutable) after.
const (
	Open      VersionState = "open"
	Committed VersionState = "committed"
	// Deleted versions keep their number, hash and size; their files are gone.
	Deleted VersionState = "deleted"
)

// Version is one immutable state of a dataset.
type Version struct {
	ID        string       `json:"id"`
	DatasetID string       `json:"dataset_id"`
	Number    int          `json:"number"`
	State     VersionState `json:"state"`
	// SHA256 is the hash of the version's manifest: every file's path,
	// size and SHA-256, in path order. Equal hashes, equal contents.
	SHA256      string     `json:"sha256,omitempty"`
	Size        int64      `json:"size"`
	FileCount   int        `json:"file_count"`
	Operation   string     `json:"operation"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	CommittedAt *time.Time `json:"committed_at,omitempty"`
	// RetainUntil is when the version's retention ends.
	RetainUntil *time.Time `json:"retain_until,omitempty"`
	Files       []*File    `json:"files,omitempty"`
}

// File is one file of a version.
type File struct {
	VersionID string `json:"-"`
	Path      string `json:"path"`
	ObjectID  string `json:"-"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	Format    string `json:"format,omitempty"`
	// Schema is the file's table schema, for CSV and Parquet files.
	Schema json.RawMessage `json:"schema,omitempty"`
	// Tier is the storage tier its bytes are kept in: hot or cold.
	Tier      string    `json:"tier,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// VersionCreate opens a new version.
type VersionCreate struct {
	// Operation says how the version came about (upload by default).
	Operation string `json:"operation,omitempty"`
}

// Filter selects datasets in a listing.
type Filter struct {
	NamePrefix     string
	Tag            string // key or key=value
	Classification enclave.Classification
	Area           Area
	// Column selects datasets whose latest committed version has a table
	// with this column.
	Column string
}

// Store keeps the catalog. Methods run in the caller's transaction when the
// context carries one.
type Store interface {
	CreateDataset(ctx context.Context, d *Dataset) error
	GetDataset(ctx context.Context, zone, project, name string) (*Dataset, error)
	// ListShared returns up to limit datasets shared with a zone, with IDs
	// after afterID, in ID order.
	ListShared(ctx context.Context, zoneID, afterID string, limit int) ([]*Dataset, error)
	ListDatasets(ctx context.Context, projectID string, f Filter, after string, limit int) ([]*Dataset, error)
	UpdateDataset(ctx context.Context, d *Dataset) error
	CountDatasets(ctx context.Context, projectID string) (int, error)

	// CreateVersion stores a new version and moves the dataset's latest
	// version number to it; it fails with a conflict if the number exists.
	CreateVersion(ctx context.Context, v *Version) error
	GetVersion(ctx context.Context, datasetID string, number int) (*Version, error)
	ListVersions(ctx context.Context, datasetID string, after, limit int) ([]*Version, error)
	// CommitVersion marks an open version committed with its hash, size and
	// retention; it fails with a conflict unless the version is open.
	CommitVersion(ctx context.Context, v *Version) error

	// PutFile adds or replaces a file of an open version.
	PutFile(ctx context.Context, f *File) error
	GetFile(ctx context.Context, versionID, path string) (*File, error)
	ListFiles(ctx context.Context, versionID string) ([]*File, error)
	DeleteFile(ctx context.Context, versionID, path string) error
	// MarkVersionDeleted turns a committed version into a tombstone.
	MarkVersionDeleted(ctx context.Context, versionID string) error

	// AddLineage records that a version was made from a parent by an operation.
	AddLineage(ctx context.Context, versionID, parentID, operation string) error
	// Lineage returns a version's parents and children.
	Lineage(ctx context.Context, versionID string) (parents, children []LineageEdge, err error)

	// SetColumnLabel labels a column of a dataset ("" removes the label).
	SetColumnLabel(ctx context.Context, datasetID, column string, label ColumnLabel) error
	ColumnLabels(ctx context.Context, datasetID string) (map[string]ColumnLabel, error)
	// SetVersionColumns records the columns of a committed version's tables.
	SetVersionColumns(ctx context.Context, versionID string, cols map[string]string) error
}

// LineageEdge links a version to another: which dataset and version, and
// by what operation.
type LineageEdge struct {
	Dataset   string `json:"dataset"`
	Project   string `json:"project"`
	Version   int    `json:"version"`
	Operation string `json:"operation"`
}

// ColumnLabel says how identifying a column is.
type ColumnLabel string

// The column labels.
const (
	DirectIdentifier   ColumnLabel = "direct-identifier"
	QuasiIdentifier    ColumnLabel = "quasi-identifier"
	SensitiveAttribute ColumnLabel = "sensitive-attribute"
)

// Validate checks a label ("" is valid: no label).
func (l ColumnLabel) Validate() error {
	switch l {
	case "", DirectIdentifier, QuasiIdentifier, SensitiveAttribute:
		return nil
	}
	return enclave.FieldError("label", "label must be direct-identifier, quasi-identifier or sensitive-attribute")
}

// MaxPathLen bounds a file path inside a version.
const MaxPathLen = 512

// ValidatePath checks a file path inside a version: relative, clean, slash
// separated, printable UTF-8, no "." or ".." segments, no backslashes —
// and so nothing that could name a place outside the version on any
// system. Paths never reach storage (objects are named by ID); this keeps
// them meaningful and safe when a client writes them back to disk.
func ValidatePath(p string) error {
	bad := func(why string) error { return enclave.FieldError("path", "invalid file path: %s", why) }
	switch {
	case p == "":
		return bad("empty")
	case len(p) > MaxPathLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxPathLen))
	case !utf8.ValidString(p):
		return bad("not UTF-8")
	case strings.HasPrefix(p, "/"):
		return bad("absolute")
	case strings.Contains(p, "\\"):
		return bad("contains a backslash")
	case strings.Contains(p, "%"):
		return bad("contains '%' (send the path decoded)")
	}
	for _, r := range p {
		if unicode.IsControl(r) || r == unicode.ReplacementChar || !unicode.IsPrint(r) && r != ' ' {
			return bad("contains a control or unprintable character")
		}
	}
	if path.Clean(p) != p {
		return bad("not clean (empty, '.' or '..' segments, or a trailing slash)")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return bad("'.' and '..' are not allowed")
		}
		if strings.TrimSpace(seg) != seg {
			return bad("a segment starts or ends with a space")
		}
	}
	if len(p) >= 2 && p[1] == ':' {
		return bad("looks like a drive letter")
	}
	return nil
}

func validateText(field, v string, max int) error {
	if len(v) > max {
		return enclave.FieldError(field, "%s must be at most %d bytes", field, max)
	}
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return enclave.FieldError(field, "%s must be UTF-8 text", field)
	}
	return nil
}
