package server

import (
	"context"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/policy"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/zone"
)

// newPolicyService wires the guardrails and makes every service run its
// changes through them.
func newPolicyService(svc *Services, db *sqlstore.DB, clock enclave.Clock) {
	p := &policy.Service{Store: &sqlstore.PolicyStore{DB: db}, Tx: db, Audit: svc.Audit, Clock: clock, Queue: svc.Queue,
		ScopeExists: func(ctx context.Context, scope string) error {
			parts := strings.Split(strings.Trim(scope, "/"), "/")
			switch len(parts) {
			case 2:
				_, err := svc.Zones.GetZone(ctx, parts[1])
				return err
			case 4:
				_, err := svc.Zones.GetProject(ctx, parts[1], parts[3])
				return err
			}
			return enclave.FieldError("scope", "scope must be /, /zones/ZONE or /zones/ZONE/projects/PROJECT")
		}}
	svc.Policy = p
	svc.Zones.Admission, svc.Identity.Admission, svc.Access.Admission = p, p, p
	svc.Catalog.Admission, svc.Sinks.Admission, svc.Queue.Admission = p, p, p
	svc.Handlers[policy.ScanTask] = p.RunScan
	p.Sources = policySources(svc, db)
}

// scanPage is how many resources a scan reads at a time.
const scanPage = 500

// pages calls list with the key of the last item until a page is short.
func pages[T any](ctx context.Context, list func(after string) ([]T, error), key func(T) string, yield func(T) error) error {
	after := ""
	for {
		items, err := list(after)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := yield(it); err != nil {
				return err
			}
		}
		if len(items) < scanPage {
			return nil
		}
		after = key(items[len(items)-1])
	}
}

// policySources list the existing resources of every kind policies
// govern, for the compliance scan. Each resource appears as admission sees
// it: the same object, at the same scope, with the same parent.
func policySources(svc *Services, db *sqlstore.DB) []policy.Source {
	zs := svc.Zones.Store
	ids := &sqlstore.IdentityStore{DB: db}
	eachZone := func(ctx context.Context, fn func(*zone.Zone) error) error {
		return pages(ctx, func(after string) ([]*zone.Zone, error) { return zs.ListZones(ctx, zone.ZoneFilter{}, after, scanPage) },
			func(z *zone.Zone) string { return z.Name }, fn)
	}
	eachProject := func(ctx context.Context, fn func(*zone.Zone, *zone.Project) error) error {
		return eachZone(ctx, func(z *zone.Zone) error {
			return eachProjectOf(ctx, zs, z, func(p *zone.Project) error { return fn(z, p) })
		})
	}
	principals := func(kind string) func(ctx context.Context, yield func(policy.Existing) error) error {
		return func(ctx context.Context, yield func(policy.Existing) error) error {
			return pages(ctx, func(after string) ([]*identity.Principal, error) {
				return ids.ListPrincipals(ctx, identity.PrincipalFilter{Kind: kind}, after, scanPage)
			}, func(p *identity.Principal) string { return p.Name }, func(p *identity.Principal) error {
				return yield(policy.Existing{ID: p.ID, Name: p.Name, Scope: "/", Object: p})
			})
		}
	}
	return []policy.Source{
		{Kind: "zone", List: func(ctx context.Context, yield func(policy.Existing) error) error {
			return eachZone(ctx, func(z *zone.Zone) error {
				return yield(policy.Existing{ID: z.ID, Name: z.Name, Scope: string(access.ZoneScope(z.Name)), Object: z})
			})
		}},
		{Kind: "project", List: func(ctx context.Context, yield func(policy.Existing) error) error {
			return eachProject(ctx, func(z *zone.Zone, p *zone.Project) error {
				return yield(policy.Existing{ID: p.ID, Name: p.Name, Scope: string(access.ProjectScope(z.Name, p.Name)), Object: p, Parent: z})
			})
		}},
		{Kind: "environment", List: func(ctx context.Context, yield func(policy.Existing) error) error {
			return eachZone(ctx, func(z *zone.Zone) error {
				envs, err := zs.ListEnvironments(ctx, z.ID, "")
				if err != nil {
					return err
				}
				for _, e := range envs {
					if err := yield(policy.Existing{ID: e.ID, Name: string(e.Name), Scope: zone.EnvironmentScope(e), Object: e, Parent: z}); err != nil {
						return err
					}
				}
				return eachProjectOf(ctx, zs, z, func(p *zone.Project) error {
					envs, err := zs.ListEnvironments(ctx, z.ID, p.ID)
					if err != nil {
						return err
					}
					for _, e := range envs {
						if err := yield(policy.Existing{ID: e.ID, Name: string(e.Name), Scope: zone.EnvironmentScope(e), Object: e, Parent: p}); err != nil {
							return err
						}
					}
					return nil
				})
			})
		}},
		{Kind: "dataset", List: func(ctx context.Context, yield func(policy.Existing) error) error {
			return eachProject(ctx, func(z *zone.Zone, p *zone.Project) error {
				return pages(ctx, func(after string) ([]*catalog.Dataset, error) {
					return svc.Catalog.Store.ListDatasets(ctx, p.ID, catalog.Filter{}, after, scanPage)
				}, func(d *catalog.Dataset) string { return d.Name }, func(d *catalog.Dataset) error {
					return yield(policy.Existing{ID: d.ID, Name: d.Name, Scope: string(access.ProjectScope(z.Name, p.Name)), Object: d, Parent: p})
				})
			})
		}},
		{Kind: "user", List: principals(string(enclave.PrincipalUser))},
		{Kind: "service-principal", List: principals(string(enclave.PrincipalService))},
		{Kind: "service-principal-secret", List: func(ctx context.Context, yield func(policy.Existing) error) error {
			return principals(string(enclave.PrincipalService))(ctx, func(sp policy.Existing) error {
				secrets, err := ids.ListClientSecrets(ctx, sp.ID)
				if err != nil {
					return err
				}
				for _, cs := range secrets {
					if cs.RevokedAt != nil {
						continue // a revoked secret signs nobody in
					}
					if err := yield(policy.Existing{ID: cs.ID, Name: cs.ID, Scope: "/", Object: cs, Parent: sp.Object}); err != nil {
						return err
					}
				}
				return nil
			})
		}},
		{Kind: "token", List: func(ctx context.Context, yield func(policy.Existing) error) error {
			live := identity.TokenFilter{LiveAt: svc.Identity.Clock.Now()} // an expired or revoked token opens nothing
			for _, kind := range []enclave.PrincipalKind{enclave.PrincipalUser, enclave.PrincipalService} {
				err := principals(string(kind))(ctx, func(p policy.Existing) error {
					return pages(ctx, func(before string) ([]*identity.Token, error) {
						return ids.ListTokens(ctx, p.ID, live, before, scanPage)
					}, func(t *identity.Token) string { return t.ID }, func(t *identity.Token) error {
						return yield(policy.Existing{ID: t.ID, Name: t.Name, Scope: "/", Object: t, Parent: p.Object})
					})
				})
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{Kind: "settings", List: func(ctx context.Context, yield func(policy.Existing) error) error {
			st, err := svc.Identity.GetSettings(ctx)
			if err != nil {
				return err
			}
			return yield(policy.Existing{ID: "settings", Name: "settings", Scope: "/", Object: st})
		}},
		{Kind: "role-assignment", List: func(ctx context.Context, yield func(policy.Existing) error) error {
			return pages(ctx, func(after string) ([]*access.Assignment, error) {
				return svc.Access.Store.ListAssignments(ctx, access.AssignmentFilter{Scope: access.PlatformScope}, after, scanPage)
			}, func(a *access.Assignment) string { return a.ID }, func(a *access.Assignment) error {
				return yield(policy.Existing{ID: a.ID, Name: a.ID, Scope: string(a.Scope), Object: a})
			})
		}},
		{Kind: "audit-sink", List: func(ctx context.Context, yield func(policy.Existing) error) error {
			sinks, err := svc.Sinks.List(ctx)
			if err != nil {
				return err
			}
			for _, s := range sinks {
				if err := yield(policy.Existing{ID: s.ID, Name: s.Name, Scope: "/", Object: s}); err != nil {
					return err
				}
			}
			return nil
		}},
	}
}

func eachProjectOf(ctx context.Context, zs zone.Store, z *zone.Zone, fn func(*zone.Project) error) error {
	return pages(ctx, func(after string) ([]*zone.Project, error) {
		return zs.ListProjects(ctx, z.ID, zone.ProjectFilter{}, after, scanPage)
	}, func(p *zone.Project) string { return p.Name }, fn)
}

// scanLoop enqueues a compliance scan every interval, the first one a
// minute after start (or after one interval, if shorter).
func (m *Main) scanLoop(ctx context.Context) {
	interval := m.Config.Policy.ScanInterval
	if interval <= 0 {
		return
	}
	timer := time.NewTimer(min(interval, time.Minute))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			sctx := enclave.WithActor(ctx, enclave.SystemActor("policy-scan"))
			if _, err := m.Services.Policy.RequestScan(sctx); err != nil {
				m.Logger.ErrorContext(ctx, "policy scan not enqueued", "error", err)
			}
			timer.Reset(interval)
		}
	}
}
