package localca_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/enclave-ml/enclave/internal/localca"
)

func TestEnsureIssuesTrustedCertificateAndKeepsIt(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	files, pair, err := localca.Ensure(dir, []string{"enclave.test"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{files.CAKey, files.ServerKey} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v", p, st.Mode(), err)
		}
	}
	caPEM, _ := os.ReadFile(files.CACert)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA file is not PEM")
	}
	// A real TLS handshake with a client that trusts only the CA file.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })}
	go srv.Serve(ln)
	defer srv.Close()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		res, err := c.Get("https://" + net.JoinHostPort(host, port) + "/")
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		res.Body.Close()
	}
	// TLS 1.1 is refused.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get("https://" + ln.Addr().String() + "/"); err == nil {
		t.Error("TLS 1.1 handshake succeeded")
	}

	// A second start keeps the same CA and certificate.
	caBefore, _ := os.ReadFile(files.CACert)
	srvBefore, _ := os.ReadFile(files.ServerCert)
	if _, _, err := localca.Ensure(dir, []string{"enclave.test"}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	caAfter, _ := os.ReadFile(files.CACert)
	srvAfter, _ := os.ReadFile(files.ServerCert)
	if string(caBefore) != string(caAfter) || string(srvBefore) != string(srvAfter) {
		t.Fatal("restart replaced certificates that were still good")
	}
	// A new host name, or nearing expiry, reissues the server certificate under the same CA.
	if _, _, err := localca.Ensure(dir, []string{"other.test"}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	srvNew, _ := os.ReadFile(files.ServerCert)
	caNew, _ := os.ReadFile(files.CACert)
	if string(srvNew) == string(srvAfter) || string(caNew) != string(caAfter) {
		t.Fatal("new host did not reissue the server certificate under the same CA")
	}
	if _, _, err := localca.Ensure(dir, nil, now.Add(340*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	srvRenewed, _ := os.ReadFile(files.ServerCert)
	if string(srvRenewed) == string(srvNew) {
		t.Fatal("certificate near expiry was not renewed")
	}
}

func TestCorruptFilesAreReplaced(t *testing.T) {
	dir := t.TempDir()
	files, _, err := localca.Ensure(dir, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// A crash mid-write could leave a truncated key: the next start recovers.
	if err := os.WriteFile(files.ServerKey, []byte("-----BEGIN EC"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := localca.Ensure(dir, nil, time.Now()); err != nil {
		t.Fatalf("did not recover from a corrupt key: %v", err)
	}
}
