package siem

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// snapshot is every sink with its health at one moment, shared by the
// write gate, metrics and listings.
type snapshot struct {
	sinks  []*Sink
	head   int64
	loaded time.Time // wall-clock time of loading, for reuse
}

// invalidate makes the next read load the health again, after this process
// changed a definition or a state.
func (s *Service) invalidate() {
	s.snapMu.Lock()
	s.snap = nil
	s.snapMu.Unlock()
}

// load returns the current snapshot, loading it when it is older than
// SnapshotTTL.
func (s *Service) load(ctx context.Context) (*snapshot, error) {
	s.defaults()
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if s.snap != nil && time.Since(s.snap.loaded) < s.SnapshotTTL {
		return s.snap, nil
	}
	sinks, states, err := s.Store.ListSinks(ctx)
	if err != nil {
		return nil, err
	}
	head, err := s.Store.HeadSeq(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	for _, sk := range sinks {
		st := states[sk.ID]
		if st == nil {
			st = &State{SinkID: sk.ID}
		}
		sk.Health = s.healthOf(sk, st, head, now)
	}
	s.snap = &snapshot{sinks: sinks, head: head, loaded: time.Now()}
	return s.snap, nil
}

// WriteGate refuses mutating requests in fail-closed mode: when at least
// one enabled sink is required and none of them can record (each has failed
// FailClosedAfter times in a row, or stalled), it returns an unavailable
// error naming each sink and why. With no required sink it never refuses.
func (s *Service) WriteGate(ctx context.Context) error {
	snap, err := s.load(ctx)
	if err != nil {
		return err
	}
	reason, refusing := s.refusal(snap)
	if !refusing {
		return nil
	}
	return enclave.Errorf(enclave.CodeUnavailable,
		"audit sinks are in fail-closed mode and none that is required can record (%s); changes are refused until one recovers", reason)
}

// refusal says whether snap puts the platform in fail-closed refusal, and why.
func (s *Service) refusal(snap *snapshot) (string, bool) {
	var reasons []string
	for _, sk := range snap.sinks {
		if !sk.Enabled || !sk.Required {
			continue
		}
		if sk.Health.Up {
			return "", false
		}
		reasons = append(reasons, s.downReason(sk))
	}
	return strings.Join(reasons, "; "), len(reasons) > 0
}

func (s *Service) downReason(sk *Sink) string {
	h := sk.Health
	if h.ConsecutiveFailures >= s.FailClosedAfter {
		since := ""
		if h.FailingSince != nil {
			since = " since " + h.FailingSince.UTC().Format(time.RFC3339)
		}
		return fmt.Sprintf("sink %s has failed %d times in a row%s", sk.Name, h.ConsecutiveFailures, since)
	}
	return fmt.Sprintf("sink %s has delivered nothing for over %s with %d events waiting", sk.Name, s.StallAfter, h.LagEvents)
}
