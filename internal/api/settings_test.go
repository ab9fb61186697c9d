package api_test

import (
	"testing"

	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

func TestSettingsScenarios(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		steps(t, e, "set", []scenario{
			{name: "default", method: "GET", path: "/api/v1/settings", status: 200, contain: []string{`{"mfa_required_for_people":true}`}},
			{name: "no change", method: "PATCH", path: "/api/v1/settings", body: `{"mfa_required_for_people":true}`, status: 200},
			{name: "empty change", method: "PATCH", path: "/api/v1/settings", body: `{}`, status: 200},
			{name: "unknown setting", method: "PATCH", path: "/api/v1/settings", body: `{"mfa_required":false}`, status: 400, code: "invalid_argument", field: "mfa_required"},
			{name: "wrong type", method: "PATCH", path: "/api/v1/settings", body: `{"mfa_required_for_people":"no"}`, status: 400, code: "invalid_argument", field: "mfa_required_for_people"},
			{name: "turn off", method: "PATCH", path: "/api/v1/settings", body: `{"mfa_required_for_people":false}`, status: 200,
				contain: []string{`"mfa_required_for_people":false`, `"updated_by":"admin"`}, events: []string{"settings.update"}},
			{name: "read back", method: "GET", path: "/api/v1/settings", status: 200, contain: []string{`"mfa_required_for_people":false`, `"updated_at"`}},
			{name: "turn on", method: "PATCH", path: "/api/v1/settings", body: `{"mfa_required_for_people":true}`, status: 200, events: []string{"settings.update"}},
		})
		d := e.auditOf("set-005")[0].Details["mfa_required_for_people"].(map[string]any)
		if d["from"] != true || d["to"] != false {
			t.Errorf("audit details %v", d)
		}
	})
}
