package ingest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibd/calibd/devices"
)

func TestFilters(t *testing.T) {
	plain := Filters("")
	if len(plain) != 6 {
		t.Fatalf("Filters() = %v, want 6 filters", plain)
	}
	for _, f := range plain {
		topic := strings.Replace(f, "+", "0195a2f1-0000-7000-8000-00000000000a", 1)
		if _, _, _, err := devices.ParseTopic(topic); err != nil {
			t.Errorf("filter %q does not match a contract topic: %v", f, err)
		}
	}
	for k, f := range Filters("calibd") {
		if f != "$share/calibd/"+plain[k] {
			t.Errorf("shared filter %q, want $share/calibd/%s", f, plain[k])
		}
	}
}

func TestStartRefusesBadConfig(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]Config{
		"no url":          {ClientID: "a"},
		"no client id":    {URL: "tcp://127.0.0.1:1"},
		"missing CA file": {URL: "ssl://127.0.0.1:1", ClientID: "a", CAFile: filepath.Join(t.TempDir(), "none.pem")},
		"CA file not PEM": {URL: "ssl://127.0.0.1:1", ClientID: "a", CAFile: garbage},
	} {
		if in, err := Start(t.Context(), cfg, newFakeStore(), discardLog(), prometheus.NewRegistry()); err == nil {
			_ = in.Close(t.Context())
			t.Errorf("%s: Start succeeded", name)
		}
	}
}

// TestTLS: an ssl:// broker whose certificate a CAFile vouches for. A TLS
// listener in front of the embedded broker stands in for one.
func TestTLS(t *testing.T) {
	b := startBroker(t)
	cert, caPEM := selfSigned(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go proxy(c, strings.TrimPrefix(b.URL(), "tcp://"))
		}
	}()

	therm := newID()
	st := newFakeStore(thermometer(therm))
	user, pass := b.IngestLogin()
	startOn(t, st, Config{URL: "ssl://" + ln.Addr().String(), ClientID: "ingest-tls", Username: user, Password: pass, CAFile: caFile})
	th := device(t, b.URL(), therm, therm, "secret")
	publish(t, th, devices.DeviceTopic(therm, devices.MessageChecks, false), checkJSON(1, 37))
	eventually(t, 5*time.Second, "the check stored over TLS", func() bool { return st.count(therm) == 1 })
}

func proxy(c net.Conn, to string) {
	defer c.Close()
	up, err := net.Dial("tcp", to)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// selfSigned makes a certificate for 127.0.0.1 that is its own CA.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "calibd test broker"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
