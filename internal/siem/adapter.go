package siem

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// Sender delivers batches of events to one sink. Send returns nil only once
// the receiver has taken every event of the batch, as far as its protocol
// can tell; the cursor then moves past them. An error leaves the whole batch
// to be sent again, so a receiver may see an event twice (never out of order
// within what it acknowledged) and deduplicates by the event ID.
type Sender interface {
	Send(ctx context.Context, events []*audit.Event) error
	// Close releases the sender's connections and files.
	Close() error
}

// Env is what an adapter may need from the server beyond the sink itself.
type Env struct {
	// FileDir is the directory file sinks' paths are relative to.
	FileDir string
	// Hostname names this server in syslog messages and HEC events.
	Hostname string
}

// Opener makes a Sender for a sink.
type Opener func(s *Sink, env Env) (Sender, error)

var (
	openersMu sync.RWMutex
	openers   = map[Kind]Opener{}
)

// Register makes an adapter available for a kind of sink. It panics if the
// kind already has one, like database/sql.Register.
func Register(k Kind, open Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	if _, dup := openers[k]; dup {
		panic("siem: Register called twice for " + string(k))
	}
	openers[k] = open
}

// Registered lists the kinds that have an adapter.
func Registered() []Kind {
	openersMu.RLock()
	defer openersMu.RUnlock()
	var ks []Kind
	for k := range openers {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

func open(s *Sink, env Env) (Sender, error) {
	openersMu.RLock()
	o, ok := openers[s.Kind]
	openersMu.RUnlock()
	if !ok {
		return nil, enclave.Errorf(enclave.CodeFailedPrecondition, "no adapter for %s sinks is linked into this server", s.Kind)
	}
	return o(s, env)
}

// LoadCAPool reads the PEM certificates a sink trusts for its receiver.
// what names the sink kind in errors.
func LoadCAPool(what, path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s CA file: %w", what, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s CA file %s holds no PEM certificate", what, path)
	}
	return pool, nil
}
