package identity

import (
	"context"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// The resource kinds of this package, as policies select them. Identities
// are platform-wide: every change is at scope "/".
const (
	KindUser                   = "user"
	KindServicePrincipal       = "service-principal"
	KindServicePrincipalSecret = "service-principal-secret"
	KindGroup                  = "group"
	KindGroupMember            = "group-member"
	KindToken                  = "token"
	KindSettings               = "settings"
)

// admitPrincipal runs a change of p, a user or a service principal,
// through policy admission, in the transaction that stores it. old is p
// before an update or a delete, nil on create.
func (s *Service) admitPrincipal(ctx context.Context, op string, p *Principal, old any) error {
	kind := KindUser
	if !p.IsPerson() {
		kind = KindServicePrincipal
	}
	return enclave.Admit(ctx, s.Admission, enclave.Change{Kind: kind, Operation: op, Scope: "/",
		Object: p, Old: old, Validate: p.validate})
}

// validate checks the fields of p a policy may set.
func (p *Principal) validate() error {
	if err := validateDisplayName(p.DisplayName); err != nil {
		return err
	}
	if err := validateEmail(p.Email); err != nil {
		return err
	}
	if p.IsPerson() {
		return nil
	}
	return p.ServiceKind.Validate("service_kind")
}

// admitToken runs the creation (issue) or deletion (revocation) of t
// through policy admission. The token's hash never reaches a policy: it is
// not part of its JSON.
func (s *Service) admitToken(ctx context.Context, op string, t *Token) error {
	c := enclave.Change{Kind: KindToken, Operation: op, Scope: "/", Object: t,
		Validate: func() error { return (&TokenCreate{Name: t.Name, Scopes: t.Scopes}).Validate() }}
	if op == enclave.OpDelete {
		c.Old = t
	}
	return enclave.Admit(ctx, s.Admission, c)
}

// admitClientSecret runs the creation or revocation of c, a client secret
// of the service principal p, through policy admission.
func (s *Service) admitClientSecret(ctx context.Context, op string, p *Principal, c *ClientSecret) error {
	ch := enclave.Change{Kind: KindServicePrincipalSecret, Operation: op, Scope: "/", Object: c, Parent: p,
		Validate: func() error { return validateSecretDescription(c.Description) }}
	if op == enclave.OpDelete {
		ch.Old = c
	}
	return enclave.Admit(ctx, s.Admission, ch)
}

// admitGroup runs a change of g through policy admission. old is g before
// an update or a delete, nil on create.
func (s *Service) admitGroup(ctx context.Context, op string, g *Group, old any) error {
	return enclave.Admit(ctx, s.Admission, enclave.Change{Kind: KindGroup, Operation: op, Scope: "/",
		Object: g, Old: old, Validate: func() error { return validateGroupDescription(g.Description) }})
}

// admitMember runs the addition (create) or removal (delete) of m, a
// member of g, through policy admission.
func (s *Service) admitMember(ctx context.Context, op string, g *Group, m *GroupMember) error {
	c := enclave.Change{Kind: KindGroupMember, Operation: op, Scope: "/", Object: m, Parent: g}
	if op == enclave.OpDelete {
		c.Old = m
	}
	return enclave.Admit(ctx, s.Admission, c)
}
