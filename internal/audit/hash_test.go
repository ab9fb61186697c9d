package audit_test

import (
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
)

// TestHashIsStable pins the canonical form: records already written must
// keep verifying, so any change to it is a format version change.
func TestHashIsStable(t *testing.T) {
	e := &audit.Event{ID: "0190a0b0-0000-7000-8000-000000000001", Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		ActorID: "u1", ActorKind: "user", ActorName: "ana \"the\" \\ \x01", AuthMethod: "token", ActorMFA: true,
		Action: "zone.create", TargetType: "zone", TargetID: "z", Scope: "/zones/z", Outcome: audit.Success,
		DetailsJSON: []byte(`{"name":"z"}`), PrevID: "p", PrevHash: "ab"}
	const want = "fa20be487af4e4ff2786a18d0988d2844c93e5c8f4a62a5fa71060f4b2176eb6"
	got := audit.Hash(e)
	if got != want {
		t.Fatalf("canonical hash changed: %s, was %s", got, want)
	}
	e.ActorMFA = false
	if audit.Hash(e) == want {
		t.Fatal("a field is not covered by the hash")
	}
}
