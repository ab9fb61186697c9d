// Package localca gives a server with no certificate of its own a working
// TLS setup: on first start it creates a private certificate authority in
// the data directory and issues the server a certificate from it. Clients
// trust the CA's certificate file. The server certificate is reissued when
// it nears expiry or no longer covers the names the server answers to.
package localca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Files are where the CA and the server's certificate live.
type Files struct {
	Dir        string
	CACert     string
	CAKey      string
	ServerCert string
	ServerKey  string
}

// In returns the file layout under dir.
func In(dir string) Files {
	return Files{Dir: dir, CACert: filepath.Join(dir, "ca.crt"), CAKey: filepath.Join(dir, "ca.key"),
		ServerCert: filepath.Join(dir, "server.crt"), ServerKey: filepath.Join(dir, "server.key")}
}

const (
	caLifetime     = 10 * 365 * 24 * time.Hour
	serverLifetime = 365 * 24 * time.Hour
	renewBefore    = 30 * 24 * time.Hour
)

// DefaultHosts are the names every local certificate covers.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// Ensure makes sure a CA and a server certificate covering hosts exist in
// dir, creating or reissuing what is missing or stale, and returns the
// server's key pair.
func Ensure(dir string, hosts []string, now time.Time) (Files, tls.Certificate, error) {
	f := In(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, tls.Certificate{}, err
	}
	caCert, caKey, err := loadPair(f.CACert, f.CAKey)
	if err != nil || now.Add(renewBefore).After(caCert.NotAfter) {
		if caCert, caKey, err = newCA(f, now); err != nil {
			return f, tls.Certificate{}, fmt.Errorf("create local CA: %w", err)
		}
	}
	hosts = wanted(hosts)
	srv, _, err := loadPair(f.ServerCert, f.ServerKey)
	if err != nil || !current(srv, caCert, hosts, now) {
		if err := issueServer(f, caCert, caKey, hosts, now); err != nil {
			return f, tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
		}
	}
	pair, err := tls.LoadX509KeyPair(f.ServerCert, f.ServerKey)
	return f, pair, err
}

func wanted(hosts []string) []string {
	out := append([]string{}, DefaultHosts...)
	for _, h := range hosts {
		if h != "" && h != "0.0.0.0" && h != "::" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func current(c, ca *x509.Certificate, hosts []string, now time.Time) bool {
	if now.Add(renewBefore).After(c.NotAfter) || c.CheckSignatureFrom(ca) != nil {
		return false
	}
	for _, h := range hosts {
		if c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	return n
}

func newCA(f Files, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Enclave local CA " + serial().Text(36)[:8], Organization: []string{"Enclave"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	if err := writePair(f.CACert, f.CAKey, der, key); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func issueServer(f Files, ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string, now time.Time) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"Enclave"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	return writePair(f.ServerCert, f.ServerKey, der, key)
}

func loadPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, errors.New("key does not match certificate")
	}
	return cert, key, nil
}

// writePair writes the key first and the certificate second, each
// atomically, so a crash leaves either the old pair, or a new key the next
// start does not match and replaces.
func writePair(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return writeAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
