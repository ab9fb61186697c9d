// Package kms is the key provider backed by a key management service
// through gocloud.dev/secrets: AWS KMS (awskms://), Azure Key Vault
// (azurekeyvault://), Google Cloud KMS (gcpkms://) and HashiCorp Vault's
// transit engine (hashivault://). The key URI of a key reference is the
// keeper URL, so each zone or project can name its own customer-managed key.
// Credentials come from each cloud's usual environment (instance roles,
// workload identity, VAULT_SERVER_URL and VAULT_SERVER_TOKEN), never from
// the URL.
//
// localsecrets (base64key://) is refused unless a test allows it: its URL
// holds the key itself, and key URIs are stored in the database.
package kms

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"gocloud.dev/secrets"
	_ "gocloud.dev/secrets/awskms"        // awskms://
	_ "gocloud.dev/secrets/azurekeyvault" // azurekeyvault://
	_ "gocloud.dev/secrets/gcpkms"        // gcpkms://
	_ "gocloud.dev/secrets/hashivault"    // hashivault://
	"gocloud.dev/secrets/localsecrets"

	"github.com/enclave-ml/enclave/internal/crypto/keys"
)

// Kind is the Kind of a Provider.
const Kind = "kms"

// DefaultSchemes are the keeper URL schemes a Provider accepts unless told
// otherwise: the real key management services.
var DefaultSchemes = []string{"awskms", "azurekeyvault", "gcpkms", "hashivault"}

// LocalSecretsScheme is gocloud's in-process keeper, whose URL carries the
// key. Only tests should allow it.
const LocalSecretsScheme = localsecrets.Scheme

// Options configures a Provider.
type Options struct {
	// Schemes lists the keeper URL schemes accepted (default DefaultSchemes).
	Schemes []string
	// MaxKeepers bounds how many distinct keys are kept open (default 256);
	// past it the least recently opened is closed.
	MaxKeepers int
}

// Provider is a keys.Provider over gocloud.dev/secrets keepers, opened by
// URL on first use and kept open. It is safe for concurrent use.
type Provider struct {
	id      string
	schemes []string
	max     int

	mu      sync.Mutex
	keepers map[string]*secrets.Keeper
	order   []string // key URIs in the order opened
	closed  bool
}

var _ keys.Provider = (*Provider)(nil)

// New returns a Provider configured under id.
func New(id string, opts Options) (*Provider, error) {
	if id == "" {
		return nil, errors.New("kms: provider needs an ID")
	}
	if opts.Schemes == nil {
		opts.Schemes = DefaultSchemes
	}
	if opts.MaxKeepers <= 0 {
		opts.MaxKeepers = 256
	}
	for _, s := range opts.Schemes {
		if !secrets.DefaultURLMux().ValidKeeperScheme(s) {
			return nil, fmt.Errorf("kms: no keeper for scheme %q", s)
		}
	}
	return &Provider{id: id, schemes: slices.Clone(opts.Schemes), max: opts.MaxKeepers, keepers: map[string]*secrets.Keeper{}}, nil
}

// ID implements keys.Provider.
func (p *Provider) ID() string { return p.id }

// Kind implements keys.Provider.
func (p *Provider) Kind() string { return Kind }

// Wrap implements keys.Provider: the KMS encrypts plaintext under the key,
// prefixed with a hash of the key URI (see Unwrap).
func (p *Provider) Wrap(ctx context.Context, keyURI string, plaintext []byte) ([]byte, error) {
	k, err := p.keeper(ctx, keyURI)
	if err != nil {
		return nil, err
	}
	bound := make([]byte, 0, sha256.Size+len(plaintext))
	bound = append(bound, uriBinding(keyURI)...)
	bound = append(bound, plaintext...)
	defer clear(bound)
	ct, err := k.Encrypt(ctx, bound)
	if err != nil {
		return nil, fmt.Errorf("kms: wrap with %s: %w", Redact(keyURI), err)
	}
	return ct, nil
}

// Unwrap implements keys.Provider. AWS KMS decrypts a symmetric ciphertext
// with whichever key the ciphertext names, and gocloud does not pass the key
// ID on decryption, so the KMS alone would unwrap a value under a key URI
// other than the one that wrapped it. The hash of the key URI inside the
// plaintext closes that gap for every service: a value wrapped under
// another URI fails with keys.ErrUnwrap. Other refusals carry the KMS's own
// error (inspect it with gcerrors.Code): a KMS does not say whether it
// refused a modified value, the wrong key or withheld permission.
func (p *Provider) Unwrap(ctx context.Context, keyURI string, wrapped []byte) ([]byte, error) {
	k, err := p.keeper(ctx, keyURI)
	if err != nil {
		return nil, err
	}
	bound, err := k.Decrypt(ctx, wrapped)
	if err != nil {
		return nil, fmt.Errorf("kms: unwrap with %s: %w", Redact(keyURI), err)
	}
	if len(bound) < sha256.Size || subtle.ConstantTimeCompare(bound[:sha256.Size], uriBinding(keyURI)) != 1 {
		clear(bound)
		return nil, fmt.Errorf("%w: value was wrapped under another key than %s", keys.ErrUnwrap, Redact(keyURI))
	}
	return bound[sha256.Size:], nil
}

func uriBinding(keyURI string) []byte {
	h := sha256.Sum256([]byte("enclave/kms-key-uri/v1\x00" + keyURI))
	return h[:]
}

// CheckKeyURI reports whether a key URI is one this provider would open,
// without opening it: for validating configuration.
func (p *Provider) CheckKeyURI(keyURI string) error {
	u, err := url.Parse(keyURI)
	if err != nil {
		return fmt.Errorf("kms: key URI is not a URL")
	}
	if !slices.Contains(p.schemes, u.Scheme) {
		return fmt.Errorf("kms: key URI scheme %q is not allowed (allowed: %s)", u.Scheme, strings.Join(p.schemes, ", "))
	}
	if u.Scheme == LocalSecretsScheme && u.Host == "" {
		// An empty base64key:// makes a random key that dies with the process.
		return fmt.Errorf("kms: base64key:// needs a key")
	}
	return nil
}

func (p *Provider) keeper(ctx context.Context, keyURI string) (*secrets.Keeper, error) {
	if err := p.CheckKeyURI(keyURI); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("kms: provider is closed")
	}
	if k, ok := p.keepers[keyURI]; ok {
		return k, nil
	}
	// Opening builds a client, which may take a moment, but holding the lock
	// keeps two goroutines from opening the same key; it happens once a key.
	k, err := secrets.DefaultURLMux().OpenKeeper(context.WithoutCancel(ctx), keyURI)
	if err != nil {
		return nil, fmt.Errorf("kms: open %s: %w", Redact(keyURI), err)
	}
	p.keepers[keyURI] = k
	p.order = append(p.order, keyURI)
	// A call still using an evicted keeper fails as a KMS outage would, and
	// is retried by its caller; with one key per zone or project the bound
	// is not reached.
	for len(p.order) > p.max {
		oldest := p.order[0]
		p.order = p.order[1:]
		_ = p.keepers[oldest].Close()
		delete(p.keepers, oldest)
	}
	return k, nil
}

// Close closes every keeper.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var errs []error
	for _, k := range p.keepers {
		errs = append(errs, k.Close())
	}
	p.keepers = nil
	return errors.Join(errs...)
}

// Redact returns a key URI fit for logs and errors (keys.RedactKeyURI).
func Redact(keyURI string) string { return keys.RedactKeyURI(keyURI) }
