package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/config"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// ClientConfig is the per-user CLI configuration: which server to call, the
// CA that vouches for it and the API token from the last login. Its token
// never prints; only saveClientConfig writes it, to a file only its owner
// can read.
type ClientConfig struct {
	Server string        `yaml:"server,omitempty" json:"server,omitempty"`
	CAFile string        `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	Token  config.Secret `yaml:"token,omitempty" json:"token,omitempty"`
}

// clientConfigFile is the on-disk form of ClientConfig, with the token in
// the clear.
type clientConfigFile struct {
	Server string `yaml:"server,omitempty"`
	CAFile string `yaml:"ca_file,omitempty"`
	Token  string `yaml:"token,omitempty"`
}

// Environment variables that locate or override the client configuration.
const (
	envClientConfig = "ENCLAVE_CLIENT_CONFIG"
	envServer       = "ENCLAVE_SERVER"
	envCAFile       = "ENCLAVE_CA_FILE"
	envToken        = "ENCLAVE_TOKEN"
)

// errNotLoggedIn is what client commands say before any login.
var errNotLoggedIn = errors.New("not logged in: run enclave login --server URL --ca-file PATH")

// clientConfigPath returns where the client configuration lives: the
// --client-config flag, else $ENCLAVE_CLIENT_CONFIG, else
// $XDG_CONFIG_HOME/enclave/client.yaml (~/.config/enclave/client.yaml).
func (app *App) clientConfigPath() (string, error) {
	if app.ClientConfigPath != "" {
		return app.ClientConfigPath, nil
	}
	if p := os.Getenv(envClientConfig); p != "" {
		return p, nil
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the client configuration: set --client-config or %s: %w", envClientConfig, err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "enclave", "client.yaml"), nil
}

// loadClientConfig reads the configuration file at path. A missing file is
// an empty configuration. A token in a file that others can read still
// works, with a warning on stderr.
func (app *App) loadClientConfig(path string) (*ClientConfig, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &ClientConfig{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the client configuration: %w", err)
	}
	var f clientConfigFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("client configuration %s is not valid YAML: %w", path, err)
	}
	cfg := &ClientConfig{Server: f.Server, CAFile: f.CAFile, Token: config.Secret(f.Token)}
	if cfg.CAFile != "" && !filepath.IsAbs(cfg.CAFile) {
		// A relative CA path is relative to the file that names it.
		cfg.CAFile = filepath.Join(filepath.Dir(path), cfg.CAFile)
	}
	if cfg.Token != "" && runtime.GOOS != "windows" {
		if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(app.Stderr, "Warning: %s holds an API token and is readable by other users; run chmod 600 %s\n", path, path)
		}
	}
	return cfg, nil
}

// saveClientConfig writes cfg to path atomically: a temporary file of mode
// 0600 in the same directory, renamed over the old one. A missing directory
// is created with mode 0700.
func saveClientConfig(path string, cfg *ClientConfig) error {
	raw, err := yaml.Marshal(clientConfigFile{Server: cfg.Server, CAFile: cfg.CAFile, Token: cfg.Token.Reveal()})
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create the client configuration directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".client-*.yaml")
	if err != nil {
		return fmt.Errorf("cannot write the client configuration: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("cannot write the client configuration: %w", err)
	}
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write the client configuration: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write the client configuration: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write the client configuration: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write the client configuration: %w", err)
	}
	return nil
}

// applyEnv overrides cfg with ENCLAVE_SERVER, ENCLAVE_CA_FILE and ENCLAVE_TOKEN.
func applyEnv(cfg *ClientConfig) {
	if v := os.Getenv(envServer); v != "" {
		cfg.Server = v
	}
	if v := os.Getenv(envCAFile); v != "" {
		cfg.CAFile = v
	}
	if v := os.Getenv(envToken); v != "" {
		cfg.Token = config.Secret(v)
	}
}

// effectiveClientConfig returns the configuration file's values with the
// environment's overrides applied.
func (app *App) effectiveClientConfig() (*ClientConfig, error) {
	path, err := app.clientConfigPath()
	if err != nil {
		return nil, err
	}
	cfg, err := app.loadClientConfig(path)
	if err != nil {
		return nil, err
	}
	applyEnv(cfg)
	return cfg, nil
}

// newClient builds an API client from a configuration.
func newClient(cfg *ClientConfig) (*client.Client, error) {
	return client.New(client.Options{BaseURL: cfg.Server, CAFile: cfg.CAFile, Token: cfg.Token.Reveal()})
}

// client returns an API client for the logged-in server.
func (app *App) client() (*client.Client, error) {
	cfg, err := app.effectiveClientConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Server == "" || cfg.Token == "" {
		return nil, errNotLoggedIn
	}
	return newClient(cfg)
}

// withClient returns a RunE for a command that calls the API: it checks -o,
// builds the client from the configuration and then calls run.
func (app *App) withClient(run func(cmd *cobra.Command, c *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := app.checkOutput(); err != nil {
			return err
		}
		c, err := app.client()
		if err != nil {
			return err
		}
		return run(cmd, c, args)
	}
}
