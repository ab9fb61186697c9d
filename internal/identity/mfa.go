package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: those every authenticator app supports (RFC 6238
// defaults). One step either side of the server's clock is accepted.
const (
	totpPeriod = 30
	totpDigits = 6
	totpSkew   = 1
	// RecoveryCodeCount is how many recovery codes a confirmed enrolment gets.
	RecoveryCodeCount = 10
)

// TOTPEnrollment is what enrolling returns: the secret to put into an
// authenticator app, as an otpauth:// URI (for a QR code) and as text.
type TOTPEnrollment struct {
	Secret    string `json:"secret"`
	URI       string `json:"uri"`
	Issuer    string `json:"issuer"`
	Account   string `json:"account"`
	Algorithm string `json:"algorithm"`
	Digits    int    `json:"digits"`
	Period    int    `json:"period"`
}

// MFACode carries a code: a TOTP code, or where allowed a recovery code.
type MFACode struct {
	Code string `json:"code"`
}

// RecoveryCodes are shown once, when an enrolment is confirmed; only their
// hashes are kept.
type RecoveryCodes struct {
	Codes []string `json:"recovery_codes"`
}

func (s *Service) issuer() string {
	if s.Issuer == "" {
		return "Enclave"
	}
	return s.Issuer
}

// EnrollTOTP starts the calling person's TOTP enrolment, replacing an
// unconfirmed one. It is refused once an enrolment is confirmed: remove
// that first.
func (s *Service) EnrollTOTP(ctx context.Context) (*TOTPEnrollment, error) {
	_, p, err := s.self(ctx)
	if err != nil {
		return nil, err
	}
	if !p.IsPerson() {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "service principals do not use MFA; they sign in with a client secret")
	}
	if p.MFAEnrolled {
		return nil, enclave.Errorf(enclave.CodeConflict, "MFA is already enrolled; remove it first to enrol a new authenticator")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.issuer(), AccountName: p.Name, Period: totpPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, enclave.Wrap(enclave.CodeInternal, err, "cannot create a TOTP secret")
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		// An unconfirmed enrolment changes none of the user's fields yet.
		if err := s.admitPrincipal(ctx, enclave.OpUpdate, p, p); err != nil {
			return err
		}
		if err := s.Store.PutTOTP(ctx, &TOTP{PrincipalID: p.ID, Secret: key.Secret(), CreatedAt: s.Clock.Now()}); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "mfa.enroll", TargetType: "principal", TargetID: p.ID,
			Details: map[string]any{"name": p.Name, "type": "totp"}})
	})
	if err != nil {
		return nil, err
	}
	return &TOTPEnrollment{Secret: key.Secret(), URI: key.URL(), Issuer: s.issuer(), Account: p.Name,
		Algorithm: "SHA1", Digits: totpDigits, Period: totpPeriod}, nil
}

// ConfirmTOTP completes the calling person's enrolment with a first code
// from the authenticator, and returns ten single-use recovery codes, shown
// this once.
func (s *Service) ConfirmTOTP(ctx context.Context, in MFACode) (*RecoveryCodes, error) {
	_, p, err := s.self(ctx)
	if err != nil {
		return nil, err
	}
	code := strings.TrimSpace(in.Code)
	if !isTOTPCode(code) {
		return nil, enclave.FieldError("code", "code must be the %d-digit code your authenticator shows", totpDigits)
	}
	codes := make([]string, RecoveryCodeCount)
	var out RecoveryCodes
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		t, err := s.Store.GetTOTP(ctx, p.ID)
		if enclave.IsCode(err, enclave.CodeNotFound) {
			return enclave.Errorf(enclave.CodeFailedPrecondition, "no MFA enrolment to confirm: enrol first")
		}
		if err != nil {
			return err
		}
		if t.ConfirmedAt != nil {
			return enclave.Errorf(enclave.CodeConflict, "MFA enrolment is already confirmed")
		}
		now := s.Clock.Now()
		step, ok := matchTOTP(t.Secret, code, now)
		if !ok {
			return enclave.FieldError("code", "code is wrong: check the authenticator's clock and enter the current code")
		}
		old := *p
		p.MFAEnrolled = true
		if err := s.admitPrincipal(ctx, enclave.OpUpdate, p, &old); err != nil {
			return err
		}
		if err := s.Store.ConfirmTOTP(ctx, p.ID, step, now); err != nil {
			return err
		}
		rcs := make([]*RecoveryCode, len(codes))
		for i := range codes {
			codes[i] = newRecoveryCode()
			rcs[i] = &RecoveryCode{ID: newID(), PrincipalID: p.ID, Hash: recoveryHash(p.ID, normalizeRecoveryCode(codes[i]))}
		}
		if err := s.Store.ReplaceRecoveryCodes(ctx, p.ID, rcs); err != nil {
			return err
		}
		out.Codes = codes
		return s.Audit.Record(ctx, audit.Event{Action: "mfa.confirm", TargetType: "principal", TargetID: p.ID,
			Details: map[string]any{"name": p.Name, "type": "totp", "recovery_codes": len(codes)}})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RemoveTOTP removes the calling person's MFA enrolment and recovery codes.
// A confirmed enrolment needs a current TOTP code or a recovery code, and a
// wrong one counts as a failed sign-in; an unconfirmed one goes without.
func (s *Service) RemoveTOTP(ctx context.Context, in MFACode) error {
	_, p, err := s.self(ctx)
	if err != nil {
		return err
	}
	t, err := s.Store.GetTOTP(ctx, p.ID)
	if enclave.IsCode(err, enclave.CodeNotFound) {
		return enclave.Errorf(enclave.CodeNotFound, "no MFA enrolment to remove")
	}
	if err != nil {
		return err
	}
	code := strings.TrimSpace(in.Code)
	a := attempt{name: p.Name, principalID: p.ID, method: "totp", action: "mfa.remove"}
	var r *reservation
	if t.ConfirmedAt != nil {
		if code == "" {
			return enclave.FieldError("code", "code is required: a current TOTP code or a recovery code")
		}
		if !isTOTPCode(code) {
			a.method = "recovery-code"
		}
		if r, err = s.reserve(ctx, a); err != nil {
			return err
		}
		defer r.done()
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if t.ConfirmedAt != nil {
			if _, err := s.verifySecondFactor(ctx, p, code, s.Clock.Now()); err != nil {
				return err
			}
			if err := r.passed(ctx); err != nil {
				return err
			}
		}
		if err := s.removeMFA(ctx, p); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "mfa.remove", TargetType: "principal", TargetID: p.ID,
			Details: map[string]any{"name": p.Name, "confirmed": t.ConfirmedAt != nil}})
	})
	wrong := &enclave.Error{Code: enclave.CodeInvalidArgument, Field: "code", Message: "code is wrong or was already used"}
	var sf *signInFailure
	if errors.As(err, &sf) && r != nil {
		return r.failed(ctx, sf.reason, wrong)
	}
	return err
}

// ResetUserMFA removes a user's MFA enrolment and recovery codes for an
// administrator (the user lost the authenticator, or someone else may hold
// it) and revokes every token the user holds, personal access tokens
// included: their next sign-in enrols again. The platform administrator's
// MFA is reset only by enclave bootstrap reset, and nobody resets their own.
func (s *Service) ResetUserMFA(ctx context.Context, name string) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		p, err := s.liveUser(ctx, name)
		if err != nil {
			return err
		}
		if err := guardReset(ctx, p, "MFA", ownMFA); err != nil {
			return err
		}
		if _, err := s.Store.GetTOTP(ctx, p.ID); err != nil {
			if enclave.IsCode(err, enclave.CodeNotFound) {
				return enclave.Errorf(enclave.CodeNotFound, "user %s has no MFA enrolment", p.Name)
			}
			return err
		}
		if err := s.removeMFA(ctx, p); err != nil {
			return err
		}
		revoked, err := s.Store.RevokePrincipalTokens(ctx, p.ID, nil, "", s.Clock.Now())
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "mfa.reset", TargetType: "principal", TargetID: p.ID,
			Details: map[string]any{"name": p.Name, "tokens_revoked": revoked}})
	})
}

// removeMFA removes p's MFA enrolment and recovery codes, through policy
// admission as an update of p.
func (s *Service) removeMFA(ctx context.Context, p *Principal) error {
	old := *p
	p.MFAEnrolled = false
	if err := s.admitPrincipal(ctx, enclave.OpUpdate, p, &old); err != nil {
		return err
	}
	return s.clearMFA(ctx, p.ID)
}

func (s *Service) clearMFA(ctx context.Context, principalID string) error {
	if err := s.Store.DeleteTOTP(ctx, principalID); err != nil {
		return err
	}
	return s.Store.DeleteRecoveryCodes(ctx, principalID)
}

// verifySecondFactor checks a TOTP code (accepting each time step once) or
// uses up a recovery code, in the caller's transaction. It returns how many
// recovery codes are left (-1 for a TOTP code); a wrong code is a
// signInFailure.
func (s *Service) verifySecondFactor(ctx context.Context, p *Principal, code string, now time.Time) (int, error) {
	if isTOTPCode(code) {
		t, err := s.Store.GetTOTP(ctx, p.ID)
		if enclave.IsCode(err, enclave.CodeNotFound) || (err == nil && t.ConfirmedAt == nil) {
			return 0, failed("no confirmed MFA enrolment", errBadCode)
		}
		if err != nil {
			return 0, err
		}
		step, ok := matchTOTP(t.Secret, code, now)
		if !ok {
			return 0, failed("wrong TOTP code", errBadCode)
		}
		if step <= t.LastStep {
			return 0, failed("replayed TOTP code", errBadCode)
		}
		if err := s.Store.AdvanceTOTPStep(ctx, p.ID, step); err != nil {
			if enclave.IsCode(err, enclave.CodeConflict) {
				return 0, failed("replayed TOTP code", errBadCode)
			}
			return 0, err
		}
		return -1, nil
	}
	norm := normalizeRecoveryCode(code)
	if norm == "" {
		return 0, failed("malformed code", errBadCode)
	}
	if err := s.Store.UseRecoveryCode(ctx, p.ID, recoveryHash(p.ID, norm), now); err != nil {
		if enclave.IsCode(err, enclave.CodeNotFound) {
			return 0, failed("wrong or used recovery code", errBadCode)
		}
		return 0, err
	}
	return s.Store.CountRecoveryCodes(ctx, p.ID)
}

// isTOTPCode reports whether code looks like a TOTP code: six digits.
func isTOTPCode(code string) bool {
	if len(code) != totpDigits {
		return false
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// matchTOTP returns the time step, within the allowed skew of now, whose
// code is code.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	cur := now.Unix() / totpPeriod
	for _, step := range []int64{cur - totpSkew, cur, cur + totpSkew} {
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

var recoveryAlphabet = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newRecoveryCode returns 80 random bits as xxxx-xxxx-xxxx-xxxx.
func newRecoveryCode() string {
	s := recoveryAlphabet.EncodeToString(randomBytes(10))
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

// normalizeRecoveryCode lowercases a recovery code and drops separators; it
// returns "" for anything that is not one.
func normalizeRecoveryCode(code string) string {
	code = strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(code))
	if len(code) != 16 {
		return ""
	}
	for _, r := range code {
		if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') {
			return ""
		}
	}
	return code
}

// recoveryHash binds a recovery code to its principal, so equal codes of
// two people never share a hash. 80 random bits need no slow hash.
func recoveryHash(principalID, code string) []byte {
	h := sha256.Sum256([]byte(principalID + ":" + code))
	return h[:]
}
