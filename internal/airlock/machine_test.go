package airlock

import (
	"testing"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// The state machine allows exactly the transitions the design names; every
// other pair of states is refused.
func TestMachineAllowsExactlyTheDesignedTransitions(t *testing.T) {
	want := map[[2]State]bool{
		{Draft, Submitted}: true, {Submitted, InReview}: true, {InReview, ApprovalInProgress}: true,
		{ApprovalInProgress, Approved}: true, {InReview, RejectionInProgress}: true, {RejectionInProgress, Rejected}: true,
		{Submitted, BlockingInProgress}: true, {BlockingInProgress, BlockedByScan}: true,
		{Draft, Cancelled}: true, {InReview, Cancelled}: true,
		{Submitted, Failed}: true, {ApprovalInProgress, Failed}: true, {RejectionInProgress, Failed}: true, {BlockingInProgress, Failed}: true,
		{Approved, Revoked}: true,
		// Clean imports of a project that needs no import review.
		{Submitted, ApprovalInProgress}: true,
	}
	allowed := 0
	for _, from := range States {
		for _, to := range States {
			_, ok := Allowed(from, to)
			_, err := check(from, to)
			if ok != want[[2]State{from, to}] {
				t.Errorf("%s → %s: allowed %v, want %v", from, to, ok, want[[2]State{from, to}])
			}
			if ok != (err == nil) {
				t.Errorf("%s → %s: check disagrees with Allowed: %v", from, to, err)
			}
			if err != nil && enclave.ErrorCode(err) != enclave.CodeFailedPrecondition {
				t.Errorf("%s → %s: refused with %v, want failed_precondition", from, to, err)
			}
			if ok {
				allowed++
			}
		}
	}
	if allowed != len(want) {
		t.Errorf("%d transitions allowed, want %d", allowed, len(want))
	}
	for _, tr := range Machine {
		if tr.By != Requester && tr.By != Reviewer && tr.By != System {
			t.Errorf("%s → %s: taken by %q", tr.From, tr.To, tr.By)
		}
		if tr.From.Final() && tr.From != Approved {
			t.Errorf("%s is final but has a way out", tr.From)
		}
		if tr.By == System && !tr.From.InProgress() {
			t.Errorf("the platform takes %s → %s, but %s is not a state it works in", tr.From, tr.To, tr.From)
		}
	}
	// Every in-progress state can fail, and every final state but approved is a dead end.
	for _, s := range States {
		if s.InProgress() {
			if _, ok := Allowed(s, Failed); !ok {
				t.Errorf("%s cannot fail", s)
			}
		}
	}
}
