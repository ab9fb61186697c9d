package policy

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/workqueue"
)

// Existing is one stored resource, as a scan sees it.
type Existing struct {
	ID     string
	Name   string
	Scope  string
	Object any
	Parent any
}

// Source lists the existing resources of one kind for the compliance scan.
// A domain that adds a resource kind adds its source; the engine does not
// change.
type Source struct {
	Kind string
	List func(ctx context.Context, yield func(Existing) error) error
}

// ComplianceState is how one resource stands against one assignment.
type ComplianceState string

// The compliance states. Exempt counts as compliant in percentages, and is
// reported on its own.
const (
	Compliant    ComplianceState = "compliant"
	NonCompliant ComplianceState = "non_compliant"
	Exempt       ComplianceState = "exempt"
)

// ComplianceRecord is the result of evaluating one resource against one assignment.
type ComplianceRecord struct {
	Assignment   string          `json:"assignment"`
	Policy       string          `json:"policy"`
	Mode         Mode            `json:"mode"`
	ResourceKind string          `json:"resource_kind"`
	ResourceID   string          `json:"resource_id"`
	ResourceName string          `json:"resource_name"`
	Scope        string          `json:"scope"`
	State        ComplianceState `json:"state"`
	Message      string          `json:"message,omitempty"`
	EvaluatedAt  time.Time       `json:"evaluated_at"`
}

// ScanResult summarises one scan.
type ScanResult struct {
	Resources    int `json:"resources"`
	Evaluations  int `json:"evaluations"`
	NonCompliant int `json:"non_compliant"`
}

// RequestScan enqueues a compliance scan on the work queue.
func (s *Service) RequestScan(ctx context.Context) (*workqueue.Task, error) {
	var t *workqueue.Task
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if t, err = s.Queue.Enqueue(ctx, ScanTask, struct{}{}, workqueue.EnqueueOptions{MaxAttempts: 3}); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "policy.scan.request", TargetType: "task", TargetID: t.ID, Scope: "/"})
	})
	return t, err
}

// RunScan is the work-queue handler of ScanTask.
func (s *Service) RunScan(ctx context.Context, _ *workqueue.Task) error {
	_, err := s.Scan(enclave.WithActor(ctx, enclave.SystemActor("policy-scan")))
	return err
}

// Scan evaluates every existing resource against every assignment that
// covers it and stores the results in place of the last scan's. Nothing is
// changed or refused: each assignment is evaluated as if it ran dry, and a
// resource an enforced deny or audit matches, or that an append or modify
// would change, is non-compliant. Resources are seen with operation "scan".
func (s *Service) Scan(ctx context.Context) (*ScanResult, error) {
	set, err := s.applied(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	principal := principalOf(ctx)
	var recs []ComplianceRecord
	res := &ScanResult{}
	for _, src := range s.Sources {
		err := src.List(ctx, func(r Existing) error {
			cands := set.candidates(src.Kind, r.Scope)
			if len(cands) == 0 {
				return nil
			}
			res.Resources++
			in := Input{Kind: src.Kind, Operation: "scan", Scope: r.Scope, Principal: principal}
			var err error
			if in.Object, err = Resource(r.Object); err != nil {
				return err
			}
			if r.Parent != nil {
				if in.Parent, err = Resource(r.Parent); err != nil {
					return err
				}
			}
			for _, a := range cands {
				one := a.Applied
				one.Mode = DryRun
				out := admit(ctx, in, []Applied{one}) // a dry run changes nothing
				rec := ComplianceRecord{Assignment: a.Assignment, Policy: a.Policy.Def.ID, Mode: a.Mode, ResourceKind: src.Kind,
					ResourceID: r.ID, ResourceName: r.Name, Scope: r.Scope, State: Compliant, EvaluatedAt: now}
				if len(out.Outcomes) > 0 {
					rec.State, rec.Message = NonCompliant, out.Outcomes[0].Message
					if rec.Message == "" {
						rec.Message = describeChanges(out.Outcomes[0].Changes)
					}
					if e := out.Outcomes[0].Error; e != "" {
						rec.Message = strings.TrimSpace(rec.Message + " (could not be evaluated: " + e + ")")
					}
					if set.exemption(a.Assignment, r.Scope, src.Kind, r.Name, now) != nil {
						rec.State = Exempt
					}
				}
				if rec.State == NonCompliant {
					res.NonCompliant++
				}
				res.Evaluations++
				recs = append(recs, rec)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.ReplaceCompliance(ctx, recs, now); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Event{Action: "policy.scan", TargetType: "policy_compliance", Scope: "/",
			Details: map[string]any{"resources": res.Resources, "evaluations": res.Evaluations, "non_compliant": res.NonCompliant}})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// ScopeCompliance is the compliance of the resources at and below a scope:
// the share of resources every covering assignment finds compliant (or
// exempt). It is a platform KPI.
type ScopeCompliance struct {
	Scope        string  `json:"scope"`
	Resources    int     `json:"resources"`
	Compliant    int     `json:"compliant"`
	NonCompliant int     `json:"non_compliant"`
	Exempt       int     `json:"exempt"`
	Percent      float64 `json:"percent"`
}

// AssignmentCompliance is one assignment's share of non-compliant resources.
type AssignmentCompliance struct {
	Assignment   string `json:"assignment"`
	Policy       string `json:"policy"`
	Mode         Mode   `json:"mode"`
	Resources    int    `json:"resources"`
	NonCompliant int    `json:"non_compliant"`
}

// ComplianceReport is the compliance of a scope as of the last scan.
type ComplianceReport struct {
	ScopeCompliance
	// EvaluatedAt is when the last scan ran (zero if none has).
	EvaluatedAt *time.Time `json:"evaluated_at,omitempty"`
	// Children are the zones (of the platform) or projects (of a zone).
	Children    []ScopeCompliance      `json:"children,omitempty"`
	Assignments []AssignmentCompliance `json:"assignments"`
	// NonCompliantResources lists what to fix.
	NonCompliantResources []ComplianceRecord `json:"non_compliant_resources"`
}

// Compliance reports a scope's compliance as of the last scan.
func (s *Service) Compliance(ctx context.Context, scope string) (*ComplianceReport, error) {
	if scope == "" {
		scope = "/"
	}
	if err := policyScope("scope", scope); err != nil {
		return nil, err
	}
	all, err := s.Store.ListCompliance(ctx)
	if err != nil {
		return nil, err
	}
	rep := &ComplianceReport{ScopeCompliance: ScopeCompliance{Scope: scope}, Assignments: []AssignmentCompliance{},
		NonCompliantResources: []ComplianceRecord{}}
	type resKey struct{ kind, id string }
	worst := map[resKey]ComplianceState{}
	resScope := map[resKey]string{}
	byAssignment := map[string]*AssignmentCompliance{}
	for _, r := range all {
		if rep.EvaluatedAt == nil || r.EvaluatedAt.After(*rep.EvaluatedAt) {
			at := r.EvaluatedAt
			rep.EvaluatedAt = &at
		}
		if !covers(scope, r.Scope) {
			continue
		}
		k := resKey{r.ResourceKind, r.ResourceID}
		resScope[k] = r.Scope
		if rank(r.State) > rank(worst[k]) {
			worst[k] = r.State
		}
		ac := byAssignment[r.Assignment]
		if ac == nil {
			ac = &AssignmentCompliance{Assignment: r.Assignment, Policy: r.Policy, Mode: r.Mode}
			byAssignment[r.Assignment] = ac
		}
		ac.Resources++
		if r.State == NonCompliant {
			ac.NonCompliant++
			rep.NonCompliantResources = append(rep.NonCompliantResources, r)
		}
	}
	children := map[string]*ScopeCompliance{}
	for k, st := range worst {
		count(&rep.ScopeCompliance, st)
		if c := childScope(scope, resScope[k]); c != "" {
			if children[c] == nil {
				children[c] = &ScopeCompliance{Scope: c}
			}
			count(children[c], st)
		}
	}
	finish(&rep.ScopeCompliance)
	for _, c := range children {
		finish(c)
		rep.Children = append(rep.Children, *c)
	}
	sort.Slice(rep.Children, func(i, j int) bool { return rep.Children[i].Scope < rep.Children[j].Scope })
	for _, ac := range byAssignment {
		rep.Assignments = append(rep.Assignments, *ac)
	}
	sort.Slice(rep.Assignments, func(i, j int) bool { return rep.Assignments[i].Assignment < rep.Assignments[j].Assignment })
	sort.Slice(rep.NonCompliantResources, func(i, j int) bool {
		a, b := rep.NonCompliantResources[i], rep.NonCompliantResources[j]
		if a.Scope != b.Scope {
			return a.Scope < b.Scope
		}
		if a.ResourceKind != b.ResourceKind {
			return a.ResourceKind < b.ResourceKind
		}
		if a.ResourceName != b.ResourceName {
			return a.ResourceName < b.ResourceName
		}
		return a.Assignment < b.Assignment
	})
	return rep, nil
}

func rank(s ComplianceState) int {
	switch s {
	case NonCompliant:
		return 3
	case Exempt:
		return 2
	case Compliant:
		return 1
	}
	return 0
}

func count(c *ScopeCompliance, st ComplianceState) {
	c.Resources++
	switch st {
	case NonCompliant:
		c.NonCompliant++
	case Exempt:
		c.Exempt++
	default:
		c.Compliant++
	}
}

// finish computes the percentage: compliant and exempt resources over all
// resources evaluated; a scope with none is fully compliant.
func finish(c *ScopeCompliance) {
	c.Percent = 100
	if c.Resources > 0 {
		c.Percent = float64(c.Resources-c.NonCompliant) * 100 / float64(c.Resources)
	}
}

// childScope is the zone (under the platform) or project (under a zone)
// that a resource's scope lies in, or "" when it lies at the scope itself
// or scope is a project.
func childScope(scope, res string) string {
	parts := strings.Split(strings.Trim(res, "/"), "/")
	switch {
	case scope == "/" && len(parts) >= 2 && parts[0] == "zones":
		return "/zones/" + parts[1]
	case strings.Count(scope, "/") == 2 && len(parts) >= 4 && parts[2] == "projects" && covers(scope, res):
		return "/zones/" + parts[1] + "/projects/" + parts[3]
	}
	return ""
}

// describeChanges says what an append or modify policy would change.
func describeChanges(cs []Change) string {
	var paths []string
	for _, c := range cs {
		paths = append(paths, c.Path)
	}
	if len(paths) == 0 {
		return ""
	}
	return "would set " + strings.Join(paths, ", ")
}
