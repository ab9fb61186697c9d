package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/policy"
)

// PolicyStore implements policy.Store.
type PolicyStore struct{ DB *DB }

var _ policy.Store = (*PolicyStore)(nil)

// Generation implements policy.Store.
func (s *PolicyStore) Generation(ctx context.Context) (int64, error) {
	var g int64
	err := s.DB.queryRow(ctx, `SELECT generation FROM policy_generation WHERE id = 1`).Scan(&g)
	return g, s.DB.translate(err, "policy generation")
}

// BumpGeneration implements policy.Store.
func (s *PolicyStore) BumpGeneration(ctx context.Context) error {
	_, err := s.DB.exec(ctx, `UPDATE policy_generation SET generation = generation + 1 WHERE id = 1`)
	return s.DB.translate(err, "policy generation")
}

// CreateDefinition implements policy.Store.
func (s *PolicyStore) CreateDefinition(ctx context.Context, d *policy.StoredDefinition) error {
	body, err := json.Marshal(d.Definition)
	if err != nil {
		return err
	}
	_, err = s.DB.exec(ctx, `INSERT INTO policy_definitions (id, body, created_at, created_by, updated_at, updated_by)
		VALUES (?, ?, ?, ?, ?, ?)`, d.ID, string(body), micros(d.CreatedAt), d.CreatedBy, micros(d.UpdatedAt), d.UpdatedBy)
	return s.DB.translate(err, "policy "+d.ID)
}

// UpdateDefinition implements policy.Store.
func (s *PolicyStore) UpdateDefinition(ctx context.Context, d *policy.StoredDefinition) error {
	body, err := json.Marshal(d.Definition)
	if err != nil {
		return err
	}
	res, err := s.DB.exec(ctx, `UPDATE policy_definitions SET body = ?, updated_at = ?, updated_by = ? WHERE id = ?`,
		string(body), micros(d.UpdatedAt), d.UpdatedBy, d.ID)
	n, err := affected(res, err, s.DB, "policy")
	if err == nil && n == 0 {
		return enclave.Errorf(enclave.CodeNotFound, "policy %s not found", d.ID)
	}
	return err
}

func (s *PolicyStore) scanDefinition(r scanner) (*policy.StoredDefinition, error) {
	var d policy.StoredDefinition
	var body string
	var created, updated int64
	if err := r.Scan(&d.ID, &body, &created, &d.CreatedBy, &updated, &d.UpdatedBy); err != nil {
		return nil, err
	}
	id := d.ID
	if err := json.Unmarshal([]byte(body), &d.Definition); err != nil {
		return nil, err
	}
	d.ID, d.CreatedAt, d.UpdatedAt = id, fromMicros(created), fromMicros(updated)
	return &d, nil
}

const definitionCols = `id, body, created_at, created_by, updated_at, updated_by`

// GetDefinition implements policy.Store.
func (s *PolicyStore) GetDefinition(ctx context.Context, id string) (*policy.StoredDefinition, error) {
	d, err := s.scanDefinition(s.DB.queryRow(ctx, `SELECT `+definitionCols+` FROM policy_definitions WHERE id = ?`, id))
	if err != nil {
		return nil, s.DB.translate(err, "policy "+id)
	}
	return d, nil
}

// ListDefinitions implements policy.Store.
func (s *PolicyStore) ListDefinitions(ctx context.Context) ([]*policy.StoredDefinition, error) {
	rows, err := s.DB.query(ctx, `SELECT `+definitionCols+` FROM policy_definitions ORDER BY id`)
	if err != nil {
		return nil, s.DB.translate(err, "policies")
	}
	defer rows.Close()
	var out []*policy.StoredDefinition
	for rows.Next() {
		d, err := s.scanDefinition(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, s.DB.translate(rows.Err(), "policies")
}

// DeleteDefinition implements policy.Store.
func (s *PolicyStore) DeleteDefinition(ctx context.Context, id string) error {
	res, err := s.DB.exec(ctx, `DELETE FROM policy_definitions WHERE id = ?`, id)
	n, err := affected(res, err, s.DB, "policy")
	if err == nil && n == 0 {
		return enclave.Errorf(enclave.CodeNotFound, "policy %s not found", id)
	}
	return err
}

const policyAssignmentCols = `id, name, definition, scope, params, mode, description, created_at, created_by, updated_at, updated_by`

func scanPolicyAssignment(r scanner) (*policy.Assignment, error) {
	var a policy.Assignment
	var params string
	var created, updated int64
	if err := r.Scan(&a.ID, &a.Name, &a.Definition, &a.Scope, &params, &a.Mode, &a.Description, &created, &a.CreatedBy,
		&updated, &a.UpdatedBy); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(params), &a.Params); err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &a, nil
}

func paramsJSON(p map[string]any) (string, error) {
	if p == nil {
		p = map[string]any{}
	}
	b, err := json.Marshal(p)
	return string(b), err
}

// CreateAssignment implements policy.Store.
func (s *PolicyStore) CreateAssignment(ctx context.Context, a *policy.Assignment) error {
	params, err := paramsJSON(a.Params)
	if err != nil {
		return err
	}
	_, err = s.DB.exec(ctx, `INSERT INTO policy_assignments (`+policyAssignmentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Name, a.Definition, a.Scope, params, a.Mode, a.Description, micros(a.CreatedAt), a.CreatedBy,
		micros(a.UpdatedAt), a.UpdatedBy)
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &enclave.Error{Code: enclave.CodeConflict, Field: "name", Message: "policy assignment " + a.Name + " already exists", Err: err}
	}
	return s.DB.translate(err, "policy assignment "+a.Name)
}

// UpdateAssignment implements policy.Store.
func (s *PolicyStore) UpdateAssignment(ctx context.Context, a *policy.Assignment) error {
	params, err := paramsJSON(a.Params)
	if err != nil {
		return err
	}
	res, err := s.DB.exec(ctx, `UPDATE policy_assignments SET params = ?, mode = ?, description = ?, updated_at = ?, updated_by = ?
		WHERE id = ?`, params, a.Mode, a.Description, micros(a.UpdatedAt), a.UpdatedBy, a.ID)
	n, err := affected(res, err, s.DB, "policy")
	if err == nil && n == 0 {
		return enclave.Errorf(enclave.CodeNotFound, "policy assignment %s not found", a.Name)
	}
	return err
}

// GetAssignment implements policy.Store.
func (s *PolicyStore) GetAssignment(ctx context.Context, name string) (*policy.Assignment, error) {
	a, err := scanPolicyAssignment(s.DB.queryRow(ctx, `SELECT `+policyAssignmentCols+` FROM policy_assignments WHERE name = ?`, name))
	if err != nil {
		return nil, s.DB.translate(err, "policy assignment "+name)
	}
	return a, nil
}

// ListAssignments implements policy.Store.
func (s *PolicyStore) ListAssignments(ctx context.Context) ([]*policy.Assignment, error) {
	rows, err := s.DB.query(ctx, `SELECT `+policyAssignmentCols+` FROM policy_assignments ORDER BY name`)
	if err != nil {
		return nil, s.DB.translate(err, "policy assignments")
	}
	defer rows.Close()
	var out []*policy.Assignment
	for rows.Next() {
		a, err := scanPolicyAssignment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, s.DB.translate(rows.Err(), "policy assignments")
}

// DeleteAssignment implements policy.Store; its exemptions go with it.
func (s *PolicyStore) DeleteAssignment(ctx context.Context, id string) error {
	if _, err := s.DB.exec(ctx, `DELETE FROM policy_exemptions WHERE assignment_id = ?`, id); err != nil {
		return s.DB.translate(err, "policy exemptions")
	}
	if _, err := s.DB.exec(ctx, `DELETE FROM policy_compliance WHERE assignment = (SELECT name FROM policy_assignments WHERE id = ?)`, id); err != nil {
		return s.DB.translate(err, "policy compliance")
	}
	res, err := s.DB.exec(ctx, `DELETE FROM policy_assignments WHERE id = ?`, id)
	n, err := affected(res, err, s.DB, "policy")
	if err == nil && n == 0 {
		return enclave.Errorf(enclave.CodeNotFound, "policy assignment not found")
	}
	return err
}

const exemptionCols = `e.id, a.name, e.scope, e.resource_kind, e.resource_name, e.reason, e.expires_at, e.state, e.requested_by,
	e.requested_by_id, e.requested_at, e.decided_by, e.decided_at, e.comment`

func scanExemption(r scanner) (*policy.Exemption, error) {
	var e policy.Exemption
	var expires, requested int64
	var decided sql.NullInt64
	if err := r.Scan(&e.ID, &e.Assignment, &e.Scope, &e.ResourceKind, &e.ResourceName, &e.Reason, &expires, &e.State,
		&e.RequestedBy, &e.RequestedByID, &requested, &e.DecidedBy, &decided, &e.Comment); err != nil {
		return nil, err
	}
	e.ExpiresAt, e.RequestedAt, e.DecidedAt = fromMicros(expires), fromMicros(requested), fromNullMicros(decided)
	return &e, nil
}

// CreateExemption implements policy.Store.
func (s *PolicyStore) CreateExemption(ctx context.Context, e *policy.Exemption) error {
	res, err := s.DB.exec(ctx, `INSERT INTO policy_exemptions (id, assignment_id, scope, resource_kind, resource_name, reason,
		expires_at, state, requested_by, requested_by_id, requested_at, decided_by, decided_at, comment)
		SELECT ?, id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM policy_assignments WHERE name = ?`,
		e.ID, e.Scope, e.ResourceKind, e.ResourceName, e.Reason, micros(e.ExpiresAt), e.State, e.RequestedBy, e.RequestedByID,
		micros(e.RequestedAt), e.DecidedBy, nullMicros(e.DecidedAt), e.Comment, e.Assignment)
	n, err := affected(res, err, s.DB, "policy exemption")
	if err == nil && n == 0 {
		return enclave.Errorf(enclave.CodeNotFound, "policy assignment %s not found", e.Assignment)
	}
	return err
}

// UpdateExemption implements policy.Store: the decision.
func (s *PolicyStore) UpdateExemption(ctx context.Context, e *policy.Exemption) error {
	res, err := s.DB.exec(ctx, `UPDATE policy_exemptions SET state = ?, decided_by = ?, decided_at = ?, comment = ? WHERE id = ?`,
		e.State, e.DecidedBy, nullMicros(e.DecidedAt), e.Comment, e.ID)
	n, err := affected(res, err, s.DB, "policy")
	if err == nil && n == 0 {
		return enclave.Errorf(enclave.CodeNotFound, "policy exemption %s not found", e.ID)
	}
	return err
}

// GetExemption implements policy.Store.
func (s *PolicyStore) GetExemption(ctx context.Context, id string) (*policy.Exemption, error) {
	e, err := scanExemption(s.DB.queryRow(ctx, `SELECT `+exemptionCols+` FROM policy_exemptions e
		JOIN policy_assignments a ON a.id = e.assignment_id WHERE e.id = ?`, id))
	if err != nil {
		return nil, s.DB.translate(err, "policy exemption "+id)
	}
	return e, nil
}

// ListExemptions implements policy.Store.
func (s *PolicyStore) ListExemptions(ctx context.Context) ([]*policy.Exemption, error) {
	rows, err := s.DB.query(ctx, `SELECT `+exemptionCols+` FROM policy_exemptions e
		JOIN policy_assignments a ON a.id = e.assignment_id ORDER BY e.requested_at DESC, e.id`)
	if err != nil {
		return nil, s.DB.translate(err, "policy exemptions")
	}
	defer rows.Close()
	var out []*policy.Exemption
	for rows.Next() {
		e, err := scanExemption(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, s.DB.translate(rows.Err(), "policy exemptions")
}

// DeleteExemption implements policy.Store.
func (s *PolicyStore) DeleteExemption(ctx context.Context, id string) error {
	res, err := s.DB.exec(ctx, `DELETE FROM policy_exemptions WHERE id = ?`, id)
	n, err := affected(res, err, s.DB, "policy")
	if err == nil && n == 0 {
		return enclave.Errorf(enclave.CodeNotFound, "policy exemption %s not found", id)
	}
	return err
}

// ReplaceCompliance implements policy.Store.
func (s *PolicyStore) ReplaceCompliance(ctx context.Context, recs []policy.ComplianceRecord, _ time.Time) error {
	if _, err := s.DB.exec(ctx, `DELETE FROM policy_compliance`); err != nil {
		return s.DB.translate(err, "policy compliance")
	}
	for _, r := range recs {
		_, err := s.DB.exec(ctx, `INSERT INTO policy_compliance (assignment, policy, mode, resource_kind, resource_id, resource_name,
			scope, state, message, evaluated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Assignment, r.Policy, r.Mode,
			r.ResourceKind, r.ResourceID, r.ResourceName, r.Scope, r.State, r.Message, micros(r.EvaluatedAt))
		if err != nil {
			return s.DB.translate(err, "policy compliance")
		}
	}
	return nil
}

// ListCompliance implements policy.Store.
func (s *PolicyStore) ListCompliance(ctx context.Context) ([]policy.ComplianceRecord, error) {
	rows, err := s.DB.query(ctx, `SELECT assignment, policy, mode, resource_kind, resource_id, resource_name, scope, state,
		message, evaluated_at FROM policy_compliance ORDER BY scope, resource_kind, resource_name, assignment`)
	if err != nil {
		return nil, s.DB.translate(err, "policy compliance")
	}
	defer rows.Close()
	var out []policy.ComplianceRecord
	for rows.Next() {
		var r policy.ComplianceRecord
		var at int64
		if err := rows.Scan(&r.Assignment, &r.Policy, &r.Mode, &r.ResourceKind, &r.ResourceID, &r.ResourceName, &r.Scope,
			&r.State, &r.Message, &at); err != nil {
			return nil, err
		}
		r.EvaluatedAt = fromMicros(at)
		out = append(out, r)
	}
	return out, s.DB.translate(rows.Err(), "policy compliance")
}
