package siem

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The metrics of audit sinks. Gauges come from the shared, persisted state,
// so every replica reports the same; counters count this process's own
// deliveries (only the lease holder delivers), so they add up across replicas.
var (
	upDesc = prometheus.NewDesc("enclave_audit_sink_up",
		"1 when the enabled audit sink can record, 0 when it has failed too often in a row or stalled.", []string{"sink", "kind"}, nil)
	lagDesc = prometheus.NewDesc("enclave_audit_sink_lag_events",
		"Audit events waiting for delivery to the sink.", []string{"sink", "kind"}, nil)
	consecutiveDesc = prometheus.NewDesc("enclave_audit_sink_consecutive_failures",
		"Failed delivery attempts in a row.", []string{"sink", "kind"}, nil)
	lastSuccessDesc = prometheus.NewDesc("enclave_audit_sink_last_success_timestamp_seconds",
		"When the sink last acknowledged a batch (Unix time).", []string{"sink", "kind"}, nil)
	deliveredDesc = prometheus.NewDesc("enclave_audit_sink_delivered_total",
		"Audit events this process delivered to the sink (redeliveries included).", []string{"sink", "kind"}, nil)
	failuresDesc = prometheus.NewDesc("enclave_audit_sink_failures_total",
		"Failed delivery attempts of this process to the sink.", []string{"sink", "kind"}, nil)
	refusingDesc = prometheus.NewDesc("enclave_audit_fail_closed_refusing",
		"1 while fail-closed mode refuses mutating requests because no required sink can record.", nil, nil)
)

var _ prometheus.Collector = (*Service)(nil)

// Describe implements prometheus.Collector.
func (s *Service) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{upDesc, lagDesc, consecutiveDesc, lastSuccessDesc, deliveredDesc, failuresDesc, refusingDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: one series per enabled sink.
func (s *Service) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	snap, err := s.load(ctx)
	if err != nil {
		s.Logger.Warn("audit sink metrics unavailable", "error", err)
		return
	}
	s.mu.Lock()
	counts := map[string]sinkCounts{}
	for id, c := range s.counts {
		counts[id] = *c
	}
	s.mu.Unlock()
	for _, sk := range snap.sinks {
		if !sk.Enabled {
			continue
		}
		h, labels := sk.Health, []string{sk.Name, string(sk.Kind)}
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, b2f(h.Up), labels...)
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(h.LagEvents), labels...)
		ch <- prometheus.MustNewConstMetric(consecutiveDesc, prometheus.GaugeValue, float64(h.ConsecutiveFailures), labels...)
		if h.LastSuccessAt != nil {
			ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, float64(h.LastSuccessAt.UnixMilli())/1000, labels...)
		}
		c := counts[sk.ID]
		ch <- prometheus.MustNewConstMetric(deliveredDesc, prometheus.CounterValue, c.delivered, labels...)
		ch <- prometheus.MustNewConstMetric(failuresDesc, prometheus.CounterValue, c.failures, labels...)
	}
	_, refusing := s.refusal(snap)
	ch <- prometheus.MustNewConstMetric(refusingDesc, prometheus.GaugeValue, b2f(refusing))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
