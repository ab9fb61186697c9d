package identity

import (
	"strings"
	"testing"
)

func TestAttemptName(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "",
		"ana":                   "ana",
		"ci-deploy":             "ci-deploy",
		"Correct Horse 1!":      invalidName,
		strings.Repeat("a", 64): invalidName,
		"ana@example.org":       invalidName,
	} {
		if got := attemptName(in); got != want {
			t.Errorf("attemptName(%q) = %q, want %q", in, got, want)
		}
	}
	if k := (attempt{name: "Hunter2-is-my-password"}).accountKey(); k != "account:"+invalidName {
		t.Errorf("account key %q", k)
	}
}

func TestInFlight(t *testing.T) {
	var f inFlight
	if !f.acquire("account:ana", 2) || !f.acquire("account:ana", 2) {
		t.Fatal("first two refused")
	}
	if f.acquire("account:ana", 2) {
		t.Fatal("third admitted")
	}
	if !f.acquire("account:bob", 2) {
		t.Fatal("another account refused")
	}
	f.release("account:ana")
	if !f.acquire("account:ana", 2) {
		t.Fatal("refused after a release")
	}
	f.release("account:ana")
	f.release("account:ana")
	f.release("account:bob")
	if len(f.n) != 0 {
		t.Fatalf("left %v", f.n)
	}
}
