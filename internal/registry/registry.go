// Package registry is the model registry: registered models of a project,
// their numbered versions (each from a run or a logged model), stages,
// aliases and tags, and the lineage from a version back to the dataset
// versions its run was trained on.
package registry

import (
	"context"

	"github.com/enclave-ml/enclave/internal/tracking"
	"github.com/enclave-ml/enclave/internal/tracking/search"
)

// Resource kinds, for policy admission and audit targets.
const (
	KindModel   = "registered-model"
	KindVersion = "model-version"
)

// Stages a version may be in (MLflow's, deprecated there but still used).
const (
	StageNone       = "None"
	StageStaging    = "Staging"
	StageProduction = "Production"
	StageArchived   = "Archived"
)

// Version statuses.
const (
	VersionReady = "READY"
)

// Limits, as MLflow's.
const (
	MaxTagKeyLength    = 250
	MaxTagValueLength  = 100_000
	MaxAliasLength     = 255
	MaxNameLength      = 256
	MaxDescription     = 100_000
	DefaultSearchLimit = 100
	MaxSearchLimit     = 1000
)

// Model is a registered model.
type Model struct {
	ID              string            `json:"id"`
	ProjectID       string            `json:"-"`
	Zone            string            `json:"zone"`
	Project         string            `json:"project"`
	Name            string            `json:"name"`
	Description     string            `json:"description"`
	CreationTime    int64             `json:"creation_timestamp"`
	LastUpdatedTime int64             `json:"last_updated_timestamp"`
	CreatedBy       string            `json:"user_id"`
	Tags            []tracking.KeyVal `json:"tags"`
	Aliases         []Alias           `json:"aliases"`
	// Latest are the latest version in each stage.
	Latest []*Version `json:"latest_versions"`
}

// Alias names a version of a model.
type Alias struct {
	Alias   string `json:"alias"`
	Version int    `json:"version"`
}

// Version is a version of a registered model.
type Version struct {
	ModelID         string            `json:"-"`
	Name            string            `json:"name"`
	Version         int               `json:"version"`
	CreationTime    int64             `json:"creation_timestamp"`
	LastUpdatedTime int64             `json:"last_updated_timestamp"`
	UserID          string            `json:"user_id"`
	Stage           string            `json:"current_stage"`
	Description     string            `json:"description"`
	Source          string            `json:"source"`
	RunID           string            `json:"run_id,omitempty"`
	RunLink         string            `json:"run_link,omitempty"`
	LoggedModelID   string            `json:"model_id,omitempty"`
	Status          string            `json:"status"`
	StatusMessage   string            `json:"status_message,omitempty"`
	Tags            []tracking.KeyVal `json:"tags"`
	Aliases         []string          `json:"aliases"`
}

// ModelSearch is a search of a project's registered models.
type ModelSearch struct {
	ProjectID string
	Filter    search.Filter
	OrderBy   []search.OrderBy
	Max       int
	Offset    int
}

// VersionSearch is a search of a project's model versions.
type VersionSearch struct {
	ProjectID string
	Filter    search.Filter
	OrderBy   []search.OrderBy
	Max       int
	Offset    int
}

// Store keeps the registry. Methods run in the caller's transaction when
// the context carries one; a missing row fails with code not_found.
type Store interface {
	CreateModel(ctx context.Context, m *Model) error
	GetModel(ctx context.Context, projectID, name string) (*Model, error)
	// UpdateModel writes name, description and last update time.
	UpdateModel(ctx context.Context, m *Model) error
	// DeleteModel removes a model with its versions, tags and aliases.
	DeleteModel(ctx context.Context, id string) error
	SetModelTag(ctx context.Context, modelID string, t tracking.KeyVal) error
	DeleteModelTag(ctx context.Context, modelID, key string) error
	SearchModels(ctx context.Context, q ModelSearch) ([]*Model, error)

	// CreateVersion gives v the model's next version number and stores it.
	CreateVersion(ctx context.Context, v *Version) error
	GetVersion(ctx context.Context, modelID string, version int) (*Version, error)
	// UpdateVersion writes stage, description, status and last update time.
	UpdateVersion(ctx context.Context, v *Version) error
	DeleteVersion(ctx context.Context, modelID string, version int) error
	SetVersionTag(ctx context.Context, modelID string, version int, t tracking.KeyVal) error
	DeleteVersionTag(ctx context.Context, modelID string, version int, key string) error
	// LatestVersions returns the newest version of a model in each stage
	// (all stages when stages is empty).
	LatestVersions(ctx context.Context, modelID string, stages []string) ([]*Version, error)
	SearchVersions(ctx context.Context, q VersionSearch) ([]*Version, error)

	SetAlias(ctx context.Context, modelID, alias string, version int) error
	DeleteAlias(ctx context.Context, modelID, alias string) error
	// GetAlias returns the version an alias names.
	GetAlias(ctx context.Context, modelID, alias string) (int, error)
}
