// Package config holds the server's configuration: defaults, then a YAML
// file, then ENCLAVE_* environment variables, then command-line flags, each
// overriding the one before. Secret values print as [SECRET] wherever the
// configuration is shown or logged.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/enclave"
	"gopkg.in/yaml.v3"
)

// Config is the server's configuration. Each field's yaml tag is also its
// environment variable: ENCLAVE_ + the upper-cased path joined by '_'
// (tls.cert → ENCLAVE_TLS_CERT).
type Config struct {
	// DataDir holds the SQLite database, the local CA and, later, local objects.
	DataDir string `yaml:"data_dir"`
	// Listen is the address to serve on.
	Listen string `yaml:"listen"`
	// Database is a database URL; empty means SQLite in the data directory.
	Database DatabaseURL `yaml:"database"`
	// AutoMigrate applies pending schema migrations at start.
	AutoMigrate bool `yaml:"auto_migrate"`
	// DatabaseTimeout bounds how long start waits for the database.
	DatabaseTimeout time.Duration `yaml:"database_timeout"`
	TLS             TLS           `yaml:"tls"`
	Log             Log           `yaml:"log"`
	HTTP            HTTP          `yaml:"http"`
	Auth            Auth          `yaml:"auth"`
	Worker          Worker        `yaml:"worker"`
	Access          Access        `yaml:"access"`
	Policy          Policy        `yaml:"policy"`
	Audit           Audit         `yaml:"audit"`
	Storage         Storage       `yaml:"storage"`
	Keys            Keys          `yaml:"keys"`
	Airlock         Airlock       `yaml:"airlock"`
	Notifications   Notifications `yaml:"notifications"`
}

// Airlock configures the import and export of data.
type Airlock struct {
	// Clamd is the malware scanner, ClamAV's clamd: unix:/path/clamd.sock
	// or tcp://host:port. Submitted requests wait, and an alert fires,
	// while it cannot be reached: a scan is never skipped.
	Clamd string `yaml:"clamd"`
	// ScanRetry is how soon a scan is tried again while the scanner is down.
	ScanRetry time.Duration `yaml:"scan_retry"`
	// LinkTTL is a download link's default lifetime (at most 24h).
	LinkTTL time.Duration `yaml:"link_ttl"`
	// MRNPatterns are regular expressions (RE2) of the medical record
	// numbers the de-identification checks look for.
	MRNPatterns []string `yaml:"mrn_patterns"`
	// RestrictedZIP3 replaces the HIPAA list of 3-digit ZIP prefixes that
	// generalise to 000.
	RestrictedZIP3 []string `yaml:"restricted_zip3"`
}

// Notifications configures how people are told that something awaits
// them: a webhook gets every event, email goes to whoever acts next.
type Notifications struct {
	// WebhookURL receives every notification as JSON (https, or http on
	// loopback), signed with WebhookSecret (HMAC-SHA256).
	WebhookURL    string `yaml:"webhook_url"`
	WebhookSecret Secret `yaml:"webhook_secret"`
	SMTP          SMTP   `yaml:"smtp"`
}

// SMTP configures email.
type SMTP struct {
	// Addr is the mail server, host:port; empty turns email off.
	Addr     string `yaml:"addr"`
	From     string `yaml:"from"`
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// TLS is starttls (default), tls, or none (loopback servers only).
	TLS string `yaml:"tls"`
}

// Audit configures the audit trail.
type Audit struct {
	// SigningKeyFile holds the Ed25519 key that signs checkpoints; it is
	// created on first start. Replicas must share it. Default: keys/audit-signing.key in the data directory.
	SigningKeyFile string `yaml:"signing_key_file"`
	// CheckpointInterval is how often the chain's head is signed.
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
}

// Storage says where objects (dataset files, artifacts) are kept.
type Storage struct {
	// URL is the default storage location: file:///dir, s3://bucket?…,
	// azblob://container?…, gs://bucket (default: the data directory's
	// objects folder).
	URL string `yaml:"url"`
	// Zones gives a zone its own storage location, by zone name (data
	// residency). In YAML only.
	Zones map[string]string `yaml:"zones"`
	// ProjectQuota is every project's storage quota in bytes (0: none);
	// Quotas overrides it by "zone/project". In YAML only.
	ProjectQuota int64            `yaml:"project_quota"`
	Quotas       map[string]int64 `yaml:"quotas"`
	// SweepAfter is how long an unfinished upload's bytes are kept before
	// they are removed.
	SweepAfter time.Duration `yaml:"sweep_after"`
	// UploadExpiry is how long a multipart upload may stay incomplete
	// before it is removed with its parts.
	UploadExpiry time.Duration `yaml:"upload_expiry"`
}

// Keys configures the key hierarchy that protects stored data.
type Keys struct {
	// MasterKeyFile holds the local keyring's master key (created 0600 on
	// first start; default keys/master.key in the data directory). It is
	// never stored in the database.
	MasterKeyFile string `yaml:"master_key_file"`
	// MasterKey gives the master key (base64) instead of the file; set it
	// through ENCLAVE_KEYS_MASTER_KEY.
	MasterKey Secret `yaml:"master_key"`
	// Zones and Projects ("zone/project") name a customer-managed key for
	// the KEKs of new projects: a KMS keeper URL (awskms://…,
	// azurekeyvault://…, gcpkms://…, hashivault://…). In YAML only.
	Zones    map[string]string `yaml:"zones"`
	Projects map[string]string `yaml:"projects"`
}

// Access configures authorization.
type Access struct {
	// MinElevation is the shortest just-in-time elevation that may be
	// requested. Each role sets the longest.
	MinElevation time.Duration `yaml:"min_elevation"`
}

// Policy configures the guardrails.
type Policy struct {
	// ScanInterval is how often every resource is scanned for compliance
	// (0 turns the periodic scan off; a scan can still be requested).
	ScanInterval time.Duration `yaml:"scan_interval"`
}

// TLS configures the listener's certificate.
type TLS struct {
	// Cert and Key are PEM files of a real certificate. Without them the
	// server issues its own from a local CA kept in the data directory.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// Hosts are extra names and addresses the local certificate covers.
	Hosts []string `yaml:"hosts"`
	// InsecureHTTP serves plain HTTP; it is refused unless Listen is a loopback address.
	InsecureHTTP bool `yaml:"insecure_http"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text
}

// HTTP configures the API server.
type HTTP struct {
	MaxBodyBytes    int64         `yaml:"max_body_bytes"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Auth configures authentication.
type Auth struct {
	// TokenTTL is the lifetime of the token the one-time bootstrap credential buys.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// SessionTTL is the lifetime of a password (and TOTP) sign-in.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// ServiceTokenTTL is the lifetime of a service principal's token.
	ServiceTokenTTL time.Duration `yaml:"service_token_ttl"`
}

// Worker configures background work.
type Worker struct {
	Concurrency int           `yaml:"concurrency"`
	Lease       time.Duration `yaml:"lease"`
}

// Default returns the configuration of a single machine: data in
// ./enclave-data, SQLite, TLS on 127.0.0.1:8443.
func Default() Config {
	return Config{
		DataDir:         "enclave-data",
		Listen:          "127.0.0.1:8443",
		AutoMigrate:     true,
		DatabaseTimeout: 10 * time.Second,
		Log:             Log{Level: "info", Format: "json"},
		HTTP:            HTTP{MaxBodyBytes: 1 << 20, ShutdownTimeout: 20 * time.Second},
		Auth:            Auth{TokenTTL: 7 * 24 * time.Hour, SessionTTL: 12 * time.Hour, ServiceTokenTTL: time.Hour},
		Worker:          Worker{Concurrency: 2, Lease: 30 * time.Second},
		Access:          Access{MinElevation: 5 * time.Minute},
		Policy:          Policy{ScanInterval: time.Hour},
		Audit:           Audit{CheckpointInterval: time.Minute},
		Storage:         Storage{SweepAfter: 24 * time.Hour, UploadExpiry: 24 * time.Hour},
		Airlock:         Airlock{Clamd: "unix:/var/run/clamav/clamd.ctl", ScanRetry: 30 * time.Second, LinkTTL: 15 * time.Minute},
	}
}

// LoadFile merges a YAML file into c. Unknown keys are errors that name the key.
func (c *Config) LoadFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return enclave.FieldError("config", "config file %s: %v", path, err)
	}
	return nil
}

// EnvPrefix starts every configuration variable.
const EnvPrefix = "ENCLAVE_"

// LoadEnv merges ENCLAVE_* variables from environ (os.Environ's form) into c.
func (c *Config) LoadEnv(environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			env[k] = v
		}
	}
	for _, f := range Fields() {
		v, ok := env[f.Env]
		if !ok {
			continue
		}
		if err := f.set(c, v); err != nil {
			return enclave.FieldError(f.Env, "%s: %v", f.Env, err)
		}
	}
	return nil
}

// Field describes one configuration setting.
type Field struct {
	Path  string // yaml path: tls.cert
	Env   string // ENCLAVE_TLS_CERT
	Type  string
	index []int
}

// Fields lists every setting, in declaration order.
func Fields() []Field {
	var out []Field
	var walk func(t reflect.Type, prefix string, idx []int)
	walk = func(t reflect.Type, prefix string, idx []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			index := append(append([]int{}, idx...), i)
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
				walk(f.Type, path, index)
				continue
			}
			out = append(out, Field{Path: path, Env: EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_")),
				Type: typeName(f.Type), index: index})
		}
	}
	walk(reflect.TypeOf(Config{}), "", nil)
	return out
}

func typeName(t reflect.Type) string {
	switch {
	case t == reflect.TypeOf(time.Duration(0)):
		return "duration"
	case t == reflect.TypeOf(DatabaseURL("")):
		return "url (secret password)"
	case t.Kind() == reflect.Slice:
		return "list (comma-separated in the environment)"
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.String:
		return "map (name=value,… in the environment)"
	case t.Kind() == reflect.Map:
		return "map (name=number,… in the environment)"
	}
	return t.Kind().String()
}

func (f Field) set(c *Config, s string) error {
	v := reflect.ValueOf(c).Elem().FieldByIndex(f.index)
	switch {
	case v.Type() == reflect.TypeOf(time.Duration(0)):
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case v.Kind() == reflect.Slice:
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	case v.Kind() == reflect.Map:
		m := reflect.MakeMap(v.Type())
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			k, val, ok := strings.Cut(p, "=")
			if !ok {
				return fmt.Errorf("%q is not name=value", p)
			}
			ev := reflect.New(v.Type().Elem()).Elem()
			switch ev.Kind() {
			case reflect.String:
				ev.SetString(val)
			case reflect.Int64:
				n, err := strconv.ParseInt(val, 10, 64)
				if err != nil {
					return err
				}
				ev.SetInt(n)
			default:
				return fmt.Errorf("unsupported setting type %s", v.Type())
			}
			m.SetMapIndex(reflect.ValueOf(k), ev)
		}
		v.Set(m)
	default:
		return fmt.Errorf("unsupported setting type %s", v.Type())
	}
	return nil
}

// DatabaseURL returns the database URL, defaulting to SQLite in the data directory.
func (c *Config) DatabaseURL() string {
	if c.Database != "" {
		return string(c.Database)
	}
	return "sqlite:" + filepath.Join(c.DataDir, "enclave.db")
}

// Validate checks the configuration as a whole.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return enclave.FieldError("data_dir", "data_dir is required")
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return enclave.FieldError("listen", "listen must be host:port: %v", err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return enclave.FieldError("listen", "listen port %q is not a port number", port)
	}
	if c.TLS.InsecureHTTP && !IsLoopback(host) {
		return enclave.FieldError("tls.insecure_http", "plain HTTP is allowed only on a loopback address, not %q", host)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return enclave.FieldError("tls.cert", "tls.cert and tls.key go together")
	}
	if c.Database != "" {
		if u, err := url.Parse(string(c.Database)); err != nil || u.Scheme == "" {
			return enclave.FieldError("database", "database must be a URL such as postgres://user@host/db or sqlite:/path/enclave.db")
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return enclave.FieldError("log.level", "log.level must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		return enclave.FieldError("log.format", "log.format must be json or text")
	}
	if c.HTTP.MaxBodyBytes <= 0 {
		return enclave.FieldError("http.max_body_bytes", "http.max_body_bytes must be positive")
	}
	if c.Auth.TokenTTL < time.Minute {
		return enclave.FieldError("auth.token_ttl", "auth.token_ttl must be at least a minute")
	}
	if c.Auth.SessionTTL < time.Minute || c.Auth.SessionTTL > 7*24*time.Hour {
		return enclave.FieldError("auth.session_ttl", "auth.session_ttl must be between a minute and 7 days")
	}
	if c.Auth.ServiceTokenTTL < time.Minute || c.Auth.ServiceTokenTTL > 24*time.Hour {
		return enclave.FieldError("auth.service_token_ttl", "auth.service_token_ttl must be between a minute and 24 hours")
	}
	if c.Audit.CheckpointInterval < time.Second {
		return enclave.FieldError("audit.checkpoint_interval", "audit.checkpoint_interval must be at least 1s")
	}
	if c.Access.MinElevation < time.Second {
		return enclave.FieldError("access.min_elevation", "access.min_elevation must be at least 1s")
	}
	if c.Worker.Concurrency < 0 || c.Worker.Lease < time.Second {
		return enclave.FieldError("worker", "worker.concurrency must be >= 0 and worker.lease at least 1s")
	}
	return nil
}

// IsLoopback reports whether host names only this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Show renders the configuration as YAML with secrets masked.
func (c Config) Show() (string, error) {
	b, err := yaml.Marshal(c)
	return string(b), err
}
