package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/airlock"
	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/deid"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/notify"
	"github.com/enclave-ml/enclave/internal/scanner"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/prometheus/client_golang/prometheus"
)

// newAirlockService wires the airlock, its malware scanner and the
// notifications it sends through the outbox.
func newAirlockService(svc *Services, db *sqlstore.DB, clock enclave.Clock, cfg config.Config) error {
	store := &sqlstore.AirlockStore{DB: db}
	a := &airlock.Service{Store: store, Zones: svc.Zones, Catalog: svc.Catalog, Queue: svc.Queue, Tx: db, Audit: svc.Audit,
		Clock: clock, ScanRetry: cfg.Airlock.ScanRetry, LinkTTL: cfg.Airlock.LinkTTL,
		Authorize: func(ctx context.Context, perm, scope string) error {
			return svc.Access.Authorize(ctx, access.Permission(perm), access.Scope(scope))
		},
		Recipients: func(ctx context.Context, scope string, roles ...string) []string {
			admins := false
			for _, r := range roles {
				admins = admins || r == "platform-admin"
			}
			out, err := store.Recipients(ctx, ancestors(scope), roles, admins, clock.Now())
			if err != nil {
				slog.Default().ErrorContext(ctx, "airlock: notification recipients", "error", err)
			}
			return out
		},
		Email: func(ctx context.Context, id string) string {
			p, err := svc.Identity.Store.GetPrincipal(ctx, id)
			if err != nil || p.Disabled || p.DeletedAt != nil {
				return ""
			}
			return p.Email
		}}
	if len(cfg.Airlock.MRNPatterns)+len(cfg.Airlock.RestrictedZIP3) > 0 {
		dc := deid.DefaultConfig()
		if len(cfg.Airlock.MRNPatterns) > 0 {
			dc.MRNPatterns = cfg.Airlock.MRNPatterns
		}
		if len(cfg.Airlock.RestrictedZIP3) > 0 {
			dc.RestrictedZIP3 = cfg.Airlock.RestrictedZIP3
		}
		a.Deid = dc
	}
	if cfg.Airlock.Clamd != "" {
		sc, err := scanner.NewClamd(cfg.Airlock.Clamd)
		if err != nil {
			return fmt.Errorf("airlock.clamd: %w", err)
		}
		a.Scanner = sc
	}
	n := &notify.Notifier{Outbox: svc.Outbox}
	if u := cfg.Notifications.WebhookURL; u != "" {
		n.Webhook = true
		svc.Receivers[notify.TopicWebhook] = &notify.WebhookReceiver{URL: u, Secret: []byte(cfg.Notifications.WebhookSecret.Reveal())}
	}
	if m := cfg.Notifications.SMTP; m.Addr != "" {
		n.Email = true
		svc.Receivers[notify.TopicEmail] = &notify.SMTPReceiver{Addr: m.Addr, From: m.From, Username: m.Username,
			Password: m.Password.Reveal(), TLS: m.TLS}
	}
	a.Notifier = n
	svc.Airlock = a
	svc.Handlers[airlock.CheckTask] = a.Check
	svc.Handlers[airlock.MoveTask] = a.Move
	return nil
}

// ancestors returns a scope and every scope above it.
func ancestors(scope string) []string {
	out := []string{"/"}
	parts := strings.Split(strings.Trim(scope, "/"), "/")
	for i := 2; i <= len(parts); i += 2 {
		out = append(out, "/"+strings.Join(parts[:i], "/"))
	}
	return out
}

// scannerGauge reports whether the malware scanner answered last time.
func scannerGauge(reg *prometheus.Registry, a *airlock.Service) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "enclave_airlock_scanner_up",
		Help: "1 when the malware scanner answered the airlock's last scan, 0 when it could not be reached."})
	g.Set(1)
	reg.MustRegister(g)
	a.ScannerUp = func(up bool) {
		if up {
			g.Set(1)
		} else {
			g.Set(0)
		}
	}
}
