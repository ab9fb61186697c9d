package identity

import (
	"context"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/google/uuid"
)

// ServiceKind is what a service principal is for; each kind has one
// built-in role.
type ServiceKind string

// The kinds of service principal.
const (
	ServiceCICD       ServiceKind = "cicd"
	ServiceWorkspace  ServiceKind = "workspace"
	ServiceMonitoring ServiceKind = "monitoring"
	ServiceGovernance ServiceKind = "governance"
)

// ServiceKinds lists every kind of service principal.
func ServiceKinds() []ServiceKind {
	return []ServiceKind{ServiceCICD, ServiceWorkspace, ServiceMonitoring, ServiceGovernance}
}

// Validate checks that k is a known kind.
func (k ServiceKind) Validate(field string) error {
	for _, v := range ServiceKinds() {
		if k == v {
			return nil
		}
	}
	return enclave.FieldError(field, "%s must be one of cicd, workspace, monitoring, governance", field)
}

// Client-secret lifetimes and limits.
const (
	DefaultClientSecretDays = 90
	MaxClientSecretDays     = 365
	// MaxLiveClientSecrets bounds a service principal's unrevoked,
	// unexpired secrets: enough to rotate, few enough to keep track of.
	MaxLiveClientSecrets = 5
)

// ServicePrincipalCreate is the input that creates a service principal.
type ServicePrincipalCreate struct {
	Name        string      `json:"name"`
	DisplayName string      `json:"display_name,omitempty"`
	ServiceKind ServiceKind `json:"service_kind"`
}

// Validate checks a service principal creation request.
func (c *ServicePrincipalCreate) Validate() error {
	if err := enclave.ValidateName("name", c.Name); err != nil {
		return err
	}
	if err := validateDisplayName(c.DisplayName); err != nil {
		return err
	}
	return c.ServiceKind.Validate("service_kind")
}

// ServicePrincipalUpdate changes a service principal's display name or
// disables (true) or enables (false) it; disabling revokes its tokens.
type ServicePrincipalUpdate struct {
	DisplayName *string `json:"display_name,omitempty"`
	Disabled    *bool   `json:"disabled,omitempty"`
}

// ClientSecret is a service principal's secret, shown once at creation
// and stored as a SHA-256 hash.
type ClientSecret struct {
	ID          string     `json:"id"`
	PrincipalID string     `json:"principal_id"`
	Description string     `json:"description"`
	Hash        []byte     `json:"-"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// ClientSecretCreate is the input that creates a client secret.
type ClientSecretCreate struct {
	Description string `json:"description,omitempty"`
	// ExpiresInDays defaults to 90 and may be at most 365.
	ExpiresInDays int `json:"expires_in_days,omitempty"`
}

// IssuedClientSecret is a new client secret: ClientSecret is shown only now.
type IssuedClientSecret struct {
	ClientID     string        `json:"client_id"`
	ClientSecret string        `json:"client_secret"`
	Info         *ClientSecret `json:"secret_info"`
}

func (s *Service) liveService(ctx context.Context, name string) (*Principal, error) {
	return s.livePrincipal(ctx, "sp", name, enclave.PrincipalService)
}

// CreateServicePrincipal creates a service principal. It has no secret
// until one is created.
func (s *Service) CreateServicePrincipal(ctx context.Context, in ServicePrincipalCreate) (*Principal, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	p := &Principal{ID: newID(), Kind: enclave.PrincipalService, ServiceKind: in.ServiceKind, Name: in.Name,
		DisplayName: in.DisplayName, CreatedAt: now, UpdatedAt: now}
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
		return s.Audit.Record(ctx, audit.Event{Action: "service_principal.create", TargetType: "principal", TargetID: p.ID,
			Details: map[string]any{"name": p.Name, "service_kind": p.ServiceKind}})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// GetServicePrincipal returns the service principal called name.
func (s *Service) GetServicePrincipal(ctx context.Context, name string) (*Principal, error) {
	return s.liveService(ctx, name)
}

// ListServicePrincipals returns one page of service principals, of one
// kind when kind is set, ordered by name.
func (s *Service) ListServicePrincipals(ctx context.Context, kind ServiceKind, page enclave.Page) ([]*Principal, string, error) {
	if kind != "" {
		if err := kind.Validate("service_kind"); err != nil {
			return nil, "", err
		}
	}
	return s.listPrincipals(ctx, PrincipalFilter{Kind: string(enclave.PrincipalService), ServiceKind: kind}, page)
}

// UpdateServicePrincipal changes a service principal's display name, or
// disables or enables it. Disabling revokes its tokens; its secrets stay
// but cannot sign in while it is disabled.
func (s *Service) UpdateServicePrincipal(ctx context.Context, name string, in ServicePrincipalUpdate) (*Principal, error) {
	if in.DisplayName != nil {
		if err := validateDisplayName(*in.DisplayName); err != nil {
			return nil, err
		}
	}
	var p *Principal
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if p, err = s.liveService(ctx, name); err != nil {
			return err
		}
		old := *p
		if in.DisplayName != nil {
			p.DisplayName = *in.DisplayName
		}
		if in.Disabled != nil {
			p.Disabled = *in.Disabled
		}
		now := s.Clock.Now()
		p.UpdatedAt = now
		if err := s.admitPrincipal(ctx, enclave.OpUpdate, p, &old); err != nil {
			return err
		}
		if err := s.Store.UpdatePrincipal(ctx, p); err != nil {
			return err
		}
		// What changed is read after admission: a policy may have changed
		// more, or less, than the request.
		details := map[string]any{"name": p.Name}
		if p.DisplayName != old.DisplayName {
			details["display_name"] = map[string]any{"from": old.DisplayName, "to": p.DisplayName}
		}
		if p.Disabled != old.Disabled {
			details["disabled"] = p.Disabled
			if p.Disabled {
				n, err := s.Store.RevokePrincipalTokens(ctx, p.ID, nil, "", now)
				if err != nil {
					return err
				}
				details["tokens_revoked"] = n
			}
		}
		return s.Audit.Record(ctx, audit.Event{Action: "service_principal.update", TargetType: "principal", TargetID: p.ID, Details: details})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// DeleteServicePrincipal deletes a service principal: its secrets and
// tokens are revoked and it leaves every group. The record stays, marked
// deleted, and its name cannot be reused.
func (s *Service) DeleteServicePrincipal(ctx context.Context, name string) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.liveService(ctx, name)
		if err != nil {
			return err
		}
		if err := s.admitPrincipal(ctx, enclave.OpDelete, p, p); err != nil {
			return err
		}
		details, err := s.retire(ctx, p)
		if err != nil {
			return err
		}
		n, err := s.Store.RevokePrincipalClientSecrets(ctx, p.ID, s.Clock.Now())
		if err != nil {
			return err
		}
		details["secrets_revoked"] = n
		return s.Audit.Record(ctx, audit.Event{Action: "service_principal.delete", TargetType: "principal", TargetID: p.ID, Details: details})
	})
}

// CreateClientSecret issues a new client secret for a service principal.
// Its value is returned this once.
func (s *Service) CreateClientSecret(ctx context.Context, sp string, in ClientSecretCreate) (*IssuedClientSecret, error) {
	if err := validateSecretDescription(in.Description); err != nil {
		return nil, err
	}
	days, err := expiryDays(in.ExpiresInDays, DefaultClientSecretDays, MaxClientSecretDays)
	if err != nil {
		return nil, err
	}
	var out *IssuedClientSecret
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.liveService(ctx, sp)
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		existing, err := s.Store.ListClientSecrets(ctx, p.ID)
		if err != nil {
			return err
		}
		live := 0
		for _, c := range existing {
			if c.RevokedAt == nil && now.Before(c.ExpiresAt) {
				live++
			}
		}
		if live >= MaxLiveClientSecrets {
			return enclave.Errorf(enclave.CodeFailedPrecondition,
				"service principal %s already has %d live client secrets; revoke one first", p.Name, live)
		}
		secret := newSecret(ClientSecretPrefix)
		c := &ClientSecret{ID: newID(), PrincipalID: p.ID, Description: in.Description, Hash: hashSecret(secret),
			CreatedAt: now, ExpiresAt: now.AddDate(0, 0, days)}
		if err := s.admitClientSecret(ctx, enclave.OpCreate, p, c); err != nil {
			return err
		}
		if err := s.Store.CreateClientSecret(ctx, c); err != nil {
			return err
		}
		out = &IssuedClientSecret{ClientID: p.Name, ClientSecret: secret, Info: c}
		return s.Audit.Record(ctx, audit.Event{Action: "service_principal.secret.create", TargetType: "client_secret", TargetID: c.ID,
			Details: map[string]any{"service_principal": p.Name, "expires_at": c.ExpiresAt, "description": c.Description}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func validateSecretDescription(s string) error {
	return enclave.ValidateText("description", s, 200)
}

// expiryDays applies the default and the maximum to a requested lifetime in days.
func expiryDays(days, def, maxDays int) (int, error) {
	switch {
	case days == 0:
		return def, nil
	case days < 0 || days > maxDays:
		return 0, enclave.FieldError("expires_in_days", "expires_in_days must be between 1 and %d", maxDays)
	}
	return days, nil
}

// ListClientSecrets lists a service principal's client secrets, newest first.
func (s *Service) ListClientSecrets(ctx context.Context, sp string) ([]*ClientSecret, error) {
	p, err := s.liveService(ctx, sp)
	if err != nil {
		return nil, err
	}
	return s.Store.ListClientSecrets(ctx, p.ID)
}

// RevokeClientSecret revokes one of a service principal's client secrets,
// and the service principal's tokens with it: a token obtained with a
// leaked secret must not outlive the secret.
func (s *Service) RevokeClientSecret(ctx context.Context, sp, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return enclave.Errorf(enclave.CodeNotFound, "client secret %s not found", enclave.Truncate(id, 64))
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.liveService(ctx, sp)
		if err != nil {
			return err
		}
		c, err := s.Store.GetClientSecret(ctx, id)
		if enclave.IsCode(err, enclave.CodeNotFound) || (err == nil && c.PrincipalID != p.ID) {
			return enclave.Errorf(enclave.CodeNotFound, "client secret %s of %s not found", id, p.Name)
		}
		if err != nil {
			return err
		}
		if err := s.admitClientSecret(ctx, enclave.OpDelete, p, c); err != nil {
			return err
		}
		now := s.Clock.Now()
		if err := s.Store.RevokeClientSecret(ctx, c.ID, now); err != nil {
			if enclave.IsCode(err, enclave.CodeNotFound) {
				return enclave.Errorf(enclave.CodeFailedPrecondition, "client secret %s is already revoked", id)
			}
			return err
		}
		n, err := s.Store.RevokePrincipalTokens(ctx, p.ID, []TokenKind{TokenService}, "", now)
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "service_principal.secret.revoke", TargetType: "client_secret", TargetID: c.ID,
			Details: map[string]any{"service_principal": p.Name, "tokens_revoked": n}})
	})
}
