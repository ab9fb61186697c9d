package cli

import (
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
)

func TestServicePrincipalCommands(t *testing.T) {
	api := loggedIn(t)
	ci := &identity.Principal{ID: "s1", Kind: enclave.PrincipalService, ServiceKind: identity.ServiceCICD, Name: "ci", DisplayName: "CI pipeline", CreatedAt: t0, UpdatedAt: t0}
	used := t1
	secrets := []*identity.ClientSecret{
		{ID: "0190a0b0-0000-7000-8000-000000000002", PrincipalID: "s1", Description: "deploy", CreatedAt: t1, ExpiresAt: t1.AddDate(0, 0, 90), LastUsedAt: &used},
		{ID: "0190a0b0-0000-7000-8000-000000000001", PrincipalID: "s1", CreatedAt: t0, ExpiresAt: t0.AddDate(0, 0, 90), RevokedAt: &used},
	}
	api.on("GET", "/api/v1/service-principals", 200, list([]*identity.Principal{ci}, ""))
	api.on("POST", "/api/v1/service-principals", 201, ci)
	api.on("GET", "/api/v1/service-principals/ci/secrets", 200, list(secrets, ""))
	api.on("POST", "/api/v1/service-principals/ci/secrets", 201, identity.IssuedClientSecret{ClientID: "ci", ClientSecret: "encsp_shown-once", Info: secrets[0]})
	api.on("DELETE", "/api/v1/service-principals/ci/secrets/"+secrets[1].ID, 204, nil)

	out, _, err := runCLI(t, "", "service-principal", "list", "--kind", "cicd")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "service_principal_list", out)
	if q := api.last().Query; q != "page_size=200&service_kind=cicd" {
		t.Errorf("query = %s", q)
	}
	if _, _, err := runCLI(t, "", "sp", "create", "ci", "--kind", "cicd", "--display-name", "CI pipeline"); err != nil {
		t.Fatal(err)
	}
	if got := api.last().Body; got != `{"name":"ci","display_name":"CI pipeline","service_kind":"cicd"}` {
		t.Errorf("create body = %s", got)
	}
	out, _, err = runCLI(t, "", "sp", "secret", "list", "ci")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "secret_list", out)
	out, _, err = runCLI(t, "", "sp", "secret", "create", "ci", "--description", "deploy", "--expires-in-days", "30")
	if err != nil || !strings.Contains(out, "client_secret: encsp_shown-once") {
		t.Fatalf("secret create: %q %v", out, err)
	}
	if got := api.last().Body; got != `{"description":"deploy","expires_in_days":30}` {
		t.Errorf("secret body = %s", got)
	}
	if out, _, err := runCLI(t, "", "sp", "secret", "revoke", "ci", secrets[1].ID); err != nil || !strings.HasPrefix(out, "Revoked client secret") {
		t.Errorf("revoke: %q %v", out, err)
	}
	if code, _, stderr := mainCLI("sp", "create", "x"); code != ExitUsage || !strings.Contains(stderr, "--kind is required") {
		t.Errorf("create without kind: %d %q", code, stderr)
	}
}
