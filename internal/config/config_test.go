package config_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/enclave"
)

func TestValidFile(t *testing.T) {
	c := config.Default()
	if err := c.LoadFile("testdata/valid_config.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:9443" || c.AutoMigrate || c.DatabaseTimeout != 30*time.Second || c.TLS.Hosts[0] != "enclave.example.org" ||
		c.Log.Level != "warn" || c.HTTP.MaxBodyBytes != 2<<20 || c.Auth.TokenTTL != 12*time.Hour || c.Worker.Lease != time.Minute {
		t.Fatalf("loaded: %+v", c)
	}
}

func TestInvalidFileNamesTheKey(t *testing.T) {
	c := config.Default()
	err := c.LoadFile("testdata/invalid_config.yaml")
	if err == nil || !strings.Contains(err.Error(), "databse") {
		t.Fatalf("error %v does not name the unknown key", err)
	}
}

// TestPrecedence: defaults < file < environment (flags are applied last by the CLI).
func TestPrecedence(t *testing.T) {
	c := config.Default()
	if err := c.LoadFile("testdata/valid_config.yaml"); err != nil {
		t.Fatal(err)
	}
	err := c.LoadEnv([]string{"ENCLAVE_LISTEN=127.0.0.1:1234", "ENCLAVE_TLS_INSECURE_HTTP=true", "ENCLAVE_TLS_HOSTS=a.example, b.example",
		"ENCLAVE_WORKER_LEASE=45s", "ENCLAVE_HTTP_MAX_BODY_BYTES=99", "OTHER=1", "ENCLAVE_TEST_POSTGRES=ignored"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:1234" || !c.TLS.InsecureHTTP || len(c.TLS.Hosts) != 2 || c.TLS.Hosts[1] != "b.example" ||
		c.Worker.Lease != 45*time.Second || c.HTTP.MaxBodyBytes != 99 || c.DataDir != "/var/lib/enclave" {
		t.Fatalf("after env: %+v", c)
	}
	err = c.LoadEnv([]string{"ENCLAVE_WORKER_LEASE=soon"})
	if enclave.ErrorField(err) != "ENCLAVE_WORKER_LEASE" {
		t.Fatalf("bad env value: %v", err)
	}
}

func TestEveryFieldHasAnEnvironmentVariable(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range config.Fields() {
		if !strings.HasPrefix(f.Env, "ENCLAVE_") || seen[f.Env] {
			t.Errorf("field %s: env %s", f.Path, f.Env)
		}
		seen[f.Env] = true
		c := config.Default()
		v := map[string]string{"duration": "3s", "bool": "true", "int": "3", "int64": "3",
			"map (name=value,… in the environment)": "a=b,c=d", "map (name=number,… in the environment)": "z/p=3"}[f.Type]
		if v == "" {
			v = "x"
		}
		if err := c.LoadEnv([]string{f.Env + "=" + v}); err != nil {
			t.Errorf("%s: %v", f.Env, err)
		}
	}
	if !seen["ENCLAVE_DATABASE"] || !seen["ENCLAVE_TLS_CERT"] {
		t.Fatalf("fields: %v", seen)
	}
}

func TestValidate(t *testing.T) {
	cases := map[string]func(*config.Config){
		"listen":            func(c *config.Config) { c.Listen = "nonsense" },
		"tls.insecure_http": func(c *config.Config) { c.Listen = "0.0.0.0:80"; c.TLS.InsecureHTTP = true },
		"tls.cert":          func(c *config.Config) { c.TLS.Cert = "/x.crt" },
		"database":          func(c *config.Config) { c.Database = "not a url" },
		"log.level":         func(c *config.Config) { c.Log.Level = "loud" },
		"auth.token_ttl":    func(c *config.Config) { c.Auth.TokenTTL = time.Second },
	}
	for field, mutate := range cases {
		c := config.Default()
		mutate(&c)
		if err := c.Validate(); enclave.ErrorField(err) != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
	c := config.Default()
	c.TLS.InsecureHTTP = true
	for _, l := range []string{"127.0.0.1:0", "[::1]:80", "localhost:8080"} {
		c.Listen = l
		if err := c.Validate(); err != nil {
			t.Errorf("loopback %s refused: %v", l, err)
		}
	}
}

// TestSecretsNeverPrint: the database password does not appear in the shown
// configuration, in fmt output or in logs.
func TestSecretsNeverPrint(t *testing.T) {
	c := config.Default()
	c.Database = "postgres://enclave:s3cret-pw@db:5432/enclave?password=also-s3cret&sslmode=require"
	shown, err := c.Show()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "database", c.Database, "secret", config.Secret("tok"))
	for _, out := range []string{shown, fmt.Sprint(c.Database), fmt.Sprintf("%v", config.Secret("tok")), logs.String()} {
		if strings.Contains(out, "s3cret") || strings.Contains(out, "tok\"") {
			t.Errorf("secret printed: %s", out)
		}
		if !strings.Contains(out, config.Redacted) {
			t.Errorf("no %s marker in: %s", config.Redacted, out)
		}
	}
	if !strings.Contains(shown, "postgres://enclave:") || !strings.Contains(shown, "@db:5432/enclave") {
		t.Errorf("redaction hid too much: %s", shown)
	}
	if c.DatabaseURL() != string(c.Database) {
		t.Error("the real URL is not available to the server")
	}
}
