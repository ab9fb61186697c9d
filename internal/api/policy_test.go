package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/api"
	"github.com/enclave-ml/enclave/internal/policy"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
	"github.com/enclave-ml/enclave/internal/workqueue"
)

// project is the body of a project create.
func project(name, description string) string {
	return `{"name":"` + name + `","owner":"dr.a","cost_center":"cc-1","description":"` + description + `"}`
}

// TestGuardrails drives policy definitions, assignments and exemptions
// through the API against real changes: a dry run records what enforcing
// would do, enforcing refuses with policy_denied naming the policy (and the
// refusal is audited although the change rolled back), append fills in a
// field, audit records a non-compliance, an exemption needs a second
// Platform Admin, and removing a guardrail cannot be blocked by one.
func TestGuardrails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.must(e.do("POST", "/api/v1/zones", `{"name":"eu","region":"eu","tags":{"owner":"ops"}}`, nil), 201)
		pat, _ := e.enrolledUser("pat", "pat's long passphrase")
		e.grantRole("pat", "platform-admin", "/")
		asPat := map[string]string{"Authorization": "Bearer " + pat}
		future := e.clock.Now().Add(48 * time.Hour).Format(time.RFC3339)
		const defs, assigns, exempts = "/api/v1/policy/definitions/", "/api/v1/policy/assignments", "/api/v1/policy/exemptions"
		needsDescription := `{"kinds":["project"],"condition":"object.description == \"\"","effect":"deny","message":"Projects say what they are for."}`
		steps(t, e, "guard", []scenario{
			{name: "a syntax error points into the expression", method: "PUT", path: defs + "needs-description",
				body: `{"kinds":["project"],"condition":"object.description ==","effect":"deny"}`, status: 400, code: "invalid_argument", field: "condition",
				contain: []string{"line 1, column"}},
			{name: "a type error is refused", method: "PUT", path: defs + "needs-description",
				body: `{"kinds":["project"],"condition":"size(object.name) + \"x\"","effect":"deny"}`, status: 400, code: "invalid_argument", field: "condition"},
			{name: "an undeclared parameter is refused", method: "PUT", path: defs + "needs-description",
				body: `{"kinds":["project"],"condition":"object.name == params.nme","effect":"deny"}`, status: 400, code: "invalid_argument", field: "condition",
				contain: []string{"params.nme"}},
			{name: "the body's id must match", method: "PUT", path: defs + "needs-description",
				body: `{"id":"other","kinds":["project"],"condition":"true","effect":"deny"}`, status: 400, code: "invalid_argument", field: "id"},
			{name: "a built-in policy cannot be replaced", method: "PUT", path: defs + "require-cost-center-tag",
				body: `{"kinds":["zone"],"condition":"false","effect":"deny"}`, status: 409, code: "failed_precondition"},
			{name: "define a policy", method: "PUT", path: defs + "needs-description", body: needsDescription,
				status: 201, contain: []string{`"id":"needs-description"`, `"builtin":false`}, events: []string{"policy.definition.create"}},
			{name: "replace it", method: "PUT", path: defs + "needs-description", body: strings.Replace(needsDescription, "what they are for", "their purpose", 1),
				status: 200, contain: []string{"their purpose"}, events: []string{"policy.definition.update"}},
			{name: "built-in and own policies are listed", method: "GET", path: "/api/v1/policy/definitions", status: 200,
				contain: []string{`"id":"needs-description"`, `"id":"mfa-required-for-people"`, `"builtin":true`}},
			{name: "an assignment names an existing scope", method: "POST", path: assigns,
				body: `{"name":"describe","definition":"needs-description","scope":"/zones/nowhere"}`, status: 404, code: "not_found"},
			{name: "an assignment's parameters are checked", method: "POST", path: assigns,
				body: `{"name":"describe","definition":"needs-description","scope":"/zones/eu","params":{"x":1}}`, status: 400, code: "invalid_argument", field: "params.x"},
			{name: "an assignment's mode is checked", method: "POST", path: assigns,
				body: `{"name":"describe","definition":"needs-description","scope":"/zones/eu","mode":"maybe"}`, status: 400, code: "invalid_argument", field: "mode"},
			{name: "assign it as a dry run", method: "POST", path: assigns,
				body:   `{"name":"describe","definition":"needs-description","scope":"/zones/eu","mode":"dry-run"}`,
				status: 201, contain: []string{`"mode":"dry-run"`}, events: []string{"policy.assignment.create"}},
			{name: "a dry run lets the change through and records it", method: "POST", path: "/api/v1/zones/eu/projects", body: project("dry", ""),
				status: 201, events: []string{"policy.dryrun", "project.create"}},
			{name: "enforce it", method: "PATCH", path: assigns + "/describe", body: `{"mode":"enforce"}`,
				status: 200, contain: []string{`"mode":"enforce"`}, events: []string{"policy.assignment.update"}},
			{name: "enforced, the change is refused naming the policy", method: "POST", path: "/api/v1/zones/eu/projects", body: project("bare", ""),
				status: 403, code: "policy_denied", contain: []string{`"policy":"needs-description"`, "their purpose"}, events: []string{"policy.deny:denied"}},
			{name: "a compliant change passes", method: "POST", path: "/api/v1/zones/eu/projects",
				body:   `{"name":"onc","owner":"o","cost_center":"c","description":"oncology","tags":{"owner":"dr.a"}}`,
				status: 201, events: []string{"project.create"}},
			{name: "an update is judged too", method: "PATCH", path: "/api/v1/zones/eu/projects/onc", body: `{"description":""}`,
				status: 403, code: "policy_denied", events: []string{"policy.deny:denied"}},
			{name: "another zone is not covered", method: "POST", path: "/api/v1/zones", body: `{"name":"us","region":"us"}`, status: 201, events: []string{"zone.create"}},
			{name: "a project there is not judged", method: "POST", path: "/api/v1/zones/us/projects", body: project("free", ""), status: 201, events: []string{"project.create"}},
			{name: "deleting what breaks a guardrail is not refused", method: "DELETE", path: "/api/v1/zones/eu/projects/dry", status: 204, events: []string{"project.delete"}},

			{name: "assign the built-in owner tag", method: "POST", path: assigns,
				body:   `{"name":"owner-tag","definition":"append-owner-tag","scope":"/","params":{"default_owner":"data-office"}}`,
				status: 201, events: []string{"policy.assignment.create"}},
			{name: "append fills the tag in", method: "POST", path: "/api/v1/zones/eu/projects", body: project("genomics", "genomes"),
				status: 201, contain: []string{`"owner":"data-office"`}, events: []string{"policy.amend", "project.create"}},
			{name: "an owner given is kept", method: "POST", path: "/api/v1/zones", body: `{"name":"apac","region":"ap","tags":{"owner":"ops"}}`,
				status: 201, contain: []string{`"owner":"ops"`}, events: []string{"zone.create"}},

			{name: "define an audit policy", method: "PUT", path: defs + "no-restricted-projects",
				body:   `{"kinds":["project"],"condition":"object.max_classification == \"restricted\"","effect":"audit","message":"Restricted projects are reviewed."}`,
				status: 201, events: []string{"policy.definition.create"}},
			{name: "assign it", method: "POST", path: assigns, body: `{"name":"restricted-review","definition":"no-restricted-projects","scope":"/zones/us"}`,
				status: 201, events: []string{"policy.assignment.create"}},
			{name: "audit lets the change through and records a non-compliance", method: "POST", path: "/api/v1/zones/us/projects",
				body:   `{"name":"rare","owner":"o","cost_center":"c","max_classification":"restricted","tags":{"owner":"x"}}`,
				status: 201, events: []string{"policy.noncompliant", "project.create"}},

			{name: "an exemption needs a reason", method: "POST", path: exempts,
				body: `{"assignment":"describe","scope":"/zones/eu","reason":"x","expires_at":"` + future + `"}`, status: 400, code: "invalid_argument", field: "reason"},
			{name: "an exemption expires within a year", method: "POST", path: exempts,
				body:   `{"assignment":"describe","scope":"/zones/eu","reason":"migration of legacy projects","expires_at":"2099-01-01T00:00:00Z"}`,
				status: 400, code: "invalid_argument", field: "expires_at"},
			{name: "an exemption stays within the assignment's scope", method: "POST", path: exempts,
				body:   `{"assignment":"describe","scope":"/zones/us","reason":"migration of legacy projects","expires_at":"` + future + `"}`,
				status: 400, code: "invalid_argument", field: "scope"},
			{name: "request an exemption for one project", method: "POST", path: exempts,
				body:   `{"assignment":"describe","scope":"/zones/eu/projects/legacy","resource_kind":"project","resource_name":"legacy","reason":"imported from the old platform","expires_at":"` + future + `"}`,
				status: 404, code: "not_found"},
		})
		// The exemption names a project scope, which must exist: create the
		// project in a zone the policy does not cover, then exempt a
		// resource by name in the covered zone.
		var ex policy.Exemption
		e.mustJSON(e.do("POST", exempts, `{"assignment":"describe","scope":"/zones/eu","resource_kind":"project","resource_name":"legacy",`+
			`"reason":"imported from the old platform","expires_at":"`+future+`"}`, nil), 201, &ex)
		if ex.State != policy.ExemptionPending || ex.RequestedBy != "admin" {
			t.Fatalf("exemption: %+v", ex)
		}
		var other policy.Exemption
		e.mustJSON(e.do("POST", exempts, `{"assignment":"describe","reason":"a whole zone, for a while","expires_at":"`+future+`"}`, nil), 201, &other)
		steps(t, e, "exempt", []scenario{
			{name: "a pending exemption does not apply", method: "POST", path: "/api/v1/zones/eu/projects", body: project("legacy", ""),
				status: 403, code: "policy_denied", events: []string{"policy.deny:denied"}},
			{name: "the requester cannot approve", method: "POST", path: exempts + "/" + ex.ID + "/approve", body: `{}`,
				status: 403, code: "permission_denied"},
			{name: "another Platform Admin approves", method: "POST", path: exempts + "/" + ex.ID + "/approve", body: `{"comment":"until migrated"}`,
				header: asPat, status: 200, contain: []string{`"state":"approved"`, `"decided_by":"pat"`}, events: []string{"policy.exemption.approve"}},
			{name: "a decided exemption is not decided again", method: "POST", path: exempts + "/" + ex.ID + "/reject", body: `{}`,
				header: asPat, status: 409, code: "failed_precondition"},
			{name: "the exempted change passes and is recorded", method: "POST", path: "/api/v1/zones/eu/projects", body: project("legacy", ""),
				status: 201, events: []string{"policy.amend", "policy.exempt", "project.create"}},
			{name: "the exemption covers that resource only", method: "POST", path: "/api/v1/zones/eu/projects", body: project("newer", ""),
				status: 403, code: "policy_denied", events: []string{"policy.deny:denied"}},
			{name: "reject the zone-wide one", method: "POST", path: exempts + "/" + other.ID + "/reject", body: `{"comment":"too wide"}`,
				header: asPat, status: 200, contain: []string{`"state":"rejected"`}, events: []string{"policy.exemption.reject"}},
			{name: "withdraw it", method: "DELETE", path: exempts + "/" + other.ID, status: 204, events: []string{"policy.exemption.delete"}},
			{name: "request another", method: "POST", path: exempts,
				body:   `{"assignment":"describe","scope":"/zones/eu","reason":"a pilot that starts next week","expires_at":"` + future + `"}`,
				status: 201, contain: []string{`"state":"pending"`, `"requested_by":"admin"`}, events: []string{"policy.exemption.request"}},
			{name: "exemptions are listed", method: "GET", path: exempts, status: 200, contain: []string{ex.ID, "imported from the old platform"}},
			{name: "a missing exemption", method: "GET", path: exempts + "/not-an-id", status: 404, code: "not_found"},
		})

		// Compliance: a scan through the work queue finds the project the
		// exemption does not cover (none: every eu project is described or
		// exempt) — so break one through the store's back door, as drift.
		if err := db.Exec(context.Background(), `UPDATE projects SET description = '' WHERE name = 'onc'`); err != nil {
			t.Fatal(err)
		}
		scan := func() {
			t.Helper()
			var task workqueue.Task
			e.mustJSON(e.do("POST", "/api/v1/policy/scans", "", nil), 202, &task)
			w := &workqueue.Worker{Store: &sqlstore.TaskStore{DB: db}, Clock: e.clock.Now, Owner: "test", Handlers: e.svc.Handlers}
			for {
				ran, err := w.RunOnce(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if !ran {
					break
				}
			}
			var got workqueue.Task
			e.mustJSON(e.do("GET", "/api/v1/tasks/"+task.ID, "", nil), 200, &got)
			if got.State != workqueue.Succeeded {
				t.Fatalf("scan task: %+v", got)
			}
		}
		report := func(scope string) policy.ComplianceReport {
			t.Helper()
			var rep policy.ComplianceReport
			e.mustJSON(e.do("GET", "/api/v1/policy/compliance?scope="+scope, "", nil), 200, &rep)
			return rep
		}
		scan()
		eu := report("/zones/eu")
		// eu holds the zone and three projects (onc, genomics, legacy); onc is
		// non-compliant, legacy exempt.
		if eu.NonCompliant != 1 || eu.Exempt != 1 || eu.Percent >= 100 || len(eu.NonCompliantResources) != 1 ||
			eu.NonCompliantResources[0].ResourceName != "onc" || eu.NonCompliantResources[0].Assignment != "describe" {
			t.Fatalf("compliance of eu: %+v", eu)
		}
		platform := report("/")
		if platform.Percent >= 100 || len(platform.Children) < 2 || platform.EvaluatedAt == nil {
			t.Fatalf("compliance of the platform: %+v", platform)
		}
		// Fix it through the API; the next scan counts it compliant.
		e.must(e.do("PATCH", "/api/v1/zones/eu/projects/onc", `{"description":"oncology again"}`, nil), 200)
		scan()
		if fixed := report("/zones/eu"); fixed.NonCompliant != 0 || fixed.Percent != 100 || fixed.Percent <= eu.Percent {
			t.Fatalf("compliance after the fix: %+v (before %.1f)", fixed, eu.Percent)
		}
		if r := e.do("GET", "/api/v1/policy/compliance?scope=zones", "", nil); r.status != 400 {
			t.Fatalf("a bad scope: %d %s", r.status, r.body)
		}

		steps(t, e, "remove", []scenario{
			{name: "a scan is requested", method: "POST", path: "/api/v1/policy/scans", status: 202,
				contain: []string{`"kind":"policy.scan"`, `"state":"pending"`}, events: []string{"policy.scan.request"}},
			{name: "guard the guardrails", method: "PUT", path: defs + "keep-assignments",
				body: `{"kinds":["policy-assignment"],"operations":["delete"],"condition":"true","effect":"deny"}`, status: 201, events: []string{"policy.definition.create"}},
			{name: "assign it", method: "POST", path: assigns, body: `{"name":"keep","definition":"keep-assignments","scope":"/"}`,
				status: 201, events: []string{"policy.assignment.create"}},
			{name: "an assigned policy cannot be deleted", method: "DELETE", path: defs + "needs-description", status: 409, code: "failed_precondition"},
			{name: "removing an assignment is never refused by a policy", method: "DELETE", path: assigns + "/describe",
				status: 204, events: []string{"policy.dryrun", "policy.assignment.delete"}},
			{name: "then the policy can go", method: "DELETE", path: defs + "needs-description", status: 204, events: []string{"policy.definition.delete"}},
			{name: "and projects are free again", method: "POST", path: "/api/v1/zones/eu/projects", body: project("free", ""),
				status: 201, events: []string{"policy.amend", "project.create"}},
		})
	})
}

// TestBuiltinGuardrails assigns built-in policies and meets them on real
// resources: MFA cannot be switched off but by an exempted change, a
// project stays within its zone's classification, tokens have a maximum
// lifetime.
func TestBuiltinGuardrails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		pat, _ := e.enrolledUser("pat", "pat's long passphrase")
		e.grantRole("pat", "platform-admin", "/")
		asPat := map[string]string{"Authorization": "Bearer " + pat}
		e.must(e.do("PATCH", "/api/v1/settings", `{"mfa_required_for_people":true}`, nil), 200)
		for _, a := range []string{
			`{"name":"mfa","definition":"mfa-required-for-people","scope":"/"}`,
			`{"name":"classification","definition":"project-classification-within-zone","scope":"/"}`,
			`{"name":"tokens","definition":"token-max-lifetime","scope":"/","params":{"max_hours":24}}`,
			`{"name":"restricted-envs","definition":"restricted-data-certified-environments","scope":"/"}`,
			`{"name":"federated","definition":"service-principals-federated-credentials","scope":"/"}`,
		} {
			e.must(e.do("POST", "/api/v1/policy/assignments", a, nil), 201)
		}
		future := e.clock.Now().Add(2 * time.Hour).Format(time.RFC3339)
		steps(t, e, "builtin", []scenario{
			{name: "MFA cannot be switched off", method: "PATCH", path: "/api/v1/settings", body: `{"mfa_required_for_people":false}`,
				status: 403, code: "policy_denied", contain: []string{"mfa-required-for-people"}, events: []string{"policy.deny:denied"}},
			{name: "a zone certified for internal data", method: "POST", path: "/api/v1/zones", body: `{"name":"eu","region":"eu","max_classification":"internal"}`,
				status: 201, events: []string{"zone.create"}},
			{name: "a project above its zone is refused", method: "POST", path: "/api/v1/zones/eu/projects",
				body:   `{"name":"onc","owner":"o","cost_center":"c","max_classification":"confidential"}`,
				status: 403, code: "policy_denied", contain: []string{"project-classification-within-zone"}, events: []string{"policy.deny:denied"}},
			{name: "a project within it passes", method: "POST", path: "/api/v1/zones/eu/projects",
				body: `{"name":"onc","owner":"o","cost_center":"c","max_classification":"internal"}`, status: 201, events: []string{"project.create"}},
			{name: "raising it above the zone is refused", method: "PATCH", path: "/api/v1/zones/eu/projects/onc", body: `{"max_classification":"restricted"}`,
				status: 403, code: "policy_denied", events: []string{"policy.deny:denied"}},
			{name: "QA is not certified for restricted data", method: "PATCH", path: "/api/v1/zones/eu/environments/qa",
				body: `{"certified_classification":"restricted"}`, status: 403, code: "policy_denied",
				contain: []string{"restricted-data-certified-environments"}, events: []string{"policy.deny:denied"}},
			{name: "a service principal", method: "POST", path: "/api/v1/service-principals", body: `{"name":"ci","service_kind":"cicd"}`,
				status: 201, events: []string{"service_principal.create"}},
			{name: "no local secret where federation is required", method: "POST", path: "/api/v1/service-principals/ci/secrets", body: `{"description":"deploy"}`,
				status: 403, code: "policy_denied", contain: []string{"service-principals-federated-credentials"}, events: []string{"policy.deny:denied"}},
			{name: "a token beyond the maximum lifetime is refused", method: "POST", path: "/api/v1/auth/tokens",
				body: `{"name":"ci","expires_in_days":3}`, status: 403, code: "policy_denied", contain: []string{"token-max-lifetime"}, events: []string{"policy.deny:denied"}},
			{name: "one within it is issued", method: "POST", path: "/api/v1/auth/tokens", body: `{"name":"ci","expires_in_days":1}`,
				status: 201, events: []string{"token.create"}},
		})
		var ex policy.Exemption
		e.mustJSON(e.do("POST", "/api/v1/policy/exemptions", `{"assignment":"mfa","reason":"break-glass: the TOTP service is down","expires_at":"`+future+`"}`, nil), 201, &ex)
		e.must(e.do("POST", "/api/v1/policy/exemptions/"+ex.ID+"/approve", `{}`, asPat), 200)
		steps(t, e, "mfa", []scenario{
			{name: "the exempted change passes and is recorded", method: "PATCH", path: "/api/v1/settings", body: `{"mfa_required_for_people":false}`,
				status: 200, events: []string{"policy.exempt", "settings.update"}},
		})
		// The exemption expires: the next switch-off (after switching on) is refused again.
		e.must(e.do("PATCH", "/api/v1/settings", `{"mfa_required_for_people":true}`, nil), 200)
		e.clock.Add(3 * time.Hour)
		e.adminToken = e.signIn("admin", e.adminPassword, e.adminTOTP)
		if r := e.do("PATCH", "/api/v1/settings", `{"mfa_required_for_people":false}`, nil); r.status != 403 {
			t.Fatalf("after the exemption expired: %d %s", r.status, r.body)
		}
		var hdr = e.do("PATCH", "/api/v1/settings", `{"mfa_required_for_people":true}`, nil).header.Get(api.AdmissionHeader)
		if hdr != "settings" {
			t.Fatalf("admission header %q", hdr)
		}
		// A scan sees every kind these policies judge.
		if _, err := e.svc.Policy.Scan(context.Background()); err != nil {
			t.Fatal(err)
		}
		var rep policy.ComplianceReport
		e.mustJSON(e.do("GET", "/api/v1/policy/compliance", "", nil), 200, &rep)
		counts := map[string]int{}
		for _, a := range rep.Assignments {
			counts[a.Assignment] = a.Resources
		}
		// settings once; project onc; eu's staging and qa, onc's dev and prod;
		// the tokens alive (the admin's sessions, pat's, the PAT).
		if counts["mfa"] != 1 || counts["classification"] != 1 || counts["restricted-envs"] != 4 || counts["tokens"] < 3 {
			t.Fatalf("scanned: %v", counts)
		}
		var pols struct {
			Items []policy.StoredDefinition `json:"items"`
		}
		e.mustJSON(e.do("GET", "/api/v1/policy/definitions", "", nil), 200, &pols)
		raw, _ := json.Marshal(pols)
		for _, id := range []string{"require-cost-center-tag", "append-owner-tag", "project-classification-within-zone",
			"restricted-data-certified-environments", "mfa-required-for-people", "service-principals-federated-credentials", "token-max-lifetime"} {
			if !strings.Contains(string(raw), `"id":"`+id+`"`) {
				t.Errorf("built-in %s is not listed", id)
			}
		}
	})
}
