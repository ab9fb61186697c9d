package server_test

import (
	"reflect"
	"testing"

	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/server"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// TestEveryServiceIsAdmitted: every service that has an Admission hook is
// wired to the policy engine. A nil hook admits everything, so a service
// added without wiring would skip every guardrail.
func TestEveryServiceIsAdmitted(t *testing.T) {
	db := storetest.Open(t, storetest.Backends()[0].URL(t))
	svc := reflect.ValueOf(server.NewServices(db, nil, config.Default())).Elem()
	hooks := 0
	for i := range svc.NumField() {
		f := svc.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() || f.Elem().Kind() != reflect.Struct {
			continue
		}
		if h := f.Elem().FieldByName("Admission"); h.IsValid() {
			hooks++
			if h.IsNil() {
				t.Errorf("%s.Admission is not wired to the policy engine", svc.Type().Field(i).Name)
			}
		}
	}
	if hooks < 6 {
		t.Fatalf("only %d services have an Admission hook", hooks)
	}
}
