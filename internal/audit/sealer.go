package audit

import (
	"context"
	"log/slog"
	"time"
)

// Sealer chains appended records as soon as their transactions commit, and
// at least every Interval, which picks up records appended by other
// replicas or left pending by a crash. Under load one seal takes every
// record committed meanwhile, so sealing costs one transaction per batch,
// not per record.
type Sealer struct {
	Store    Store
	Interval time.Duration // default 1s
	Logger   *slog.Logger
}

// Run seals until ctx ends, and once more on the way out.
func (s *Sealer) Run(ctx context.Context) {
	interval := s.Interval
	if interval <= 0 {
		interval = time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	seal := func(ctx context.Context) {
		if _, err := s.Store.Seal(ctx); err != nil && ctx.Err() == nil && s.Logger != nil {
			s.Logger.ErrorContext(ctx, "audit sealing", "error", err)
		}
	}
	for {
		seal(ctx)
		select {
		case <-ctx.Done():
			seal(context.WithoutCancel(ctx))
			return
		case <-s.Store.Appended():
		case <-tick.C:
		}
	}
}
