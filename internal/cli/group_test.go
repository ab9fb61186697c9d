package cli

import (
	"encoding/json"
	"testing"

	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
)

func TestGroupCommands(t *testing.T) {
	api := loggedIn(t)
	g := &identity.Group{ID: "g1", Name: "oncology", Description: "Oncology team", MemberCount: 2, CreatedAt: t0, UpdatedAt: t0}
	members := []*identity.GroupMember{
		{PrincipalID: "u1", Name: "ana", Kind: enclave.PrincipalUser, DisplayName: "Ana Lima", AddedAt: t0},
		{PrincipalID: "s1", Name: "ci", Kind: enclave.PrincipalService, ServiceKind: identity.ServiceCICD, DisplayName: "CI", AddedAt: t1},
	}
	api.on("GET", "/api/v1/groups", 200, list([]*identity.Group{g}, ""))
	api.on("GET", "/api/v1/groups/oncology", 200, g)
	api.on("GET", "/api/v1/groups/oncology/members", 200, list(members, ""))
	api.on("POST", "/api/v1/groups", 201, g)
	api.on("POST", "/api/v1/groups/oncology/members", 201, members[0])
	api.on("DELETE", "/api/v1/groups/oncology/members/ana", 204, nil)
	api.on("DELETE", "/api/v1/groups/oncology", 204, nil)

	out, _, err := runCLI(t, "", "group", "list")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "group_list", out)
	out, _, err = runCLI(t, "", "group", "show", "oncology")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "group_show", out)
	out, _, err = runCLI(t, "", "group", "show", "oncology", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var detail struct {
		Name    string `json:"name"`
		Members []struct {
			Name string `json:"name"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(out), &detail); err != nil || detail.Name != "oncology" || len(detail.Members) != 2 {
		t.Fatalf("show json: %s %v", out, err)
	}
	if _, _, err := runCLI(t, "", "group", "create", "oncology", "--description", "Oncology team"); err != nil {
		t.Fatal(err)
	}
	if got := api.last().Body; got != `{"name":"oncology","description":"Oncology team"}` {
		t.Errorf("create body = %s", got)
	}
	if _, _, err := runCLI(t, "", "group", "add-member", "oncology", "ana"); err != nil {
		t.Fatal(err)
	}
	if got := api.last().Body; got != `{"member":"ana"}` {
		t.Errorf("add-member body = %s", got)
	}
	if out, _, err := runCLI(t, "", "group", "remove-member", "oncology", "ana"); err != nil || out != "Removed ana from oncology\n" {
		t.Errorf("remove-member: %q %v", out, err)
	}
	if out, _, err := runCLI(t, "", "group", "delete", "oncology"); err != nil || out != "Deleted group oncology\n" {
		t.Errorf("delete: %q %v", out, err)
	}
	if code, _, _ := mainCLI("group", "add-member", "oncology"); code != ExitUsage {
		t.Errorf("add-member with one argument: exit %d", code)
	}
}
