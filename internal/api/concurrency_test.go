package api_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/storetest"
)

// TestConcurrentWrites: many clients create and race on the same names at
// once. Every request gets a definite answer (201 or 409, never a database
// busy error), exactly one create per name wins, and each winner's audit
// record exists.
func TestConcurrentWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		const names, tries = 8, 4
		var mu sync.Mutex
		created := map[string]int{}
		var wg sync.WaitGroup
		for i := range names * tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("c%d", i%names)
				r := e.do("POST", "/api/v1/zones", `{"name":"`+name+`","region":"eu"}`, nil)
				mu.Lock()
				defer mu.Unlock()
				switch r.status {
				case 201:
					created[name]++
				case 409:
				default:
					t.Errorf("create %s: %d %s", name, r.status, r.body)
				}
			}()
		}
		wg.Wait()
		for i := range names {
			if n := created[fmt.Sprintf("c%d", i)]; n != 1 {
				t.Errorf("c%d created %d times", i, n)
			}
		}
		var events int
		sealAudit(t, db)
		if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM audit_events WHERE action = 'zone.create'`).Scan(&events); err != nil || events != names {
			t.Fatalf("zone.create events: %d, %v", events, err)
		}
	})
}
