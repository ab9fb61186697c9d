package identity

import (
	"context"
	"net/mail"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// UserCreate is the input that creates a user (a person).
type UserCreate struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	Email       string `json:"email,omitempty"`
	// Password is the user's first password, set by the administrator.
	// Without one the user cannot sign in until it is set.
	Password string `json:"password,omitempty"`
}

// Validate checks a user creation request.
func (c *UserCreate) Validate() error {
	if err := enclave.ValidateName("name", c.Name); err != nil {
		return err
	}
	if err := validateDisplayName(c.DisplayName); err != nil {
		return err
	}
	if err := validateEmail(c.Email); err != nil {
		return err
	}
	if c.Password != "" {
		return CheckPassword("password", c.Password, c.Name, c.Email)
	}
	return nil
}

// UserUpdate changes some fields of a user; nil fields stay as they are.
type UserUpdate struct {
	DisplayName *string `json:"display_name,omitempty"`
	Email       *string `json:"email,omitempty"`
	// Disabled disables (true) or enables (false) the user. Disabling ends
	// every session and token the user holds.
	Disabled *bool `json:"disabled,omitempty"`
	// Password replaces the user's password (an administrator's reset); it
	// revokes every token the user holds, personal access tokens included.
	Password *string `json:"password,omitempty"`
}

// Validate checks a user update.
func (u *UserUpdate) Validate() error {
	if u.DisplayName != nil {
		if err := validateDisplayName(*u.DisplayName); err != nil {
			return err
		}
	}
	if u.Email != nil {
		return validateEmail(*u.Email)
	}
	return nil
}

func validateDisplayName(s string) error {
	return enclave.ValidateText("display_name", s, 200)
}

func validateEmail(email string) error {
	if email == "" {
		return nil
	}
	if len(email) > 254 {
		return enclave.FieldError("email", "email must be at most 254 bytes")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email {
		return enclave.FieldError("email", "email must be a plain address such as ana@example.org")
	}
	return nil
}

// liveUser returns the user (not a service principal, not deleted) called name.
func (s *Service) liveUser(ctx context.Context, name string) (*Principal, error) {
	return s.livePrincipal(ctx, "user", name, enclave.PrincipalUser)
}

func (s *Service) livePrincipal(ctx context.Context, field, name string, kind enclave.PrincipalKind) (*Principal, error) {
	if err := enclave.ValidateName(field, name); err != nil {
		return nil, err
	}
	p, err := s.Store.GetPrincipalByName(ctx, name)
	if err != nil && !enclave.IsCode(err, enclave.CodeNotFound) {
		return nil, err
	}
	if err != nil || p.Kind != kind || p.DeletedAt != nil {
		what := "user"
		if kind == enclave.PrincipalService {
			what = "service principal"
		}
		return nil, enclave.Errorf(enclave.CodeNotFound, "%s %s not found", what, name)
	}
	return p, nil
}

// nameFree checks that no principal or group has name, so that a name
// given to an access grant means one thing. A deleted principal's name
// stays taken: audit records refer to it.
func (s *Service) nameFree(ctx context.Context, name string) error {
	p, err := s.Store.GetPrincipalByName(ctx, name)
	switch {
	case err == nil && p.DeletedAt != nil:
		return &enclave.Error{Code: enclave.CodeConflict, Field: "name", Message: "name " + name + " belonged to a deleted principal and cannot be reused"}
	case err == nil:
		return &enclave.Error{Code: enclave.CodeConflict, Field: "name", Message: "a " + kindWord(p) + " named " + name + " already exists"}
	case !enclave.IsCode(err, enclave.CodeNotFound):
		return err
	}
	if _, err := s.Store.GetGroup(ctx, name); err == nil {
		return &enclave.Error{Code: enclave.CodeConflict, Field: "name", Message: "a group named " + name + " already exists"}
	} else if !enclave.IsCode(err, enclave.CodeNotFound) {
		return err
	}
	return nil
}

func kindWord(p *Principal) string {
	if p.IsPerson() {
		return "user"
	}
	return "service principal"
}

// CreateUser creates a person, with a first password when one is given.
func (s *Service) CreateUser(ctx context.Context, in UserCreate) (*Principal, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var hash string
	if in.Password != "" {
		var err error
		if hash, err = s.hashPassword(ctx, in.Password); err != nil {
			return nil, err
		}
	}
	now := s.Clock.Now()
	p := &Principal{ID: newID(), Kind: enclave.PrincipalUser, Name: in.Name, DisplayName: in.DisplayName, Email: in.Email,
		PasswordSet: hash != "", CreatedAt: now, UpdatedAt: now}
	if p.DisplayName == "" {
		p.DisplayName = p.Name
	}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.nameFree(ctx, p.Name); err != nil {
			return err
		}
		if err := s.admitPrincipal(ctx, enclave.OpCreate, p, nil); err != nil {
			return err
		}
		if err := s.Store.CreatePrincipal(ctx, p); err != nil {
			return err
		}
		if hash != "" {
			if err := s.Store.SetPasswordHash(ctx, p.ID, hash, now); err != nil {
				return err
			}
		}
		return s.Audit.Record(ctx, audit.Event{Action: "user.create", TargetType: "principal", TargetID: p.ID,
			Details: map[string]any{"name": p.Name, "display_name": p.DisplayName, "email": audit.Sensitive(p.Email), "password_set": p.PasswordSet}})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// GetUser returns the user called name.
func (s *Service) GetUser(ctx context.Context, name string) (*Principal, error) {
	return s.liveUser(ctx, name)
}

// ListUsers returns one page of users ordered by name and the token of the next page.
func (s *Service) ListUsers(ctx context.Context, page enclave.Page) ([]*Principal, string, error) {
	return s.listPrincipals(ctx, PrincipalFilter{Kind: string(enclave.PrincipalUser)}, page)
}

func (s *Service) listPrincipals(ctx context.Context, f PrincipalFilter, page enclave.Page) ([]*Principal, string, error) {
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	ps, err := s.Store.ListPrincipals(ctx, f, cur.After, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	ps, next := enclave.PageOf(ps, page.Size, func(p *Principal) string { return p.Name })
	return ps, next, nil
}

// guardPrincipal refuses to disable or delete the caller itself or the
// platform administrator: either would leave nobody able to undo it.
// verb is "disable" or "delete".
func guardPrincipal(ctx context.Context, p *Principal, verb string) error {
	if p.PlatformAdmin {
		return enclave.Errorf(enclave.CodeFailedPrecondition, "the platform administrator %s cannot be %sd", p.Name, verb)
	}
	if a := enclave.ActorFrom(ctx); a != nil && a.PrincipalID == p.ID {
		return enclave.Errorf(enclave.CodeFailedPrecondition, "you cannot %s yourself", verb)
	}
	return nil
}

// guardReset refuses an administrator's reset of the password or MFA
// (what) of the platform administrator — only the break-glass `enclave
// bootstrap reset`, with access to the database, does that — or of the
// caller itself, who changes their own with proof (how).
func guardReset(ctx context.Context, p *Principal, what, how string) error {
	if p.PlatformAdmin {
		return enclave.Errorf(enclave.CodeFailedPrecondition,
			"the %s of the platform administrator %s can be reset only with enclave bootstrap reset", what, p.Name)
	}
	if a := enclave.ActorFrom(ctx); a != nil && a.PrincipalID == p.ID {
		return enclave.Errorf(enclave.CodeFailedPrecondition, "you cannot reset your own %s: %s", what, how)
	}
	return nil
}

const (
	ownPassword = "change it with the current one (POST /api/v1/auth/password, enclave password set)"
	ownMFA      = "remove it with a current code (DELETE /api/v1/auth/mfa/totp, enclave mfa remove)"
)

// UpdateUser changes a user's display name or email, disables or enables
// it, or resets its password. Disabling ends every token the user holds,
// and so does a password reset: it is what an administrator does when the
// account may be in someone else's hands. A request that changes nothing
// (once policy admission has had its say) writes nothing.
func (s *Service) UpdateUser(ctx context.Context, name string, in UserUpdate) (*Principal, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var hash string
	if in.Password != nil {
		cur, err := s.liveUser(ctx, name)
		if err != nil {
			return nil, err
		}
		if err := guardReset(ctx, cur, "password", ownPassword); err != nil {
			return nil, err
		}
		email := cur.Email
		if in.Email != nil {
			email = *in.Email
		}
		if err := CheckPassword("password", *in.Password, cur.Name, email); err != nil {
			return nil, err
		}
		if hash, err = s.hashPassword(ctx, *in.Password); err != nil {
			return nil, err
		}
	}
	var p *Principal
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if p, err = s.liveUser(ctx, name); err != nil {
			return err
		}
		if hash != "" {
			if err := guardReset(ctx, p, "password", ownPassword); err != nil {
				return err
			}
		}
		old := *p
		if in.DisplayName != nil {
			p.DisplayName = *in.DisplayName
		}
		if in.Email != nil {
			p.Email = *in.Email
		}
		if in.Disabled != nil {
			if *in.Disabled && !p.Disabled {
				if err := guardPrincipal(ctx, p, "disable"); err != nil {
					return err
				}
			}
			p.Disabled = *in.Disabled
		}
		now := s.Clock.Now()
		p.UpdatedAt, p.PasswordSet = now, p.PasswordSet || hash != ""
		if err := s.admitPrincipal(ctx, enclave.OpUpdate, p, &old); err != nil {
			return err
		}
		// What changed is read after admission: a policy may have changed
		// more, or less, than the request.
		changed := map[string]any{}
		if p.DisplayName != old.DisplayName {
			changed["display_name"] = map[string]any{"from": old.DisplayName, "to": p.DisplayName}
		}
		if p.Email != old.Email {
			changed["email"] = map[string]any{"from": audit.Sensitive(old.Email), "to": audit.Sensitive(p.Email)}
		}
		toggled := p.Disabled != old.Disabled
		if len(changed) == 0 && !toggled && hash == "" {
			*p = old
			return nil // nothing to write, nothing to audit
		}
		if err := s.Store.UpdatePrincipal(ctx, p); err != nil {
			return err
		}
		if len(changed) > 0 {
			changed["name"] = p.Name
			if err := s.Audit.Record(ctx, audit.Event{Action: "user.update", TargetType: "principal", TargetID: p.ID, Details: changed}); err != nil {
				return err
			}
		}
		if hash != "" {
			if err := s.Store.SetPasswordHash(ctx, p.ID, hash, now); err != nil {
				return err
			}
			revoked, err := s.Store.RevokePrincipalTokens(ctx, p.ID, nil, "", now)
			if err != nil {
				return err
			}
			if err := s.Audit.Record(ctx, audit.Event{Action: "user.password.set", TargetType: "principal", TargetID: p.ID,
				Details: map[string]any{"name": p.Name, "tokens_revoked": revoked}}); err != nil {
				return err
			}
		}
		if toggled {
			action, details := "user.enable", map[string]any{"name": p.Name}
			if p.Disabled {
				n, err := s.Store.RevokePrincipalTokens(ctx, p.ID, nil, "", now)
				if err != nil {
					return err
				}
				action, details["tokens_revoked"] = "user.disable", n
			}
			return s.Audit.Record(ctx, audit.Event{Action: action, TargetType: "principal", TargetID: p.ID, Details: details})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// DeleteUser deletes a user: it can no longer sign in, its tokens are
// revoked, its password and MFA are erased and it leaves every group. The
// record stays (marked deleted) so that audit records keep a name, and the
// name cannot be reused.
func (s *Service) DeleteUser(ctx context.Context, name string) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.liveUser(ctx, name)
		if err != nil {
			return err
		}
		if err := guardPrincipal(ctx, p, "delete"); err != nil {
			return err
		}
		if err := s.admitPrincipal(ctx, enclave.OpDelete, p, p); err != nil {
			return err
		}
		details, err := s.retire(ctx, p)
		if err != nil {
			return err
		}
		if err := s.Store.DeletePassword(ctx, p.ID); err != nil {
			return err
		}
		if err := s.clearMFA(ctx, p.ID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "user.delete", TargetType: "principal", TargetID: p.ID, Details: details})
	})
}

// retire marks a principal deleted, revokes its tokens and ends its group
// memberships, returning what it did for the audit record.
func (s *Service) retire(ctx context.Context, p *Principal) (map[string]any, error) {
	now := s.Clock.Now()
	p.DeletedAt, p.UpdatedAt = &now, now
	if err := s.Store.UpdatePrincipal(ctx, p); err != nil {
		return nil, err
	}
	tokens, err := s.Store.RevokePrincipalTokens(ctx, p.ID, nil, "", now)
	if err != nil {
		return nil, err
	}
	groups, err := s.Store.RemovePrincipalFromGroups(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"name": p.Name, "tokens_revoked": tokens, "memberships_ended": groups}, nil
}
