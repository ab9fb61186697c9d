package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/policy"
	"github.com/enclave-ml/enclave/internal/workqueue"
)

func costCenterDef() *policy.StoredDefinition {
	return &policy.StoredDefinition{Builtin: true, Definition: policy.Definition{ID: "require-cost-center-tag",
		Description: "Zones and projects carry a cost-centre tag, so that their spending can be charged back.",
		Kinds:       []string{"zone", "project"}, Effect: policy.Deny,
		Condition: "!has(object.tags) || !(params.tag in object.tags)", Message: "Zones and projects need a cost-centre tag.",
		Parameters: map[string]policy.Parameter{"tag": {Type: "string", Default: "cost-center"}}}}
}

func tokenDef() *policy.StoredDefinition {
	return &policy.StoredDefinition{Definition: policy.Definition{ID: "short-tokens", Kinds: []string{"token"}, Effect: policy.Deny,
		Condition: "true", Parameters: map[string]policy.Parameter{"max_hours": {Type: "int"}, "kinds": {Type: "list"}, "label": {Type: "string"}}},
		CreatedAt: t0, CreatedBy: "admin", UpdatedAt: t0, UpdatedBy: "admin"}
}

func ccAssignment() *policy.Assignment {
	return &policy.Assignment{ID: "a1", Name: "cost-centers", Definition: "require-cost-center-tag", Scope: "/zones/eu",
		Params: map[string]any{"tag": "kostenstelle"}, Mode: policy.DryRun, Description: "charge-back",
		CreatedAt: t0, CreatedBy: "admin", UpdatedAt: t0, UpdatedBy: "admin"}
}

func TestPolicyListTable(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/policy/definitions", 200, list([]*policy.StoredDefinition{costCenterDef(), tokenDef()}, ""))
	out, _, err := runCLI(t, "", "policy", "list")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "policy_list", out)
}

// TestPolicyApply: each definition of the file is PUT, created or
// updated; fixtures are skipped; the fields `policy show` prints that the
// server sets are dropped; a definition stored as it is is left alone.
func TestPolicyApply(t *testing.T) {
	api := loggedIn(t)
	file := filepath.Join(t.TempDir(), "p.yaml")
	doc := "id: require-description\nkinds: [project]\ncondition: '!has(object.description)'\neffect: deny\nbuiltin: false\n" +
		"created_at: 2026-01-02T03:04:05Z\nupdated_by: admin\n---\n" +
		"id: short-tokens\nkinds: [token]\ncondition: 'true'\neffect: deny\nparameters:\n  max_hours: {type: int}\n  kinds: {type: list}\n  label: {type: string}\n---\n" +
		"policy: require-description\ncases:\n  - name: x\n    object: {}\n    expect: deny\n"
	os.WriteFile(file, []byte(doc), 0o600)
	var puts []string
	api.handle("PUT", "/api/v1/policy/definitions/require-description", func(w http.ResponseWriter, _ *http.Request) {
		var body map[string]any
		json.Unmarshal([]byte(api.last().Body), &body) // the fake has read the request's body
		b, _ := json.Marshal(body)
		puts = append(puts, string(b))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(policy.StoredDefinition{Definition: policy.Definition{ID: "require-description"}})
	})
	changed := tokenDef()
	changed.Condition = "false"
	api.on("GET", "/api/v1/policy/definitions/short-tokens", 200, changed)
	api.on("PUT", "/api/v1/policy/definitions/short-tokens", 200, tokenDef())
	out, errOut, err := runCLI(t, "", "policy", "apply", "-f", file)
	if err != nil {
		t.Fatal(err)
	}
	if out != "Created policy require-description\nUpdated policy short-tokens\n" || !strings.Contains(errOut, "Skipped 1 fixture") {
		t.Errorf("apply printed %q, %q", out, errOut)
	}
	if len(puts) != 1 || puts[0] != `{"condition":"!has(object.description)","effect":"deny","id":"require-description","kinds":["project"]}` {
		t.Errorf("PUT bodies %v", puts)
	}

	// Applied again: the server holds short-tokens as the file has it.
	api.on("GET", "/api/v1/policy/definitions/short-tokens", 200, tokenDef())
	before := api.count()
	out, _, err = runCLI(t, "", "policy", "apply", "-f", file)
	if err != nil || !strings.Contains(out, "Unchanged policy short-tokens") {
		t.Errorf("second apply: %q %v", out, err)
	}
	if last := api.last(); last.Method != "GET" || api.count()-before != 3 {
		t.Errorf("an unchanged definition was sent again: %+v", last)
	}

	// A definition the server refuses names the definition, with the exit code of an API error.
	api.handle("PUT", "/api/v1/policy/definitions/require-description", func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, 400, "invalid_argument", "condition, line 1, column 9: Syntax error: mismatched input")
	})
	code, _, errOut := mainCLI("policy", "apply", "-f", file)
	if code != ExitAPI || !strings.Contains(errOut, "Error: policy require-description: invalid_argument: condition, line 1, column 9") {
		t.Errorf("refused: exit %d %s", code, errOut)
	}

	os.WriteFile(file, []byte("policy: x\ncases: []\n"), 0o600)
	if _, _, err := runCLI(t, "", "policy", "apply", "-f", file); err == nil || !strings.Contains(err.Error(), "holds no policy definition") {
		t.Errorf("only fixtures: %v", err)
	}
	if _, _, err := runCLI(t, "", "policy", "apply"); !isUsage(err) {
		t.Errorf("without -f: %v", err)
	}
	// Standard input.
	api.on("GET", "/api/v1/policy/definitions/short-tokens", 200, changed)
	out, _, err = runCLI(t, "id: short-tokens\nkinds: [token]\ncondition: 'true'\neffect: deny\n", "policy", "apply", "-f", "-")
	if err != nil || out != "Updated policy short-tokens\n" {
		t.Errorf("stdin: %q %v", out, err)
	}
}

func TestPolicyShowYAML(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/policy/definitions/require-cost-center-tag", 200, costCenterDef())
	out, _, err := runCLI(t, "", "policy", "show", "require-cost-center-tag")
	if err != nil || !strings.Contains(out, "id: require-cost-center-tag\n") || !strings.Contains(out, "builtin: true") {
		t.Fatalf("%s %v", out, err)
	}
	// What show prints applies again.
	defs, _, err := readPolicyFile(&App{}, writeTemp(t, out))
	if err != nil || len(defs) != 1 || !sameDefinition(defs[0], &costCenterDef().Definition) {
		t.Fatalf("show output does not apply: %v", err)
	}
}

func writeTemp(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPolicyAssign: parameters are read by the definition's types: YAML
// for numbers and lists, the text as it is for strings.
func TestPolicyAssign(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/policy/definitions/short-tokens", 200, tokenDef())
	api.on("POST", "/api/v1/policy/assignments", 201, ccAssignment())
	_, _, err := runCLI(t, "", "policy", "assign", "short-tokens", "--name", "short", "--scope", "/", "--mode", "dry-run",
		"--param", "max_hours=24", "--param", "kinds=[a, b]", "--param", "label=4711", "--description", "d")
	if err != nil {
		t.Fatal(err)
	}
	if body := strings.TrimSpace(api.last().Body); body != `{"name":"short","definition":"short-tokens","scope":"/","params":{"kinds":["a","b"],"label":"4711","max_hours":24},"mode":"dry-run","description":"d"}` {
		t.Errorf("assign body %s", body)
	}
	before := api.count()
	for _, args := range [][]string{
		{"policy", "assign", "x", "--scope", "/"},
		{"policy", "assign", "x", "--name", "n", "--scope", "/", "--mode", "audit"},
		{"policy", "assign", "x", "--name", "n", "--scope", "/", "--param", "novalue"},
		{"policy", "assign", "x", "--name", "n", "--scope", "/", "--param", "a=1", "--param", "a=2"},
	} {
		if _, _, err := runCLI(t, "", args...); !isUsage(err) {
			t.Errorf("%v: %v", args, err)
		}
	}
	if api.count() != before {
		t.Error("a usage error reached the server")
	}
	// Without parameters the definition is not fetched.
	before = api.count()
	if _, _, err := runCLI(t, "", "policy", "assign", "require-cost-center-tag", "--name", "cc", "--scope", "/zones/eu"); err != nil || api.count()-before != 1 {
		t.Errorf("assign without params: %v, %d requests", err, api.count()-before)
	}
}

func TestPolicyAssignmentSet(t *testing.T) {
	api := loggedIn(t)
	a := ccAssignment()
	a.Params = map[string]any{"max_hours": 24, "label": "x"}
	a.Definition = "short-tokens"
	api.on("GET", "/api/v1/policy/assignments/short", 200, a)
	api.on("GET", "/api/v1/policy/definitions/short-tokens", 200, tokenDef())
	api.on("PATCH", "/api/v1/policy/assignments/short", 200, a)
	if _, _, err := runCLI(t, "", "policy", "assignment", "set", "short", "--mode", "enforce"); err != nil {
		t.Fatal(err)
	}
	if body := strings.TrimSpace(api.last().Body); body != `{"mode":"enforce"}` {
		t.Errorf("mode body %s", body)
	}
	if _, _, err := runCLI(t, "", "policy", "assignment", "set", "short", "--param", "max_hours=48"); err != nil {
		t.Fatal(err)
	}
	if body := strings.TrimSpace(api.last().Body); body != `{"params":{"label":"x","max_hours":48}}` {
		t.Errorf("merged params body %s", body)
	}
	if _, _, err := runCLI(t, "", "policy", "assignment", "set", "short", "--clear-params"); err != nil {
		t.Fatal(err)
	}
	if body := strings.TrimSpace(api.last().Body); body != `{"params":{}}` {
		t.Errorf("cleared params body %s", body)
	}
	if _, _, err := runCLI(t, "", "policy", "assignment", "set", "short"); !isUsage(err) {
		t.Errorf("nothing to change: %v", err)
	}
	out, _, err := runCLI(t, "", "policy", "assignments")
	if err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Errorf("assignments without a route: %q %v", out, err)
	}
	api.on("GET", "/api/v1/policy/assignments", 200, list([]*policy.Assignment{ccAssignment()}, ""))
	out, _, err = runCLI(t, "", "policy", "assignments")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "policy_assignments", out)
	api.on("DELETE", "/api/v1/policy/assignments/short", 204, nil)
	if out, _, err := runCLI(t, "", "policy", "unassign", "short"); err != nil || out != "Removed policy assignment short\n" {
		t.Errorf("unassign: %q %v", out, err)
	}
}

func TestPolicyExempt(t *testing.T) {
	api := loggedIn(t)
	far := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	ex := &policy.Exemption{ID: "0190-ex", Assignment: "cost-centers", Scope: "/zones/eu", ResourceKind: "project", ResourceName: "pilot",
		Reason: "CHG-1234 pilot before its cost centre exists", ExpiresAt: far, State: policy.ExemptionPending,
		RequestedBy: "admin", RequestedAt: t0}
	api.on("POST", "/api/v1/policy/exemptions", 201, ex)
	start := time.Now()
	if _, _, err := runCLI(t, "", "policy", "exempt", "cost-centers", "--reason", "CHG-1234 pilot", "--expires", "14d",
		"--scope", "/zones/eu", "--resource", "project/pilot"); err != nil {
		t.Fatal(err)
	}
	var body policy.ExemptionCreate
	if err := json.Unmarshal([]byte(api.last().Body), &body); err != nil {
		t.Fatal(err)
	}
	if d := body.ExpiresAt.Sub(start); body.Assignment != "cost-centers" || body.ResourceKind != "project" || body.ResourceName != "pilot" ||
		body.Scope != "/zones/eu" || d < 14*24*time.Hour-time.Minute || d > 14*24*time.Hour+time.Minute {
		t.Errorf("exempt body %+v", body)
	}
	if _, _, err := runCLI(t, "", "policy", "exempt", "cost-centers", "--reason", "r", "--expires", "2099-01-01T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(api.last().Body, `"expires_at":"2099-01-01T00:00:00Z"`) {
		t.Errorf("RFC 3339 expiry: %s", api.last().Body)
	}
	for _, args := range [][]string{
		{"policy", "exempt", "a", "--reason", "r"},
		{"policy", "exempt", "a", "--reason", "r", "--expires", "soon"},
		{"policy", "exempt", "a", "--reason", "r", "--expires", "1h", "--resource", "pilot"},
	} {
		if _, _, err := runCLI(t, "", args...); !isUsage(err) {
			t.Errorf("%v: %v", args, err)
		}
	}

	approved := *ex
	approved.State, approved.DecidedBy = policy.ExemptionApproved, "bea"
	api.on("POST", "/api/v1/policy/exemptions/0190-ex/approve", 200, &approved)
	out, _, err := runCLI(t, "", "policy", "exemption", "approve", "0190-ex", "--comment", "ok until the CC exists")
	if err != nil || !strings.Contains(out, "approved") || strings.TrimSpace(api.last().Body) != `{"comment":"ok until the CC exists"}` {
		t.Errorf("approve: %q %v %s", out, err, api.last().Body)
	}
	api.handle("POST", "/api/v1/policy/exemptions/0190-ex/reject", func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, 403, "permission_denied", "an exemption is approved or rejected by a Platform Admin other than its requester")
	})
	if code, _, errOut := mainCLI("policy", "exemption", "reject", "0190-ex"); code != ExitAPI || !strings.Contains(errOut, "other than its requester") {
		t.Errorf("own rejection: exit %d %s", code, errOut)
	}
	expired := *ex
	expired.ExpiresAt = t0
	api.on("GET", "/api/v1/policy/exemptions", 200, list([]*policy.Exemption{ex, &approved, &expired}, ""))
	out, _, err = runCLI(t, "", "policy", "exemptions")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "policy_exemptions", out)
	out, _, err = runCLI(t, "", "policy", "exemptions", "--state", "approved", "-o", "json")
	var got []policy.Exemption
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got) != 1 || got[0].DecidedBy != "bea" {
		t.Errorf("--state approved: %s %v", out, err)
	}
	api.on("DELETE", "/api/v1/policy/exemptions/0190-ex", 204, nil)
	if out, _, err := runCLI(t, "", "policy", "exemption", "delete", "0190-ex"); err != nil || out != "Withdrew policy exemption 0190-ex\n" {
		t.Errorf("delete: %q %v", out, err)
	}
}

func complianceReport() *policy.ComplianceReport {
	at := t0
	return &policy.ComplianceReport{
		ScopeCompliance: policy.ScopeCompliance{Scope: "/zones/eu", Resources: 4, Compliant: 2, NonCompliant: 1, Exempt: 1, Percent: 75},
		EvaluatedAt:     &at,
		Children: []policy.ScopeCompliance{
			{Scope: "/zones/eu/projects/onc", Resources: 2, Compliant: 1, NonCompliant: 1, Percent: 50},
			{Scope: "/zones/eu/projects/rad", Resources: 1, Exempt: 1, Percent: 100},
		},
		Assignments: []policy.AssignmentCompliance{{Assignment: "cost-centers", Policy: "require-cost-center-tag", Mode: policy.Enforce, Resources: 4, NonCompliant: 1}},
		NonCompliantResources: []policy.ComplianceRecord{{Assignment: "cost-centers", Policy: "require-cost-center-tag", Mode: policy.Enforce,
			ResourceKind: "project", ResourceID: "p1", ResourceName: "onc", Scope: "/zones/eu/projects/onc", State: policy.NonCompliant,
			Message: "Zones and projects need a cost-centre tag.", EvaluatedAt: t0}},
	}
}

// TestPolicyScanWait: --wait follows the task and then prints compliance.
func TestPolicyScanWait(t *testing.T) {
	api := loggedIn(t)
	defer func(d time.Duration) { pollInterval = d }(pollInterval)
	pollInterval = time.Millisecond
	task := &workqueue.Task{ID: "0190-scan", Kind: policy.ScanTask, State: workqueue.Pending, MaxAttempts: 3, RunAt: t0, CreatedAt: t0, UpdatedAt: t0}
	api.on("POST", "/api/v1/policy/scans", 202, task)
	polls := 0
	api.handle("GET", "/api/v1/tasks/0190-scan", func(w http.ResponseWriter, _ *http.Request) {
		polls++
		t := *task
		if t.State = workqueue.Running; polls > 2 {
			t.State = workqueue.Succeeded
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&t)
	})
	api.on("GET", "/api/v1/policy/compliance", 200, complianceReport())
	out, _, err := runCLI(t, "", "policy", "scan", "--wait", "--scope", "/zones/eu")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "policy_compliance", out)
	if q := api.last().Query; q != "scope=%2Fzones%2Feu" || polls != 3 {
		t.Errorf("compliance query %q after %d polls", q, polls)
	}
	out, _, err = runCLI(t, "", "policy", "scan")
	if err != nil || !strings.Contains(out, "0190-scan") || !strings.Contains(out, "pending") {
		t.Errorf("scan without --wait: %q %v", out, err)
	}
	if _, _, err := runCLI(t, "", "policy", "scan", "--scope", "/"); !isUsage(err) {
		t.Errorf("--scope without --wait: %v", err)
	}

	dead := *task
	dead.State, dead.Attempts, dead.LastError = workqueue.Dead, 3, "database is locked"
	api.on("GET", "/api/v1/tasks/0190-scan", 200, &dead)
	if code, _, errOut := mainCLI("policy", "scan", "--wait"); code != ExitError || !strings.Contains(errOut, "database is locked") {
		t.Errorf("dead scan: exit %d %s", code, errOut)
	}

	out, _, err = runCLI(t, "", "policy", "compliance", "--scope", "/zones/eu", "-o", "json")
	var rep policy.ComplianceReport
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || rep.Percent != 75 || len(rep.NonCompliantResources) != 1 {
		t.Errorf("compliance json: %s %v", out, err)
	}
	api.on("GET", "/api/v1/policy/compliance", 200, &policy.ComplianceReport{ScopeCompliance: policy.ScopeCompliance{Scope: "/", Percent: 100}})
	if out, _, err := runCLI(t, "", "policy", "compliance"); err != nil || !strings.Contains(out, "no scan results yet") {
		t.Errorf("before any scan: %q %v", out, err)
	}
}

func TestCompliancePercentRoundsDown(t *testing.T) {
	for p, want := range map[float64]string{100: "100.0%", 99.99: "99.9%", 75: "75.0%", float64(123) * 100 / 1000: "12.3%", float64(2) * 100 / 3: "66.6%", 0: "0.0%"} {
		if got := percent(p); got != want {
			t.Errorf("percent(%v) = %s, want %s", p, got, want)
		}
	}
}

// TestPolicyDeniedProblem: a change a policy refuses prints the problem's
// detail, which names the policy, and the policy when the detail does not.
func TestPolicyDeniedProblem(t *testing.T) {
	api := loggedIn(t)
	deny := func(detail string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]any{"type": "urn:enclave:problem:policy_denied", "status": 403, "code": "policy_denied",
				"detail": detail, "policy": "require-cost-center-tag"})
		}
	}
	api.handle("POST", "/api/v1/zones/eu/projects", deny("policy require-cost-center-tag (assignment cc) denies this project create: Zones and projects need a cost-centre tag."))
	code, _, errOut := mainCLI("project", "create", "onc", "--zone", "eu", "--owner", "o", "--cost-center", "c")
	if code != ExitAPI || !strings.Contains(errOut, "Error: policy_denied: policy require-cost-center-tag (assignment cc) denies this project create: Zones and projects need a cost-centre tag.") ||
		strings.Contains(errOut, "(policy ") {
		t.Errorf("exit %d %s", code, errOut)
	}
	api.handle("POST", "/api/v1/zones/eu/projects", deny("a policy's change would make the resource invalid: tags: too many"))
	if _, _, errOut := mainCLI("project", "create", "onc", "--zone", "eu", "--owner", "o", "--cost-center", "c"); !strings.Contains(errOut, "invalid: tags: too many (policy require-cost-center-tag)") {
		t.Errorf("policy not in the detail: %s", errOut)
	}
}
