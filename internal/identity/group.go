package identity

import (
	"context"
	"errors"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// Group is a named set of principals (users and service principals). Roles
// assigned to a group apply to its members.
type Group struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	MemberCount int       `json:"member_count"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// GroupCreate is the input that creates a group.
type GroupCreate struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Validate checks a group creation request.
func (c *GroupCreate) Validate() error {
	if err := enclave.ValidateName("name", c.Name); err != nil {
		return err
	}
	return validateGroupDescription(c.Description)
}

func validateGroupDescription(s string) error {
	return enclave.ValidateText("description", s, 1000)
}

// GroupUpdate changes a group's description. The name is immutable: role
// assignments and audit records refer to it.
type GroupUpdate struct {
	Description *string `json:"description,omitempty"`
}

// GroupMember is a principal in a group.
type GroupMember struct {
	PrincipalID string                `json:"principal_id"`
	Name        string                `json:"name"`
	Kind        enclave.PrincipalKind `json:"kind"`
	ServiceKind ServiceKind           `json:"service_kind,omitempty"`
	DisplayName string                `json:"display_name"`
	AddedAt     time.Time             `json:"added_at"`
}

// MemberAdd names the principal to add to a group.
type MemberAdd struct {
	Member string `json:"member"`
}

func (s *Service) group(ctx context.Context, name string) (*Group, error) {
	if err := enclave.ValidateName("group", name); err != nil {
		return nil, err
	}
	return s.Store.GetGroup(ctx, name)
}

// CreateGroup creates an empty group.
func (s *Service) CreateGroup(ctx context.Context, in GroupCreate) (*Group, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	g := &Group{ID: newID(), Name: in.Name, Description: in.Description, CreatedAt: now, UpdatedAt: now}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.nameFree(ctx, g.Name); err != nil {
			return err
		}
		if err := s.admitGroup(ctx, enclave.OpCreate, g, nil); err != nil {
			return err
		}
		if err := s.Store.CreateGroup(ctx, g); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "group.create", TargetType: "group", TargetID: g.ID,
			Details: map[string]any{"name": g.Name}})
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// GetGroup returns the group called name.
func (s *Service) GetGroup(ctx context.Context, name string) (*Group, error) {
	return s.group(ctx, name)
}

// ListGroups returns one page of groups ordered by name and the token of the next page.
func (s *Service) ListGroups(ctx context.Context, page enclave.Page) ([]*Group, string, error) {
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	gs, err := s.Store.ListGroups(ctx, cur.After, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	gs, next := enclave.PageOf(gs, page.Size, func(g *Group) string { return g.Name })
	return gs, next, nil
}

// UpdateGroup changes a group's description.
func (s *Service) UpdateGroup(ctx context.Context, name string, in GroupUpdate) (*Group, error) {
	if in.Description != nil {
		if err := validateGroupDescription(*in.Description); err != nil {
			return nil, err
		}
	}
	var g *Group
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if g, err = s.group(ctx, name); err != nil {
			return err
		}
		old := *g
		if in.Description != nil {
			g.Description = *in.Description
		}
		g.UpdatedAt = s.Clock.Now()
		if err := s.admitGroup(ctx, enclave.OpUpdate, g, &old); err != nil {
			return err
		}
		if err := s.Store.UpdateGroup(ctx, g); err != nil {
			return err
		}
		changed := map[string]any{"name": g.Name}
		if in.Description != nil || g.Description != old.Description {
			changed["description"] = map[string]any{"from": old.Description, "to": g.Description}
		}
		return s.Audit.Record(ctx, audit.Event{Action: "group.update", TargetType: "group", TargetID: g.ID, Details: changed})
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// DeleteGroup deletes a group and its memberships. Role assignments to the
// group stop granting anything, since it has no members left.
func (s *Service) DeleteGroup(ctx context.Context, name string) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		g, err := s.group(ctx, name)
		if err != nil {
			return err
		}
		if err := s.admitGroup(ctx, enclave.OpDelete, g, g); err != nil {
			return err
		}
		if err := s.Store.DeleteGroup(ctx, g.ID); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "group.delete", TargetType: "group", TargetID: g.ID,
			Details: map[string]any{"name": g.Name, "members": g.MemberCount}})
	})
}

// errSelfAdd refuses joining a group on one's own authority.
var errSelfAdd = &enclave.Error{Code: enclave.CodePermissionDenied, Field: "member",
	Message: "nobody adds themselves to a group: another administrator must (separation of duties)"}

// AddGroupMember adds a user or service principal to a group. Nobody adds
// themselves: a group's roles would otherwise be one request away for
// whoever may manage groups. The refusal is audited.
func (s *Service) AddGroupMember(ctx context.Context, group string, in MemberAdd) (*GroupMember, error) {
	if err := enclave.ValidateName("member", in.Member); err != nil {
		return nil, err
	}
	var m *GroupMember
	var denied audit.Event
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		g, err := s.group(ctx, group)
		if err != nil {
			return err
		}
		p, err := s.Store.GetPrincipalByName(ctx, in.Member)
		if enclave.IsCode(err, enclave.CodeNotFound) || (err == nil && p.DeletedAt != nil) {
			return &enclave.Error{Code: enclave.CodeNotFound, Field: "member", Message: "principal " + in.Member + " not found"}
		}
		if err != nil {
			return err
		}
		if a := enclave.ActorFrom(ctx); a != nil && a.PrincipalID == p.ID {
			denied = audit.Event{Action: "group.member.add", TargetType: "group", TargetID: g.ID, Outcome: audit.Denied,
				Reason: "self", Details: map[string]any{"group": g.Name, "member": p.Name, "member_id": p.ID, "member_kind": p.Kind}}
			return errSelfAdd
		}
		now := s.Clock.Now()
		m = memberOf(p, now)
		if err := s.admitMember(ctx, enclave.OpCreate, g, m); err != nil {
			return err
		}
		if err := s.Store.AddGroupMember(ctx, g.ID, p.ID, now); err != nil {
			if enclave.IsCode(err, enclave.CodeConflict) {
				return &enclave.Error{Code: enclave.CodeConflict, Field: "member", Message: p.Name + " is already a member of " + g.Name}
			}
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "group.member.add", TargetType: "group", TargetID: g.ID,
			Details: map[string]any{"group": g.Name, "member": p.Name, "member_id": p.ID, "member_kind": p.Kind}})
	})
	if errors.Is(err, errSelfAdd) {
		if aerr := s.Tx.InTx(ctx, func(ctx context.Context) error { return s.Audit.Record(ctx, denied) }); aerr != nil {
			return nil, aerr
		}
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func memberOf(p *Principal, added time.Time) *GroupMember {
	return &GroupMember{PrincipalID: p.ID, Name: p.Name, Kind: p.Kind, ServiceKind: p.ServiceKind, DisplayName: p.DisplayName, AddedAt: added}
}

// RemoveGroupMember removes a principal from a group.
func (s *Service) RemoveGroupMember(ctx context.Context, group, member string) error {
	if err := enclave.ValidateName("member", member); err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		g, err := s.group(ctx, group)
		if err != nil {
			return err
		}
		notMember := enclave.Errorf(enclave.CodeNotFound, "%s is not a member of %s", member, g.Name)
		p, err := s.Store.GetPrincipalByName(ctx, member)
		if enclave.IsCode(err, enclave.CodeNotFound) {
			return notMember
		}
		if err != nil {
			return err
		}
		// The store keeps when the member was added but does not look one
		// membership up: admission sees the member without added_at.
		if err := s.admitMember(ctx, enclave.OpDelete, g, memberOf(p, time.Time{})); err != nil {
			return err
		}
		err = s.Store.RemoveGroupMember(ctx, g.ID, p.ID)
		if enclave.IsCode(err, enclave.CodeNotFound) {
			return notMember
		}
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "group.member.remove", TargetType: "group", TargetID: g.ID,
			Details: map[string]any{"group": g.Name, "member": p.Name, "member_id": p.ID}})
	})
}

// ListGroupMembers returns one page of a group's members ordered by name.
func (s *Service) ListGroupMembers(ctx context.Context, group string, page enclave.Page) ([]*GroupMember, string, error) {
	g, err := s.group(ctx, group)
	if err != nil {
		return nil, "", err
	}
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	ms, err := s.Store.ListGroupMembers(ctx, g.ID, cur.After, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	ms, next := enclave.PageOf(ms, page.Size, func(m *GroupMember) string { return m.Name })
	return ms, next, nil
}
