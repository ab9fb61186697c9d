package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/zone"
)

var (
	t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 = time.Date(2026, 1, 3, 4, 5, 6, 0, time.FixedZone("CET", 3600))
)

func zoneEU() *zone.Zone {
	return &zone.Zone{ID: "z1", Name: "eu", DisplayName: "Europe", Region: "eu-west",
		Tags: enclave.Tags{"team": "ml", "cost": "42"}, MaxClassification: enclave.Restricted, State: zone.Active, CreatedAt: t0, UpdatedAt: t1}
}

func zoneUS() *zone.Zone {
	return &zone.Zone{ID: "z2", Name: "us", Region: "us-east", Tags: enclave.Tags{}, MaxClassification: enclave.Confidential, State: zone.Retiring, CreatedAt: t1, UpdatedAt: t1}
}

func list(items any, next string) map[string]any {
	return map[string]any{"items": items, "next_page_token": next}
}

// pagedZones serves eu on the first page and us on the second.
func pagedZones(api *fakeAPI) {
	api.handle("GET", "/api/v1/zones", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("page_token") == "" {
			_ = json.NewEncoder(w).Encode(list([]*zone.Zone{zoneEU()}, "p2"))
			return
		}
		_ = json.NewEncoder(w).Encode(list([]*zone.Zone{zoneUS()}, ""))
	})
}

func TestZoneListTable(t *testing.T) {
	api := loggedIn(t)
	pagedZones(api)
	out, _, err := runCLI(t, "", "zone", "list", "--region", "eu-west", "--state", "active")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "zone_list", out)
	if q := api.last().Query; q != "page_size=200&page_token=p2&region=eu-west&state=active" {
		t.Errorf("query = %s", q)
	}

	before := api.count()
	out, _, err = runCLI(t, "", "zone", "list", "--limit", "1", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var zones []zone.Zone
	if err := json.Unmarshal([]byte(out), &zones); err != nil {
		t.Fatal(err)
	}
	if len(zones) != 1 || zones[0].Name != "eu" || api.count()-before != 1 {
		t.Errorf("--limit 1: %d zones, %d requests", len(zones), api.count()-before)
	}
}

func TestZoneShowFormats(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/zones/eu", 200, zoneEU())
	for _, format := range []string{"table", "json", "yaml"} {
		out, _, err := runCLI(t, "", "zone", "show", "eu", "-o", format)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "zone_show_"+format, out)
	}

	out, _, err := runCLI(t, "", "zone", "show", "eu", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got zone.Zone
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Name != "eu" || got.Tags["team"] != "ml" || !got.CreatedAt.Equal(t0) {
		t.Errorf("json round trip = %+v", got)
	}
}

func TestEmptyListFormats(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/zones", 200, list([]any{}, ""))
	for format, want := range map[string]string{"json": "[]\n", "yaml": "[]\n", "table": "NAME  REGION  STATE  MAX CLASSIFICATION  DISPLAY NAME  TAGS  CREATED\n"} {
		out, _, err := runCLI(t, "", "zone", "list", "-o", format)
		if err != nil {
			t.Fatal(err)
		}
		if out != want {
			t.Errorf("-o %s = %q, want %q", format, out, want)
		}
	}
}

func TestUnknownOutputIsUsageError(t *testing.T) {
	api := loggedIn(t)
	api.on("POST", "/api/v1/zones", 201, zoneEU())
	code, _, stderr := mainCLI("zone", "create", "eu", "--region", "eu-west", "-o", "xml")
	if code != ExitUsage || !strings.Contains(stderr, `unknown output format "xml"`) {
		t.Errorf("code %d, stderr %q", code, stderr)
	}
	if api.count() != 0 {
		t.Errorf("the zone was created despite the bad -o")
	}
}

func TestProblemBecomesError(t *testing.T) {
	api := loggedIn(t)
	api.handle("GET", "/api/v1/zones/nope", func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, http.StatusNotFound, "not_found", "zone nope does not exist")
	})
	_, _, err := runCLI(t, "", "zone", "show", "nope")
	if err == nil || !strings.Contains(err.Error(), "not_found: zone nope does not exist") {
		t.Fatalf("err = %v", err)
	}
	code, stdout, stderr := mainCLI("zone", "show", "nope")
	if code != ExitAPI || stdout != "" || stderr != "Error: not_found: zone nope does not exist [request req-1]\n" {
		t.Errorf("code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestUnreachableServer(t *testing.T) {
	path := testEnv(t)
	api := newFakeAPI(t, false)
	url := api.URL
	api.Close()
	if err := saveClientConfig(path, &ClientConfig{Server: url, Token: "t"}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := mainCLI("zone", "list")
	if code != ExitUnavailable || !strings.Contains(stderr, "cannot reach "+url) {
		t.Errorf("code %d, stderr %q", code, stderr)
	}
}

func TestZoneCreate(t *testing.T) {
	api := loggedIn(t)
	api.on("POST", "/api/v1/zones", 201, zoneEU())
	_, _, err := runCLI(t, "", "zone", "create", "eu", "--region", "eu-west", "--display-name", "Europe",
		"--tag", "team=ml", "--tag", "cost=4=2")
	if err != nil {
		t.Fatal(err)
	}
	req := api.last()
	if req.Body != `{"name":"eu","display_name":"Europe","region":"eu-west","tags":{"cost":"4=2","team":"ml"}}` {
		t.Errorf("body = %s", req.Body)
	}
	if req.Header.Get("Idempotency-Key") == "" || req.Header.Get("User-Agent") != "enclave-cli" {
		t.Errorf("headers = %v", req.Header)
	}
}

func TestUsageErrors(t *testing.T) {
	api := loggedIn(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"zone", "create", "eu"}, "--region is required"},
		{[]string{"zone", "create"}, "accepts 1 arg(s), received 0"},
		{[]string{"zone", "create", "eu", "--region", "r", "--tag", "novalue"}, `--tag "novalue" must be key=value`},
		{[]string{"zone", "create", "eu", "--region", "r", "--tag", "a=1", "--tag", "a=2"}, "--tag a is given twice"},
		{[]string{"zone", "show", "a", "b"}, "accepts 1 arg(s), received 2"},
		{[]string{"zone", "list", "--limit", "-1"}, "--limit must not be negative"},
		{[]string{"zone", "list", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"zone", "update", "eu"}, "nothing to change"},
		{[]string{"zone", "update", "eu", "--tag", "a=b", "--clear-tags"}, "cannot be used together"},
		{[]string{"zone", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"project", "list"}, "--zone is required"},
		{[]string{"project", "create", "p", "--zone", "eu"}, "--owner and --cost-center is required"},
		{[]string{"environment", "update", "dev", "--zone", "eu"}, "nothing to change"},
		{[]string{"task", "show"}, "accepts 1 arg(s), received 0"},
	}
	for _, tt := range tests {
		code, _, stderr := mainCLI(tt.args...)
		if code != ExitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: code %d, stderr %q; want %d and %q", tt.args, code, stderr, ExitUsage, tt.want)
		}
	}
	if api.count() != 0 {
		t.Errorf("usage errors sent %d requests", api.count())
	}
}

func TestZoneUpdateSendsOnlyChangedFlags(t *testing.T) {
	api := loggedIn(t)
	api.on("PATCH", "/api/v1/zones/eu", 200, zoneEU())
	tests := []struct {
		args []string
		body string
	}{
		{[]string{"--state", "retiring"}, `{"state":"retiring"}`},
		{[]string{"--display-name", ""}, `{"display_name":""}`},
		{[]string{"--clear-tags"}, `{"tags":{}}`},
		{[]string{"--tag", "a=1", "--tag", "b=2", "--display-name", "EU"}, `{"display_name":"EU","tags":{"a":"1","b":"2"}}`},
	}
	for _, tt := range tests {
		if _, _, err := runCLI(t, "", append([]string{"zone", "update", "eu"}, tt.args...)...); err != nil {
			t.Fatal(err)
		}
		if got := api.last().Body; got != tt.body {
			t.Errorf("%v: body %s, want %s", tt.args, got, tt.body)
		}
	}
}

func TestZoneDelete(t *testing.T) {
	api := loggedIn(t)
	api.on("DELETE", "/api/v1/zones/eu", 204, nil)
	out, _, err := runCLI(t, "", "zone", "delete", "eu")
	if err != nil {
		t.Fatal(err)
	}
	if out != "Deleted zone eu\n" {
		t.Errorf("stdout = %q", out)
	}
	if out, _, _ := runCLI(t, "", "zone", "delete", "eu", "-o", "json"); out != "" {
		t.Errorf("-o json printed %q", out)
	}
}

func FuzzParseTags(f *testing.F) {
	f.Add("team=ml", "cost=4=2")
	f.Add("=x", "novalue")
	f.Fuzz(func(t *testing.T, a, b string) {
		tags, err := parseTags([]string{a, b})
		if err != nil {
			if !isUsage(err) {
				t.Fatalf("parseTags error %v is not a usage error", err)
			}
			return
		}
		for _, flag := range []string{a, b} {
			k, v, _ := strings.Cut(flag, "=")
			if tags[k] != v {
				t.Fatalf("parseTags(%q) lost %q", flag, k)
			}
		}
	})
}
