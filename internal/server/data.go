package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/enclave-ml/enclave/internal/access"
	"github.com/enclave-ml/enclave/internal/buckets"
	"github.com/enclave-ml/enclave/internal/catalog"
	"github.com/enclave-ml/enclave/internal/config"
	"github.com/enclave-ml/enclave/internal/crypto/keys"
	"github.com/enclave-ml/enclave/internal/crypto/kms"
	"github.com/enclave-ml/enclave/internal/enclave"
	"github.com/enclave-ml/enclave/internal/objects"
	"github.com/enclave-ml/enclave/internal/sqlstore"
	"github.com/enclave-ml/enclave/internal/zone"
)

// localKeyring is the provider ID of the local keyring, and platformKeyURI
// the name its master key wraps KEKs under.
const (
	localKeyring   = "local"
	kmsProvider    = "kms"
	platformKeyURI = "enclave:platform"
)

// storageURLs returns the storage locations by name: the default and one
// per zone that has its own.
func storageURLs(cfg config.Config) map[string]string {
	urls := map[string]string{}
	for z, u := range cfg.Storage.Zones {
		urls["zone:"+z] = u
	}
	def := cfg.Storage.URL
	if def == "" {
		dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "objects"))
		if err != nil {
			dir = filepath.Join(cfg.DataDir, "objects")
		}
		def = (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
	}
	urls[buckets.Default] = def
	return urls
}

// newDataServices wires the object store and the catalog. The key hierarchy
// starts on an ephemeral master key; Run loads the platform's (loadKeys).
func newDataServices(svc *Services, db *sqlstore.DB, clock enclave.Clock, cfg config.Config) {
	set, err := buckets.New(storageURLs(cfg))
	if err != nil {
		panic(err) // storageURLs always names the default
	}
	svc.Buckets = set
	master := make([]byte, keys.MasterKeySize)
	_, _ = rand.Read(master)
	ring, _ := keys.NewLocalKeyring(localKeyring, master)
	kekStore := &sqlstore.KEKStore{DB: db}
	h, err := keys.New(keys.Options{Store: kekStore, Providers: []keys.Provider{ring}, Clock: clock})
	if err != nil {
		panic(err)
	}
	svc.Objects = &objects.Service{Store: &sqlstore.ObjectStore{DB: db}, Buckets: set, Keys: h, KEKs: kekStore, Tx: db,
		Clock: clock, DefaultKey: keys.KeyRef{Provider: localKeyring, KeyURI: platformKeyURI},
		Uploads: &sqlstore.UploadStore{DB: db}, UploadTTL: cfg.Storage.UploadExpiry}
	svc.Catalog = &catalog.Service{Store: &sqlstore.CatalogStore{DB: db}, Zones: svc.Zones, Objects: svc.Objects, Tx: db,
		Audit: svc.Audit, Clock: clock, Requests: &sqlstore.RequestStore{DB: db},
		Authorize: func(ctx context.Context, perm, scope string) error {
			return svc.Access.Authorize(ctx, access.Permission(perm), access.Scope(scope))
		},
		Placement: func(ctx context.Context, p *zone.Project) (objects.Placement, error) {
			return placement(cfg, p), nil
		},
		Quota: func(p *zone.Project) int64 {
			if q, ok := cfg.Storage.Quotas[p.Zone+"/"+p.Name]; ok {
				return q
			}
			return cfg.Storage.ProjectQuota
		}}
	// A project's pseudonymisation key, wrapped by the provider key that
	// wraps its KEK; svc.Objects.Keys is read at each call, since loadKeys
	// replaces the hierarchy.
	pseudonymKeys := &sqlstore.PseudonymKeyStore{DB: db}
	svc.Catalog.PseudonymKey = func(ctx context.Context, p *zone.Project) ([]byte, error) {
		ref := placement(cfg, p).Key
		if ref.IsZero() {
			ref = svc.Objects.DefaultKey
		}
		return svc.Objects.Keys.PseudonymKey(ctx, pseudonymKeys, p.ID, ref)
	}
	svc.Zones.ProjectChildren = append(svc.Zones.ProjectChildren, zone.ChildCounter{Kind: "datasets",
		Count: func(ctx context.Context, p *zone.Project) (int, error) {
			return svc.Catalog.Store.CountDatasets(ctx, p.ID)
		}})
}

// placement is where a project's objects go: its zone's storage location if
// the zone has one, and the customer-managed key configured for the project
// or its zone, if any, for its KEK.
func placement(cfg config.Config, p *zone.Project) objects.Placement {
	pl := objects.Placement{Owner: p.ID, Bucket: buckets.Default}
	if _, ok := cfg.Storage.Zones[p.Zone]; ok {
		pl.Bucket = "zone:" + p.Zone
	}
	if u := cfg.Keys.Projects[p.Zone+"/"+p.Name]; u != "" {
		pl.Key = keys.KeyRef{Provider: kmsProvider, KeyURI: u}
	} else if u := cfg.Keys.Zones[p.Zone]; u != "" {
		pl.Key = keys.KeyRef{Provider: kmsProvider, KeyURI: u}
	}
	return pl
}

// loadKeys builds the key hierarchy over the platform's master key — from
// ENCLAVE_KEYS_MASTER_KEY, or the key file, created 0600 on first start —
// and the KMS provider for customer-managed keys.
func (m *Main) loadKeys(cfg config.Config) error {
	var ring *keys.LocalKeyring
	var err error
	if k := cfg.Keys.MasterKey.Reveal(); k != "" {
		ring, err = keys.ParseLocalKeyring(localKeyring, k)
	} else {
		path := cfg.Keys.MasterKeyFile
		if path == "" {
			path = filepath.Join(cfg.DataDir, "keys", "master.key")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		ring, err = keys.LoadLocalKeyring(localKeyring, path)
	}
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	providers := []keys.Provider{ring}
	if len(cfg.Keys.Zones)+len(cfg.Keys.Projects) > 0 {
		for _, u := range append(mapValues(cfg.Keys.Zones), mapValues(cfg.Keys.Projects)...) {
			if strings.HasPrefix(u, kms.LocalSecretsScheme+"://") {
				return fmt.Errorf("keys: %s:// keys hold their key in the URL and are for tests only", kms.LocalSecretsScheme)
			}
		}
		p, err := kms.New(kmsProvider, kms.Options{})
		if err != nil {
			return err
		}
		providers = append(providers, p)
	}
	kekStore := &sqlstore.KEKStore{DB: m.DB}
	h, err := keys.New(keys.Options{Store: kekStore, Providers: providers, Clock: m.Clock})
	if err != nil {
		return err
	}
	m.Services.Objects.Keys = h
	m.Logger.Info("key hierarchy ready", "master_keys", ring.KeyIDs())
	return nil
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// sweepLoop removes, every ten minutes and once at start, what writes that
// died midway left behind: object rows still being written after
// storage.sweep_after, with their blobs, deletions a crash interrupted, and
// multipart uploads past storage.upload_expiry with their parts; and it
// finishes the purge of a project whose keys were destroyed just before a
// crash.
func (m *Main) sweepLoop(ctx context.Context) {
	after := m.Config.Storage.SweepAfter
	if after <= 0 {
		after = 24 * time.Hour
	}
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		if n, err := m.Services.Objects.Sweep(ctx, after); err != nil && ctx.Err() == nil {
			m.Logger.ErrorContext(ctx, "object sweep", "error", err)
		} else if n > 0 {
			m.Logger.InfoContext(ctx, "swept abandoned objects", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
