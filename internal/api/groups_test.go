package api_test

import (
	"testing"

	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

func TestGroupScenarios(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.createUser("ana", "violet-kettle-ninety-harbor")
		e.must(e.do("POST", "/api/v1/service-principals", `{"name":"ci","service_kind":"cicd"}`, nil), 201)
		steps(t, e, "g", []scenario{
			{name: "create", method: "POST", path: "/api/v1/groups", body: `{"name":"oncology-team","description":"Oncology data scientists"}`,
				status: 201, contain: []string{`"member_count":0`}, events: []string{"group.create"}},
			{name: "duplicate", method: "POST", path: "/api/v1/groups", body: `{"name":"oncology-team"}`, status: 409, code: "conflict", field: "name"},
			{name: "named like a user", method: "POST", path: "/api/v1/groups", body: `{"name":"ana"}`, status: 409, code: "conflict", field: "name"},
			{name: "bad name", method: "POST", path: "/api/v1/groups", body: `{"name":"Oncology Team"}`, status: 400, code: "invalid_argument", field: "name"},
			{name: "description with control characters", method: "POST", path: "/api/v1/groups", body: `{"name":"x","description":"a\u001bb"}`,
				status: 400, code: "invalid_argument", field: "description"},
			{name: "add a user", method: "POST", path: "/api/v1/groups/oncology-team/members", body: `{"member":"ana"}`, status: 201,
				contain: []string{`"name":"ana"`, `"kind":"user"`}, events: []string{"group.member.add"}},
			{name: "add a service principal", method: "POST", path: "/api/v1/groups/oncology-team/members", body: `{"member":"ci"}`, status: 201,
				contain: []string{`"service_kind":"cicd"`}, events: []string{"group.member.add"}},
			{name: "add twice", method: "POST", path: "/api/v1/groups/oncology-team/members", body: `{"member":"ana"}`, status: 409, code: "conflict", field: "member"},
			{name: "add nobody", method: "POST", path: "/api/v1/groups/oncology-team/members", body: `{"member":"nobody"}`, status: 404, code: "not_found", field: "member"},
			{name: "add to a missing group", method: "POST", path: "/api/v1/groups/nope/members", body: `{"member":"ana"}`, status: 404, code: "not_found"},
			{name: "bad member name", method: "POST", path: "/api/v1/groups/oncology-team/members", body: `{"member":"../admin"}`, status: 400, code: "invalid_argument", field: "member"},
			{name: "members", method: "GET", path: "/api/v1/groups/oncology-team/members", status: 200, contain: []string{`"name":"ana"`, `"name":"ci"`}},
			{name: "count", method: "GET", path: "/api/v1/groups/oncology-team", status: 200, contain: []string{`"member_count":2`}},
			{name: "list", method: "GET", path: "/api/v1/groups", status: 200, contain: []string{`"name":"oncology-team"`}},
			{name: "update", method: "PATCH", path: "/api/v1/groups/oncology-team", body: `{"description":"Oncology"}`, status: 200,
				contain: []string{`"description":"Oncology"`}, events: []string{"group.update"}},
			{name: "remove", method: "DELETE", path: "/api/v1/groups/oncology-team/members/ana", status: 204, events: []string{"group.member.remove"}},
			{name: "remove again", method: "DELETE", path: "/api/v1/groups/oncology-team/members/ana", status: 404, code: "not_found"},
			{name: "remove nobody", method: "DELETE", path: "/api/v1/groups/oncology-team/members/nobody", status: 404, code: "not_found"},
			{name: "uppercase group in path", method: "GET", path: "/api/v1/groups/Team", status: 400, code: "invalid_argument", field: "group"},
			{name: "delete", method: "DELETE", path: "/api/v1/groups/oncology-team", status: 204, events: []string{"group.delete"}},
			{name: "gone", method: "GET", path: "/api/v1/groups/oncology-team", status: 404, code: "not_found"},
			{name: "name free again", method: "POST", path: "/api/v1/groups", body: `{"name":"oncology-team"}`, status: 201,
				contain: []string{`"member_count":0`}, events: []string{"group.create"}},
		})
	})
}

// TestNoSelfAddToGroup: nobody adds themselves to a group, whatever they
// may otherwise do with groups (separation of duties); the refusal is
// audited and nothing changes. Adding someone else works.
func TestNoSelfAddToGroup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.createUser("ana", "violet-kettle-ninety-harbor")
		e.must(e.do("POST", "/api/v1/groups", `{"name":"owners"}`, nil), 201)
		steps(t, e, "self", []scenario{
			{name: "add yourself", method: "POST", path: "/api/v1/groups/owners/members", body: `{"member":"admin"}`,
				status: 403, code: "permission_denied", field: "member", events: []string{"group.member.add:denied", "access.denied:denied"}},
			{name: "nothing changed", method: "GET", path: "/api/v1/groups/owners", status: 200, contain: []string{`"member_count":0`}},
			{name: "add someone else", method: "POST", path: "/api/v1/groups/owners/members", body: `{"member":"ana"}`,
				status: 201, events: []string{"group.member.add"}},
		})
		ev := e.auditOf("self-000")[0]
		if ev.Reason != "self" || ev.Details["member"] != "admin" || ev.Details["group"] != "owners" || ev.ActorName != "admin" {
			t.Errorf("denial record %+v", ev)
		}
	})
}
