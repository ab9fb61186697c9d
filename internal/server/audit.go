package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/config"
)

// loadAuditKey loads (or creates) the checkpoint-signing key and registers
// its public half, so verification can find it.
func (m *Main) loadAuditKey(ctx context.Context, cfg config.Config) error {
	path := cfg.Audit.SigningKeyFile
	if path == "" {
		path = filepath.Join(cfg.DataDir, "keys", "audit-signing.key")
	}
	key, err := audit.LoadOrCreateKey(path)
	if err != nil {
		return fmt.Errorf("audit signing key: %w", err)
	}
	m.Services.AuditChain.Key = key
	// The key that HMACs sensitive values is derived from the same secret,
	// so replicas that share the signing key correlate the same way.
	mac := hmac.New(sha256.New, key.Seed())
	mac.Write([]byte("enclave-audit-hmac/v1"))
	m.Services.Audit.Key = mac.Sum(nil)
	return m.DB.InTx(ctx, m.Services.AuditChain.Register)
}

// checkpointLoop signs the chain's head every interval, and once more on the
// way down so that a clean stop leaves everything signed.
func (m *Main) checkpointLoop(ctx context.Context) {
	interval := m.Config.Audit.CheckpointInterval
	if interval <= 0 {
		interval = time.Minute
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	sign := func(ctx context.Context) {
		if _, err := m.Services.AuditChain.Checkpoint(ctx); err != nil {
			m.Logger.ErrorContext(ctx, "audit checkpoint", "error", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			sign(context.WithoutCancel(ctx))
			return
		case <-tick.C:
			sign(ctx)
		}
	}
}
