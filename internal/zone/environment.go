package zone

import (
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// EnvironmentName names one of the four environments.
type EnvironmentName string

// The environments. Dev and prod belong to a project; staging and QA are
// standing environments of the zone, shared by its projects.
const (
	Dev     EnvironmentName = "dev"
	Staging EnvironmentName = "staging"
	QA      EnvironmentName = "qa"
	Prod    EnvironmentName = "prod"
)

// ProjectEnvironments and ZoneEnvironments list which environment lives where.
var (
	ProjectEnvironments = []EnvironmentName{Dev, Prod}
	ZoneEnvironments    = []EnvironmentName{Staging, QA}
)

// Environment is a place where a project's work runs, certified for the
// highest classification of data it may hold.
type Environment struct {
	ID   string          `json:"id"`
	Name EnvironmentName `json:"name"`
	Zone string          `json:"zone"`
	// Project is empty for the zone's shared staging and QA environments.
	Project                 string                 `json:"project,omitempty"`
	ZoneID                  string                 `json:"zone_id"`
	ProjectID               string                 `json:"project_id,omitempty"`
	CertifiedClassification enclave.Classification `json:"certified_classification"`
	State                   State                  `json:"state"`
	CreatedAt               time.Time              `json:"created_at"`
	UpdatedAt               time.Time              `json:"updated_at"`
}

// Shared reports whether the environment is a zone's standing environment.
func (e *Environment) Shared() bool { return e.ProjectID == "" }

// EnvironmentUpdate changes an environment's certification or state.
type EnvironmentUpdate struct {
	CertifiedClassification *enclave.Classification `json:"certified_classification,omitempty"`
	State                   *State                  `json:"state,omitempty"`
}

// Validate checks an environment update.
func (u *EnvironmentUpdate) Validate() error {
	if u.CertifiedClassification != nil {
		if err := u.CertifiedClassification.Validate("certified_classification"); err != nil {
			return err
		}
	}
	if u.State != nil {
		return u.State.Validate("state")
	}
	return nil
}

// validate checks an environment as it will be stored, after policies may
// have changed it; p is its project, nil for a zone's shared environment.
func (e *Environment) validate(p *Project) error {
	if err := e.CertifiedClassification.Validate("certified_classification"); err != nil {
		return err
	}
	if err := e.State.Validate("state"); err != nil {
		return err
	}
	return certifiable(p, e.CertifiedClassification)
}

// certifiable checks that an environment of project p (nil for a zone's
// shared environment) may be certified for c: never above what the project
// may hold.
func certifiable(p *Project, c enclave.Classification) error {
	if p != nil && !c.AtMost(p.MaxClassification) {
		return &enclave.Error{Code: enclave.CodeFailedPrecondition, Field: "certified_classification",
			Message: "project " + p.Name + " may hold at most " + string(p.MaxClassification) +
				" data; its environments cannot be certified for " + string(c)}
	}
	return nil
}

// defaultCertification is what a new environment is certified for: shared
// environments and dev hold at most confidential data until someone
// certifies them higher; prod holds what its project may hold.
func defaultCertification(name EnvironmentName, projectMax enclave.Classification) enclave.Classification {
	switch name {
	case Prod:
		return projectMax
	case Dev:
		return enclave.Min(projectMax, enclave.Confidential)
	default:
		return enclave.Confidential
	}
}

func validEnvironmentName(name string, allowed []EnvironmentName) bool {
	for _, n := range allowed {
		if string(n) == name {
			return true
		}
	}
	return false
}

// EnvironmentScope is an environment's scope: under its project's, or
// under its zone's for the zone's shared environments.
func EnvironmentScope(e *Environment) string {
	if e.Project != "" {
		return string(access.ProjectScope(e.Zone, e.Project)) + "/environments/" + string(e.Name)
	}
	return string(access.ZoneScope(e.Zone)) + "/environments/" + string(e.Name)
}
