package airlock

import "github.com/enclave-ml/enclave/internal/enclave"

// Who may take a transition.
type Who string

// Who acts.
const (
	Requester Who = "requester"
	Reviewer  Who = "reviewer"
	System    Who = "system"
)

// Transition is one allowed move of the state machine.
type Transition struct {
	From   State
	To     State
	Action string
	By     Who
}

// Machine is every allowed transition; any other is refused. The platform
// takes the system transitions when the work a state stands for is done.
var Machine = []Transition{
	{Draft, Submitted, "submit", Requester},
	{Draft, Cancelled, "cancel", Requester},
	{Submitted, InReview, "scanned", System},
	{Submitted, BlockingInProgress, "scan-found-malware", System},
	// Clean imports of a project whose settings say imports need no
	// review go straight to approval.
	{Submitted, ApprovalInProgress, "scanned-no-review", System},
	{Submitted, Failed, "fail", System},
	{InReview, ApprovalInProgress, "approve", Reviewer},
	{InReview, RejectionInProgress, "reject", Reviewer},
	{InReview, Cancelled, "cancel", Requester},
	{ApprovalInProgress, Approved, "complete", System},
	{ApprovalInProgress, Failed, "fail", System},
	{RejectionInProgress, Rejected, "complete", System},
	{RejectionInProgress, Failed, "fail", System},
	{BlockingInProgress, BlockedByScan, "complete", System},
	{BlockingInProgress, Failed, "fail", System},
	{Approved, Revoked, "revoke", Reviewer},
}

// Allowed returns the transition from one state to another, if the machine
// has it.
func Allowed(from, to State) (Transition, bool) {
	for _, t := range Machine {
		if t.From == from && t.To == to {
			return t, true
		}
	}
	return Transition{}, false
}

// check refuses a transition the machine does not have.
func check(from, to State) (Transition, error) {
	t, ok := Allowed(from, to)
	if !ok {
		return t, enclave.Errorf(enclave.CodeFailedPrecondition, "a request that is %s cannot become %s", from, to)
	}
	return t, nil
}

// InProgress reports whether the platform is working on a request in s:
// the scan, or a move of its files.
func (s State) InProgress() bool {
	return s == Submitted || s == ApprovalInProgress || s == RejectionInProgress || s == BlockingInProgress
}
