package identity

import (
	"bufio"
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters of new password hashes.
// Existing hashes carry their own parameters in their PHC string, so
// changing these never locks anyone out; a hash with other parameters is
// upgraded at the next successful sign-in.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultArgon2 is RFC 9106's second recommended option (64 MiB, 3 passes,
// 4 lanes): about 0.15 s per hash on two cores, and 64 MiB per guess for an
// attacker. See docs/design/0004-identity.md.
var DefaultArgon2 = Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 4}

const (
	argonSaltLen = 16
	argonKeyLen  = 32
	// maxArgonMemory bounds the parameters a stored hash may ask for, so a
	// corrupted row cannot make verification allocate without limit.
	maxArgonMemory = 1 << 20 // 1 GiB
)

func (s *Service) argon() Argon2Params {
	if s.Argon2.Memory == 0 || s.Argon2.Time == 0 || s.Argon2.Threads == 0 {
		return DefaultArgon2
	}
	return s.Argon2
}

// hashGate bounds how many hashes run at once: each takes Memory KiB, and
// a burst of sign-ins must not exhaust the server's memory.
func (s *Service) hashGate() chan struct{} {
	s.hashOnce.Do(func() { s.hashSem = make(chan struct{}, max(2, runtime.GOMAXPROCS(0))) })
	return s.hashSem
}

func (s *Service) idKey(ctx context.Context, password, salt []byte, p Argon2Params) ([]byte, error) {
	gate := s.hashGate()
	select {
	case gate <- struct{}{}:
	case <-ctx.Done():
		return nil, enclave.Wrap(enclave.CodeUnavailable, ctx.Err(), "sign-in is busy; try again")
	}
	defer func() { <-gate }()
	defer releaseHashMemory()
	return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, argonKeyLen), nil
}

// releasePending debounces releaseHashMemory.
var releasePending atomic.Bool

// releaseHashMemory hands the memory of password hashing back to the
// operating system a second after a burst of sign-ins. Argon2id allocates
// its memory parameter (64 MiB) on every hash by design; left to the
// runtime, a server would keep the high-water mark of its busiest minute
// of sign-ins resident for long after, which crowds out what it needs for
// data transfers on a small machine.
func releaseHashMemory() {
	if releasePending.CompareAndSwap(false, true) {
		time.AfterFunc(time.Second, func() {
			releasePending.Store(false)
			debug.FreeOSMemory()
		})
	}
}

// hashPassword returns the PHC string of password with a fresh salt:
// $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	p := s.argon()
	salt := randomBytes(argonSaltLen)
	key, err := s.idKey(ctx, []byte(password), salt, p)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// phc is a parsed argon2id PHC string.
type phc struct {
	params    Argon2Params
	salt, key []byte
}

func parsePHC(s string) (*phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, fmt.Errorf("not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return nil, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	var h phc
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.params.Memory, &h.params.Time, &h.params.Threads); err != nil {
		return nil, fmt.Errorf("bad argon2 parameters %q: %w", parts[3], err)
	}
	if h.params.Memory == 0 || h.params.Memory > maxArgonMemory || h.params.Time == 0 || h.params.Time > 100 || h.params.Threads == 0 {
		return nil, fmt.Errorf("argon2 parameters %q out of range", parts[3])
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return nil, fmt.Errorf("bad argon2 salt")
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) < 16 {
		return nil, fmt.Errorf("bad argon2 hash")
	}
	return &h, nil
}

// verifyPassword reports whether password matches the PHC string encoded,
// comparing in constant time, and whether the hash should be upgraded to
// the current parameters.
func (s *Service) verifyPassword(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	h, err := parsePHC(encoded)
	if err != nil {
		return false, false, enclave.Wrap(enclave.CodeInternal, err, "stored password hash is unreadable")
	}
	key, err := s.idKey(ctx, []byte(password), h.salt, h.params)
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(key, h.key) == 1
	return ok, ok && h.params != s.argon(), nil
}

// burnPasswordTime spends what a verification costs, so that a sign-in as
// an unknown name or a principal without a password takes as long as one
// with a wrong password and does not reveal which names exist.
func (s *Service) burnPasswordTime(ctx context.Context, password string) {
	_, _ = s.idKey(ctx, []byte(password), make([]byte, argonSaltLen), s.argon())
}

// Password policy (NIST SP 800-63B): length rather than composition rules,
// and no password that is known, repetitive or made of the user's own name.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

//go:embed common_passwords.txt
var commonPasswordsText string

// commonPasswords are passwords and base words at the top of breach lists;
// a password that is one of them, with or without digits and punctuation
// around it, is refused.
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = true
		}
	}
	return m
}()

// CheckPassword applies the password policy to password for the principal
// named name (and with the given email); errors name field.
func CheckPassword(field, password, name, email string) error {
	if !utf8.ValidString(password) {
		return enclave.FieldError(field, "%s must be valid UTF-8", field)
	}
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLength {
		return enclave.FieldError(field, "%s must be at least %d characters long (it has %d); a passphrase of a few words is easiest", field, MinPasswordLength, n)
	}
	if n > MaxPasswordLength {
		return enclave.FieldError(field, "%s must be at most %d characters long", field, MaxPasswordLength)
	}
	for _, r := range password {
		if unicode.IsControl(r) {
			return enclave.FieldError(field, "%s must not contain control characters", field)
		}
	}
	lower := strings.ToLower(password)
	for _, own := range ownWords(name, email) {
		if strings.Contains(lower, own) {
			return enclave.FieldError(field, "%s must not contain the user's name or email", field)
		}
	}
	if commonPasswords[lower] || commonPasswords[strings.TrimFunc(lower, notLetter)] {
		return enclave.FieldError(field, "%s is too common: it appears in lists of breached passwords", field)
	}
	if repetitive(lower) {
		return enclave.FieldError(field, "%s must not be a repeated or sequential run of characters", field)
	}
	return nil
}

func notLetter(r rune) bool { return !unicode.IsLetter(r) }

// ownWords are the parts of a user's name and email a password must not contain.
func ownWords(name, email string) []string {
	var out []string
	add := func(w string) {
		if w = strings.ToLower(w); len(w) >= 4 {
			out = append(out, w)
		}
	}
	add(name)
	if local, _, ok := strings.Cut(email, "@"); ok {
		add(local)
	}
	return out
}

// repetitive reports whether s uses at most two distinct characters, or is
// one run of consecutive characters up or down ("abcdefghijkl", "987654321098").
func repetitive(s string) bool {
	rs := []rune(s)
	distinct := map[rune]bool{}
	for _, r := range rs {
		distinct[r] = true
	}
	if len(distinct) <= 2 {
		return true
	}
	up, down := true, true
	for i := 1; i < len(rs); i++ {
		d := rs[i] - rs[i-1]
		up = up && (d == 1 || (rs[i-1] == '9' && rs[i] == '0'))
		down = down && (d == -1 || (rs[i-1] == '0' && rs[i] == '9'))
	}
	return up || down
}

// PasswordChange is a person's request to change their own password.
type PasswordChange struct {
	// CurrentPassword is required once a password is set.
	CurrentPassword string `json:"current_password,omitempty"`
	NewPassword     string `json:"new_password"`
}

// ChangePassword sets the calling person's password. Once a password is set
// the current one must be given (a wrong one counts as a failed sign-in);
// before that — the bootstrap administrator's first session — it may be set
// without. The caller's other sessions end; its current one and its
// personal access tokens stay.
func (s *Service) ChangePassword(ctx context.Context, in PasswordChange) error {
	a, p, err := s.self(ctx)
	if err != nil {
		return err
	}
	if !p.IsPerson() {
		return enclave.Errorf(enclave.CodeFailedPrecondition, "service principals have no password; they sign in with a client secret")
	}
	if err := CheckPassword("new_password", in.NewPassword, p.Name, p.Email); err != nil {
		return err
	}
	var r *reservation
	if p.PasswordSet {
		if in.CurrentPassword == "" {
			return enclave.FieldError("current_password", "current_password is required to change the password")
		}
		if len(in.CurrentPassword) > 4*MaxPasswordLength {
			return enclave.FieldError("current_password", "current_password is wrong")
		}
		if in.NewPassword == in.CurrentPassword {
			return enclave.FieldError("new_password", "new_password must differ from the current one")
		}
		att := attempt{name: p.Name, principalID: p.ID, method: "password", action: "auth.password.change"}
		if r, err = s.reserve(ctx, att); err != nil {
			return err
		}
		defer r.done()
		enc, err := s.Store.GetPasswordHash(ctx, p.ID)
		if err != nil {
			return err
		}
		ok, _, err := s.verifyPassword(ctx, enc, in.CurrentPassword)
		if err != nil {
			return err
		}
		if !ok {
			wrong := &enclave.Error{Code: enclave.CodeInvalidArgument, Field: "current_password", Message: "current_password is wrong"}
			return r.failed(ctx, "wrong current password", wrong)
		}
	}
	hash, err := s.hashPassword(ctx, in.NewPassword)
	if err != nil {
		return err
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		old := *p
		p.PasswordSet = true
		if err := s.admitPrincipal(ctx, enclave.OpUpdate, p, &old); err != nil {
			return err
		}
		if err := s.Store.SetPasswordHash(ctx, p.ID, hash, s.Clock.Now()); err != nil {
			return err
		}
		if r != nil {
			if err := r.passed(ctx); err != nil {
				return err
			}
		}
		ended, err := s.Store.RevokePrincipalTokens(ctx, p.ID, []TokenKind{TokenSession, TokenLogin}, a.TokenID, s.Clock.Now())
		if err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "auth.password.change", TargetType: "principal", TargetID: p.ID,
			Details: map[string]any{"name": p.Name, "first_password": !old.PasswordSet, "sessions_ended": ended}})
	})
}
