package identity_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// admitter records the changes it admits as JSON, as a policy sees them,
// and runs amend (when set) on each, like a modify policy.
type admitter struct {
	seen  []string
	objs  []map[string]any
	amend func(c enclave.Change) error
}

func (a *admitter) Admit(_ context.Context, c enclave.Change) error {
	if c.Scope != "/" {
		return enclave.Errorf(enclave.CodeInternal, "scope %q", c.Scope)
	}
	b, err := json.Marshal(c.Object)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	a.seen, a.objs = append(a.seen, c.Kind+" "+c.Operation), append(a.objs, m)
	if a.amend != nil {
		return a.amend(c)
	}
	return nil
}

// last returns the object of the last change admitted as what.
func (a *admitter) last(t *testing.T, what string) map[string]any {
	t.Helper()
	i := slices.Index(a.seen, what)
	if i < 0 {
		t.Fatalf("%s not admitted; admitted %v", what, a.seen)
	}
	return a.objs[i]
}

// TestAdmission: every change of identity passes policy admission for its
// kind, as the resource a policy sees (never a secret or its hash), and a
// policy's amendment is what gets stored.
func TestAdmission(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := newService(db)
		adm := &admitter{}
		s.Admission = adm

		ana := mustUser(t, s, "ana")
		sp, err := s.CreateServicePrincipal(system, identity.ServicePrincipalCreate{Name: "ci", ServiceKind: identity.ServiceCICD})
		if err != nil {
			t.Fatal(err)
		}
		sec, err := s.CreateClientSecret(system, "ci", identity.ClientSecretCreate{Description: "pipeline"})
		if err != nil {
			t.Fatal(err)
		}
		// A policy shortens service tokens to ten minutes.
		adm.amend = func(c enclave.Change) error {
			if tok, ok := c.Object.(*identity.Token); ok && c.Operation == enclave.OpCreate {
				tok.ExpiresAt = tok.CreatedAt.Add(10 * time.Minute)
			}
			return nil
		}
		res, err := s.LoginClient(context.Background(), "ci", sec.ClientSecret)
		if err != nil {
			t.Fatal(err)
		}
		adm.amend = nil
		if d := res.Token.ExpiresAt.Sub(res.Token.CreatedAt); d != 10*time.Minute {
			t.Errorf("the amended token lives %v", d)
		}
		toks, _, err := s.ListTokens(enclave.WithActor(context.Background(), &enclave.Actor{PrincipalID: sp.ID, Kind: sp.Kind, Name: sp.Name}),
			identity.TokenListFilter{}, enclave.Page{})
		if err != nil || len(toks) != 1 || !toks[0].ExpiresAt.Equal(res.Token.ExpiresAt) {
			t.Fatalf("stored tokens: %+v %v", toks, err)
		}
		if err := s.RevokeClientSecret(system, "ci", sec.Info.ID); err != nil {
			t.Fatal(err)
		}
		off := false
		if _, err := s.UpdateSettings(system, identity.SettingsUpdate{MFARequiredForPeople: &off}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateGroup(system, identity.GroupCreate{Name: "owners"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddGroupMember(system, "owners", identity.MemberAdd{Member: "ana"}); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveGroupMember(system, "owners", "ana"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(system, ana.Name); err != nil {
			t.Fatal(err)
		}

		want := []string{"user create", "service-principal create", "service-principal-secret create", "token create",
			"service-principal-secret delete", "settings update", "group create", "group-member create", "group-member delete", "user delete"}
		if !slices.Equal(adm.seen, want) {
			t.Errorf("admitted %v, want %v", adm.seen, want)
		}
		for i, o := range adm.objs {
			for k := range o {
				if strings.Contains(k, "hash") || strings.Contains(k, "secret") {
					t.Errorf("%s: a policy sees %s", adm.seen[i], k)
				}
			}
		}
		tok := adm.last(t, "token create")
		for _, k := range []string{"id", "name", "kind", "created_at", "expires_at"} {
			if tok[k] == nil {
				t.Errorf("the token a policy sees has no %s: %v", k, tok)
			}
		}
		if _, err := time.Parse(time.RFC3339, tok["expires_at"].(string)); err != nil {
			t.Errorf("expires_at: %v", err)
		}
		if st := adm.last(t, "settings update"); st["mfa_required_for_people"] != false {
			t.Errorf("settings a policy sees: %v", st)
		}
	})
}

// TestAdmissionDenied: a refused change leaves nothing behind.
func TestAdmissionDenied(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := newService(db)
		s.Admission = &admitter{amend: func(c enclave.Change) error {
			return &enclave.Error{Code: enclave.CodePolicyDenied, Message: "no " + c.Kind}
		}}
		_, err := s.CreateGroup(system, identity.GroupCreate{Name: "owners"})
		wantCode(t, "a refused group", err, enclave.CodePolicyDenied)
		s.Admission = nil
		_, err = s.GetGroup(system, "owners")
		wantCode(t, "the refused group", err, enclave.CodeNotFound)
	})
}
