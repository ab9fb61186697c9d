package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// AccessStore implements access.Store.
type AccessStore struct{ DB *DB }

var _ access.Store = (*AccessStore)(nil)

const assignmentCols = `a.id, a.assignee_id, a.assignee_kind, a.role, a.scope, a.created_by, a.created_at,
	COALESCE(a.elevation_id, ''), a.expires_at`

func scanAssignment(r scanner, extra ...any) (*access.Assignment, error) {
	var a access.Assignment
	var created int64
	var expires sql.NullInt64
	dest := append([]any{&a.ID, &a.AssigneeID, &a.AssigneeKind, &a.Role, &a.Scope, &a.CreatedBy, &created, &a.ElevationID, &expires}, extra...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	a.CreatedAt, a.ExpiresAt = fromMicros(created), fromNullMicros(expires)
	return &a, nil
}

// CreateAssignment implements access.Store.
func (s *AccessStore) CreateAssignment(ctx context.Context, a *access.Assignment) error {
	_, err := s.DB.exec(ctx, `INSERT INTO role_assignments (id, assignee_id, assignee_kind, role, scope, created_by, created_at,
		elevation_id, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.AssigneeID, a.AssigneeKind, a.Role, a.Scope, a.CreatedBy, micros(a.CreatedAt), nullString(a.ElevationID), nullMicros(a.ExpiresAt))
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &enclave.Error{Code: enclave.CodeConflict, Field: "role",
			Message: a.AssigneeName + " already holds " + a.Role + " at " + string(a.Scope), Err: err}
	}
	return s.DB.translate(err, "role assignment")
}

const assigneeName = `COALESCE(p.name, g.name, '')`

// GetAssignment implements access.Store.
func (s *AccessStore) GetAssignment(ctx context.Context, id string) (*access.Assignment, error) {
	var name string
	a, err := scanAssignment(s.DB.queryRow(ctx, `SELECT `+assignmentCols+`, `+assigneeName+` FROM role_assignments a
		LEFT JOIN principals p ON p.id = a.assignee_id LEFT JOIN groups g ON g.id = a.assignee_id WHERE a.id = ?`, id), &name)
	if err != nil {
		return nil, s.DB.translate(err, "role assignment "+id)
	}
	a.AssigneeName = name
	return a, nil
}

// DeleteAssignment implements access.Store.
func (s *AccessStore) DeleteAssignment(ctx context.Context, id string) error {
	res, err := s.DB.exec(ctx, `DELETE FROM role_assignments WHERE id = ?`, id)
	return one(res, err, s.DB, "role assignment "+id)
}

// ListAssignments implements access.Store.
func (s *AccessStore) ListAssignments(ctx context.Context, f access.AssignmentFilter, after string, limit int) ([]*access.Assignment, error) {
	scope := string(f.Scope)
	rows, err := s.DB.query(ctx, `SELECT `+assignmentCols+`, `+assigneeName+` FROM role_assignments a
		LEFT JOIN principals p ON p.id = a.assignee_id LEFT JOIN groups g ON g.id = a.assignee_id
		WHERE a.id > ? AND (? IN ('', '/') OR a.scope = ? OR a.scope LIKE ?)
		AND (? = '' OR a.assignee_id = ?) AND (? = '' OR a.role = ?)
		ORDER BY a.id LIMIT ?`, after, scope, scope, strings.TrimSuffix(scope, "/")+"/%",
		f.AssigneeID, f.AssigneeID, f.Role, f.Role, limit)
	if err != nil {
		return nil, s.DB.translate(err, "role assignments")
	}
	return collect(rows, func(r scanner) (*access.Assignment, error) {
		var name string
		a, err := scanAssignment(r, &name)
		if a != nil {
			a.AssigneeName = name
		}
		return a, err
	}, s.DB, "role assignments")
}

// AssignmentsOf implements access.Store: one query for what a principal
// holds directly and through its groups, on every authorized request.
func (s *AccessStore) AssignmentsOf(ctx context.Context, principalID string, now time.Time) ([]*access.Assignment, error) {
	rows, err := s.DB.query(ctx, `SELECT `+assignmentCols+`, p.name, '' FROM role_assignments a
		JOIN principals p ON p.id = a.assignee_id
		WHERE a.assignee_id = ? AND (a.expires_at IS NULL OR a.expires_at > ?)
		UNION ALL
		SELECT `+assignmentCols+`, g.name, g.name FROM role_assignments a
		JOIN groups g ON g.id = a.assignee_id JOIN group_members m ON m.group_id = g.id
		WHERE m.principal_id = ? AND (a.expires_at IS NULL OR a.expires_at > ?)`,
		principalID, micros(now), principalID, micros(now))
	if err != nil {
		return nil, s.DB.translate(err, "role assignments")
	}
	return collect(rows, func(r scanner) (*access.Assignment, error) {
		var name, via string
		a, err := scanAssignment(r, &name, &via)
		if a != nil {
			a.AssigneeName, a.ViaGroup = name, via
		}
		return a, err
	}, s.DB, "role assignments")
}

// ResolveAssignee implements access.Store.
func (s *AccessStore) ResolveAssignee(ctx context.Context, kind access.AssigneeKind, name string, disabledToo bool) (*access.Assignee, error) {
	a := &access.Assignee{Kind: kind, Name: name}
	var err error
	switch kind {
	case access.AssigneeGroup:
		err = s.DB.queryRow(ctx, `SELECT id FROM groups WHERE name = ?`, name).Scan(&a.ID)
	default:
		pk := "user"
		if kind == access.AssigneeService {
			pk = "service"
		}
		var disabled bool
		err = s.DB.queryRow(ctx, `SELECT id, platform_admin, disabled FROM principals WHERE name = ? AND kind = ? AND deleted_at IS NULL`,
			name, pk).Scan(&a.ID, &a.PlatformAdmin, &disabled)
		if err == nil && disabled && !disabledToo {
			return nil, &enclave.Error{Code: enclave.CodeFailedPrecondition, Field: "assignee", Message: string(kind) + " " + name + " is disabled"}
		}
	}
	if err == sql.ErrNoRows {
		return nil, &enclave.Error{Code: enclave.CodeNotFound, Field: "assignee", Message: "no " + string(kind) + " named " + name}
	}
	if err != nil {
		return nil, s.DB.translate(err, string(kind))
	}
	return a, nil
}

// IsGroupMember implements access.Store.
func (s *AccessStore) IsGroupMember(ctx context.Context, groupID, principalID string) (bool, error) {
	var n int
	err := s.DB.queryRow(ctx, `SELECT COUNT(*) FROM group_members WHERE group_id = ? AND principal_id = ?`, groupID, principalID).Scan(&n)
	return n > 0, s.DB.translate(err, "group membership")
}

// ScopeExists implements access.Store.
func (s *AccessStore) ScopeExists(ctx context.Context, scope access.Scope) (bool, error) {
	parts := strings.Split(strings.Trim(string(scope), "/"), "/")
	var q string
	var args []any
	switch {
	case scope == access.PlatformScope:
		return true, nil
	case len(parts) == 2:
		q, args = `SELECT COUNT(*) FROM zones WHERE name = ?`, []any{parts[1]}
	case len(parts) == 4 && parts[2] == "projects":
		q, args = `SELECT COUNT(*) FROM projects p JOIN zones z ON z.id = p.zone_id WHERE z.name = ? AND p.name = ?`, []any{parts[1], parts[3]}
	case len(parts) == 4:
		q, args = `SELECT COUNT(*) FROM environments e JOIN zones z ON z.id = e.zone_id WHERE z.name = ? AND e.scope_key = '' AND e.name = ?`, []any{parts[1], parts[3]}
	case len(parts) == 6:
		q = `SELECT COUNT(*) FROM environments e JOIN zones z ON z.id = e.zone_id JOIN projects p ON p.id = e.project_id
			WHERE z.name = ? AND p.name = ? AND e.name = ?`
		args = []any{parts[1], parts[3], parts[5]}
	default:
		return false, nil
	}
	var n int
	err := s.DB.queryRow(ctx, q, args...).Scan(&n)
	return n > 0, s.DB.translate(err, "scope")
}

const elevationCols = `e.id, e.principal_id, p.name, e.role, e.scope, e.duration_s, e.justification, e.state, e.requested_at,
	e.decided_by, e.decided_at, e.decision_note, e.activated_at, e.expires_at, e.ended_at`

func scanElevation(r scanner) (*access.Elevation, error) {
	var e access.Elevation
	var dur, requested int64
	var decided, activated, expires, ended sql.NullInt64
	if err := r.Scan(&e.ID, &e.PrincipalID, &e.PrincipalName, &e.Role, &e.Scope, &dur, &e.Justification, &e.State, &requested,
		&e.DecidedBy, &decided, &e.DecisionNote, &activated, &expires, &ended); err != nil {
		return nil, err
	}
	e.Duration, e.RequestedAt = time.Duration(dur)*time.Second, fromMicros(requested)
	e.DecidedAt, e.ActivatedAt, e.ExpiresAt, e.EndedAt = fromNullMicros(decided), fromNullMicros(activated), fromNullMicros(expires), fromNullMicros(ended)
	return &e, nil
}

// CreateElevation implements access.Store.
func (s *AccessStore) CreateElevation(ctx context.Context, e *access.Elevation) error {
	_, err := s.DB.exec(ctx, `INSERT INTO elevations (id, principal_id, role, scope, duration_s, justification, state, requested_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.PrincipalID, e.Role, e.Scope, int64(e.Duration/time.Second), e.Justification,
		e.State, micros(e.RequestedAt))
	return s.DB.translate(err, "elevation")
}

// GetElevation implements access.Store.
func (s *AccessStore) GetElevation(ctx context.Context, id string) (*access.Elevation, error) {
	e, err := scanElevation(s.DB.queryRow(ctx, `SELECT `+elevationCols+` FROM elevations e JOIN principals p ON p.id = e.principal_id
		WHERE e.id = ?`, id))
	return e, s.DB.translate(err, "elevation "+id)
}

// UpdateElevation implements access.Store.
func (s *AccessStore) UpdateElevation(ctx context.Context, e *access.Elevation, from access.ElevationState) error {
	res, err := s.DB.exec(ctx, `UPDATE elevations SET state = ?, decided_by = ?, decided_at = ?, decision_note = ?, activated_at = ?,
		expires_at = ?, ended_at = ? WHERE id = ? AND state = ?`, e.State, e.DecidedBy, nullMicros(e.DecidedAt), e.DecisionNote,
		nullMicros(e.ActivatedAt), nullMicros(e.ExpiresAt), nullMicros(e.EndedAt), e.ID, from)
	if err := one(res, err, s.DB, "elevation "+e.ID); enclave.IsCode(err, enclave.CodeNotFound) {
		return enclave.Errorf(enclave.CodeConflict, "elevation %s was decided or changed concurrently; look again", e.ID)
	} else if err != nil {
		return err
	}
	return nil
}

// ListElevations implements access.Store.
func (s *AccessStore) ListElevations(ctx context.Context, f access.ElevationFilter, before string, limit int) ([]*access.Elevation, error) {
	rows, err := s.DB.query(ctx, `SELECT `+elevationCols+` FROM elevations e JOIN principals p ON p.id = e.principal_id
		WHERE (? = '' OR e.id < ?) AND (? = '' OR e.state = ?) AND (? = '' OR e.principal_id = ?)
		AND (? IN ('', '/') OR e.scope = ? OR e.scope LIKE ?)
		ORDER BY e.id DESC LIMIT ?`, before, before, string(f.State), string(f.State), f.PrincipalID, f.PrincipalID,
		string(f.Scope), string(f.Scope), strings.TrimSuffix(string(f.Scope), "/")+"/%", limit)
	if err != nil {
		return nil, s.DB.translate(err, "elevations")
	}
	return collect(rows, scanElevation, s.DB, "elevations")
}
