package policy

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// policySet is every assignment compiled and indexed by the resource kinds
// its definition covers, with the approved exemptions: what admission
// needs, rebuilt only when the store's generation moves.
type policySet struct {
	generation int64
	byKind     map[string][]assigned
	wildcard   []assigned // definitions for "*"
	exemptions []*Exemption
}

type assigned struct {
	Applied
	scope string
}

// policyKinds are the engine's own kinds: "*" does not reach them.
var policyKinds = []string{KindDefinition, KindAssignment, KindExemption}

// candidates are the assignments that cover a kind at a scope.
func (p *policySet) candidates(kind, scope string) []assigned {
	var out []assigned
	for _, a := range p.byKind[kind] {
		if covers(a.scope, scope) {
			out = append(out, a)
		}
	}
	if !slices.Contains(policyKinds, kind) {
		for _, a := range p.wildcard {
			if covers(a.scope, scope) {
				out = append(out, a)
			}
		}
	}
	return out
}

// exemption returns the approved, unexpired exemption from an assignment
// that covers a resource, if any.
func (p *policySet) exemption(assignment, scope, kind, name string, now time.Time) *Exemption {
	for _, e := range p.exemptions {
		if e.Assignment != assignment || !e.ExpiresAt.After(now) || !covers(e.Scope, scope) {
			continue
		}
		if e.ResourceKind == "" || (e.ResourceKind == kind && e.ResourceName == name) {
			return e
		}
	}
	return nil
}

func (s *Service) invalidate() {
	s.mu.Lock()
	s.cache = nil
	s.mu.Unlock()
}

// applied returns the current policy set: cached while the generation in
// the store stays the same, so replicas see each other's changes at their
// next admission.
func (s *Service) applied(ctx context.Context) (*policySet, error) {
	gen, err := s.Store.Generation(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	cached := s.cache
	s.mu.Unlock()
	if cached != nil && cached.generation == gen {
		return cached, nil
	}
	set, err := s.build(ctx, gen)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache = set
	s.mu.Unlock()
	return set, nil
}

func (s *Service) build(ctx context.Context, gen int64) (*policySet, error) {
	as, err := s.Store.ListAssignments(ctx)
	if err != nil {
		return nil, err
	}
	set := &policySet{generation: gen, byKind: map[string][]assigned{}}
	compiled := map[string]*Compiled{}
	for _, a := range as {
		c, ok := compiled[a.Definition]
		if !ok {
			d, err := s.GetDefinition(ctx, a.Definition)
			if err != nil {
				return nil, fmt.Errorf("policy assignment %s: %w", a.Name, err)
			}
			def := d.Definition
			if c, err = Compile(&def); err != nil {
				return nil, fmt.Errorf("policy %s: %w", def.ID, err)
			}
			compiled[a.Definition] = c
		}
		if c.Def.Effect == Disabled {
			continue
		}
		params, err := c.Def.Params(a.Params)
		if err != nil {
			return nil, fmt.Errorf("policy assignment %s: %w", a.Name, err)
		}
		x := assigned{Applied: Applied{Policy: c, Assignment: a.Name, Mode: a.Mode, Params: params}, scope: a.Scope}
		x.paramsVal() // converted once, shared by every admission
		for _, k := range c.Def.Kinds {
			if k == "*" {
				set.wildcard = append(set.wildcard, x)
			} else {
				set.byKind[k] = append(set.byKind[k], x)
			}
		}
	}
	exs, err := s.Store.ListExemptions(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range exs {
		if e.State == ExemptionApproved {
			set.exemptions = append(set.exemptions, e)
		}
	}
	return set, nil
}

// principalOf is the principal a policy sees.
func principalOf(ctx context.Context) map[string]any {
	a := enclave.ActorFrom(ctx)
	if a == nil {
		return map[string]any{"kind": "anonymous"}
	}
	return map[string]any{"id": a.PrincipalID, "name": a.Name, "kind": string(a.Kind), "mfa": a.MFA,
		"platform_admin": a.PlatformAdmin, "auth_method": a.AuthMethod, "token_kind": a.TokenKind,
		"elevated": a.ElevationID != ""}
}

// Admit implements enclave.Admitter: it runs the assignments that cover a
// change's kind and scope in the order modify/append → deny → audit.
// Enforced changes are written back into the change's object; an enforced
// deny returns policy_denied naming the policy; audit, dry-run and exempted
// matches are recorded in the change's transaction.
func (s *Service) Admit(ctx context.Context, c enclave.Change) error {
	set, err := s.applied(ctx)
	if err != nil {
		return err
	}
	cands := set.candidates(c.Kind, c.Scope)
	if len(cands) == 0 {
		return nil
	}
	in := Input{Kind: c.Kind, Operation: c.Operation, Scope: c.Scope, Principal: principalOf(ctx)}
	if in.Object, err = Resource(c.Object); err != nil {
		return err
	}
	// oldObject and parent are converted only if a candidate reads them.
	needOld, needParent := false, false
	for _, a := range cands {
		needOld = needOld || a.Policy.Uses("oldObject")
		needParent = needParent || a.Policy.Uses("parent")
	}
	if c.Old != nil && needOld {
		if in.OldObject, err = Resource(c.Old); err != nil {
			return err
		}
	}
	if c.Parent != nil && needParent {
		if in.Parent, err = Resource(c.Parent); err != nil {
			return err
		}
	}
	name, _ := in.Object["name"].(string)
	now := s.Clock.Now()
	applied := make([]Applied, 0, len(cands))
	exempt := map[string]*Exemption{}
	for _, a := range cands {
		if e := set.exemption(a.Assignment, c.Scope, c.Kind, name, now); e != nil {
			// An exempted assignment is evaluated for the record only.
			a.Mode, exempt[a.Assignment] = DryRun, e
		}
		applied = append(applied, a.Applied)
	}
	if c.Operation == enclave.OpDelete && slices.Contains(policyKinds, c.Kind) {
		// Removing a guardrail is never refused by a guardrail, or one bad
		// policy could lock the platform; it is still recorded.
		for i := range applied {
			applied[i].Mode = DryRun
		}
	}
	res := admit(ctx, in, applied) // in.Object is ours: Resource made it
	if d := res.Denied; d != nil {
		msg := d.Message
		if msg == "" {
			msg = "the change matches its condition"
		}
		if d.Error != "" {
			msg += " (the policy could not be evaluated, so the change is refused: " + d.Error + ")"
		}
		return &enclave.Error{Code: enclave.CodePolicyDenied, Policy: d.Policy,
			Message: fmt.Sprintf("policy %s (assignment %s) denies this %s %s: %s", d.Policy, d.Assignment, c.Kind, c.Operation, msg)}
	}
	amended := false
	targetID, _ := in.Object["id"].(string)
	for _, o := range res.Outcomes {
		action := ""
		details := map[string]any{"policy": o.Policy, "assignment": o.Assignment, "effect": o.Effect, "mode": o.Mode,
			"kind": c.Kind, "operation": c.Operation}
		if name != "" {
			details["name"] = name
		}
		if o.Message != "" {
			details["message"] = o.Message
		}
		if len(o.Changes) > 0 {
			details["changes"] = o.Changes
		}
		if o.Error != "" {
			details["error"] = o.Error
		}
		switch {
		case exempt[o.Assignment] != nil:
			action, details["exemption"] = "policy.exempt", exempt[o.Assignment].ID
		case o.Mode == DryRun:
			action = "policy.dryrun"
		case o.Effect == Audit:
			action = "policy.noncompliant"
		case o.Effect == Append || o.Effect == Modify:
			action, amended = "policy.amend", true
		default:
			continue
		}
		if err := s.Audit.Record(ctx, audit.Event{Action: action, TargetType: c.Kind, TargetID: targetID, Scope: c.Scope,
			Details: details}); err != nil {
			return err
		}
	}
	if amended && c.Operation != enclave.OpDelete {
		if err := Into(res.Object, c.Object); err != nil {
			return enclave.Wrap(enclave.CodeInternal, err, "policy changes could not be applied")
		}
		if c.Validate != nil {
			if err := c.Validate(); err != nil {
				return &enclave.Error{Code: enclave.CodePolicyDenied, Policy: amendedBy(res),
					Message: "a policy's change would make the resource invalid: " + enclave.ErrorMessage(err)}
			}
		}
	}
	return nil
}

func amendedBy(res *Result) string {
	for _, o := range res.Outcomes {
		if o.Mode == Enforce && (o.Effect == Append || o.Effect == Modify) {
			return o.Policy
		}
	}
	return ""
}
