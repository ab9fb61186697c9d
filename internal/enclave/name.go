package enclave

import (
	"fmt"
	"strings"
)

// MaxNameLength is the longest resource name, the DNS label limit (RFC 1123).
const MaxNameLength = 63

// ValidateName checks that name is a lowercase DNS label: 1–63 characters of
// a–z, 0–9 and '-', starting with a letter and not ending with '-'. Names
// appear in URLs, storage paths and scopes, so anything else (uppercase,
// slashes, "..", spaces, control characters) is refused here, once.
func ValidateName(field, name string) error {
	if name == "" {
		return FieldError(field, "%s is required", field)
	}
	if len(name) > MaxNameLength {
		return FieldError(field, "%s must be at most %d characters", field, MaxNameLength)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9', r == '-':
			if i == 0 {
				return FieldError(field, "%s must start with a lowercase letter", field)
			}
		default:
			return FieldError(field, "%s must be a lowercase DNS label (a-z, 0-9, '-'); %s is not allowed", field, describeRune(r))
		}
	}
	if strings.HasSuffix(name, "-") {
		return FieldError(field, "%s must not end with '-'", field)
	}
	return nil
}

func describeRune(r rune) string {
	switch {
	case r < 0x20 || r == 0x7f:
		return fmt.Sprintf("control character %U", r)
	case r == ' ':
		return "a space"
	case r >= 'A' && r <= 'Z':
		return fmt.Sprintf("uppercase %q", r)
	default:
		return fmt.Sprintf("%q", r)
	}
}

// ValidateText checks a free-text field: at most max bytes of valid UTF-8
// with no control characters other than tab and newline.
func ValidateText(field, s string, max int) error {
	if len(s) > max {
		return FieldError(field, "%s must be at most %d bytes", field, max)
	}
	for _, r := range s {
		if r == '\uFFFD' {
			return FieldError(field, "%s must be valid UTF-8", field)
		}
		if (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f {
			return FieldError(field, "%s must not contain %s", field, describeRune(r))
		}
	}
	return nil
}

// Tags are free-form key/value labels on a resource.
type Tags map[string]string

// MaxTags is the largest number of tags on one resource.
const MaxTags = 50

// Validate checks tag keys and values: keys 1–128 bytes of letters, digits
// and "-_.:/", values at most 256 bytes of text.
func (t Tags) Validate(field string) error {
	if len(t) > MaxTags {
		return FieldError(field, "at most %d tags are allowed", MaxTags)
	}
	for k, v := range t {
		if k == "" || len(k) > 128 {
			return FieldError(field+"."+k, "tag keys must be 1-128 bytes")
		}
		for _, r := range k {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/", r)) {
				return FieldError(field, "tag key %q may contain only letters, digits and -_.:/", k)
			}
		}
		if err := ValidateText(field+"."+k, v, 256); err != nil {
			return err
		}
	}
	return nil
}

// Truncate cuts s to at most n bytes, for echoing caller input in messages.
func Truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
