package zone

import (
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Project is a unit of work inside a zone: its data, experiments, models and
// endpoints, with the highest classification of data it may ever hold.
type Project struct {
	ID                string                 `json:"id"`
	Zone              string                 `json:"zone"`
	ZoneID            string                 `json:"zone_id"`
	Name              string                 `json:"name"`
	Description       string                 `json:"description"`
	Owner             string                 `json:"owner"`
	CostCenter        string                 `json:"cost_center"`
	Tags              enclave.Tags           `json:"tags"`
	MaxClassification enclave.Classification `json:"max_classification"`
	State             State                  `json:"state"`
	CreatedAt         time.Time              `json:"created_at"`
	UpdatedAt         time.Time              `json:"updated_at"`
}

// ProjectCreate is the input that creates a project in a zone.
type ProjectCreate struct {
	Name              string                 `json:"name"`
	Description       string                 `json:"description,omitempty"`
	Owner             string                 `json:"owner"`
	CostCenter        string                 `json:"cost_center"`
	Tags              enclave.Tags           `json:"tags,omitempty"`
	MaxClassification enclave.Classification `json:"max_classification,omitempty"`
}

// Validate checks a project creation request. The maximum classification
// defaults to internal: more sensitive data must be asked for explicitly.
func (c *ProjectCreate) Validate() error {
	if err := enclave.ValidateName("name", c.Name); err != nil {
		return err
	}
	if err := enclave.ValidateText("description", c.Description, 2000); err != nil {
		return err
	}
	if err := validateOwner(c.Owner); err != nil {
		return err
	}
	if err := validateCostCenter(c.CostCenter); err != nil {
		return err
	}
	if c.MaxClassification == "" {
		c.MaxClassification = enclave.Internal
	}
	if err := c.MaxClassification.Validate("max_classification"); err != nil {
		return err
	}
	return c.Tags.Validate("tags")
}

// ProjectUpdate changes some fields of a project; nil fields stay as they are.
type ProjectUpdate struct {
	Description       *string                 `json:"description,omitempty"`
	Owner             *string                 `json:"owner,omitempty"`
	CostCenter        *string                 `json:"cost_center,omitempty"`
	Tags              *enclave.Tags           `json:"tags,omitempty"`
	MaxClassification *enclave.Classification `json:"max_classification,omitempty"`
	State             *State                  `json:"state,omitempty"`
}

// Validate checks a project update.
func (u *ProjectUpdate) Validate() error {
	if u.Description != nil {
		if err := enclave.ValidateText("description", *u.Description, 2000); err != nil {
			return err
		}
	}
	if u.Owner != nil {
		if err := validateOwner(*u.Owner); err != nil {
			return err
		}
	}
	if u.CostCenter != nil {
		if err := validateCostCenter(*u.CostCenter); err != nil {
			return err
		}
	}
	if u.Tags != nil {
		if err := u.Tags.Validate("tags"); err != nil {
			return err
		}
	}
	if u.MaxClassification != nil {
		if err := u.MaxClassification.Validate("max_classification"); err != nil {
			return err
		}
	}
	if u.State != nil {
		return u.State.Validate("state")
	}
	return nil
}

// validate checks a project as it will be stored, after policies may have
// changed it.
func (p *Project) validate() error {
	if err := enclave.ValidateText("description", p.Description, 2000); err != nil {
		return err
	}
	if err := validateOwner(p.Owner); err != nil {
		return err
	}
	if err := validateCostCenter(p.CostCenter); err != nil {
		return err
	}
	if err := p.MaxClassification.Validate("max_classification"); err != nil {
		return err
	}
	if err := p.State.Validate("state"); err != nil {
		return err
	}
	return p.Tags.Validate("tags")
}

func validateOwner(owner string) error {
	if owner == "" {
		return enclave.FieldError("owner", "owner is required: the person accountable for the project")
	}
	if err := enclave.ValidateText("owner", owner, 254); err != nil {
		return err
	}
	return nil
}

func validateCostCenter(cc string) error {
	if cc == "" {
		return enclave.FieldError("cost_center", "cost_center is required")
	}
	return enclave.ValidateText("cost_center", cc, 64)
}

// ProjectFilter narrows a project listing.
type ProjectFilter struct {
	State State
}
