package zone

import (
	"context"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// The resource kinds of this package, as policies select them.
const (
	KindZone        = "zone"
	KindProject     = "project"
	KindEnvironment = "environment"
)

// admitZone runs a change of z through policy admission, in the
// transaction that stores it. old is the zone before an update or a
// delete, nil on create.
func (s *Service) admitZone(ctx context.Context, op string, z *Zone, old any) error {
	return enclave.Admit(ctx, s.Admission, enclave.Change{Kind: KindZone, Operation: op,
		Scope: string(access.ZoneScope(z.Name)), Object: z, Old: old, Validate: z.validate})
}

// admitProject runs a change of p, a project of z, through policy
// admission, in the transaction that stores it. old is the project before
// an update or a delete, nil on create.
func (s *Service) admitProject(ctx context.Context, op string, z *Zone, p *Project, old any) error {
	return enclave.Admit(ctx, s.Admission, enclave.Change{Kind: KindProject, Operation: op,
		Scope: string(access.ProjectScope(p.Zone, p.Name)), Object: p, Old: old, Parent: z, Validate: p.validate})
}
