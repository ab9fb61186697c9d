package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
)

// GetPasswordHash implements identity.Store.
func (s *IdentityStore) GetPasswordHash(ctx context.Context, principalID string) (string, error) {
	var h string
	err := s.DB.queryRow(ctx, `SELECT hash FROM passwords WHERE principal_id = ?`, principalID).Scan(&h)
	return h, s.DB.translate(err, "password")
}

// SetPasswordHash implements identity.Store.
func (s *IdentityStore) SetPasswordHash(ctx context.Context, principalID, hash string, at time.Time) error {
	_, err := s.DB.exec(ctx, `INSERT INTO passwords (principal_id, hash, changed_at) VALUES (?, ?, ?)
		ON CONFLICT (principal_id) DO UPDATE SET hash = excluded.hash, changed_at = excluded.changed_at`,
		principalID, hash, micros(at))
	return s.DB.translate(err, "password")
}

// DeletePassword implements identity.Store.
func (s *IdentityStore) DeletePassword(ctx context.Context, principalID string) error {
	_, err := s.DB.exec(ctx, `DELETE FROM passwords WHERE principal_id = ?`, principalID)
	return s.DB.translate(err, "password")
}

// GetTOTP implements identity.Store.
func (s *IdentityStore) GetTOTP(ctx context.Context, principalID string) (*identity.TOTP, error) {
	var t identity.TOTP
	var confirmed sql.NullInt64
	var created int64
	err := s.DB.queryRow(ctx, `SELECT principal_id, secret, confirmed_at, last_step, created_at FROM mfa_totp WHERE principal_id = ?`,
		principalID).Scan(&t.PrincipalID, &t.Secret, &confirmed, &t.LastStep, &created)
	if err != nil {
		return nil, s.DB.translate(err, "MFA enrolment")
	}
	t.ConfirmedAt, t.CreatedAt = fromNullMicros(confirmed), fromMicros(created)
	return &t, nil
}

// PutTOTP implements identity.Store.
func (s *IdentityStore) PutTOTP(ctx context.Context, t *identity.TOTP) error {
	_, err := s.DB.exec(ctx, `INSERT INTO mfa_totp (principal_id, secret, confirmed_at, last_step, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (principal_id) DO UPDATE SET secret = excluded.secret, confirmed_at = excluded.confirmed_at,
		last_step = excluded.last_step, created_at = excluded.created_at`,
		t.PrincipalID, t.Secret, nullMicros(t.ConfirmedAt), t.LastStep, micros(t.CreatedAt))
	return s.DB.translate(err, "MFA enrolment")
}

// ConfirmTOTP implements identity.Store.
func (s *IdentityStore) ConfirmTOTP(ctx context.Context, principalID string, step int64, at time.Time) error {
	res, err := s.DB.exec(ctx, `UPDATE mfa_totp SET confirmed_at = ?, last_step = ? WHERE principal_id = ? AND confirmed_at IS NULL`,
		micros(at), step, principalID)
	return one(res, err, s.DB, "unconfirmed MFA enrolment")
}

// AdvanceTOTPStep implements identity.Store. The condition in the UPDATE
// makes two concurrent uses of one code race to a single winner.
func (s *IdentityStore) AdvanceTOTPStep(ctx context.Context, principalID string, step int64) error {
	res, err := s.DB.exec(ctx, `UPDATE mfa_totp SET last_step = ? WHERE principal_id = ? AND last_step < ? AND confirmed_at IS NOT NULL`,
		step, principalID, step)
	if err := one(res, err, s.DB, "MFA enrolment"); enclave.IsCode(err, enclave.CodeNotFound) {
		return enclave.Errorf(enclave.CodeConflict, "TOTP code already used")
	} else if err != nil {
		return err
	}
	return nil
}

// DeleteTOTP implements identity.Store.
func (s *IdentityStore) DeleteTOTP(ctx context.Context, principalID string) error {
	_, err := s.DB.exec(ctx, `DELETE FROM mfa_totp WHERE principal_id = ?`, principalID)
	return s.DB.translate(err, "MFA enrolment")
}

// ReplaceRecoveryCodes implements identity.Store.
func (s *IdentityStore) ReplaceRecoveryCodes(ctx context.Context, principalID string, codes []*identity.RecoveryCode) error {
	if err := s.DeleteRecoveryCodes(ctx, principalID); err != nil {
		return err
	}
	for _, c := range codes {
		if _, err := s.DB.exec(ctx, `INSERT INTO recovery_codes (id, principal_id, hash, used_at) VALUES (?, ?, ?, ?)`,
			c.ID, principalID, c.Hash, nullMicros(c.UsedAt)); err != nil {
			return s.DB.translate(err, "recovery code")
		}
	}
	return nil
}

// UseRecoveryCode implements identity.Store.
func (s *IdentityStore) UseRecoveryCode(ctx context.Context, principalID string, hash []byte, at time.Time) error {
	res, err := s.DB.exec(ctx, `UPDATE recovery_codes SET used_at = ? WHERE principal_id = ? AND hash = ? AND used_at IS NULL`,
		micros(at), principalID, hash)
	return one(res, err, s.DB, "recovery code")
}

// CountRecoveryCodes implements identity.Store.
func (s *IdentityStore) CountRecoveryCodes(ctx context.Context, principalID string) (int, error) {
	var n int
	err := s.DB.queryRow(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE principal_id = ? AND used_at IS NULL`, principalID).Scan(&n)
	return n, s.DB.translate(err, "recovery codes")
}

// DeleteRecoveryCodes implements identity.Store.
func (s *IdentityStore) DeleteRecoveryCodes(ctx context.Context, principalID string) error {
	_, err := s.DB.exec(ctx, `DELETE FROM recovery_codes WHERE principal_id = ?`, principalID)
	return s.DB.translate(err, "recovery codes")
}

// CreateChallenge implements identity.Store.
func (s *IdentityStore) CreateChallenge(ctx context.Context, c *identity.Challenge) error {
	_, err := s.DB.exec(ctx, `INSERT INTO sign_in_challenges (id, principal_id, hash, created_at, expires_at, used_at)
		VALUES (?, ?, ?, ?, ?, ?)`, c.ID, c.PrincipalID, c.Hash, micros(c.CreatedAt), micros(c.ExpiresAt), nullMicros(c.UsedAt))
	return s.DB.translate(err, "sign-in challenge")
}

// GetChallengeByHash implements identity.Store.
func (s *IdentityStore) GetChallengeByHash(ctx context.Context, hash []byte) (*identity.Challenge, error) {
	var c identity.Challenge
	var created, expires int64
	var used sql.NullInt64
	err := s.DB.queryRow(ctx, `SELECT id, principal_id, hash, created_at, expires_at, used_at FROM sign_in_challenges WHERE hash = ?`,
		hash).Scan(&c.ID, &c.PrincipalID, &c.Hash, &created, &expires, &used)
	if err != nil {
		return nil, s.DB.translate(err, "sign-in challenge")
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return &c, nil
}

// UseChallenge implements identity.Store.
func (s *IdentityStore) UseChallenge(ctx context.Context, id string, at time.Time) error {
	res, err := s.DB.exec(ctx, `UPDATE sign_in_challenges SET used_at = ? WHERE id = ? AND used_at IS NULL`, micros(at), id)
	if err := one(res, err, s.DB, "sign-in challenge"); enclave.IsCode(err, enclave.CodeNotFound) {
		return enclave.Errorf(enclave.CodeConflict, "sign-in challenge already used")
	} else if err != nil {
		return err
	}
	return nil
}

// GetThrottles implements identity.Store.
func (s *IdentityStore) GetThrottles(ctx context.Context, keys ...string) ([]*identity.Throttle, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := s.DB.query(ctx, `SELECT throttle_key, failures, first_at, locked_until FROM sign_in_throttle
		WHERE throttle_key IN (`+placeholders(len(keys))+`) ORDER BY throttle_key`, args...)
	if err != nil {
		return nil, s.DB.translate(err, "sign-in throttle")
	}
	return collect(rows, scanThrottle, s.DB, "sign-in throttle")
}

func scanThrottle(r scanner) (*identity.Throttle, error) {
	var t identity.Throttle
	var first, locked int64
	if err := r.Scan(&t.Key, &t.Failures, &first, &locked); err != nil {
		return nil, err
	}
	t.FirstAt = fromMicros(first)
	if locked > 0 {
		t.LockedUntil = fromMicros(locked)
	}
	return &t, nil
}

// CountSignInAttempt implements identity.Store. One statement counts the
// attempt, so concurrent attempts are never lost; on PostgreSQL the row
// stays locked until the caller's transaction ends, so the attempts of one
// key are counted one after another.
func (s *IdentityStore) CountSignInAttempt(ctx context.Context, key string, now, windowStart time.Time) (*identity.Throttle, error) {
	t, err := scanThrottle(s.DB.queryRow(ctx, `INSERT INTO sign_in_throttle (throttle_key, failures, first_at, locked_until)
		VALUES (?, 1, ?, 0)
		ON CONFLICT (throttle_key) DO UPDATE SET
			failures = CASE WHEN sign_in_throttle.first_at < ? THEN 1 ELSE sign_in_throttle.failures + 1 END,
			first_at = CASE WHEN sign_in_throttle.first_at < ? THEN excluded.first_at ELSE sign_in_throttle.first_at END
		RETURNING throttle_key, failures, first_at, locked_until`,
		key, micros(now), micros(windowStart), micros(windowStart)))
	return t, s.DB.translate(err, "sign-in throttle")
}

// LockSignIn implements identity.Store.
func (s *IdentityStore) LockSignIn(ctx context.Context, key string, until time.Time) error {
	_, err := s.DB.exec(ctx, `UPDATE sign_in_throttle SET locked_until = CASE WHEN locked_until < ? THEN ? ELSE locked_until END
		WHERE throttle_key = ?`, micros(until), micros(until), key)
	return s.DB.translate(err, "sign-in throttle")
}

// UncountSignInAttempt implements identity.Store.
func (s *IdentityStore) UncountSignInAttempt(ctx context.Context, key string, lockedUntil, restore time.Time) error {
	var set, back int64 = -1, 0
	if !lockedUntil.IsZero() {
		set = micros(lockedUntil)
	}
	if !restore.IsZero() {
		back = micros(restore)
	}
	_, err := s.DB.exec(ctx, `UPDATE sign_in_throttle SET
			failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END,
			locked_until = CASE WHEN locked_until = ? THEN ? ELSE locked_until END
		WHERE throttle_key = ?`, set, back, key)
	return s.DB.translate(err, "sign-in throttle")
}

// ResetThrottle implements identity.Store.
func (s *IdentityStore) ResetThrottle(ctx context.Context, key string) error {
	_, err := s.DB.exec(ctx, `DELETE FROM sign_in_throttle WHERE throttle_key = ?`, key)
	return s.DB.translate(err, "sign-in throttle")
}
