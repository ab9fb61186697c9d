package cli

import (
	"log/slog"
	"os"

	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// serverFlags are the flags of commands that run next to the database.
type serverFlags struct {
	configFile string
	dataDir    string
	listen     string
	database   string
	tlsCert    string
	tlsKey     string
	insecure   bool
	logLevel   string
	logFormat  string
}

// ConfigFileEnv names the configuration file when --config is not given.
const ConfigFileEnv = "ENCLAVE_CONFIG"

func (f *serverFlags) register(fs *pflag.FlagSet, listen bool) {
	fs.StringVar(&f.configFile, "config", "", "YAML configuration file (default $"+ConfigFileEnv+")")
	fs.StringVar(&f.dataDir, "data-dir", "", "data directory (default ./enclave-data)")
	fs.StringVar(&f.database, "database", "", "database URL: postgres://… or sqlite:PATH (default SQLite in the data directory)")
	fs.StringVar(&f.logLevel, "log-level", "", "log level: debug, info, warn, error")
	fs.StringVar(&f.logFormat, "log-format", "", "log format: json or text")
	if listen {
		fs.StringVar(&f.listen, "listen", "", "address to serve on (default 127.0.0.1:8443)")
		fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate (default: issued by a local CA in the data directory)")
		fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
		fs.BoolVar(&f.insecure, "insecure-http", false, "serve plain HTTP (only on a loopback address)")
	}
}

// load builds the configuration: defaults, then the file, then ENCLAVE_*
// variables, then the flags the user set.
func (f *serverFlags) load(cmd *cobra.Command) (config.Config, error) {
	cfg := config.Default()
	path := f.configFile
	if path == "" {
		path = os.Getenv(ConfigFileEnv)
	}
	if path != "" {
		if err := cfg.LoadFile(path); err != nil {
			return cfg, err
		}
	}
	if err := cfg.LoadEnv(os.Environ()); err != nil {
		return cfg, err
	}
	set := func(name string, apply func()) {
		if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
			apply()
		}
	}
	set("data-dir", func() { cfg.DataDir = f.dataDir })
	set("listen", func() { cfg.Listen = f.listen })
	set("database", func() { cfg.Database = config.DatabaseURL(f.database) })
	set("tls-cert", func() { cfg.TLS.Cert = f.tlsCert })
	set("tls-key", func() { cfg.TLS.Key = f.tlsKey })
	set("insecure-http", func() { cfg.TLS.InsecureHTTP = f.insecure })
	set("log-level", func() { cfg.Log.Level = f.logLevel })
	set("log-format", func() { cfg.Log.Format = f.logFormat })
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

func newLogger(app *App, cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(app.Stderr, opts)
	if cfg.Log.Format == "text" {
		h = slog.NewTextHandler(app.Stderr, opts)
	}
	return slog.New(enclave.LogHandler{Handler: h})
}
