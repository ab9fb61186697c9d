package cli

import (
	"fmt"
	"strings"

	"github.com/enclave-ml/enclave/internal/client"
	"github.com/enclave-ml/enclave/internal/identity"
	"github.com/spf13/cobra"
)

// NewMFACommand returns "enclave mfa": the caller's second factor, and an
// administrator's reset of someone else's.
func NewMFACommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "mfa", Short: "Enrol in, confirm and remove multi-factor authentication (TOTP)", Args: noArgs, RunE: showHelp}
	cmd.AddCommand(newMFAEnrollCommand(app), newMFAConfirmCommand(app), newMFARemoveCommand(app), newMFAResetCommand(app))
	return cmd
}

func newMFAEnrollCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "enroll",
		Short: "Start TOTP enrolment: shows the secret to add to an authenticator app",
		Long: "Start TOTP enrolment. Add the secret (or the otpauth:// URI, as a QR code) to an\n" +
			"authenticator app, then run enclave mfa confirm with the code it shows.",
		Args: noArgs,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			enr, err := c.EnrollTOTP(cmd.Context())
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printValue(app, enr)
			}
			_, err = fmt.Fprintf(app.Stdout, "Add this account to your authenticator app (TOTP, %d digits, every %d s):\n  secret: %s\n  uri:    %s\n"+
				"Then run: enclave mfa confirm CODE\n", enr.Digits, enr.Period, enr.Secret, enr.URI)
			return err
		}),
	}
}

func newMFAConfirmCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "confirm CODE",
		Short: "Confirm TOTP enrolment with a code; prints ten single-use recovery codes",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			rc, err := c.ConfirmTOTP(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if app.Output != formatTable {
				return printValue(app, rc)
			}
			fmt.Fprintln(app.Stdout, "MFA is on. Recovery codes (each works once instead of a TOTP code; store them safely, they are not shown again):")
			for _, code := range rc.Codes {
				fmt.Fprintln(app.Stdout, "  "+code)
			}
			fmt.Fprintln(app.Stdout, "Sign in again (enclave login) for a full session.")
			return nil
		}),
	}
}

func newMFARemoveCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "remove [CODE]",
		Short: "Remove your MFA, proven with a current TOTP code or a recovery code",
		Long:  "Remove your MFA. The code, a current TOTP code or a recovery code, is the argument or\nthe first line of stdin. While MFA is required, your next sign-in can only enrol again.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("accepts at most 1 arg(s), received %d", len(args))}
			}
			return nil
		},
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			code := ""
			if len(args) == 1 {
				code = args[0]
			} else {
				var err error
				if code, err = app.prompter().answer("TOTP code (or a recovery code): ", "code"); err != nil {
					return err
				}
			}
			if err := c.RemoveTOTP(cmd.Context(), strings.TrimSpace(code)); err != nil {
				return err
			}
			return app.printDone("MFA removed")
		}),
	}
}

func newMFAResetCommand(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "reset USER",
		Short: "Remove a user's MFA (they lost their authenticator) and revoke all their tokens",
		Args:  exactArgs(1),
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, args []string) error {
			if err := c.ResetUserMFA(cmd.Context(), args[0]); err != nil {
				return err
			}
			return app.printDone("Reset MFA of %s; their next sign-in enrols again", args[0])
		}),
	}
}

// NewPasswordCommand returns "enclave password": the caller's password.
func NewPasswordCommand(app *App) *cobra.Command {
	cmd := &cobra.Command{Use: "password", Short: "Set or change your password", Args: noArgs, RunE: showHelp}
	cmd.AddCommand(&cobra.Command{
		Use:   "set",
		Short: "Set or change your password",
		Long: "Set or change your password. Once one is set, the current password is asked first.\n" +
			"At a terminal the new one is asked twice; from a pipe the answers are one per line\n" +
			"(current password, then new). Your other sessions end; this one stays.",
		Args: noArgs,
		RunE: app.withClient(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			me, err := c.Whoami(cmd.Context())
			if err != nil {
				return err
			}
			pr := app.prompter()
			var in identity.PasswordChange
			if me.PasswordSet {
				if in.CurrentPassword, err = pr.secret("Current password: ", "current password"); err != nil {
					return err
				}
			}
			if in.NewPassword, err = pr.newPassword(); err != nil {
				return err
			}
			if err := c.ChangePassword(cmd.Context(), in); err != nil {
				return err
			}
			return app.printDone("Password set for %s", me.Name)
		}),
	})
	return cmd
}
