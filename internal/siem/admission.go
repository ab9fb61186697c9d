package siem

import (
	"context"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// ResourceKind is the kind policies select audit sinks by.
const ResourceKind = "audit-sink"

// admit runs a change of sk through policy admission, in the transaction
// that stores it. old is the sink before an update or a delete, nil on
// create. A sink's JSON form leaves its Secrets out, so a webhook token
// never reaches a policy; a policy's changes are checked as a request's are.
func (s *Service) admit(ctx context.Context, op string, sk *Sink, old any) error {
	return enclave.Admit(ctx, s.Admission, enclave.Change{Kind: ResourceKind, Operation: op, Scope: "/",
		Object: sk, Old: old, Validate: func() error { return s.check(sk) }})
}

// check validates a sink as it will be stored, after policies may have
// changed it, and normalizes its settings again.
func (s *Service) check(sk *Sink) error {
	if err := validateBatch(sk.BatchSize); err != nil {
		return err
	}
	if err := onlyKind(sk.Kind, sk.File != nil, sk.Syslog != nil, sk.Webhook != nil, true); err != nil {
		return err
	}
	var webhook *WebhookInput
	if w := sk.Webhook; w != nil {
		webhook = &WebhookInput{URL: w.URL, Format: w.Format, CAFile: w.CAFile, Index: w.Index}
	}
	return s.applySettings(sk, sk.File, sk.Syslog, webhook)
}
