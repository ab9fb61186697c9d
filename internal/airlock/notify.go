package airlock

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/enclave-ml/enclave/internal/notify"
)

func sortStrings(s []string) { sort.Strings(s) }

// whatNext says, per state, what the notification tells and who acts next.
var whatNext = map[State]string{
	Draft:               "was created",
	Submitted:           "was submitted and is being scanned",
	InReview:            "is ready for review",
	ApprovalInProgress:  "was approved; its files are being moved",
	RejectionInProgress: "was rejected; its files are being deleted",
	BlockingInProgress:  "was blocked by the malware scan; its files are being quarantined",
	Approved:            "was approved",
	Rejected:            "was rejected",
	BlockedByScan:       "was blocked by the malware scan",
	Cancelled:           "was cancelled",
	Failed:              "failed",
	Revoked:             "was revoked",
}

// notifyTransition tells whoever acts next about r's move from a state:
// reviewers when it is ready for review, the requester when it is decided,
// the security team when malware was found, the platform team when it
// failed. Every transition goes to the webhook, if one is configured.
func (s *Service) notifyTransition(ctx context.Context, r *Request, from State) error {
	var to []string
	text := ""
	switch r.State {
	case InReview:
		to = s.reviewers(ctx, r, r.RequesterID)
		text = "Review it: its scan and de-identification report are attached to the request."
	case Approved:
		to = s.requester(ctx, r)
		if r.Type == Export {
			text = "Download it through a short-lived link: enclave airlock download " + r.ID
		} else if r.Result != nil {
			text = fmt.Sprintf("The files are version %d of dataset %s in the raw area.", r.Result.Version, r.Result.Dataset)
		}
	case Rejected, Revoked:
		to = s.requester(ctx, r)
	case Cancelled:
		if from == InReview {
			to = s.reviewers(ctx, r, r.RequesterID)
		}
	case BlockedByScan:
		to = append(s.recipients(ctx, "/", adminRole), s.requester(ctx, r)...)
		text = "The infected files are in quarantine for the security team; the others were deleted."
	case Failed:
		to = append(s.recipients(ctx, "/", adminRole), s.requester(ctx, r)...)
		text = r.Failure
	}
	return s.notify(ctx, r, "airlock.request."+string(r.State), whatNext[r.State], text, to)
}

// notify writes a notification to the outbox in ctx's transaction.
func (s *Service) notify(ctx context.Context, r *Request, event, what, text string, to []string) error {
	if s.Notifier == nil {
		return nil
	}
	slices.Sort(to)
	to = slices.Compact(to)
	n := notify.Notification{Event: event,
		Subject:    fmt.Sprintf("[Enclave] %s request %q %s", r.Type, r.Title, what),
		Text:       fmt.Sprintf("The %s request %q (%s) of project %s/%s %s.\n\n%s\n", r.Type, r.Title, r.ID, r.Zone, r.Project, what, text),
		Recipients: to, Scope: r.Scope(),
		Resource: map[string]string{"type": Kind, "id": r.ID, "state": string(r.State)},
		Link:     "/api/v1/zones/" + r.Zone + "/projects/" + r.Project + "/airlock/" + string(r.Type) + "s/" + r.ID,
		At:       s.Clock.Now()}
	return s.Notifier.Notify(ctx, n)
}

func (s *Service) recipients(ctx context.Context, scope string, roles ...string) []string {
	if s.Recipients == nil {
		return nil
	}
	return s.Recipients(ctx, scope, roles...)
}

// reviewers are the project's airlock reviewers but the one excluded.
func (s *Service) reviewers(ctx context.Context, r *Request, exclude string) []string {
	all := s.recipients(ctx, r.Scope(), reviewerRole)
	if ex := s.email(ctx, exclude); ex != "" {
		all = slices.DeleteFunc(all, func(e string) bool { return e == ex })
	}
	return all
}

func (s *Service) requester(ctx context.Context, r *Request) []string {
	if e := s.email(ctx, r.RequesterID); e != "" {
		return []string{e}
	}
	return nil
}

func (s *Service) email(ctx context.Context, id string) string {
	if s.Email == nil || id == "" {
		return ""
	}
	return s.Email(ctx, id)
}
