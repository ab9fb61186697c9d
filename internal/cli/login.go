package cli

import (
	"bufio"
	"context"
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

// maxStdinBytes bounds what the sign-in prompts read from stdin in all.
const maxStdinBytes = 64 << 10

// principalColumns is the table of principals.
var principalColumns = []column[*identity.Principal]{
	{"NAME", func(p *identity.Principal) string { return p.Name }},
	{"KIND", func(p *identity.Principal) string { return string(p.Kind) }},
	{"DISPLAY NAME", func(p *identity.Principal) string { return p.DisplayName }},
	{"PLATFORM ADMIN", func(p *identity.Principal) string { return strconv.FormatBool(p.PlatformAdmin) }},
	{"ID", func(p *identity.Principal) string { return p.ID }},
}

// isTerminal reports whether r is an interactive terminal. Tests replace
// it to drive the interactive flows through a pipe.
var isTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// prompter asks for answers on stdin. At a terminal it shows a prompt on
// stderr and reads secrets without echo; from a pipe it reads one line per
// answer, so scripts give the answers in order.
type prompter struct {
	app         *App
	interactive bool
	rd          *bufio.Reader
}

func (app *App) prompter() *prompter {
	p := &prompter{app: app, interactive: isTerminal(app.Stdin)}
	if app.Stdin != nil {
		p.rd = bufio.NewReader(io.LimitReader(app.Stdin, maxStdinBytes))
	}
	return p
}

// secret asks for a secret; what names it in the error when none is given.
func (p *prompter) secret(prompt, what string) (string, error) {
	if f, ok := p.app.Stdin.(*os.File); ok && p.interactive {
		fmt.Fprint(p.app.Stderr, prompt)
		raw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(p.app.Stderr)
		if err != nil {
			return "", fmt.Errorf("cannot read the %s: %w", what, err)
		}
		return required(string(raw), what)
	}
	return p.answer(prompt, what)
}

// answer asks for a visible answer, such as a TOTP code.
func (p *prompter) answer(prompt, what string) (string, error) {
	if p.interactive {
		fmt.Fprint(p.app.Stderr, prompt)
	}
	if p.rd == nil {
		return required("", what)
	}
	line, err := p.rd.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("cannot read the %s from stdin: %w", what, err)
	}
	return required(line, what)
}

// newPassword asks for a new password, twice at a terminal.
func (p *prompter) newPassword() (string, error) {
	pw, err := p.secret("New password (at least 12 characters; a few words work well): ", "new password")
	if err != nil || !p.interactive {
		return pw, err
	}
	again, err := p.secret("New password again: ", "new password")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", usageError{errors.New("the two passwords differ")}
	}
	return pw, nil
}

func required(s, what string) (string, error) {
	s = strings.TrimRight(s, "\r\n")
	if strings.TrimSpace(s) == "" {
		return "", usageError{fmt.Errorf("no %s given: type it, or pipe it on stdin", what)}
	}
	return s, nil
}

// NewLoginCommand returns "enclave login": sign in and save the API token.
func NewLoginCommand(app *App) *cobra.Command {
	var server, caFile, name, clientID string
	var enroll bool
	cmd := &cobra.Command{
		Use:   "login [--server URL] [--ca-file PATH] [--name NAME | --client-id ID]",
		Short: "Sign in and save the API token",
		Long: "Sign in and save the API token in the client configuration.\n\n" +
			"A person gives a password (or, the first time, the administrator's one-time credential,\n" +
			"which starts with " + identity.BootstrapPrefix + ") and then, when enrolled in MFA, a TOTP or recovery code.\n" +
			"While MFA is required and not yet set up, the session can only set a first password and\n" +
			"enrol: at a terminal (or with --enroll) login walks through that and signs in again.\n" +
			"A service principal signs in with --client-id and its client secret.\n\n" +
			"Answers are read from stdin: typed (secrets without echo) at a terminal, or one per\n" +
			"line of a pipe, in the order asked. --server and --ca-file are remembered.",
		Example: "  enclave login --server https://127.0.0.1:8443 --ca-file /var/lib/enclave/ca.pem\n" +
			"  printf '%s\\n%s\\n' \"$PASSWORD\" \"$(oathtool --totp -b \"$SECRET\")\" | enclave login --name ana\n" +
			"  enclave login --client-id ci-deploy < secret.txt",
		Args: noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if clientID != "" && (cmd.Flags().Changed("name") || enroll) {
				return usageError{errors.New("--client-id signs a service principal in: it goes without --name and --enroll")}
			}
			return nil
		},
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
			pr := app.prompter()
			save := func(res *identity.LoginResult) error {
				saved.Server, saved.CAFile, saved.Token = c.BaseURL(), target.CAFile, config.Secret(res.Secret)
				return saveClientConfig(path, saved)
			}
			ctx := cmd.Context()
			var res *identity.LoginResult
			var password string
			if clientID != "" {
				secret, err := pr.secret("Client secret for "+clientID+": ", "client secret")
				if err != nil {
					return err
				}
				if res, err = c.LoginClient(ctx, clientID, strings.TrimSpace(secret)); err != nil {
					return signInHint(err, "--client-id is for service principals; people sign in with --name")
				}
			} else if res, password, err = signInPerson(ctx, c, pr, name); err != nil {
				return err
			}
			if err := save(res); err != nil {
				return err
			}
			if res.EnrollmentRequired {
				if !enroll && !pr.interactive {
					fmt.Fprint(app.Stderr, enrolmentHint(res.Principal))
				} else {
					limited, err := newClient(&ClientConfig{Server: target.Server, CAFile: target.CAFile, Token: config.Secret(res.Secret)})
					if err != nil {
						return err
					}
					if res, err = app.enrol(ctx, limited, pr, res.Principal, password); err != nil {
						return err
					}
					if err := save(res); err != nil {
						return err
					}
				}
			}
			who := name
			if clientID != "" {
				who = clientID
			}
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
	cmd.Flags().StringVar(&name, "name", identity.AdminName, "person to sign in as")
	cmd.Flags().StringVar(&clientID, "client-id", "", "sign in as this service principal with a client secret read from stdin")
	cmd.Flags().BoolVar(&enroll, "enroll", false, "when MFA enrolment is due, do it now even without a terminal (answers on stdin)")
	return cmd
}

// signInPerson signs a person in with a password or the one-time
// credential, then a TOTP or recovery code when asked for one. It returns
// the password typed, if it was one.
func signInPerson(ctx context.Context, c *client.Client, pr *prompter, name string) (*identity.LoginResult, string, error) {
	secret, err := pr.secret("Password (or one-time credential) for "+name+": ", "password or one-time credential")
	if err != nil {
		return nil, "", err
	}
	const hint = "service principals sign in with --client-id and a client secret"
	if cred := strings.TrimSpace(secret); strings.HasPrefix(cred, identity.BootstrapPrefix) {
		res, err := c.Login(ctx, name, cred) // a pasted credential may bring spaces; a password keeps them
		return res, "", signInHint(err, hint)
	}
	res, err := c.LoginPassword(ctx, name, secret)
	if err != nil {
		return nil, "", signInHint(err, hint)
	}
	if res.MFARequired {
		code, err := pr.answer("TOTP code (or a recovery code): ", "TOTP code")
		if err != nil {
			return nil, "", err
		}
		if res, err = c.LoginMFA(ctx, res.Challenge, strings.TrimSpace(code)); err != nil {
			return nil, "", err
		}
	}
	return res, secret, nil
}

// signInHint adds to a refused sign-in which kind of principal that way
// in is for. The server answers the same for a wrong name, kind of
// principal or secret, so as not to reveal which names exist; the client
// knows which way it took.
func signInHint(err error, hint string) error {
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Code == enclave.CodeUnauthenticated {
		ae.Detail += " (" + hint + ")"
	}
	return err
}

func enrolmentHint(p *identity.Principal) string {
	var b strings.Builder
	b.WriteString("MFA is required and not yet set up: this session can only ")
	if p != nil && !p.PasswordSet {
		b.WriteString("set a first password and ")
	}
	b.WriteString("enrol. Next:\n")
	if p != nil && !p.PasswordSet {
		b.WriteString("  enclave password set\n")
	}
	b.WriteString("  enclave mfa enroll\n  enclave mfa confirm CODE\n  enclave login --name " + nameOf(p) + "\n")
	b.WriteString("(or run enclave login at a terminal, or with --enroll, to do it all now)\n")
	return b.String()
}

func nameOf(p *identity.Principal) string {
	if p == nil {
		return identity.AdminName
	}
	return p.Name
}

// enrol sets a first password when there is none, enrols and confirms a
// TOTP authenticator, shows the recovery codes, and signs in again with the
// password and a fresh code for a full session.
func (app *App) enrol(ctx context.Context, c *client.Client, pr *prompter, p *identity.Principal, password string) (*identity.LoginResult, error) {
	if !p.PasswordSet {
		pw, err := pr.newPassword()
		if err != nil {
			return nil, err
		}
		if err := c.ChangePassword(ctx, identity.PasswordChange{NewPassword: pw}); err != nil {
			return nil, err
		}
		password = pw
		fmt.Fprintln(app.Stderr, "Password set.")
	}
	enr, err := c.EnrollTOTP(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(app.Stderr, "Add this account to your authenticator app (TOTP, %d digits, every %d s):\n  secret: %s\n  uri:    %s\n",
		enr.Digits, enr.Period, enr.Secret, enr.URI)
	code, err := pr.answer("Code shown by the authenticator: ", "TOTP code")
	if err != nil {
		return nil, err
	}
	rc, err := c.ConfirmTOTP(ctx, strings.TrimSpace(code))
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(app.Stdout, "Recovery codes (each works once instead of a TOTP code; store them safely, they are not shown again):")
	for _, rc := range rc.Codes {
		fmt.Fprintln(app.Stdout, "  "+rc)
	}
	if password == "" {
		if password, err = pr.secret("Password for "+p.Name+": ", "password"); err != nil {
			return nil, err
		}
	}
	ch, err := c.LoginPassword(ctx, p.Name, password)
	if err != nil {
		return nil, err
	}
	if !ch.MFARequired {
		return ch, nil
	}
	code, err = pr.answer("Next code from the authenticator (wait for it to change; each code works once): ", "TOTP code")
	if err != nil {
		return nil, err
	}
	return c.LoginMFA(ctx, ch.Challenge, strings.TrimSpace(code))
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
