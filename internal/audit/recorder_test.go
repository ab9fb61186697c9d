package audit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// TestSensitiveValuesAreHMACd: a sensitive detail never reaches the trail;
// its keyed HMAC does, equal for equal values under one key.
func TestSensitiveValuesAreHMACd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		store := &sqlstore.AuditStore{DB: db}
		rec := &audit.Recorder{Store: store, Key: []byte("platform-key")}
		for range 2 {
			if err := db.InTx(context.Background(), func(ctx context.Context) error {
				return rec.Record(ctx, audit.Event{Action: "user.create", TargetType: "principal",
					Details: map[string]any{"email": audit.Sensitive("ana@example.org"), "nested": map[string]any{"to": audit.Sensitive("b@example.org")}}})
			}); err != nil {
				t.Fatal(err)
			}
		}
		evs, _ := store.ListEvents(context.Background(), audit.Filter{}, 0, 10)
		a, b := evs[0].Details["email"].(string), evs[1].Details["email"].(string)
		if !strings.HasPrefix(a, "hmac-sha256:") || a != b || strings.Contains(string(evs[0].DetailsJSON), "example.org") {
			t.Fatalf("sensitive details: %s / %s", evs[0].DetailsJSON, evs[1].DetailsJSON)
		}
		other := &audit.Recorder{Store: store, Key: []byte("another-key")}
		_ = db.InTx(context.Background(), func(ctx context.Context) error {
			return other.Record(ctx, audit.Event{Action: "x", TargetType: "t", Details: map[string]any{"email": audit.Sensitive("ana@example.org")}})
		})
		evs, _ = store.ListEvents(context.Background(), audit.Filter{Action: "x"}, 0, 1)
		if evs[0].Details["email"] == a {
			t.Fatal("the HMAC does not depend on the key")
		}
	})
}
