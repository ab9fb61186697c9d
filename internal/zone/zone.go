// Package zone manages the resource hierarchy: landing zones (units of scale
// and data residency), the projects they hold, and the environments in which
// a project's work runs — dev and prod per project, staging and QA standing
// per zone and shared by its projects. Each environment is certified for the
// highest data classification it may hold.
package zone

import (
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// State is the lifecycle state of a zone, project or environment.
type State string

// Lifecycle states. Resources move forward only: active → retiring → retired.
const (
	Active   State = "active"
	Retiring State = "retiring"
	Retired  State = "retired"
)

var stateOrder = map[State]int{Active: 1, Retiring: 2, Retired: 3}

// Validate checks that s is a known state.
func (s State) Validate(field string) error {
	if _, ok := stateOrder[s]; !ok {
		return enclave.FieldError(field, "%s must be one of active, retiring, retired", field)
	}
	return nil
}

// checkTransition allows staying put or moving one step forward.
func checkTransition(from, to State) error {
	if from == to || stateOrder[to] == stateOrder[from]+1 {
		return nil
	}
	return &enclave.Error{Code: enclave.CodeFailedPrecondition, Field: "state",
		Message: "state cannot change from " + string(from) + " to " + string(to) + " (lifecycle is active → retiring → retired)"}
}

// Zone is a landing zone: a unit of scale and data residency.
type Zone struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	DisplayName string       `json:"display_name"`
	Region      string       `json:"region"`
	Tags        enclave.Tags `json:"tags"`
	// MaxClassification is the highest classification of data the zone
	// may hold; policies keep its projects within it.
	MaxClassification enclave.Classification `json:"max_classification"`
	State             State                  `json:"state"`
	CreatedAt         time.Time              `json:"created_at"`
	UpdatedAt         time.Time              `json:"updated_at"`
}

// ZoneCreate is the input that creates a zone.
type ZoneCreate struct {
	Name              string                 `json:"name"`
	DisplayName       string                 `json:"display_name,omitempty"`
	Region            string                 `json:"region"`
	Tags              enclave.Tags           `json:"tags,omitempty"`
	MaxClassification enclave.Classification `json:"max_classification,omitempty"`
}

// Validate checks a zone creation request. The maximum classification
// defaults to restricted: a zone may hold any data unless limited.
func (c *ZoneCreate) Validate() error {
	if err := enclave.ValidateName("name", c.Name); err != nil {
		return err
	}
	if err := enclave.ValidateText("display_name", c.DisplayName, 200); err != nil {
		return err
	}
	if err := validateRegion(c.Region); err != nil {
		return err
	}
	if c.MaxClassification == "" {
		c.MaxClassification = enclave.Restricted
	}
	if err := c.MaxClassification.Validate("max_classification"); err != nil {
		return err
	}
	return c.Tags.Validate("tags")
}

// ZoneUpdate changes some fields of a zone; nil fields stay as they are.
// The name and the region are immutable: data residency does not move.
type ZoneUpdate struct {
	DisplayName       *string                 `json:"display_name,omitempty"`
	Tags              *enclave.Tags           `json:"tags,omitempty"`
	MaxClassification *enclave.Classification `json:"max_classification,omitempty"`
	State             *State                  `json:"state,omitempty"`
}

// Validate checks a zone update.
func (u *ZoneUpdate) Validate() error {
	if u.DisplayName != nil {
		if err := enclave.ValidateText("display_name", *u.DisplayName, 200); err != nil {
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

// validate checks a zone as it will be stored, after policies may have
// changed it.
func (z *Zone) validate() error {
	if err := enclave.ValidateText("display_name", z.DisplayName, 200); err != nil {
		return err
	}
	if err := validateRegion(z.Region); err != nil {
		return err
	}
	if err := z.MaxClassification.Validate("max_classification"); err != nil {
		return err
	}
	if err := z.State.Validate("state"); err != nil {
		return err
	}
	return z.Tags.Validate("tags")
}

// validateRegion checks a region / data-residency label such as "eu-west" or
// "ch-north-1": a required lowercase label.
func validateRegion(region string) error {
	if region == "" {
		return enclave.FieldError("region", "region is required: the data-residency label of the zone")
	}
	return enclave.ValidateName("region", region)
}

// ZoneFilter narrows a zone listing.
type ZoneFilter struct {
	Region string
	State  State
}
