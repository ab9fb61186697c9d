package catalog

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/zone"
)

// The resource kinds the catalog runs through policy admission.
const (
	KindDataset    = "dataset"
	KindVersion    = "dataset-version"
	KindFile       = "dataset-file"
	KindUpload     = "upload"
	KindRequest    = "data-request"
	KindProjectKey = "project-key"
)

// admit runs a change of a resource of project p through policy admission.
// It is called in the transaction that stores the change, right before
// the write: append and modify policies change obj (a pointer), validate
// checks it again afterwards, and a deny rolls the transaction back.
func (s *Service) admit(ctx context.Context, kind, op string, p *zone.Project, obj, old any, validate func() error) error {
	return enclave.Admit(ctx, s.Admission, enclave.Change{Kind: kind, Operation: op,
		Scope: string(access.ProjectScope(p.Zone, p.Name)), Object: obj, Old: old, Parent: p, Validate: validate})
}

// onlyAmends returns a check, for a change's Validate, that policies
// changed no field of obj (by JSON name) but the amendable ones: the
// others are what the platform records — IDs, owners, states, sizes,
// hashes, times — which a policy may judge but not rewrite. It compares
// with obj as it is when onlyAmends is called.
func onlyAmends(obj any, amendable ...string) func() error {
	before, err := jsonFields(obj)
	return func() error {
		if err != nil {
			return err
		}
		after, err := jsonFields(obj)
		if err != nil {
			return err
		}
		for _, m := range []map[string]any{before, after} {
			for k := range m {
				if !slices.Contains(amendable, k) && !reflect.DeepEqual(before[k], after[k]) {
					return enclave.FieldError(k, "%s is recorded by the platform: a policy cannot change it", k)
				}
			}
		}
		return nil
	}
}

func jsonFields(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// checkDataset returns the Validate of a change of d. Policies may amend a
// dataset's description, tags, retention and classification, within the
// rules the service keeps: valid values, a classification no higher than
// the project's maximum and no lower than the change made it (lowering is
// its data owner's, with a reason), a retention no shorter than before.
func checkDataset(p *zone.Project, d, old *Dataset) func() error {
	fixed := onlyAmends(d, "description", "tags", "retention_days", "classification")
	class, retention := d.Classification, 0
	if old != nil {
		retention = old.RetentionDays
	}
	return func() error {
		if err := fixed(); err != nil {
			return err
		}
		if err := validateText("description", d.Description, 2000); err != nil {
			return err
		}
		if err := d.Tags.Validate("tags"); err != nil {
			return err
		}
		if err := d.Classification.Validate("classification"); err != nil {
			return err
		}
		switch {
		case !d.Classification.AtMost(p.MaxClassification):
			return enclave.FieldError("classification", "project %s holds data up to %s, not %s", p.Name, p.MaxClassification, d.Classification)
		case !class.AtMost(d.Classification):
			return enclave.FieldError("classification", "a policy may raise a classification, not lower it below %s", class)
		case d.RetentionDays < 0 || d.RetentionDays > 36500:
			return enclave.FieldError("retention_days", "retention_days must be between 0 and 36500")
		case d.RetentionDays < retention:
			return enclave.FieldError("retention_days", "retention can be lengthened, not shortened (now %d days)", retention)
		}
		return nil
	}
}

// labeledDataset is a dataset with its column labels: what admission sees
// when a label changes.
type labeledDataset struct {
	*Dataset
	Columns map[string]ColumnLabel `json:"columns"`
}

// check returns the Validate of a label change: the dataset's rules, and
// valid labels of valid column names.
func (l *labeledDataset) check(p *zone.Project, old *Dataset) func() error {
	dataset := checkDataset(p, l.Dataset, old)
	return func() error {
		if err := dataset(); err != nil {
			return err
		}
		for col, label := range l.Columns {
			if err := validColumn(col); err != nil {
				return err
			}
			if err := label.Validate(); err != nil {
				return err
			}
		}
		return nil
	}
}

// checkRequest returns the Validate of a change of r (op: create or
// update). Policies may amend what people wrote — the justification and a
// grant's duration when it is asked for, the comment when it is decided —
// within the service's bounds; the rest is the request's record.
func checkRequest(r *Request, op string) func() error {
	amendable := []string{"comment"}
	if op == enclave.OpCreate {
		amendable = []string{"justification"}
		if r.Kind == DataGrant {
			amendable = append(amendable, "duration")
		}
	}
	fixed := onlyAmends(r, amendable...)
	return func() error {
		if err := fixed(); err != nil {
			return err
		}
		if err := checkJustification(r.Justification); err != nil {
			return err
		}
		if err := validateText("comment", r.Comment, 2000); err != nil {
			return err
		}
		if d := time.Duration(r.Duration); r.Kind == DataGrant && (d < time.Minute || d > MaxGrant) {
			return enclave.FieldError("duration", "a grant lasts between a minute and %s", MaxGrant)
		}
		return nil
	}
}

// ProjectKey is a project's key-encryption key as admission sees its
// rotation: the version that is current and the key that wraps it.
type ProjectKey struct {
	// Name is the project's.
	Name     string `json:"name"`
	Zone     string `json:"zone"`
	Version  uint32 `json:"version"`
	Provider string `json:"provider"`
	KeyURI   string `json:"key_uri"`
}
