package access

import (
	"context"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// The resource kinds of this package, as policies select them.
const (
	KindAssignment = "role-assignment"
	KindElevation  = "elevation"
)

// admitAssignment runs the creation or deletion of a through policy
// admission, in the transaction that stores it.
func (s *Service) admitAssignment(ctx context.Context, op string, a *Assignment) error {
	c := enclave.Change{Kind: KindAssignment, Operation: op, Scope: string(a.Scope), Object: a,
		Validate: func() error {
			if _, _, err := s.roleAt("role", a.Role, a.Scope); err != nil {
				return err
			}
			return s.requireScope(ctx, a.Scope)
		}}
	if op == enclave.OpDelete {
		c.Old = a
	}
	return enclave.Admit(ctx, s.Admission, c)
}

// admitElevation runs a change of e through policy admission, in the
// transaction that stores it. old is e before a decision, nil on request.
func (s *Service) admitElevation(ctx context.Context, op string, e *Elevation, old any) error {
	return enclave.Admit(ctx, s.Admission, enclave.Change{Kind: KindElevation, Operation: op, Scope: string(e.Scope),
		Object: e, Old: old, Validate: func() error { return s.checkElevation(e) }})
}
