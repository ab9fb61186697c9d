package config

import (
	"log/slog"
	"net/url"
	"strings"
)

const placeholder = "enclave-redacted-f00d"

// Redacted is what a secret prints as.
const Redacted = "[SECRET]"

// Secret is a string that never prints: not with fmt, not in YAML or JSON,
// not in slog. Use Reveal where the value is really needed.
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string               { return mask(string(s)) }
func (s Secret) GoString() string             { return mask(string(s)) }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(mask(string(s))) }
func (s Secret) MarshalYAML() (any, error)    { return mask(string(s)), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(mask(string(s))), nil }

func mask(s string) string {
	if s == "" {
		return ""
	}
	return Redacted
}

// DatabaseURL is a database URL whose password, if any, never prints.
type DatabaseURL string

func (d DatabaseURL) String() string               { return redactURL(string(d)) }
func (d DatabaseURL) LogValue() slog.Value         { return slog.StringValue(redactURL(string(d))) }
func (d DatabaseURL) MarshalYAML() (any, error)    { return redactURL(string(d)), nil }
func (d DatabaseURL) MarshalText() ([]byte, error) { return []byte(redactURL(string(d))), nil }

// redactURL masks the password in a URL's user info and in a "password"
// query parameter (libpq's form).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if s == "" {
			return ""
		}
		return Redacted // unparsable: it could be anything
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), placeholder)
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", placeholder)
		u.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(u.String(), placeholder, Redacted)
}
