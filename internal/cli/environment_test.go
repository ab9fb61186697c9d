package cli

import (
	"testing"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/zone"
)

func TestEnvironmentListTable(t *testing.T) {
	api := loggedIn(t)
	shared := []*zone.Environment{
		{ID: "e1", Name: zone.Staging, Zone: "eu", ZoneID: "z1", CertifiedClassification: enclave.Confidential, State: zone.Active, CreatedAt: t0, UpdatedAt: t0},
		{ID: "e2", Name: zone.QA, Zone: "eu", ZoneID: "z1", CertifiedClassification: enclave.Internal, State: zone.Active, CreatedAt: t0, UpdatedAt: t1},
	}
	own := []*zone.Environment{
		{ID: "e3", Name: zone.Dev, Zone: "eu", Project: "fraud", ZoneID: "z1", ProjectID: "p1", CertifiedClassification: enclave.Confidential, State: zone.Active, UpdatedAt: t0},
		{ID: "e4", Name: zone.Prod, Zone: "eu", Project: "fraud", ZoneID: "z1", ProjectID: "p1", CertifiedClassification: enclave.Restricted, State: zone.Active, UpdatedAt: t0},
	}
	api.on("GET", "/api/v1/zones/eu/environments", 200, list(shared, ""))
	api.on("GET", "/api/v1/zones/eu/projects/fraud/environments", 200, list(own, ""))

	out, _, err := runCLI(t, "", "environment", "list", "--zone", "eu")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "environment_list_shared", out)
	out, _, err = runCLI(t, "", "env", "list", "--zone", "eu", "--project", "fraud")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "environment_list_project", out)
}

func TestEnvironmentUpdate(t *testing.T) {
	api := loggedIn(t)
	prod := &zone.Environment{ID: "e4", Name: zone.Prod, Zone: "eu", Project: "fraud", CertifiedClassification: enclave.Restricted, State: zone.Active}
	api.on("PATCH", "/api/v1/zones/eu/projects/fraud/environments/prod", 200, prod)
	api.on("GET", "/api/v1/zones/eu/environments/qa", 200, prod)

	_, _, err := runCLI(t, "", "environment", "update", "prod", "--zone", "eu", "--project", "fraud", "--certified-classification", "restricted")
	if err != nil {
		t.Fatal(err)
	}
	if got := api.last().Body; got != `{"certified_classification":"restricted"}` {
		t.Errorf("body = %s", got)
	}
	if _, _, err := runCLI(t, "", "environment", "show", "qa", "--zone", "eu"); err != nil {
		t.Fatal(err)
	}
	if got := api.last().Path; got != "/api/v1/zones/eu/environments/qa" {
		t.Errorf("path = %s", got)
	}
}
