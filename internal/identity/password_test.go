package identity

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/pquerna/otp/totp"
)

func TestCheckPassword(t *testing.T) {
	for _, tt := range []struct {
		pw, name, email string
		ok              bool
	}{
		{"correct horse battery staple", "ana", "", true},
		{"Zürich-im-Frühling-2026", "ana", "", true},
		{"short", "ana", "", false},
		{"elevenchars", "ana", "", false},
		{"twelve chars", "ana", "", true},
		{strings.Repeat("ab", 128), "ana", "", false},     // 256, only two characters
		{strings.Repeat("abc", 86), "ana", "", false},     // 258 > 256
		{"passwordpassword", "ana", "", false},            // common
		{"Password2024!!", "ana", "", false},              // common base, padded
		{"!!qwertyuiop99", "ana", "", false},              // common base, padded both ends
		{"my-marianne-passphrase", "marianne", "", false}, // the user's name
		{"my-orchid-passphrase", "bob", "orchid@x.org", false},
		{"aaaaaaaaaaaaaaaa", "ana", "", false},
		{"abcdefghijklmnop", "ana", "", false},
		{"9876543210987", "ana", "", false},
		{"tab\tinside-pass", "ana", "", false},
		{"bad-utf8-\xff-passphrase", "ana", "", false},
	} {
		err := CheckPassword("password", tt.pw, tt.name, tt.email)
		if (err == nil) != tt.ok {
			t.Errorf("CheckPassword(%q, %q): %v, want ok=%v", tt.pw, tt.name, err, tt.ok)
		}
		if err != nil && (enclave.ErrorField(err) != "password" || enclave.ErrorCode(err) != enclave.CodeInvalidArgument) {
			t.Errorf("CheckPassword(%q): error %v does not name the field", tt.pw, err)
		}
	}
}

func TestPasswordHashRoundTrip(t *testing.T) {
	s := &Service{Argon2: Argon2Params{Memory: 1024, Time: 1, Threads: 1}}
	ctx := context.Background()
	h1, err := s.hashPassword(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := s.hashPassword(ctx, "correct horse battery staple")
	if h1 == h2 || !strings.HasPrefix(h1, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hashes %q %q: want a fresh salt each and the PHC form", h1, h2)
	}
	if ok, rehash, err := s.verifyPassword(ctx, h1, "correct horse battery staple"); !ok || rehash || err != nil {
		t.Fatalf("verify: %v %v %v", ok, rehash, err)
	}
	if ok, _, _ := s.verifyPassword(ctx, h1, "correct horse battery stapler"); ok {
		t.Fatal("a wrong password verified")
	}
	// A hash made with other parameters still verifies and asks for an upgrade.
	s.Argon2 = Argon2Params{Memory: 2048, Time: 1, Threads: 1}
	if ok, rehash, _ := s.verifyPassword(ctx, h1, "correct horse battery staple"); !ok || !rehash {
		t.Fatalf("old parameters: ok %v rehash %v", ok, rehash)
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA"} {
		if _, _, err := s.verifyPassword(ctx, bad, "x"); err == nil {
			t.Errorf("verify accepted hash %q", bad)
		}
	}
}

func TestDefaultArgon2IsRFC9106(t *testing.T) {
	if DefaultArgon2 != (Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 4}) {
		t.Fatalf("DefaultArgon2 = %+v; update docs/design/0004-identity.md if this is deliberate", DefaultArgon2)
	}
}

func TestMatchTOTPSkewAndSteps(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXP"
	now := time.Unix(1_700_000_010, 0)
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		code, _ := totp.GenerateCode(secret, now.Add(d))
		step, ok := matchTOTP(secret, code, now)
		if !ok || step != now.Add(d).Unix()/30 {
			t.Errorf("code %v away: step %d ok %v", d, step, ok)
		}
	}
	code, _ := totp.GenerateCode(secret, now.Add(90*time.Second))
	if _, ok := matchTOTP(secret, code, now); ok {
		t.Error("a code three steps ahead was accepted")
	}
}

func TestBackoffNumbers(t *testing.T) {
	p := DefaultThrottle
	var got []time.Duration
	for n := 1; n <= 11; n++ {
		got = append(got, p.delay(n, p.AccountBackoffAfter, p.AccountLockoutAfter))
	}
	want := []time.Duration{0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, 64 * time.Second, 15 * time.Minute, 15 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays %v, want %v", got, want)
		}
	}
	if d := p.delay(60, p.SourceBackoffAfter, p.SourceLockoutAfter); d != p.MaxDelay {
		t.Errorf("delay capped at %v, got %v", p.MaxDelay, d)
	}
}

func TestRecoveryCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		c := newRecoveryCode()
		if len(c) != 19 || normalizeRecoveryCode(c) == "" || seen[c] {
			t.Fatalf("recovery code %q", c)
		}
		seen[c] = true
		if normalizeRecoveryCode(strings.ToUpper(strings.ReplaceAll(c, "-", " "))) != normalizeRecoveryCode(c) {
			t.Fatalf("normalizing %q", c)
		}
	}
	if string(recoveryHash("a", "x")) == string(recoveryHash("b", "x")) {
		t.Fatal("recovery hashes are not bound to their principal")
	}
}

func FuzzCheckPassword(f *testing.F) {
	for _, s := range []string{"correct horse battery staple", "Password2024!!", "\x00\x01", "ééééééééééééé", "abcdefghijklm"} {
		f.Add(s, "ana")
	}
	f.Fuzz(func(t *testing.T, pw, name string) {
		err := CheckPassword("password", pw, name, "")
		if err != nil && enclave.ErrorField(err) != "password" {
			t.Fatalf("error %v does not name the field", err)
		}
		if err == nil && (len([]rune(pw)) < MinPasswordLength || len([]rune(pw)) > MaxPasswordLength || strings.ContainsAny(pw, "\x00\n\t")) {
			t.Fatalf("accepted %q", pw)
		}
	})
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=0,t=0,p=0$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			return
		}
		if h.params.Memory == 0 || h.params.Memory > maxArgonMemory || h.params.Time == 0 || h.params.Threads == 0 || len(h.salt) < 8 {
			t.Fatalf("accepted %q as %+v", s, h.params)
		}
	})
}

func FuzzNormalizeRecoveryCode(f *testing.F) {
	f.Add("abcd-efgh-ijkl-mnop")
	f.Add("ABCD EFGH IJKL MNOP")
	f.Add("0000-0000-0000-0000")
	f.Fuzz(func(t *testing.T, s string) {
		n := normalizeRecoveryCode(s)
		if n == "" {
			return
		}
		if len(n) != 16 || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Fatalf("normalized %q to %q", s, n)
		}
	})
}
