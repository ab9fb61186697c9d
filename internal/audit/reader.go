package audit

import (
	"context"
	"crypto/ed25519"
	"io"
	"strconv"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// Permissions of the audit trail's routes, as the access catalog names them.
const (
	PermRead   = "audit/events/read"
	PermVerify = "audit/verify"
)

// Reader answers questions about the audit trail for people and tools:
// searching, verifying, exporting. Every read is itself audited.
type Reader struct {
	Chain    *Chain
	Recorder *Recorder
	// Authorize checks the actor in ctx for a permission at a scope.
	Authorize func(ctx context.Context, perm, scope string) error
}

func (r *Reader) audit(ctx context.Context, action, scope string, outcome Outcome, reason string, details map[string]any) error {
	return r.Chain.Tx.InTx(ctx, func(ctx context.Context) error {
		return r.Recorder.Record(ctx, Event{Action: action, TargetType: "audit_trail", Scope: scope, Outcome: outcome,
			Reason: reason, Details: details})
	})
}

// authorized checks perm at scope, recording a denied read.
func (r *Reader) authorized(ctx context.Context, action, perm, scope string, details map[string]any) error {
	if err := r.Authorize(ctx, perm, scope); err != nil {
		if enclave.IsCode(err, enclave.CodePermissionDenied) {
			if aerr := r.audit(ctx, action, scope, Denied, enclave.ErrorMessage(err), details); aerr != nil {
				return aerr
			}
		}
		return err
	}
	return nil
}

// Search returns one page of the records that match f, oldest first.
func (r *Reader) Search(ctx context.Context, f Filter, page enclave.Page) ([]*Event, string, error) {
	if f.Scope == "" {
		f.Scope = "/"
	}
	if f.Outcome != "" && f.Outcome != Success && f.Outcome != Denied && f.Outcome != Failed {
		return nil, "", enclave.FieldError("outcome", "outcome must be success, denied or failed")
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return nil, "", enclave.FieldError("to", "to must be after from")
	}
	page, cur, err := page.Normalize()
	if err != nil {
		return nil, "", err
	}
	var after int64
	if cur.After != "" {
		if after, err = strconv.ParseInt(cur.After, 10, 64); err != nil {
			return nil, "", enclave.FieldError("page_token", "page_token is not a token this server issued")
		}
	}
	details := map[string]any{"filter": filterDetails(f)}
	if err := r.authorized(ctx, "audit.read", PermRead, f.Scope, details); err != nil {
		return nil, "", err
	}
	evs, err := r.Chain.Store.ListEvents(ctx, f, after, page.Size+1)
	if err != nil {
		return nil, "", err
	}
	evs, next := enclave.PageOf(evs, page.Size, func(e *Event) string { return strconv.FormatInt(e.Seq, 10) })
	details["returned"] = len(evs)
	if err := r.audit(ctx, "audit.read", f.Scope, Success, "", details); err != nil {
		return nil, "", err
	}
	return evs, next, nil
}

func filterDetails(f Filter) map[string]any {
	d := map[string]any{}
	for k, v := range map[string]string{"action": f.Action, "actor": f.ActorName, "actor_id": f.ActorID, "target_type": f.TargetType,
		"target_id": f.TargetID, "request_id": f.RequestID, "outcome": string(f.Outcome), "scope": f.Scope} {
		if v != "" {
			d[k] = v
		}
	}
	if !f.From.IsZero() {
		d["from"] = f.From.Format(time.RFC3339)
	}
	if !f.To.IsZero() {
		d["to"] = f.To.Format(time.RFC3339)
	}
	return d
}

// Verify checks the whole chain against the registered keys.
func (r *Reader) Verify(ctx context.Context) (*Report, error) {
	if err := r.authorized(ctx, "audit.verify", PermVerify, "/", nil); err != nil {
		return nil, err
	}
	rep, err := r.Chain.Verify(ctx, nil)
	if err != nil {
		return nil, err
	}
	outcome, reason := Success, ""
	if !rep.OK {
		outcome, reason = Failed, rep.Break.Error()
	}
	if err := r.audit(ctx, "audit.verify", "/", outcome, reason, map[string]any{"events": rep.Events, "checkpoints": rep.Checkpoints}); err != nil {
		return nil, err
	}
	return rep, nil
}

// Export writes an evidence bundle of the records between from and to.
func (r *Reader) Export(ctx context.Context, from, to time.Time, w io.Writer) (*BundleManifest, error) {
	if err := r.authorized(ctx, "audit.export", PermVerify, "/", nil); err != nil {
		return nil, err
	}
	if first, err := r.Chain.Store.ListEvents(ctx, Filter{From: from}, 0, 1); err != nil {
		return nil, err
	} else if len(first) == 0 {
		return nil, enclave.Errorf(enclave.CodeNotFound, "no audit records after %s", from.Format(time.RFC3339))
	}
	// The export is recorded first: the bundle then covers its own record
	// when the range reaches the present.
	if err := r.audit(ctx, "audit.export", "/", Success, "", map[string]any{"from": from, "to": to}); err != nil {
		return nil, err
	}
	return r.Chain.Export(ctx, from, to, w)
}

// RecordDenied records a request that authorization refused: every
// refusal is a security event. It runs in a transaction of its own.
func (r *Reader) RecordDenied(ctx context.Context, perm, scope, route, reason string) error {
	return r.audit(ctx, "access.denied", scope, Denied, reason, map[string]any{"permission": perm, "route": route})
}

// RecordPolicyDenied records a change that a policy refused. The change
// rolled back with its transaction, so the refusal is written on its own.
func (r *Reader) RecordPolicyDenied(ctx context.Context, policy, kind, scope, route, reason string) error {
	return r.Chain.Tx.InTx(ctx, func(ctx context.Context) error {
		return r.Recorder.Record(ctx, Event{Action: "policy.deny", TargetType: kind, Scope: scope, Outcome: Denied,
			Reason: reason, Details: map[string]any{"policy": policy, "route": route, "category": "security_policy"}})
	})
}

// PublicKeys returns the checkpoint-signing keys by ID, for an auditor to
// compare with copies obtained out of band.
func (r *Reader) PublicKeys(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	if err := r.Authorize(ctx, PermRead, "/"); err != nil {
		return nil, err
	}
	return r.Chain.TrustedKeys(ctx)
}
