package blobstore_test

import (
	"errors"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/enclave-ml/enclave/internal/blobstore"
	"github.com/enclave-ml/enclave/internal/blobstore/blobtest"
	"github.com/enclave-ml/enclave/internal/enclave"
)

var goodKeys = []string{
	"a", "a/b", "zones/eu/projects/p1/datasets/d/v3/part-0001.parquet", ".hidden", "a/.b",
	"with space", "ünïcödé/日本語.txt", "x~y!z$&'()*,;=@[]", "a..b", "...a", "a/b.c/d",
	"uploads/x", "x.uploads/y", "attrs", "tmp", "a.tmpl", "a.attrsx",
	strings.Repeat("a", blobstore.MaxSegmentLen), strings.Repeat("abcdefghijklmno/", 63) + "p",
}

func TestValidKey(t *testing.T) {
	for _, k := range goodKeys {
		if err := blobstore.ValidKey(k); err != nil {
			t.Errorf("ValidKey(%q) = %v, want nil", k, err)
		}
	}
	for _, k := range blobtest.BadKeys {
		err := blobstore.ValidKey(k)
		if !errors.Is(err, blobstore.ErrInvalidKey) {
			t.Errorf("ValidKey(%q) = %v, want ErrInvalidKey", k, err)
			continue
		}
		if enclave.ErrorCode(err) != enclave.CodeInvalidArgument || enclave.ErrorField(err) != "key" ||
			!strings.HasPrefix(enclave.ErrorMessage(err), "key ") {
			t.Errorf("ValidKey(%q) = %v: want an invalid_argument naming the key field", k, err)
		}
	}
	for _, k := range []string{
		strings.Repeat("a", blobstore.MaxSegmentLen+1),
		strings.Repeat("a/", blobstore.MaxKeySegments) + "a",
		strings.Repeat("a", 600) + "/" + strings.Repeat("a", 600),
	} {
		if blobstore.ValidKey(k) == nil {
			t.Errorf("ValidKey accepted a key of %d bytes", len(k))
		}
	}
}

func TestValidPrefix(t *testing.T) {
	for _, p := range []string{"", "a", "a/", "a/b", "report.", ".", "..", "a/.."} {
		if err := blobstore.ValidPrefix(p); err != nil {
			t.Errorf("ValidPrefix(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"/", "../", "a//", `a\`, "%2e", ".uploads/", "a\x00", "\uff0e\uff0e/"} {
		if err := blobstore.ValidPrefix(p); err == nil || enclave.ErrorField(err) != "prefix" {
			t.Errorf("ValidPrefix(%q) = %v, want an error on the prefix field", p, err)
		}
	}
}

// FuzzValidKey checks that whatever ValidKey accepts is a plain relative
// path on every layer below: it cleans to itself, stays inside any root
// directory, decodes to itself, and keeps that under Unicode normalisation.
func FuzzValidKey(f *testing.F) {
	for _, k := range append(goodKeys, blobtest.BadKeys...) {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := blobstore.ValidKey(key)
		if err != nil {
			if !errors.Is(err, blobstore.ErrInvalidKey) || enclave.ErrorField(err) != "key" {
				t.Fatalf("ValidKey(%q) returned %v", key, err)
			}
			return
		}
		if key == "" || len(key) > blobstore.MaxKeyLen || !utf8.ValidString(key) {
			t.Fatalf("accepted %q: empty, too long or not UTF-8", key)
		}
		for _, form := range []string{key, norm.NFKC.String(key), norm.NFC.String(key), norm.NFKD.String(key)} {
			if path.Clean(form) != form || path.IsAbs(form) || strings.HasPrefix(form, "../") || form == ".." {
				t.Fatalf("accepted %q, which is not a clean relative path (as %q)", key, form)
			}
			if strings.ContainsAny(form, "\\%\x00") {
				t.Fatalf("accepted %q with a backslash, %% or NUL (as %q)", key, form)
			}
			root := "/srv/blobs"
			if p := filepath.Join(root, form); !strings.HasPrefix(p, root+"/") {
				t.Fatalf("accepted %q, which leaves the root: %s", key, p)
			}
		}
		if u, err := url.PathUnescape(key); err != nil || u != key {
			t.Fatalf("accepted %q, which URL-decodes to %q", key, u)
		}
		for _, r := range key {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("accepted %q with control or format character %U", key, r)
			}
		}
		for seg := range strings.SplitSeq(key, "/") {
			if seg == "" || seg == "." || seg == ".." || strings.HasSuffix(seg, ".") || len(seg) > blobstore.MaxSegmentLen {
				t.Fatalf("accepted %q with segment %q", key, seg)
			}
		}
		if strings.HasPrefix(key, ".uploads/") || strings.Contains(key, "__0x") {
			t.Fatalf("accepted reserved %q", key)
		}
		// A valid key is a valid prefix too.
		if err := blobstore.ValidPrefix(key); err != nil {
			t.Fatalf("key %q is not a valid prefix: %v", key, err)
		}
	})
}
