package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/enclave-ml/enclave/internal/policy"
	"github.com/enclave-ml/enclave/internal/server"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/zone"
)

// latencies is one measurement's per-request durations.
type latencies []time.Duration

func (l latencies) pct(p float64) time.Duration {
	s := slices.Clone(l)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// admissionResult is admission's cost with many policies against none.
type admissionResult struct {
	name       string
	with, none latencies
}

// policyConditions are 50 guardrails over projects, of the shapes
// organisations write: tags present and well-formed, classification caps,
// name patterns, parameter lists, owner checks. A compliant project meets
// none of them, as most requests do; every one is evaluated.
func policyConditions(kind func(i int) string) []policy.Definition {
	shapes := []struct {
		effect    policy.Effect
		condition string
		fields    []policy.Field
	}{
		{policy.Deny, `!has(object.tags) || !(params.tag in object.tags) || object.tags[params.tag] == ""`, nil},
		{policy.Deny, `has(object.tags) && params.tag in object.tags && !object.tags[params.tag].matches("^[a-z0-9-]{1,40}$")`, nil},
		{policy.Deny, `classification_rank(object.max_classification) > classification_rank(params.max)`, nil},
		{policy.Deny, `!object.name.matches("^[a-z][a-z0-9-]*$") || size(object.name) > 40`, nil},
		{policy.Audit, `object.description == "" || size(object.description) > 2000`, nil},
		{policy.Deny, `object.owner in params.blocked`, nil},
		{policy.Deny, `parent != null && has(parent.max_classification) && classification_rank(object.max_classification) > classification_rank(parent.max_classification)`, nil},
		{policy.Append, `!has(object.tags) || !(params.tag in object.tags)`, []policy.Field{{Path: "tags.owner", Value: `"platform-team"`}}},
		{policy.Deny, `operation == "update" && oldObject.cost_center != object.cost_center && !principal.platform_admin`, nil},
		{policy.Audit, `object.tags.exists(k, k.startsWith("tmp-"))`, nil},
	}
	var out []policy.Definition
	for i := range 50 {
		s := shapes[i%len(shapes)]
		d := policy.Definition{ID: fmt.Sprintf("bench-%02d", i), Kinds: []string{kind(i)}, Effect: s.effect,
			Condition: s.condition, Fields: s.fields, Message: "bench",
			Parameters: map[string]policy.Parameter{
				"tag":     {Type: "string", Default: []string{"cost-center", "owner", "data-steward"}[i%3]},
				"max":     {Type: "string", Default: "restricted"},
				"blocked": {Type: "list", Default: []any{"mallory", "eve"}},
			}}
		out = append(out, d)
	}
	return out
}

// benchAdmission measures admission two ways, each with 50 policies
// assigned against none in the same run: the engine alone (policy.Service
// .Admit in a transaction, as a service calls it: the generation check,
// the candidates, 50 CEL programs) and a whole request (PATCH a project
// through the HTTP API).
func benchAdmission(url string, n int) []admissionResult {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, url)
	check(err)
	defer db.Close()
	_, err = db.Migrate(ctx)
	check(err)
	svc := server.NewServices(db, nil, config.Default())
	var cred string
	_, err = svc.Identity.Bootstrap(ctx, func(_, c string) error { cred = c; return nil })
	check(err)
	sys := enclave.WithActor(ctx, enclave.SystemActor("bench"))
	off := false
	_, err = svc.Identity.UpdateSettings(sys, identity.SettingsUpdate{MFARequiredForPeople: &off})
	check(err)
	login, err := svc.Identity.Login(ctx, identity.AdminName, cred)
	check(err)
	admin := enclave.WithActor(ctx, &enclave.Actor{PrincipalID: login.Token.PrincipalID, Kind: enclave.PrincipalUser, Name: "admin", PlatformAdmin: true})
	z, err := svc.Zones.CreateZone(sys, zone.ZoneCreate{Name: "bench", Region: "eu", Tags: enclave.Tags{"cost-center": "cc-1"}})
	check(err)
	p, err := svc.Zones.CreateProject(sys, "bench", zone.ProjectCreate{Name: "onc", Owner: "dr-a", CostCenter: "cc-1",
		Description: "oncology", Tags: enclave.Tags{"cost-center": "cc-1", "owner": "dr-a", "data-steward": "ds-1"}})
	check(err)

	a := svc.API(db)
	a.Logger = slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	hc := srv.Client()
	patch := func(i int) time.Duration {
		body := fmt.Sprintf(`{"description":"oncology %d"}`, i)
		req, _ := http.NewRequest("PATCH", srv.URL+"/api/v1/zones/bench/projects/onc", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+login.Secret)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		res, err := hc.Do(req)
		check(err)
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		d := time.Since(start)
		if res.StatusCode != 200 {
			check(fmt.Errorf("PATCH project: %d", res.StatusCode))
		}
		return d
	}
	change := func() enclave.Change {
		obj := *p
		return enclave.Change{Kind: "project", Operation: enclave.OpUpdate, Scope: string(access.ProjectScope("bench", "onc")),
			Object: &obj, Old: p, Parent: z}
	}
	admit := func(int) time.Duration {
		c := change()
		start := time.Now()
		check(db.InTx(ctx, func(ctx context.Context) error { return svc.Policy.Admit(admin, c) }))
		return time.Since(start)
	}
	measure := func(fn func(int) time.Duration) latencies {
		for i := range n / 10 { // warm up
			fn(i)
		}
		out := make(latencies, n)
		for i := range n {
			out[i] = fn(i)
		}
		return out
	}
	engineNone, apiNone := measure(admit), measure(patch)
	// First the 50 spread over the platform's kinds as an organisation's
	// guardrails are (five judge projects), then all 50 judging projects:
	// the worst case, where every request meets every policy.
	kinds := []string{"project", "zone", "dataset", "user", "token", "environment", "settings", "role-assignment", "service-principal", "audit-sink"}
	assign := func(kind func(int) string) {
		for i, d := range policyConditions(kind) {
			_, _, err := svc.Policy.PutDefinition(admin, d.ID, d)
			check(err)
			name := fmt.Sprintf("a-%02d", i)
			if _, err := svc.Policy.GetAssignment(ctx, name); err == nil {
				continue
			}
			_, err = svc.Policy.CreateAssignment(admin, policy.AssignmentCreate{Name: name, Definition: d.ID,
				Scope: []string{"/", "/zones/bench", "/zones/bench/projects/onc"}[i%3]})
			check(err)
		}
		as, err := svc.Policy.Store.ListAssignments(ctx)
		check(err)
		if len(as) != 50 {
			check(fmt.Errorf("%d assignments", len(as)))
		}
	}
	assign(func(i int) string { return kinds[i%len(kinds)] })
	engineSpread, apiSpread := measure(admit), measure(patch)
	assign(func(int) string { return "project" })
	engineAll, apiAll := measure(admit), measure(patch)
	return []admissionResult{
		{"admission (engine, in a transaction), 5 of 50 judge projects", engineSpread, engineNone},
		{"admission (engine, in a transaction), all 50 judge projects", engineAll, engineNone},
		{"PATCH project (HTTP API, audited), 5 of 50 judge projects", apiSpread, apiNone},
		{"PATCH project (HTTP API, audited), all 50 judge projects", apiAll, apiNone},
	}
}
