package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// selfSigned is a throwaway certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestAuthAndTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	reg := prometheus.NewRegistry()
	var mu sync.Mutex
	seen := map[string]int{}
	auth := &Auth{
		Basic: func(_ context.Context, user, pass string) (string, error) {
			if user == "alice" && pass == "alice-secret" || user == "mallory" && pass == "m" {
				return "User:" + user, nil
			}
			return "", errors.New("bad password")
		},
		Bearer: func(_ context.Context, token string) (string, error) {
			if token == "good-token" {
				return "User:svc", nil
			}
			return "", errors.New("bad token")
		},
		Authorize: func(principal, host string) bool { return principal != "User:mallory" && host == "127.0.0.1" },
		Observe: func(method string, ok bool) {
			mu.Lock()
			defer mu.Unlock()
			if ok {
				seen[method+" ok"]++
			} else {
				seen[method+" failed"]++
			}
		},
	}
	srv, err := Start(Options{Addr: "127.0.0.1:0", Gatherer: reg, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(client.CloseIdleConnections)
	base := "https://" + srv.Addr()

	do := func(path string, set func(*http.Request)) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequest("GET", base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if set != nil {
			set(req)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header
	}
	basic := func(u, p string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth(u, p) } }
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}

	if code, _, _ := do("/healthz", nil); code != 200 {
		t.Errorf("healthz without credentials: %d, want 200 (probes stay open)", code)
	}
	code, _, hdr := do("/metrics", nil)
	if code != 401 || len(hdr.Values("WWW-Authenticate")) != 2 {
		t.Errorf("metrics without credentials: %d, challenges %q", code, hdr.Values("WWW-Authenticate"))
	}
	for _, tc := range []struct {
		name string
		set  func(*http.Request)
		want int
	}{
		{"basic, right password", basic("alice", "alice-secret"), 200},
		{"basic, wrong password", basic("alice", "nope"), 401},
		{"basic, unknown user", basic("bob", "x"), 401},
		{"bearer, valid token", bearer("good-token"), 200},
		{"bearer, invalid token", bearer("forged"), 401},
		{"authenticated but not authorized", basic("mallory", "m"), 403},
	} {
		if code, body, _ := do("/metrics", tc.set); code != tc.want {
			t.Errorf("%s: %d (%s), want %d", tc.name, code, strings.TrimSpace(body), tc.want)
		}
	}
	mu.Lock()
	if seen["basic ok"] != 2 || seen["basic failed"] != 2 || seen["bearer ok"] != 1 || seen["bearer failed"] != 1 || seen["none failed"] != 1 {
		t.Errorf("observed attempts: %v", seen)
	}
	mu.Unlock()

	// Plain HTTP to the TLS listener does not get an answer of any endpoint.
	if resp, err := http.Get("http://" + srv.Addr() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered 200 on the TLS listener")
		}
	}
}

func TestAuthOpenMetrics(t *testing.T) {
	srv, err := Start(Options{Addr: "127.0.0.1:0", Gatherer: prometheus.NewRegistry(), Auth: &Auth{
		Basic:       func(context.Context, string, string) (string, error) { return "", errors.New("no") },
		OpenMetrics: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if code, _ := get(t, "http://"+srv.Addr()+"/metrics"); code != 200 {
		t.Errorf("open /metrics: %d", code)
	}
	if code, _ := get(t, "http://"+srv.Addr()+"/debug/pprof/"); code != 401 {
		t.Errorf("pprof without credentials: %d, want 401", code)
	}
}
