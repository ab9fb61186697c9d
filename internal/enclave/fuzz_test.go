package enclave_test

import (
	"strings"
	"testing"

	"github.com/enclave-ml/enclave/internal/enclave"
)

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"eu-west", "a", "EU", "a/b", "..", "a b", "a\x00b", "-a", "a-", "1a", strings.Repeat("a", 64), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := enclave.ValidateName("name", s)
		if err != nil {
			if enclave.ErrorCode(err) != enclave.CodeInvalidArgument || enclave.ErrorField(err) != "name" {
				t.Fatalf("bad error for %q: %v", s, err)
			}
			return
		}
		// Whatever passes is safe in a URL path, a storage key and a scope.
		if len(s) == 0 || len(s) > 63 || strings.ContainsAny(s, "/\\. \t\n%?#") || strings.ToLower(s) != s {
			t.Fatalf("accepted unsafe name %q", s)
		}
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}

func FuzzPageToken(f *testing.F) {
	f.Add(enclave.EncodeCursor("zone-a"))
	f.Add("not-a-token")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		p, c, err := enclave.Page{Token: tok, Size: 10}.Normalize()
		if err != nil {
			if enclave.ErrorField(err) != "page_token" {
				t.Fatalf("error %v does not name page_token", err)
			}
			return
		}
		if p.Size != 10 || (tok != "" && c.After == "") {
			t.Fatalf("token %q gave %+v %+v", tok, p, c)
		}
		// A valid token round-trips.
		if tok != "" {
			if _, c2, err := (enclave.Page{Token: enclave.EncodeCursor(c.After)}).Normalize(); err != nil || c2 != c {
				t.Fatalf("round trip of %q: %v %v", c.After, c2, err)
			}
		}
	})
}

func FuzzTags(f *testing.F) {
	f.Add("owner", "ops")
	f.Add("", "x")
	f.Add("a b", "\x00")
	f.Fuzz(func(t *testing.T, k, v string) {
		err := enclave.Tags{k: v}.Validate("tags")
		if err != nil && enclave.ErrorCode(err) != enclave.CodeInvalidArgument {
			t.Fatalf("tags {%q: %q}: %v", k, v, err)
		}
		if err == nil && (k == "" || strings.ContainsAny(v, "\x00\x01\x1b")) {
			t.Fatalf("accepted tags {%q: %q}", k, v)
		}
	})
}
