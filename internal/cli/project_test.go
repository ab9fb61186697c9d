package cli

import (
	"testing"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/zone"
)

func projectFraud() *zone.Project {
	return &zone.Project{ID: "p1", Zone: "eu", ZoneID: "z1", Name: "fraud", Description: "Card fraud models",
		Owner: "ana@example.com", CostCenter: "cc-42", Tags: enclave.Tags{"team": "risk"},
		MaxClassification: enclave.Confidential, State: zone.Active, CreatedAt: t0, UpdatedAt: t0}
}

func TestProjectListTable(t *testing.T) {
	api := loggedIn(t)
	other := &zone.Project{ID: "p2", Zone: "eu", Name: "churn", Owner: "bo@example.com", CostCenter: "cc-7",
		MaxClassification: enclave.Internal, State: zone.Retired, CreatedAt: t1}
	api.on("GET", "/api/v1/zones/eu/projects", 200, list([]*zone.Project{projectFraud(), other}, ""))
	out, _, err := runCLI(t, "", "project", "list", "--zone", "eu", "--state", "active")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "project_list", out)
	if q := api.last().Query; q != "page_size=200&state=active" {
		t.Errorf("query = %s", q)
	}
}

func TestProjectCreateAndUpdate(t *testing.T) {
	api := loggedIn(t)
	api.on("POST", "/api/v1/zones/eu/projects", 201, projectFraud())
	api.on("PATCH", "/api/v1/zones/eu/projects/fraud", 200, projectFraud())
	api.on("DELETE", "/api/v1/zones/eu/projects/fraud", 204, nil)

	_, _, err := runCLI(t, "", "project", "create", "fraud", "--zone", "eu", "--owner", "ana@example.com",
		"--cost-center", "cc-42", "--max-classification", "confidential", "--tag", "team=risk")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"fraud","owner":"ana@example.com","cost_center":"cc-42","tags":{"team":"risk"},"max_classification":"confidential"}`
	if got := api.last().Body; got != want {
		t.Errorf("create body = %s\nwant          %s", got, want)
	}

	if _, _, err := runCLI(t, "", "project", "update", "fraud", "--zone", "eu", "--owner", "bo@example.com", "--state", "retiring"); err != nil {
		t.Fatal(err)
	}
	if got := api.last().Body; got != `{"owner":"bo@example.com","state":"retiring"}` {
		t.Errorf("update body = %s", got)
	}

	out, _, err := runCLI(t, "", "project", "delete", "fraud", "--zone", "eu")
	if err != nil {
		t.Fatal(err)
	}
	if out != "Deleted project fraud in zone eu\n" {
		t.Errorf("delete stdout = %q", out)
	}
}

func TestProjectShowYAML(t *testing.T) {
	api := loggedIn(t)
	api.on("GET", "/api/v1/zones/eu/projects/fraud", 200, projectFraud())
	out, _, err := runCLI(t, "", "project", "show", "fraud", "--zone", "eu", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "project_show_yaml", out)
}
