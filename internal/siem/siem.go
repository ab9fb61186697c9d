// Package siem streams the audit trail to a security operations centre. A
// Platform Admin defines sinks — a JSONL file with size-based rotation,
// syslog (RFC 5424) over TLS, an HTTP webhook in the Splunk HTTP Event
// Collector or a plain JSON format — and the Service delivers every audit
// event to each enabled sink, in sequence order, at least once: a persisted
// cursor per sink over the audit trail's sequence numbers advances only
// after the sink has acknowledged a batch, so a crash between the two
// delivers the batch again (receivers deduplicate by the event ID). Failures
// are retried with backoff; a sink starting to fail and recovering is itself
// audited. With a sink marked required, the platform fails closed: while no
// required sink can record, mutating requests are refused (WriteGate).
//
// The adapters for each kind live in sub-packages named after the technology
// (file, syslog, webhook) and register themselves with Register.
package siem

import (
	"context"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/audit"
	"github.com/enclave-ml/enclave/internal/enclave"
)

// Kind is the technology of a sink.
type Kind string

// The kinds of sink.
const (
	KindFile    Kind = "file"
	KindSyslog  Kind = "syslog"
	KindWebhook Kind = "webhook"
)

// Kinds lists every kind of sink.
var Kinds = []Kind{KindFile, KindSyslog, KindWebhook}

// Validate checks that k is a known kind.
func (k Kind) Validate() error {
	for _, known := range Kinds {
		if k == known {
			return nil
		}
	}
	return enclave.FieldError("kind", "kind must be file, syslog or webhook, not %q", string(k))
}

// Limits and defaults of sink settings.
const (
	DefaultBatchSize = 200
	MaxBatchSize     = 1000

	DefaultFileMaxBytes = 100 << 20
	MinFileMaxBytes     = 1 << 10
	DefaultFileKeep     = 5
	MaxFileKeep         = 100

	// FacilityLogAudit is the syslog facility 13, "log audit".
	FacilityLogAudit = 13
)

// Sink is a destination of the audit trail. Secrets (a webhook token) are
// never part of its JSON form: the settings say only whether one is set.
type Sink struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Enabled sinks are delivered to; a disabled sink keeps its cursor and
	// catches up when enabled again.
	Enabled bool `json:"enabled"`
	// Required sinks take part in fail-closed mode: while every enabled
	// required sink is unhealthy, mutating requests are refused.
	Required  bool `json:"required"`
	BatchSize int  `json:"batch_size"`

	File    *FileSettings    `json:"file,omitempty"`
	Syslog  *SyslogSettings  `json:"syslog,omitempty"`
	Webhook *WebhookSettings `json:"webhook,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`

	// Health is the delivery state, filled in by the Service's reads.
	Health *Health `json:"health,omitempty"`

	// Secrets are what the sink needs but no response may carry.
	Secrets Secrets `json:"-"`
}

// Secrets of a sink, stored apart from its settings and never returned.
type Secrets struct {
	WebhookToken string `json:"webhook_token,omitempty"`
}

// FileSettings configure a JSONL file: one event per line, rotated by size.
type FileSettings struct {
	// Path is relative to the server's audit directory (<data_dir>/audit),
	// so that a sink cannot write over the database or keys.
	Path string `json:"path"`
	// MaxBytes is the size at which the file is rotated: path becomes
	// path.1, path.1 becomes path.2, and so on.
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// Keep is how many rotated files are kept besides the current one.
	Keep int `json:"keep,omitempty"`
}

// SyslogFormat says how an event is laid out in a syslog message.
type SyslogFormat string

// The syslog formats.
const (
	// SyslogJSON sends the whole event as JSON in MSG, with its ID and
	// sequence number also in STRUCTURED-DATA.
	SyslogJSON SyslogFormat = "json"
	// SyslogStructured puts the event's fields in STRUCTURED-DATA and a
	// one-line summary in MSG.
	SyslogStructured SyslogFormat = "structured"
)

// SyslogSettings configure RFC 5424 syslog over TCP with TLS, framed by
// octet counting (RFC 6587).
type SyslogSettings struct {
	// Address is host:port of the syslog receiver.
	Address string `json:"address"`
	// CAFile is a PEM file of the CAs to trust; empty trusts the system's.
	CAFile string `json:"ca_file,omitempty"`
	// CertFile and KeyFile are a client certificate, for receivers that
	// require one.
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// ServerName is the name the receiver's certificate must carry; by
	// default the host of Address.
	ServerName string       `json:"server_name,omitempty"`
	Format     SyslogFormat `json:"format,omitempty"`
	// Facility is the syslog facility, 0-23 (default 13, log audit).
	Facility *int `json:"facility,omitempty"`
}

// WebhookFormat is the body format of a webhook.
type WebhookFormat string

// The webhook formats.
const (
	// WebhookSplunkHEC is the Splunk HTTP Event Collector format: one JSON
	// object per event, newline-separated, with Authorization: Splunk <token>.
	WebhookSplunkHEC WebhookFormat = "splunk-hec"
	// WebhookJSON is a JSON array of events, with Authorization: Bearer
	// <token> when a token is set.
	WebhookJSON WebhookFormat = "json"
)

// WebhookSettings configure HTTP POSTs of batches. As returned, they say
// whether a token is set but never what it is.
type WebhookSettings struct {
	// URL is https, or http to a loopback address only.
	URL    string        `json:"url"`
	Format WebhookFormat `json:"format"`
	// CAFile is a PEM file of the CAs to trust; empty trusts the system's.
	CAFile string `json:"ca_file,omitempty"`
	// Index is the Splunk index events go to (HEC only; empty: the token's default).
	Index string `json:"index,omitempty"`
	// TokenSet says whether a token is configured.
	TokenSet bool `json:"token_set"`
}

// WebhookInput is WebhookSettings as a request gives them, with the token.
type WebhookInput struct {
	URL    string        `json:"url"`
	Format WebhookFormat `json:"format,omitempty"`
	CAFile string        `json:"ca_file,omitempty"`
	Index  string        `json:"index,omitempty"`
	// Token authenticates to the receiver. On update, omitted keeps the
	// current token and "" removes it.
	Token *string `json:"token,omitempty"`
}

// Start says where a new sink's delivery begins.
type Start string

// The starting points of a new sink.
const (
	// StartOldest delivers the whole audit trail, from its first event.
	StartOldest Start = "oldest"
	// StartLatest delivers from the sink's own creation onwards.
	StartLatest Start = "latest"
)

// SinkCreate is a request to define a sink. Exactly the settings of its
// kind are given.
type SinkCreate struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Enabled defaults to true.
	Enabled   *bool `json:"enabled,omitempty"`
	Required  bool  `json:"required,omitempty"`
	BatchSize int   `json:"batch_size,omitempty"`
	// Start is oldest (default) or latest.
	Start   Start           `json:"start,omitempty"`
	File    *FileSettings   `json:"file,omitempty"`
	Syslog  *SyslogSettings `json:"syslog,omitempty"`
	Webhook *WebhookInput   `json:"webhook,omitempty"`
}

// SinkUpdate changes a sink; nil fields stay as they are. The settings of
// the kind are replaced whole when given (a webhook's token is kept unless
// the update names one). The name and kind never change.
type SinkUpdate struct {
	Enabled   *bool           `json:"enabled,omitempty"`
	Required  *bool           `json:"required,omitempty"`
	BatchSize *int            `json:"batch_size,omitempty"`
	File      *FileSettings   `json:"file,omitempty"`
	Syslog    *SyslogSettings `json:"syslog,omitempty"`
	Webhook   *WebhookInput   `json:"webhook,omitempty"`
}

// Status summarises a sink's health.
type Status string

// The statuses of a sink.
const (
	// StatusHealthy: the last attempt succeeded (or nothing has been due).
	StatusHealthy Status = "healthy"
	// StatusFailing: the last attempt failed; delivery is retried with backoff.
	StatusFailing Status = "failing"
	// StatusStalled: events are waiting but none has been delivered for
	// longer than the stall threshold (no replica delivers, or it hangs).
	StatusStalled Status = "stalled"
	// StatusDisabled: the sink is not delivered to.
	StatusDisabled Status = "disabled"
)

// State is a sink's persisted delivery state: its cursor and the record
// of recent attempts.
type State struct {
	SinkID string
	// Cursor is the sequence number of the last event the sink acknowledged.
	Cursor              int64
	Delivered           int64
	ConsecutiveFailures int
	LastSuccessAt       *time.Time
	LastFailureAt       *time.Time
	FailingSince        *time.Time
	NextAttemptAt       *time.Time
	LastError           string
	UpdatedAt           time.Time
}

// Health is a sink's delivery state as reported by the API, the CLI and metrics.
type Health struct {
	Status Status `json:"status"`
	// Up is false when the sink counts as unable to record: it has failed
	// FailClosedAfter times in a row, or it is stalled.
	Up bool `json:"up"`
	// Cursor is the sequence number of the last event delivered.
	Cursor int64 `json:"cursor"`
	// LagEvents is how many events wait for delivery.
	LagEvents           int64      `json:"lag_events"`
	Delivered           int64      `json:"delivered_total"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	LastSuccessAt       *time.Time `json:"last_success_at,omitempty"`
	LastFailureAt       *time.Time `json:"last_failure_at,omitempty"`
	FailingSince        *time.Time `json:"failing_since,omitempty"`
	NextAttemptAt       *time.Time `json:"next_attempt_at,omitempty"`
	LastError           string     `json:"last_error,omitempty"`
}

// Store persists sink definitions and their delivery state.
type Store interface {
	// CreateSink stores a definition and its state with the given cursor.
	CreateSink(ctx context.Context, s *Sink, cursor int64) error
	GetSink(ctx context.Context, name string) (*Sink, error)
	// ListSinks returns every sink ordered by name, with its state.
	ListSinks(ctx context.Context) ([]*Sink, map[string]*State, error)
	UpdateSink(ctx context.Context, s *Sink) error
	DeleteSink(ctx context.Context, id string) error
	GetState(ctx context.Context, sinkID string) (*State, error)
	// SaveState writes st only while owner holds the unexpired lease of
	// that name; it reports false when the lease is lost. The cursor never
	// moves backwards.
	SaveState(ctx context.Context, st *State, lease, owner string, now time.Time) (bool, error)
	// HeadSeq is the sequence number of the newest audit event (0 if none).
	HeadSeq(ctx context.Context) (int64, error)
}

// EventSource reads the audit trail in sequence order.
type EventSource interface {
	ListEvents(ctx context.Context, f audit.Filter, afterSeq int64, limit int) ([]*audit.Event, error)
}

// Leases give one delivery loop at a time a sink, across replicas.
type Leases interface {
	AcquireLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error)
	ReleaseLease(ctx context.Context, name, owner string) error
}

func (in *SinkCreate) validate() error {
	if err := enclave.ValidateName("name", in.Name); err != nil {
		return err
	}
	if err := in.Kind.Validate(); err != nil {
		return err
	}
	switch in.Start {
	case "", StartOldest, StartLatest:
	default:
		return enclave.FieldError("start", "start must be oldest or latest, not %q", string(in.Start))
	}
	if err := validateBatch(in.BatchSize); err != nil {
		return err
	}
	return onlyKind(in.Kind, in.File != nil, in.Syslog != nil, in.Webhook != nil, true)
}

func validateBatch(n int) error {
	if n < 0 || n > MaxBatchSize {
		return enclave.FieldError("batch_size", "batch_size must be between 1 and %d (0 for the default %d)", MaxBatchSize, DefaultBatchSize)
	}
	return nil
}

// onlyKind checks that the settings given are those of kind (and, when
// needed, that they are given).
func onlyKind(k Kind, file, syslog, webhook, needed bool) error {
	given := map[Kind]bool{KindFile: file, KindSyslog: syslog, KindWebhook: webhook}
	for _, other := range Kinds {
		if other != k && given[other] {
			return enclave.FieldError(string(other), "%s settings are for %s sinks; this sink is a %s sink", other, other, k)
		}
	}
	if needed && !given[k] {
		return enclave.FieldError(string(k), "a %s sink needs %s settings", k, k)
	}
	return nil
}

// normalize validates the settings and fills in their defaults.
func (f *FileSettings) normalize() error {
	p := f.Path
	if p == "" {
		return enclave.FieldError("file.path", "file.path is required: a file name under the server's audit directory")
	}
	if len(p) > 255 || filepath.IsAbs(p) || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") ||
		path.Clean(p) != p || p == "." || strings.HasPrefix(p, "../") || p == ".." ||
		strings.IndexFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return enclave.FieldError("file.path", "file.path must be a relative path under the server's audit directory, without '..' (such as siem/audit.jsonl)")
	}
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, ".") {
			return enclave.FieldError("file.path", "file.path must not name hidden files or directories")
		}
	}
	if f.MaxBytes == 0 {
		f.MaxBytes = DefaultFileMaxBytes
	}
	if f.MaxBytes < MinFileMaxBytes || f.MaxBytes > 1<<40 {
		return enclave.FieldError("file.max_bytes", "file.max_bytes must be between %d and %d", MinFileMaxBytes, int64(1)<<40)
	}
	if f.Keep == 0 {
		f.Keep = DefaultFileKeep
	}
	if f.Keep < 1 || f.Keep > MaxFileKeep {
		return enclave.FieldError("file.keep", "file.keep must be between 1 and %d", MaxFileKeep)
	}
	return nil
}

func (s *SyslogSettings) normalize() error {
	host, port, err := net.SplitHostPort(s.Address)
	if err != nil || host == "" {
		return enclave.FieldError("syslog.address", "syslog.address must be host:port, such as siem.example.org:6514")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return enclave.FieldError("syslog.address", "syslog.address has no valid port")
	}
	for field, p := range map[string]string{"syslog.ca_file": s.CAFile, "syslog.cert_file": s.CertFile, "syslog.key_file": s.KeyFile} {
		if err := validateServerFile(field, p); err != nil {
			return err
		}
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return enclave.FieldError("syslog.key_file", "a client certificate needs both syslog.cert_file and syslog.key_file")
	}
	if len(s.ServerName) > 253 {
		return enclave.FieldError("syslog.server_name", "syslog.server_name is too long")
	}
	switch s.Format {
	case "":
		s.Format = SyslogJSON
	case SyslogJSON, SyslogStructured:
	default:
		return enclave.FieldError("syslog.format", "syslog.format must be json or structured, not %q", string(s.Format))
	}
	if s.Facility == nil {
		f := FacilityLogAudit
		s.Facility = &f
	}
	if *s.Facility < 0 || *s.Facility > 23 {
		return enclave.FieldError("syslog.facility", "syslog.facility must be between 0 and 23")
	}
	return nil
}

// validateServerFile checks a path of a file on the server (a CA, a
// certificate): absolute, without control characters.
func validateServerFile(field, p string) error {
	if p == "" {
		return nil
	}
	if !filepath.IsAbs(p) || len(p) > 4096 || strings.IndexFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return enclave.FieldError(field, "%s must be an absolute path of a PEM file on the server", field)
	}
	return nil
}

// settings validates a webhook request and returns the stored settings,
// with the token as it will be after the request (current is the token
// before it, for updates).
func (in *WebhookInput) settings(current string) (*WebhookSettings, string, error) {
	u, err := url.Parse(in.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, "", enclave.FieldError("webhook.url", "webhook.url must be an https:// URL (or http:// to a loopback address)")
	}
	if u.User != nil {
		return nil, "", enclave.FieldError("webhook.url", "webhook.url must not carry credentials; give the token as webhook.token")
	}
	if u.Fragment != "" || len(in.URL) > 2048 {
		return nil, "", enclave.FieldError("webhook.url", "webhook.url must not have a fragment and must be at most 2048 characters")
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return nil, "", enclave.FieldError("webhook.url", "webhook.url must use https unless it points to a loopback address")
	}
	if err := validateServerFile("webhook.ca_file", in.CAFile); err != nil {
		return nil, "", err
	}
	out := &WebhookSettings{URL: in.URL, Format: in.Format, CAFile: in.CAFile, Index: in.Index}
	switch out.Format {
	case "":
		out.Format = WebhookSplunkHEC
	case WebhookSplunkHEC, WebhookJSON:
	default:
		return nil, "", enclave.FieldError("webhook.format", "webhook.format must be splunk-hec or json, not %q", string(in.Format))
	}
	if out.Index != "" && (out.Format != WebhookSplunkHEC || len(out.Index) > 80 ||
		strings.Trim(out.Index, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "") {
		return nil, "", enclave.FieldError("webhook.index", "webhook.index is a Splunk index name (lowercase letters, digits, _ and -) for the splunk-hec format")
	}
	token := current
	if in.Token != nil {
		token = *in.Token
	}
	if len(token) > 4096 || strings.IndexFunc(token, func(r rune) bool { return r <= 0x20 || r >= 0x7f }) >= 0 {
		return nil, "", enclave.FieldError("webhook.token", "webhook.token must be at most 4096 printable ASCII characters without spaces")
	}
	if out.Format == WebhookSplunkHEC && token == "" {
		return nil, "", enclave.FieldError("webhook.token", "the splunk-hec format needs webhook.token (the HEC token)")
	}
	out.TokenSet = token != ""
	return out, token, nil
}

// IsLoopback reports whether host (a name or an IP literal) is loopback.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
