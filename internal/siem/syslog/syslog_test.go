package syslog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/siem"
	"github.com/enclave-ml/enclave/internal/siem/syslog"
)

func sampleEvents(n int, from int64) []*audit.Event {
	var out []*audit.Event
	for i := range n {
		seq := from + int64(i)
		out = append(out, &audit.Event{ID: fmt.Sprintf("0190-%04d", seq), Seq: seq, Time: time.Date(2026, 3, 1, 9, 0, 0, 123456000, time.UTC),
			ActorID: "p1", ActorKind: "user", ActorName: "ana", Action: "zone.create", TargetType: "zone", TargetID: "z1",
			Scope: "/zones/eu", Outcome: audit.Success, Reason: `quotes " and ] and \ survive`, RequestID: "r1",
			Details: map[string]any{"name": "eu", "note": "multi\nline"}})
	}
	return out
}

func syslogSink(r *rsyslogd, format siem.SyslogFormat) *siem.Sink {
	return &siem.Sink{Name: "soc", Kind: siem.KindSyslog, Syslog: &siem.SyslogSettings{Address: r.Addr(), CAFile: r.tls.CACert,
		CertFile: r.client.ServerCert, KeyFile: r.client.ServerKey, Format: format}}
}

// TestRsyslogReceivesBothFormats sends batches to a real rsyslogd that
// requires a client certificate, and checks what rsyslogd parsed out of
// each RFC 5424 message: app-name, msgid, priority, structured data and the
// JSON message.
func TestRsyslogReceivesBothFormats(t *testing.T) {
	r := startRsyslogd(t, true)
	ctx := context.Background()

	snd, err := syslog.Open(syslogSink(r, siem.SyslogJSON), siem.Env{Hostname: "enclave-test"})
	if err != nil {
		t.Fatal(err)
	}
	events := sampleEvents(3, 1)
	events[2].Outcome = audit.Denied
	if err := snd.Send(ctx, events); err != nil {
		t.Fatalf("send: %v\n%s", err, r.log())
	}
	snd2, _ := syslog.Open(syslogSink(r, siem.SyslogStructured), siem.Env{Hostname: "enclave-test"})
	if err := snd2.Send(ctx, sampleEvents(1, 4)); err != nil {
		t.Fatalf("send: %v\n%s", err, r.log())
	}
	// Send returned only after rsyslogd closed the connection, and its
	// queues are direct: the messages are in its file already.
	got := r.messages()
	if len(got) != 4 {
		t.Fatalf("rsyslogd wrote %d messages, want 4: %+v\n%s", len(got), got, r.log())
	}
	for i, m := range got[:3] {
		if m.AppName != "enclave" || m.MsgID != "zone.create" || m.Hostname != "enclave-test" {
			t.Errorf("message %d header: %+v", i, m)
		}
		var e audit.Event
		if err := json.Unmarshal([]byte(m.Msg), &e); err != nil {
			t.Fatalf("message %d is not JSON: %v: %q", i, err, m.Msg)
		}
		if e.ID != events[i].ID || e.Seq != events[i].Seq || e.Reason != events[i].Reason || e.Details["note"] != "multi\nline" {
			t.Errorf("message %d: %+v", i, e)
		}
		if want := fmt.Sprintf(`[enclave@32473 id="%s" seq="%d"]`, e.ID, e.Seq); m.SD != want {
			t.Errorf("message %d structured data %s, want %s", i, m.SD, want)
		}
	}
	// Facility 13 (log audit): info for success, warning for a denial.
	if got[0].Pri != "110" || got[2].Pri != "108" {
		t.Errorf("priorities %s, %s; want 110, 108", got[0].Pri, got[2].Pri)
	}
	sd := got[3].SD
	for _, want := range []string{`id="0190-0004"`, `seq="4"`, `outcome="success"`, `actor_name="ana"`,
		`reason="quotes \" and \] and \\ survive"`, `details="{\"name\":\"eu\",\"note\":\"multi\\nline\"}"`} {
		if !strings.Contains(sd, want) {
			t.Errorf("structured data lacks %s: %s", want, sd)
		}
	}
	if got[3].Msg != "zone.create success by ana on zone/z1" {
		t.Errorf("structured message %q", got[3].Msg)
	}
}

// TestRsyslogRefusesWrongTrust: a receiver whose certificate is not from
// the configured CA, or one that demands a client certificate we do not
// have, is a delivery failure, never a silent success.
func TestRsyslogRefusesWrongTrust(t *testing.T) {
	r := startRsyslogd(t, true)
	other := startRsyslogd(t, false)
	ctx := context.Background()

	sk := syslogSink(r, siem.SyslogJSON)
	sk.Syslog.CAFile = other.tls.CACert
	snd, _ := syslog.Open(sk, siem.Env{})
	if err := snd.Send(ctx, sampleEvents(1, 1)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted receiver: %v", err)
	}
	sk = syslogSink(r, siem.SyslogJSON)
	sk.Syslog.CertFile, sk.Syslog.KeyFile = "", ""
	snd, _ = syslog.Open(sk, siem.Env{})
	if err := snd.Send(ctx, sampleEvents(1, 1)); err == nil {
		t.Error("a receiver that requires a client certificate acknowledged a batch sent without one")
	} else {
		t.Logf("without a client certificate: %v", err)
	}
	if n := len(r.messages()); n != 0 {
		t.Errorf("rsyslogd recorded %d messages from unauthenticated senders", n)
	}
}
