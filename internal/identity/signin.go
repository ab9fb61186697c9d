package identity

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// ChallengeTTL is how long the second step of a sign-in may follow the first.
const ChallengeTTL = 5 * time.Minute

// The scopes of a person's session while MFA is required and they have not
// enrolled: they can see who they are and enrol, nothing else. The
// bootstrap administrator's first session may also set a first password.
var (
	EnrollmentScopes          = []string{"self/read", "self/mfa/*"}
	bootstrapEnrollmentScopes = []string{"self/read", "self/mfa/*", "self/password/write"}
)

// LoginResult is what a sign-in returns: a token (its Secret shown once),
// or, when the password was right and a second factor is due, a challenge
// to answer at the MFA step.
type LoginResult struct {
	Secret    string     `json:"token,omitempty"`
	Token     *Token     `json:"token_info,omitempty"`
	Principal *Principal `json:"principal,omitempty"`
	// MFARequired says the password was right and Challenge must be sent
	// with a TOTP or recovery code to POST /api/v1/auth/login/mfa.
	MFARequired        bool       `json:"mfa_required,omitempty"`
	Challenge          string     `json:"challenge,omitempty"`
	ChallengeExpiresAt *time.Time `json:"challenge_expires_at,omitempty"`
	// EnrollmentRequired says the token may only enrol in MFA (and set a
	// first password): MFA is required for people and this one has none.
	EnrollmentRequired bool `json:"mfa_enrollment_required,omitempty"`
}

// What a failed sign-in is told. Each is the same whatever went wrong —
// an unknown name, the wrong kind of principal, a disabled one, a wrong
// secret — so that sign-in does not reveal which names exist or what they
// are; the audit record (and only it) keeps the reason.
var (
	errBadLogin        = enclave.Errorf(enclave.CodeUnauthenticated, "invalid name or credential")
	errBadPassword     = enclave.Errorf(enclave.CodeUnauthenticated, "invalid name or password")
	errBadCode         = enclave.Errorf(enclave.CodeUnauthenticated, "invalid or already used code")
	errBadChallenge    = enclave.Errorf(enclave.CodeUnauthenticated, "the sign-in challenge is invalid, expired or used; sign in with your password again")
	errBadClientSecret = enclave.Errorf(enclave.CodeUnauthenticated, "invalid client_id or client_secret")
)

// lookup finds the principal a sign-in names. It returns a failure (never
// saying which part was wrong) for unknown, disabled or deleted ones.
func (s *Service) lookup(ctx context.Context, a *attempt, generic error) (*Principal, error) {
	p, err := s.Store.GetPrincipalByName(ctx, a.name)
	switch {
	case enclave.IsCode(err, enclave.CodeNotFound):
		return nil, failed("unknown principal", generic)
	case err != nil:
		return nil, err
	}
	a.principalID = p.ID
	switch {
	case p.DeletedAt != nil:
		return nil, failed("principal deleted", generic)
	case p.Disabled:
		return nil, failed("principal disabled", generic)
	}
	return p, nil
}

// Login exchanges a one-time bootstrap credential for an API token. While
// MFA is required for people, the token may only set a first password and
// enrol. Every attempt is audited, failures included; a failure never says
// which part was wrong.
func (s *Service) Login(ctx context.Context, name, credential string) (*LoginResult, error) {
	r, err := s.reserve(ctx, attempt{name: name, method: "bootstrap-credential"})
	if err != nil {
		return nil, err
	}
	defer r.done()
	var res *LoginResult
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if name == "" || credential == "" || len(name) > 256 || len(credential) > maxSecretLength {
			return failed("malformed", errBadLogin)
		}
		p, err := s.lookup(ctx, &r.a, errBadLogin)
		if err != nil {
			return err
		}
		if !p.IsPerson() {
			return failed("service principal used the person sign-in", errBadLogin)
		}
		c, err := s.matchCredential(ctx, p, credential)
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		if err := s.Store.UseCredential(ctx, c.ID, now); err != nil {
			if enclave.IsCode(err, enclave.CodeConflict) {
				return failed("credential already used", errBadLogin)
			}
			return err
		}
		required, err := s.mfaRequired(ctx)
		if err != nil {
			return err
		}
		t := &Token{Name: "login", Kind: TokenLogin, CreatedAt: now, ExpiresAt: now.Add(ttlOr(s.TokenTTL, DefaultTokenTTL))}
		if required && !p.MFAEnrolled {
			t.Scopes = EnrollmentScopes
			if !p.PasswordSet {
				t.Scopes = bootstrapEnrollmentScopes
			}
		}
		res, err = s.signIn(ctx, r, p, t)
		return err
	})
	return res, r.finish(ctx, err)
}

func (s *Service) matchCredential(ctx context.Context, p *Principal, credential string) (*Credential, error) {
	creds, err := s.Store.UnusedCredentials(ctx, p.ID, bootstrapKind)
	if err != nil {
		return nil, err
	}
	h := hashSecret(credential)
	for _, c := range creds {
		if subtle.ConstantTimeCompare(c.Hash, h) == 1 {
			return c, nil
		}
	}
	return nil, failed("wrong or used credential", errBadLogin)
}

// signIn issues t for p, settles the attempt's reservation as a success
// and audits the sign-in; it runs in the sign-in's transaction.
func (s *Service) signIn(ctx context.Context, r *reservation, p *Principal, t *Token) (*LoginResult, error) {
	secret, err := s.issueToken(ctx, p, t)
	if err != nil {
		return nil, err
	}
	if err := r.succeeded(ctx); err != nil {
		return nil, err
	}
	actx := enclave.WithActor(ctx, actorFor(ctx, p, t, r.a.method))
	details := map[string]any{"method": r.a.method, "token_kind": t.Kind, "expires_at": t.ExpiresAt, "mfa": t.MFA}
	if len(t.Scopes) > 0 {
		details["scopes"] = t.Scopes
	}
	if err := s.Audit.Record(actx, audit.Event{Action: "auth.login", TargetType: "token", TargetID: t.ID, Details: details}); err != nil {
		return nil, err
	}
	return &LoginResult{Secret: secret, Token: t, Principal: p,
		EnrollmentRequired: p.IsPerson() && !p.MFAEnrolled && len(t.Scopes) > 0}, nil
}

// LoginPassword signs a person in with their password. When they have
// enrolled in MFA it returns a challenge for LoginMFA instead of a token;
// when MFA is required and they have not, the session may only enrol.
func (s *Service) LoginPassword(ctx context.Context, name, password string) (*LoginResult, error) {
	r, err := s.reserve(ctx, attempt{name: name, method: "password"})
	if err != nil {
		return nil, err
	}
	defer r.done()
	if name == "" || password == "" || len(name) > 256 || len(password) > 4*MaxPasswordLength {
		return nil, r.failed(ctx, "malformed", errBadPassword)
	}
	p, enc, err := s.passwordOf(ctx, &r.a, password)
	if err != nil {
		return nil, r.finish(ctx, err)
	}
	ok, rehash, err := s.verifyPassword(ctx, enc, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, r.failed(ctx, "wrong password", errBadPassword)
	}
	var upgraded string
	if rehash {
		if upgraded, err = s.hashPassword(ctx, password); err != nil {
			return nil, err
		}
	}
	var res *LoginResult
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now()
		if upgraded != "" {
			if err := s.Store.SetPasswordHash(ctx, p.ID, upgraded, now); err != nil {
				return err
			}
		}
		if p.MFAEnrolled {
			secret := newSecret(challengePrefix)
			c := &Challenge{ID: newID(), PrincipalID: p.ID, Hash: hashSecret(secret), CreatedAt: now, ExpiresAt: now.Add(ChallengeTTL)}
			if err := s.Store.CreateChallenge(ctx, c); err != nil {
				return err
			}
			if err := r.passed(ctx); err != nil {
				return err
			}
			if err := s.Audit.Record(ctx, audit.Event{Action: "auth.login.challenge", TargetType: "principal", TargetID: p.ID,
				Details: map[string]any{"name": p.Name, "method": "password", "expires_at": c.ExpiresAt}}); err != nil {
				return err
			}
			res = &LoginResult{MFARequired: true, Challenge: secret, ChallengeExpiresAt: &c.ExpiresAt}
			return nil
		}
		required, err := s.mfaRequired(ctx)
		if err != nil {
			return err
		}
		t := &Token{Name: "session", Kind: TokenSession, CreatedAt: now, ExpiresAt: now.Add(ttlOr(s.SessionTTL, DefaultSessionTTL))}
		if required {
			t.Scopes = EnrollmentScopes
		}
		res, err = s.signIn(ctx, r, p, t)
		return err
	})
	return res, r.finish(ctx, err)
}

// passwordOf finds the person a password sign-in names and their password
// hash. For every failure it first spends the time a verification takes.
func (s *Service) passwordOf(ctx context.Context, a *attempt, password string) (*Principal, string, error) {
	p, err := s.lookup(ctx, a, errBadPassword)
	if err == nil && !p.IsPerson() {
		err = failed("service principal used the person sign-in", errBadPassword)
	}
	var enc string
	if err == nil {
		enc, err = s.Store.GetPasswordHash(ctx, p.ID)
		if enclave.IsCode(err, enclave.CodeNotFound) {
			err = failed("no password set", errBadPassword)
		}
	}
	if err != nil {
		s.burnPasswordTime(ctx, password)
		return nil, "", err
	}
	return p, enc, nil
}

// LoginMFA completes a password sign-in with a TOTP code or a recovery
// code and returns a session token whose sign-in used MFA. Each TOTP code
// and each recovery code is accepted once.
func (s *Service) LoginMFA(ctx context.Context, challenge, code string) (*LoginResult, error) {
	a := attempt{method: "totp"}
	code = strings.TrimSpace(code)
	if !isTOTPCode(code) {
		a.method = "recovery-code"
	}
	// Without a challenge there is no account to count against: only the
	// source address.
	reject := func(reason string) (*LoginResult, error) {
		r, err := s.reserve(ctx, a)
		if err != nil {
			return nil, err
		}
		defer r.done()
		return nil, r.failed(ctx, reason, errBadChallenge)
	}
	if !strings.HasPrefix(challenge, challengePrefix) || len(challenge) > 128 || code == "" || len(code) > 64 {
		return reject("malformed")
	}
	c, err := s.Store.GetChallengeByHash(ctx, hashSecret(challenge))
	if enclave.IsCode(err, enclave.CodeNotFound) {
		return reject("unknown challenge")
	}
	if err != nil {
		return nil, err
	}
	p, err := s.Store.GetPrincipal(ctx, c.PrincipalID)
	if err != nil {
		return nil, err
	}
	a.name, a.principalID = p.Name, p.ID
	r, err := s.reserve(ctx, a)
	if err != nil {
		return nil, err
	}
	defer r.done()
	var res *LoginResult
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now()
		switch {
		case c.UsedAt != nil:
			return failed("challenge already used", errBadChallenge)
		case !now.Before(c.ExpiresAt):
			return failed("challenge expired", errBadChallenge)
		case !p.active():
			return failed("principal disabled or deleted", errBadChallenge)
		}
		left, err := s.verifySecondFactor(ctx, p, code, now)
		if err != nil {
			return err
		}
		if err := s.Store.UseChallenge(ctx, c.ID, now); err != nil {
			if enclave.IsCode(err, enclave.CodeConflict) {
				return failed("challenge already used", errBadChallenge)
			}
			return err
		}
		t := &Token{Name: "session", Kind: TokenSession, MFA: true, CreatedAt: now, ExpiresAt: now.Add(ttlOr(s.SessionTTL, DefaultSessionTTL))}
		res, err = s.signIn(ctx, r, p, t)
		if err == nil && a.method == "recovery-code" {
			err = s.Audit.Record(enclave.WithActor(ctx, actorFor(ctx, p, t, a.method)), audit.Event{Action: "mfa.recovery_code.use",
				TargetType: "principal", TargetID: p.ID, Details: map[string]any{"remaining": left}})
		}
		return err
	})
	return res, r.finish(ctx, err)
}

// LoginClient signs a service principal in with one of its client secrets
// and returns a short-lived service token. People cannot use it.
func (s *Service) LoginClient(ctx context.Context, clientID, clientSecret string) (*LoginResult, error) {
	r, err := s.reserve(ctx, attempt{name: clientID, method: "client-secret"})
	if err != nil {
		return nil, err
	}
	defer r.done()
	var res *LoginResult
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if clientID == "" || clientSecret == "" || len(clientID) > 256 || len(clientSecret) > maxSecretLength {
			return failed("malformed", errBadClientSecret)
		}
		p, err := s.lookup(ctx, &r.a, errBadClientSecret)
		if err != nil {
			return err
		}
		if p.IsPerson() {
			return failed("person used the client-secret sign-in", errBadClientSecret)
		}
		cs, owner, err := s.Store.GetClientSecretByHash(ctx, hashSecret(clientSecret))
		switch {
		case enclave.IsCode(err, enclave.CodeNotFound):
			return failed("wrong client secret", errBadClientSecret)
		case err != nil:
			return err
		case owner.ID != p.ID:
			return failed("client secret of another principal", errBadClientSecret)
		case cs.RevokedAt != nil:
			return failed("client secret revoked", errBadClientSecret)
		}
		now := s.Clock.Now()
		if !now.Before(cs.ExpiresAt) {
			return failed("client secret expired", errBadClientSecret)
		}
		if err := s.Store.TouchClientSecret(ctx, cs.ID, now); err != nil {
			return err
		}
		t := &Token{Name: "secret " + cs.ID, Kind: TokenService, CreatedAt: now,
			ExpiresAt: now.Add(ttlOr(s.ServiceTokenTTL, DefaultServiceTokenTTL))}
		res, err = s.signIn(ctx, r, p, t)
		return err
	})
	return res, r.finish(ctx, err)
}
