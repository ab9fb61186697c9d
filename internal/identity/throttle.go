package identity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// ThrottlePolicy limits guessing of passwords, codes and secrets. Attempts
// are counted per account (the name tried) and per source address within a
// window, before they are verified, as failures. After BackoffAfter
// failures each further failure doubles a delay during which every attempt
// is refused, right or wrong; at LockoutAfter failures the key is locked
// for Lockout. A successful sign-in clears the account's count and takes
// its own attempt back from the source's (never more: one good account
// must not reset an address that guesses at others).
type ThrottlePolicy struct {
	Window              time.Duration
	AccountBackoffAfter int
	AccountLockoutAfter int
	SourceBackoffAfter  int
	SourceLockoutAfter  int
	BaseDelay           time.Duration
	MaxDelay            time.Duration
	Lockout             time.Duration
	// AccountInFlight bounds the verifications of one account that run at
	// once in one server process (0: no bound). The counts in the database
	// already bound how many attempts are verified, across processes too;
	// this keeps a burst against one account from occupying the
	// password-hashing slots everyone shares.
	AccountInFlight int
}

// DefaultThrottle: per account, three free failures, then 1 s, 2 s, 4 s …
// and a 15-minute lockout at the tenth failure within 15 minutes; per
// source address (shared by everyone behind one NAT), twenty free failures
// and a lockout at one hundred; at most two verifications of one account
// at a time.
var DefaultThrottle = ThrottlePolicy{
	Window:              15 * time.Minute,
	AccountBackoffAfter: 3,
	AccountLockoutAfter: 10,
	SourceBackoffAfter:  20,
	SourceLockoutAfter:  100,
	BaseDelay:           time.Second,
	MaxDelay:            5 * time.Minute,
	Lockout:             15 * time.Minute,
	AccountInFlight:     2,
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

// invalidName stands for a name that is not a valid principal name — often
// a password typed into the name field — in audit records and throttle
// keys, so that neither ever holds it. No principal has such a name, so
// throttling all of them together costs nobody a sign-in.
const invalidName = "(invalid name)"

// attemptName is how a sign-in's name is recorded: as typed when it is a
// valid principal name, else invalidName ("" stays "": nothing was typed).
func attemptName(name string) string {
	if name == "" || enclave.ValidateName("name", name) == nil {
		return name
	}
	return invalidName
}

// attempt is one try to prove an identity, for throttling and audit.
type attempt struct {
	name        string // the account tried (a principal name as typed), if known
	principalID string
	method      string // password, totp, recovery-code, client-secret, bootstrap-credential …
	action      string // audit action; "auth.login" by default
}

type throttleKey struct {
	key                    string
	backoffAfter, lockedAt int
}

func (a attempt) accountKey() string {
	if a.name == "" {
		return ""
	}
	return "account:" + attemptName(a.name)
}

func (s *Service) keys(ctx context.Context, a attempt) []throttleKey {
	p := s.policy()
	var ks []throttleKey
	if k := a.accountKey(); k != "" {
		ks = append(ks, throttleKey{k, p.AccountBackoffAfter, p.AccountLockoutAfter})
	}
	if src := enclave.RequestMetaFrom(ctx).SourceAddr; src != "" {
		ks = append(ks, throttleKey{"source:" + enclave.Truncate(src, 64), p.SourceBackoffAfter, p.SourceLockoutAfter})
	}
	return ks
}

func (a attempt) auditAction() string {
	if a.action == "" {
		return "auth.login"
	}
	return a.action
}

// inFlight counts the verifications of each account running in this process.
type inFlight struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *inFlight) acquire(key string, limit int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	if f.n[key] >= limit {
		return false
	}
	f.n[key]++
	return true
}

func (f *inFlight) release(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key]--; f.n[key] <= 0 {
		delete(f.n, key)
	}
}

// reservation is an attempt counted as a failure before it is verified.
// Exactly one of failed, succeeded or passed settles it; done releases
// its in-flight slot.
type reservation struct {
	s    *Service
	a    attempt
	keys []reservedKey
	slot string // the in-flight key held, if any
	// failures is the account's count including this attempt.
	failures int
}

// reservedKey is one counted key: the lock it had before this attempt and
// the lock this attempt set (zero when it set none).
type reservedKey struct {
	key            string
	prevLock, lock time.Time
}

var errThrottled = errors.New("throttled")

// reserve counts an attempt against its account and its source address
// before anything is verified: in one transaction it adds one to each key
// and, when that reaches the backoff, locks the key as though the attempt
// had already failed. While a key is locked the attempt is refused
// (rate_limited, audited as denied, not counted) — so of any number of
// concurrent attempts, only as many are verified as the policy allows
// failures. The caller must defer done and settle the reservation.
func (s *Service) reserve(ctx context.Context, a attempt) (*reservation, error) {
	r := &reservation{s: s, a: a}
	if k, limit := a.accountKey(), s.policy().AccountInFlight; k != "" && limit > 0 {
		if !s.flights.acquire(k, limit) {
			return nil, s.refuse(ctx, a, "concurrent attempts", time.Second)
		}
		r.slot = k
	}
	ks := s.keys(ctx, a)
	if len(ks) == 0 {
		return r, nil
	}
	now := s.Clock.Now()
	pol := s.policy()
	var wait time.Duration
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		r.keys, r.failures, wait = r.keys[:0], 0, 0
		for _, k := range ks {
			th, err := s.Store.CountSignInAttempt(ctx, k.key, now, now.Add(-pol.Window))
			if err != nil {
				return err
			}
			if th.LockedUntil.After(now) {
				wait = max(wait, th.LockedUntil.Sub(now))
				continue
			}
			rk := reservedKey{key: k.key, prevLock: th.LockedUntil}
			if d := pol.delay(th.Failures, k.backoffAfter, k.lockedAt); d > 0 {
				rk.lock = now.Add(d)
				if err := s.Store.LockSignIn(ctx, k.key, rk.lock); err != nil {
					return err
				}
			}
			if strings.HasPrefix(k.key, "account:") {
				r.failures = th.Failures
			}
			r.keys = append(r.keys, rk)
		}
		if wait > 0 {
			return errThrottled // rolls the counts back: a refused attempt is not counted
		}
		return nil
	})
	if err != nil {
		r.done()
		if errors.Is(err, errThrottled) {
			return nil, s.refuse(ctx, a, "throttled", wait)
		}
		return nil, err
	}
	return r, nil
}

// refuse audits an attempt refused before verification and returns the
// rate_limited error that tells the caller how long to wait.
func (s *Service) refuse(ctx context.Context, a attempt, reason string, wait time.Duration) error {
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		return s.Audit.Record(ctx, audit.Event{Action: a.auditAction(), TargetType: "principal", TargetID: a.principalID,
			Outcome: audit.Denied, Reason: reason,
			Details: map[string]any{"name": attemptName(a.name), "method": a.method, "retry_after_s": int(math.Ceil(wait.Seconds()))}})
	})
	if err != nil {
		return err
	}
	return rateLimited(wait)
}

// done releases the reservation's in-flight slot.
func (r *reservation) done() {
	if r.slot != "" {
		r.s.flights.release(r.slot)
		r.slot = ""
	}
}

// failed settles a failed attempt: it stays counted, and is audited in a
// transaction of its own since the attempt's own rolled back. It returns
// err, what the caller is told.
func (r *reservation) failed(ctx context.Context, reason string, err error) error {
	details := map[string]any{"name": attemptName(r.a.name), "method": r.a.method}
	if r.a.accountKey() != "" && len(r.keys) > 0 {
		details["account_failures"] = r.failures
	}
	ferr := r.s.Tx.InTx(ctx, func(ctx context.Context) error {
		return r.s.Audit.Record(ctx, audit.Event{Action: r.a.auditAction(), TargetType: "principal", TargetID: r.a.principalID,
			Outcome: audit.Failed, Reason: reason, Details: details})
	})
	if ferr != nil {
		return ferr
	}
	return err
}

// succeeded settles an attempt that signed in, in the sign-in's
// transaction: the account's count is cleared (it proved who it is), and
// the source's loses this attempt again (never more: one good account must
// not reset an address that guesses at others).
func (r *reservation) succeeded(ctx context.Context) error {
	for _, k := range r.keys {
		var err error
		if strings.HasPrefix(k.key, "account:") {
			err = r.s.Store.ResetThrottle(ctx, k.key)
		} else {
			err = r.s.Store.UncountSignInAttempt(ctx, k.key, k.lock, k.prevLock)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// passed settles a right answer that is not yet a sign-in — a password
// before the second factor, the current password when changing it, a code
// that removes MFA: the attempt is taken back from every key, and earlier
// failures stay counted, so that knowing the password does not reset the
// guessing of the second factor.
func (r *reservation) passed(ctx context.Context) error {
	for _, k := range r.keys {
		if err := r.s.Store.UncountSignInAttempt(ctx, k.key, k.lock, k.prevLock); err != nil {
			return err
		}
	}
	return nil
}

// signInFailure aborts a sign-in transaction: the reservation records
// reason, and the caller is told err.
type signInFailure struct {
	reason string
	err    error
}

func (f *signInFailure) Error() string { return f.reason }

func failed(reason string, err error) error { return &signInFailure{reason: reason, err: err} }

// finish turns the outcome of a sign-in transaction into what the caller is told.
func (r *reservation) finish(ctx context.Context, err error) error {
	var sf *signInFailure
	if errors.As(err, &sf) {
		return r.failed(ctx, sf.reason, sf.err)
	}
	return err
}
