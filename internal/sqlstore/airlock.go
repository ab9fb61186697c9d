package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/airlock"
	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// AirlockStore implements airlock.Store.
type AirlockStore struct{ DB *DB }

var _ airlock.Store = (*AirlockStore)(nil)

const airlockCols = `r.id, z.name, p.name, p.zone_id, r.project_id, r.type, r.title, r.justification, r.state, r.requester_id,
	r.requester_name, r.classification, r.target, r.staging, r.result, r.labels, r.files, r.checks, r.approvals_required,
	r.failure, r.revision, r.created_at, r.updated_at, r.submitted_at`

const airlockFrom = ` FROM airlock_requests r JOIN projects p ON p.id = r.project_id JOIN zones z ON z.id = p.zone_id`

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func (s *AirlockStore) encode(r *airlock.Request) (result, labels, files, checks string, err error) {
	if r.Result != nil {
		if result, err = jsonText(r.Result); err != nil {
			return
		}
	}
	if labels, err = jsonText(r.Labels); err != nil {
		return
	}
	if files, err = jsonText(r.Files); err != nil {
		return
	}
	if r.Checks != nil {
		checks, err = jsonText(r.Checks)
	}
	return
}

// CreateRequest implements airlock.Store.
func (s *AirlockStore) CreateRequest(ctx context.Context, r *airlock.Request) error {
	result, labels, files, checks, err := s.encode(r)
	if err != nil {
		return err
	}
	_, err = s.DB.exec(ctx, `INSERT INTO airlock_requests (id, project_id, type, title, justification, state, requester_id,
		requester_name, classification, target, staging, result, labels, files, checks, approvals_required, failure, revision,
		created_at, updated_at, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ProjectID, r.Type, r.Title, r.Justification, r.State, r.RequesterID, r.RequesterName, r.Classification,
		r.Target, r.Staging, result, labels, files, checks, r.ApprovalsRequired, r.Failure, r.Revision,
		micros(r.CreatedAt), micros(r.UpdatedAt), nullMicros(r.SubmittedAt))
	return s.DB.translate(err, "airlock request")
}

func scanAirlockRequest(sc scanner) (*airlock.Request, error) {
	var r airlock.Request
	var result, labels, files, checks string
	var created, updated int64
	var submitted sql.NullInt64
	if err := sc.Scan(&r.ID, &r.Zone, &r.Project, &r.ZoneID, &r.ProjectID, &r.Type, &r.Title, &r.Justification, &r.State,
		&r.RequesterID, &r.RequesterName, &r.Classification, &r.Target, &r.Staging, &result, &labels, &files, &checks,
		&r.ApprovalsRequired, &r.Failure, &r.Revision, &created, &updated, &submitted); err != nil {
		return nil, err
	}
	if result != "" {
		if err := json.Unmarshal([]byte(result), &r.Result); err != nil {
			return nil, err
		}
	}
	if err := json.Unmarshal([]byte(labels), &r.Labels); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(files), &r.Files); err != nil {
		return nil, err
	}
	if checks != "" {
		if err := json.Unmarshal([]byte(checks), &r.Checks); err != nil {
			return nil, err
		}
	}
	if r.Labels == nil {
		r.Labels = map[string]catalog.ColumnLabel{}
	}
	if r.Files == nil {
		r.Files = []*airlock.File{}
	}
	r.CreatedAt, r.UpdatedAt, r.SubmittedAt = fromMicros(created), fromMicros(updated), fromNullMicros(submitted)
	return &r, nil
}

// GetRequest implements airlock.Store.
func (s *AirlockStore) GetRequest(ctx context.Context, id string) (*airlock.Request, error) {
	r, err := scanAirlockRequest(s.DB.queryRow(ctx, `SELECT `+airlockCols+airlockFrom+` WHERE r.id = ?`, id))
	if err != nil {
		return nil, s.DB.translate(err, "airlock request "+id)
	}
	return r, nil
}

// ListRequests implements airlock.Store.
func (s *AirlockStore) ListRequests(ctx context.Context, projectID string, f airlock.Filter, beforeID string, limit int) ([]*airlock.Request, error) {
	q := `SELECT ` + airlockCols + airlockFrom + ` WHERE 1 = 1`
	var args []any
	if projectID != "" {
		q += ` AND r.project_id = ?`
		args = append(args, projectID)
	}
	if f.Type != "" {
		q += ` AND r.type = ?`
		args = append(args, f.Type)
	}
	if f.State != "" {
		q += ` AND r.state = ?`
		args = append(args, f.State)
	}
	if f.RequesterID != "" {
		q += ` AND r.requester_id = ?`
		args = append(args, f.RequesterID)
	}
	if beforeID != "" {
		q += ` AND r.id < ?`
		args = append(args, beforeID)
	}
	q += ` ORDER BY r.id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.DB.query(ctx, q, args...)
	if err != nil {
		return nil, s.DB.translate(err, "airlock requests")
	}
	defer rows.Close()
	var out []*airlock.Request
	for rows.Next() {
		r, err := scanAirlockRequest(rows)
		if err != nil {
			return nil, s.DB.translate(err, "airlock requests")
		}
		out = append(out, r)
	}
	return out, s.DB.translate(rows.Err(), "airlock requests")
}

// UpdateRequest implements airlock.Store.
func (s *AirlockStore) UpdateRequest(ctx context.Context, r *airlock.Request) error {
	result, labels, files, checks, err := s.encode(r)
	if err != nil {
		return err
	}
	res, err := s.DB.exec(ctx, `UPDATE airlock_requests SET state = ?, classification = ?, result = ?, labels = ?, files = ?,
		checks = ?, approvals_required = ?, failure = ?, revision = ?, updated_at = ?, submitted_at = ?
		WHERE id = ? AND revision = ?`, r.State, r.Classification, result, labels, files, checks, r.ApprovalsRequired,
		r.Failure, r.Revision, micros(r.UpdatedAt), nullMicros(r.SubmittedAt), r.ID, r.Revision-1)
	n, err := affected(res, err, s.DB, "airlock request")
	if err == nil && n == 0 {
		return enclave.Errorf(enclave.CodeConflict, "the request changed meanwhile: read it again")
	}
	return err
}

// AddStep implements airlock.Store.
func (s *AirlockStore) AddStep(ctx context.Context, requestID string, st *airlock.Step) error {
	var seq int
	if err := s.DB.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM airlock_steps WHERE request_id = ?`, requestID).Scan(&seq); err != nil {
		return s.DB.translate(err, "airlock history")
	}
	st.Seq = seq
	_, err := s.DB.exec(ctx, `INSERT INTO airlock_steps (request_id, seq, from_state, to_state, action, actor_id, actor_name,
		comment, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, requestID, seq, st.From, st.To, st.Action, st.ActorID, st.ActorName,
		st.Comment, micros(st.At))
	return s.DB.translate(err, "airlock history")
}

// Steps implements airlock.Store.
func (s *AirlockStore) Steps(ctx context.Context, requestID string) ([]*airlock.Step, error) {
	rows, err := s.DB.query(ctx, `SELECT seq, from_state, to_state, action, actor_id, actor_name, comment, at
		FROM airlock_steps WHERE request_id = ? ORDER BY seq`, requestID)
	if err != nil {
		return nil, s.DB.translate(err, "airlock history")
	}
	defer rows.Close()
	var out []*airlock.Step
	for rows.Next() {
		var st airlock.Step
		var at int64
		if err := rows.Scan(&st.Seq, &st.From, &st.To, &st.Action, &st.ActorID, &st.ActorName, &st.Comment, &at); err != nil {
			return nil, s.DB.translate(err, "airlock history")
		}
		st.At = fromMicros(at)
		out = append(out, &st)
	}
	return out, s.DB.translate(rows.Err(), "airlock history")
}

// AddReview implements airlock.Store.
func (s *AirlockStore) AddReview(ctx context.Context, requestID string, rv *airlock.Review) error {
	_, err := s.DB.exec(ctx, `INSERT INTO airlock_reviews (request_id, reviewer_id, reviewer_name, decision, comment, at)
		VALUES (?, ?, ?, ?, ?, ?)`, requestID, rv.ReviewerID, rv.ReviewerName, rv.Decision, rv.Comment, micros(rv.At))
	return s.DB.translate(err, "airlock review")
}

// Reviews implements airlock.Store.
func (s *AirlockStore) Reviews(ctx context.Context, requestID string) ([]*airlock.Review, error) {
	rows, err := s.DB.query(ctx, `SELECT reviewer_id, reviewer_name, decision, comment, at FROM airlock_reviews
		WHERE request_id = ? ORDER BY at, reviewer_id`, requestID)
	if err != nil {
		return nil, s.DB.translate(err, "airlock reviews")
	}
	defer rows.Close()
	var out []*airlock.Review
	for rows.Next() {
		var rv airlock.Review
		var at int64
		if err := rows.Scan(&rv.ReviewerID, &rv.ReviewerName, &rv.Decision, &rv.Comment, &at); err != nil {
			return nil, s.DB.translate(err, "airlock reviews")
		}
		rv.At = fromMicros(at)
		out = append(out, &rv)
	}
	return out, s.DB.translate(rows.Err(), "airlock reviews")
}

// GetSettings implements airlock.Store.
func (s *AirlockStore) GetSettings(ctx context.Context, projectID string) (*airlock.Settings, error) {
	var st airlock.Settings
	var at int64
	err := s.DB.queryRow(ctx, `SELECT project_id, approvals_required, import_review, updated_at, updated_by
		FROM airlock_settings WHERE project_id = ?`, projectID).Scan(&st.ProjectID, &st.ApprovalsRequired, &st.ImportReview, &at, &st.UpdatedBy)
	if err != nil {
		return nil, s.DB.translate(err, "airlock settings")
	}
	st.UpdatedAt = fromMicros(at)
	return &st, nil
}

// PutSettings implements airlock.Store.
func (s *AirlockStore) PutSettings(ctx context.Context, st *airlock.Settings) error {
	res, err := s.DB.exec(ctx, `UPDATE airlock_settings SET approvals_required = ?, import_review = ?, updated_at = ?, updated_by = ?
		WHERE project_id = ?`, st.ApprovalsRequired, st.ImportReview, micros(st.UpdatedAt), st.UpdatedBy, st.ProjectID)
	n, err := affected(res, err, s.DB, "airlock settings")
	if err != nil || n > 0 {
		return err
	}
	_, err = s.DB.exec(ctx, `INSERT INTO airlock_settings (project_id, approvals_required, import_review, updated_at, updated_by)
		VALUES (?, ?, ?, ?, ?)`, st.ProjectID, st.ApprovalsRequired, st.ImportReview, micros(st.UpdatedAt), st.UpdatedBy)
	return s.DB.translate(err, "airlock settings")
}

// CreateLink implements airlock.Store.
func (s *AirlockStore) CreateLink(ctx context.Context, l *airlock.Link) error {
	_, err := s.DB.exec(ctx, `INSERT INTO airlock_links (hash, request_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		l.Hash, l.RequestID, l.CreatedBy, micros(l.CreatedAt), micros(l.ExpiresAt))
	return s.DB.translate(err, "download link")
}

// GetLink implements airlock.Store.
func (s *AirlockStore) GetLink(ctx context.Context, hash string) (*airlock.Link, error) {
	var l airlock.Link
	var created, expires int64
	var revoked sql.NullInt64
	err := s.DB.queryRow(ctx, `SELECT hash, request_id, created_by, created_at, expires_at, revoked_at FROM airlock_links WHERE hash = ?`,
		hash).Scan(&l.Hash, &l.RequestID, &l.CreatedBy, &created, &expires, &revoked)
	if err != nil {
		return nil, s.DB.translate(err, "download link")
	}
	l.CreatedAt, l.ExpiresAt, l.RevokedAt = fromMicros(created), fromMicros(expires), fromNullMicros(revoked)
	return &l, nil
}

// RevokeLinks implements airlock.Store.
func (s *AirlockStore) RevokeLinks(ctx context.Context, requestID string, at time.Time) error {
	_, err := s.DB.exec(ctx, `UPDATE airlock_links SET revoked_at = ? WHERE request_id = ? AND revoked_at IS NULL`, micros(at), requestID)
	return s.DB.translate(err, "download links")
}

// Recipients returns the email addresses of the people (users, not
// disabled or deleted) who hold one of roles at one of scopes, directly or
// through a group, unexpired; with includeAdmins, the platform's bootstrap
// administrators too.
func (s *AirlockStore) Recipients(ctx context.Context, scopes, roles []string, includeAdmins bool, now time.Time) ([]string, error) {
	if len(scopes) == 0 || len(roles) == 0 {
		return nil, nil
	}
	in := func(n int) string { return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")" }
	var args []any
	for _, sc := range scopes {
		args = append(args, sc)
	}
	for _, r := range roles {
		args = append(args, r)
	}
	args = append(args, micros(now))
	q := `SELECT DISTINCT p.email FROM principals p WHERE p.kind = 'user' AND p.email <> '' AND NOT p.disabled AND p.deleted_at IS NULL
		AND (p.id IN (SELECT CASE WHEN a.assignee_kind = 'group' THEN m.principal_id ELSE a.assignee_id END
			FROM role_assignments a LEFT JOIN group_members m ON a.assignee_kind = 'group' AND m.group_id = a.assignee_id
			WHERE a.scope IN ` + in(len(scopes)) + ` AND a.role IN ` + in(len(roles)) + ` AND (a.expires_at IS NULL OR a.expires_at > ?))`
	if includeAdmins {
		q += ` OR p.platform_admin`
	}
	q += `) ORDER BY p.email`
	rows, err := s.DB.query(ctx, q, args...)
	if err != nil {
		return nil, s.DB.translate(err, "recipients")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, s.DB.translate(err, "recipients")
		}
		out = append(out, e)
	}
	return out, s.DB.translate(rows.Err(), "recipients")
}
