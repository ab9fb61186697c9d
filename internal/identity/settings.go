package identity

import (
	"context"
	"encoding/json"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// settingMFARequired is the stored name of Settings.MFARequiredForPeople.
const settingMFARequired = "mfa_required_for_people"

// Settings are the platform-wide settings of identity.
type Settings struct {
	// MFARequiredForPeople, on by default, makes a person without a second
	// factor able only to enrol one.
	MFARequiredForPeople bool       `json:"mfa_required_for_people"`
	UpdatedAt            *time.Time `json:"updated_at,omitempty"`
	UpdatedBy            string     `json:"updated_by,omitempty"`
}

// SettingsUpdate changes some settings; nil fields stay as they are.
type SettingsUpdate struct {
	MFARequiredForPeople *bool `json:"mfa_required_for_people,omitempty"`
}

// GetSettings returns the platform settings, with defaults for those never set.
func (s *Service) GetSettings(ctx context.Context) (*Settings, error) {
	out := &Settings{MFARequiredForPeople: true}
	st, err := s.Store.GetSetting(ctx, settingMFARequired)
	if enclave.IsCode(err, enclave.CodeNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(st.Value), &out.MFARequiredForPeople); err != nil {
		return nil, enclave.Wrap(enclave.CodeInternal, err, "setting %s is unreadable", st.Name)
	}
	out.UpdatedAt, out.UpdatedBy = &st.UpdatedAt, st.UpdatedBy
	return out, nil
}

func (s *Service) mfaRequired(ctx context.Context) (bool, error) {
	st, err := s.GetSettings(ctx)
	if err != nil {
		return false, err
	}
	return st.MFARequiredForPeople, nil
}

// UpdateSettings changes platform settings. Every request passes policy
// admission, one that changes nothing too (a policy may amend or refuse
// it); every change is audited with its old and new value.
func (s *Service) UpdateSettings(ctx context.Context, in SettingsUpdate) (*Settings, error) {
	var out *Settings
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.GetSettings(ctx)
		if err != nil {
			return err
		}
		by := "system"
		if a := enclave.ActorFrom(ctx); a != nil {
			by = a.Name
		}
		now := s.Clock.Now()
		next := &Settings{MFARequiredForPeople: cur.MFARequiredForPeople, UpdatedAt: &now, UpdatedBy: by}
		if in.MFARequiredForPeople != nil {
			next.MFARequiredForPeople = *in.MFARequiredForPeople
		}
		if err := enclave.Admit(ctx, s.Admission, enclave.Change{Kind: KindSettings, Operation: enclave.OpUpdate, Scope: "/",
			Object: next, Old: cur}); err != nil {
			return err
		}
		if next.MFARequiredForPeople == cur.MFARequiredForPeople {
			out = cur
			return nil // nothing to write, nothing to audit
		}
		out = next
		v, _ := json.Marshal(out.MFARequiredForPeople)
		if err := s.Store.PutSetting(ctx, &Setting{Name: settingMFARequired, Value: string(v), UpdatedAt: now, UpdatedBy: by}); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "settings.update", TargetType: "setting", TargetID: settingMFARequired,
			Details: map[string]any{settingMFARequired: map[string]any{"from": cur.MFARequiredForPeople, "to": out.MFARequiredForPeople}}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
