package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// maxCredentialBytes bounds what login reads from stdin.
const maxCredentialBytes = 4096

// principalColumns is the table of principals.
var principalColumns = []column[*identity.Principal]{
	{"NAME", func(p *identity.Principal) string { return p.Name }},
	{"KIND", func(p *identity.Principal) string { return string(p.Kind) }},
	{"DISPLAY NAME", func(p *identity.Principal) string { return p.DisplayName }},
	{"PLATFORM ADMIN", func(p *identity.Principal) string { return strconv.FormatBool(p.PlatformAdmin) }},
	{"ID", func(p *identity.Principal) string { return p.ID }},
}

// NewLoginCommand returns "enclave login": exchange a one-time credential
// for an API token and save it in the client configuration.
func NewLoginCommand(app *App) *cobra.Command {
	var server, caFile, name string
	cmd := &cobra.Command{
		Use:   "login [--server URL] [--ca-file PATH] [--name NAME]",
		Short: "Sign in with a one-time credential and save the API token",
		Long: "Sign in with a one-time credential and save the API token in the client configuration.\n" +
			"The credential is read from stdin: typed without echo at a terminal, or the first line\n" +
			"of a pipe. --server and --ca-file are remembered for later commands.",
		Example: "  enclave login --server https://127.0.0.1:8443 --ca-file /var/lib/enclave/ca.pem",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := app.clientConfigPath()
			if err != nil {
				return err
			}
			saved, err := app.loadClientConfig(path)
			if err != nil {
				return err
			}
			current := *saved
			applyEnv(&current)

			target := ClientConfig{Server: current.Server, CAFile: current.CAFile}
			if cmd.Flags().Changed("server") {
				target.Server = server
				if strings.TrimRight(server, "/") != strings.TrimRight(current.Server, "/") {
					target.CAFile = "" // the old CA vouched for another server
				}
			}
			if cmd.Flags().Changed("ca-file") {
				target.CAFile = caFile
			}
			if target.Server == "" {
				return usageError{errors.New("--server is required: no server is configured yet")}
			}
			if target.CAFile != "" {
				if target.CAFile, err = filepath.Abs(target.CAFile); err != nil {
					return err
				}
			}
			c, err := newClient(&target)
			if err != nil {
				return err
			}
			credential, err := app.readCredential(name)
			if err != nil {
				return err
			}
			res, err := c.Login(cmd.Context(), name, credential)
			if err != nil {
				return err
			}

			saved.Server, saved.CAFile, saved.Token = c.BaseURL(), target.CAFile, config.Secret(res.Secret)
			if err := saveClientConfig(path, saved); err != nil {
				return err
			}
			who := name
			if res.Principal != nil {
				who = res.Principal.Name
			}
			expires := ""
			if res.Token != nil && !res.Token.ExpiresAt.IsZero() {
				expires = " (token expires " + formatTime(res.Token.ExpiresAt) + ")"
			}
			fmt.Fprintf(app.Stdout, "Logged in to %s as %s%s\n", c.BaseURL(), who, expires)
			if os.Getenv(envToken) != "" {
				fmt.Fprintf(app.Stderr, "Warning: %s is set and overrides the saved token\n", envToken)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "server URL, such as https://127.0.0.1:8443 (default: the saved server)")
	cmd.Flags().StringVar(&caFile, "ca-file", "", "PEM file of the CA that signed the server's certificate")
	cmd.Flags().StringVar(&name, "name", identity.AdminName, "principal to sign in as")
	return cmd
}

// readCredential reads the one-time credential from stdin: without echo
// when stdin is a terminal, else its first line.
func (app *App) readCredential(name string) (string, error) {
	if f, ok := app.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(app.Stderr, "One-time credential for %s: ", name)
		raw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(app.Stderr)
		if err != nil {
			return "", fmt.Errorf("cannot read the credential: %w", err)
		}
		return requireCredential(string(raw))
	}
	if app.Stdin == nil {
		return requireCredential("")
	}
	line, err := bufio.NewReader(io.LimitReader(app.Stdin, maxCredentialBytes)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("cannot read the credential from stdin: %w", err)
	}
	return requireCredential(line)
}

func requireCredential(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", usageError{errors.New("no credential given: type the one-time credential, or pipe it on stdin")}
	}
	return s, nil
}

// NewLogoutCommand returns "enclave logout": revoke the saved token and
// forget it.
func NewLogoutCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Revoke the API token and remove it from the client configuration",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := app.clientConfigPath()
			if err != nil {
				return err
			}
			saved, err := app.loadClientConfig(path)
			if err != nil {
				return err
			}
			current := *saved
			applyEnv(&current)
			if current.Server == "" || current.Token == "" {
				fmt.Fprintln(app.Stdout, "Not logged in")
				return nil
			}
			c, err := newClient(&current)
			if err != nil {
				return err
			}
			note := ""
			if err := c.Logout(cmd.Context()); err != nil {
				if !enclave.IsCode(err, enclave.CodeUnauthenticated) {
					return err // the token may still be valid: keep it so that logout can be retried
				}
				note = " (the token had already expired or been revoked)"
			}
			if saved.Token != "" && saved.Token == current.Token {
				saved.Token = ""
				if err := saveClientConfig(path, saved); err != nil {
					return err
				}
			}
			fmt.Fprintf(app.Stdout, "Logged out of %s%s\n", c.BaseURL(), note)
			if os.Getenv(envToken) != "" {
				fmt.Fprintf(app.Stderr, "Warning: the revoked token is still in %s; unset it\n", envToken)
			}
			return nil
		},
	}
}

// NewWhoamiCommand returns "enclave whoami": the principal the saved token
// belongs to.
func NewWhoamiCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the API token belongs to",
		Args:  noArgs,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			p, err := c.Whoami(cmd.Context())
			if err != nil {
				return err
			}
			return printItem(app, p, principalColumns)
		}),
	}
}
