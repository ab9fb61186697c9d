package identity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// ThrottlePolicy limits guessing of passwords, codes and secrets. Failures
// are counted per account (the name tried) and per source address within a
// window. After BackoffAfter failures each further failure doubles a delay
// during which every attempt is refused, right or wrong; at LockoutAfter
// failures the key is locked for Lockout. A successful sign-in clears the
// account's count (never the source's: one good account must not reset an
// address that guesses at others).
type ThrottlePolicy struct {
	Window              time.Duration
	AccountBackoffAfter int
	AccountLockoutAfter int
	SourceBackoffAfter  int
	SourceLockoutAfter  int
	BaseDelay           time.Duration
	MaxDelay            time.Duration
	Lockout             time.Duration
}

// DefaultThrottle: per account, three free failures, then 1 s, 2 s, 4 s …
// and a 15-minute lockout at the tenth failure within 15 minutes; per
// source address (shared by everyone behind one NAT), twenty free failures
// and a lockout at one hundred.
var DefaultThrottle = ThrottlePolicy{
	Window:              15 * time.Minute,
	AccountBackoffAfter: 3,
	AccountLockoutAfter: 10,
	SourceBackoffAfter:  20,
	SourceLockoutAfter:  100,
	BaseDelay:           time.Second,
	MaxDelay:            5 * time.Minute,
	Lockout:             15 * time.Minute,
}

func (s *Service) policy() ThrottlePolicy {
	if s.Throttle.Window <= 0 {
		return DefaultThrottle
	}
	return s.Throttle
}

// delay is how long a key with n failures is refused.
func (p ThrottlePolicy) delay(n, backoffAfter, lockoutAfter int) time.Duration {
	switch {
	case n >= lockoutAfter:
		return p.Lockout
	case n < backoffAfter:
		return 0
	}
	shift := n - backoffAfter
	if shift > 30 {
		return p.MaxDelay
	}
	return min(p.BaseDelay<<shift, p.MaxDelay)
}

// RetryAfter is the hidden cause of a rate_limited error: how long the
// caller must wait before trying again. The transport turns it into a
// Retry-After header.
type RetryAfter struct{ Wait time.Duration }

func (r *RetryAfter) Error() string { return "retry after " + r.Wait.String() }

// RetryAfterOf returns how long err asks the caller to wait, if it does.
func RetryAfterOf(err error) (time.Duration, bool) {
	var ra *RetryAfter
	if errors.As(err, &ra) {
		return ra.Wait, true
	}
	return 0, false
}

func rateLimited(wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	return &enclave.Error{Code: enclave.CodeRateLimited, Err: &RetryAfter{Wait: wait},
		Message: fmt.Sprintf("too many failed sign-in attempts; try again in %d seconds", secs)}
}

// attempt is one try to prove an identity, for throttling and audit.
type attempt struct {
	name        string // the account tried (a principal name), if known
	principalID string
	method      string // password, totp, recovery-code, client-secret, bootstrap-credential …
	action      string // audit action; "auth.login" by default
}

type throttleKey struct {
	key                    string
	backoffAfter, lockedAt int
}

func (s *Service) keys(ctx context.Context, a attempt) []throttleKey {
	p := s.policy()
	var ks []throttleKey
	if a.name != "" {
		ks = append(ks, throttleKey{"account:" + truncate(a.name, 64), p.AccountBackoffAfter, p.AccountLockoutAfter})
	}
	if src := enclave.RequestMetaFrom(ctx).SourceAddr; src != "" {
		ks = append(ks, throttleKey{"source:" + truncate(src, 64), p.SourceBackoffAfter, p.SourceLockoutAfter})
	}
	return ks
}

func (a attempt) auditAction() string {
	if a.action == "" {
		return "auth.login"
	}
	return a.action
}

// checkThrottle refuses an attempt while its account or source is in
// backoff or locked out. The refusal is audited (denied), but not counted:
// it verified nothing.
func (s *Service) checkThrottle(ctx context.Context, a attempt) error {
	ks := s.keys(ctx, a)
	if len(ks) == 0 {
		return nil
	}
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.key
	}
	ths, err := s.Store.GetThrottles(ctx, names...)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	var wait time.Duration
	for _, th := range ths {
		if th.LockedUntil.After(now) {
			wait = max(wait, th.LockedUntil.Sub(now))
		}
	}
	if wait == 0 {
		return nil
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		return s.Audit.Record(ctx, audit.Event{Action: a.auditAction(), TargetType: "principal", TargetID: a.principalID,
			Outcome: audit.Denied, Reason: "throttled",
			Details: map[string]any{"name": truncate(a.name, 64), "method": a.method, "retry_after_s": int(math.Ceil(wait.Seconds()))}})
	})
	if err != nil {
		return err
	}
	return rateLimited(wait)
}

// fail records a failed attempt — its throttle counts and its audit record,
// in a transaction of their own since the attempt's own rolled back — and
// returns err, what the caller is told.
func (s *Service) fail(ctx context.Context, a attempt, reason string, err error) error {
	now := s.Clock.Now()
	pol := s.policy()
	ferr := s.Tx.InTx(ctx, func(ctx context.Context) error {
		details := map[string]any{"name": truncate(a.name, 64), "method": a.method}
		for _, k := range s.keys(ctx, a) {
			th, err := s.Store.RecordSignInFailure(ctx, k.key, now, now.Add(-pol.Window))
			if err != nil {
				return err
			}
			if d := pol.delay(th.Failures, k.backoffAfter, k.lockedAt); d > 0 {
				if err := s.Store.LockSignIn(ctx, k.key, now.Add(d)); err != nil {
					return err
				}
			}
			if k.key[0] == 'a' {
				details["account_failures"] = th.Failures
			}
		}
		return s.Audit.Record(ctx, audit.Event{Action: a.auditAction(), TargetType: "principal", TargetID: a.principalID,
			Outcome: audit.Failed, Reason: reason, Details: details})
	})
	if ferr != nil {
		return ferr
	}
	return err
}

// succeed clears the account's failure count after a successful sign-in.
func (s *Service) succeed(ctx context.Context, a attempt) error {
	if a.name == "" {
		return nil
	}
	return s.Store.ResetThrottle(ctx, "account:"+truncate(a.name, 64))
}

// signInFailure aborts a sign-in transaction: fail records reason, and the
// caller is told err.
type signInFailure struct {
	reason string
	err    error
}

func (f *signInFailure) Error() string { return f.reason }

func failed(reason string, err error) error { return &signInFailure{reason: reason, err: err} }

// finish turns the outcome of a sign-in transaction into what the caller is told.
func (s *Service) finish(ctx context.Context, a attempt, err error) error {
	var sf *signInFailure
	if errors.As(err, &sf) {
		return s.fail(ctx, a, sf.reason, sf.err)
	}
	return err
}
