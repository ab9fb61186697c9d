package sqlstore

import (
	"context"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
)

const groupCols = `g.id, g.name, g.description, (SELECT COUNT(*) FROM group_members gm WHERE gm.group_id = g.id),
	g.created_at, g.updated_at`

func scanGroup(r scanner) (*identity.Group, error) {
	var g identity.Group
	var created, updated int64
	if err := r.Scan(&g.ID, &g.Name, &g.Description, &g.MemberCount, &created, &updated); err != nil {
		return nil, err
	}
	g.CreatedAt, g.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &g, nil
}

// CreateGroup implements identity.Store.
func (s *IdentityStore) CreateGroup(ctx context.Context, g *identity.Group) error {
	_, err := s.DB.exec(ctx, `INSERT INTO groups (id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		g.ID, g.Name, g.Description, micros(g.CreatedAt), micros(g.UpdatedAt))
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &enclave.Error{Code: enclave.CodeConflict, Field: "name", Message: "group " + g.Name + " already exists", Err: err}
	}
	return s.DB.translate(err, "group "+g.Name)
}

// GetGroup implements identity.Store.
func (s *IdentityStore) GetGroup(ctx context.Context, name string) (*identity.Group, error) {
	g, err := scanGroup(s.DB.queryRow(ctx, `SELECT `+groupCols+` FROM groups g WHERE g.name = ?`, name))
	return g, s.DB.translate(err, "group "+name)
}

// ListGroups implements identity.Store.
func (s *IdentityStore) ListGroups(ctx context.Context, after string, limit int) ([]*identity.Group, error) {
	rows, err := s.DB.query(ctx, `SELECT `+groupCols+` FROM groups g WHERE g.name > ? ORDER BY g.name LIMIT ?`, after, limit)
	if err != nil {
		return nil, s.DB.translate(err, "groups")
	}
	return collect(rows, scanGroup, s.DB, "groups")
}

// UpdateGroup implements identity.Store.
func (s *IdentityStore) UpdateGroup(ctx context.Context, g *identity.Group) error {
	res, err := s.DB.exec(ctx, `UPDATE groups SET description = ?, updated_at = ? WHERE id = ?`, g.Description, micros(g.UpdatedAt), g.ID)
	return one(res, err, s.DB, "group "+g.Name)
}

// DeleteGroup implements identity.Store.
func (s *IdentityStore) DeleteGroup(ctx context.Context, id string) error {
	if _, err := s.DB.exec(ctx, `DELETE FROM group_members WHERE group_id = ?`, id); err != nil {
		return s.DB.translate(err, "group members")
	}
	res, err := s.DB.exec(ctx, `DELETE FROM groups WHERE id = ?`, id)
	return one(res, err, s.DB, "group")
}

// AddGroupMember implements identity.Store.
func (s *IdentityStore) AddGroupMember(ctx context.Context, groupID, principalID string, at time.Time) error {
	_, err := s.DB.exec(ctx, `INSERT INTO group_members (group_id, principal_id, added_at) VALUES (?, ?, ?)`,
		groupID, principalID, micros(at))
	return s.DB.translate(err, "group member")
}

// RemoveGroupMember implements identity.Store.
func (s *IdentityStore) RemoveGroupMember(ctx context.Context, groupID, principalID string) error {
	res, err := s.DB.exec(ctx, `DELETE FROM group_members WHERE group_id = ? AND principal_id = ?`, groupID, principalID)
	return one(res, err, s.DB, "group member")
}

// ListGroupMembers implements identity.Store.
func (s *IdentityStore) ListGroupMembers(ctx context.Context, groupID, after string, limit int) ([]*identity.GroupMember, error) {
	rows, err := s.DB.query(ctx, `SELECT p.id, p.name, p.kind, p.service_kind, p.display_name, gm.added_at
		FROM group_members gm JOIN principals p ON p.id = gm.principal_id
		WHERE gm.group_id = ? AND p.name > ? ORDER BY p.name LIMIT ?`, groupID, after, limit)
	if err != nil {
		return nil, s.DB.translate(err, "group members")
	}
	return collect(rows, func(r scanner) (*identity.GroupMember, error) {
		var m identity.GroupMember
		var added int64
		err := r.Scan(&m.PrincipalID, &m.Name, &m.Kind, &m.ServiceKind, &m.DisplayName, &added)
		m.AddedAt = fromMicros(added)
		return &m, err
	}, s.DB, "group members")
}

// RemovePrincipalFromGroups implements identity.Store.
func (s *IdentityStore) RemovePrincipalFromGroups(ctx context.Context, principalID string) (int, error) {
	res, err := s.DB.exec(ctx, `DELETE FROM group_members WHERE principal_id = ?`, principalID)
	return affected(res, err, s.DB, "group members")
}
