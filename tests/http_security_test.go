package tests

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/internal/security/sasl/sasltest"
)

// TestHTTPAuthentication: a broker whose HTTP listener requires authentication (basic and
// bearer) with the ACL authorizer on. The probes stay open; /metrics answers 401 without
// credentials or with wrong ones, 200 to a PLAIN user, a bootstrap SCRAM user and a valid JWT
// of a super user, and 403 to a SCRAM user without Describe on the cluster until an ACL grants
// it (no restart).
func TestHTTPAuthentication(t *testing.T) {
	issuer, jwks := newJWKSIssuer(t, "ES256", "http-key")
	n, _ := startWithProperties(t, `
listeners=PLAINTEXT://{ADDR1}
sluice.http.authentication.methods=basic,bearer
listener.name.http.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_ops="ops-secret";
sasl.oauthbearer.jwks.endpoint.url=`+jwks+`
sasl.oauthbearer.expected.audience=sluice-http
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS;User:admin;User:ops;User:svc
`, "--add-scram", "SCRAM-SHA-512=[name=admin,password=admin-secret]")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := n.admin()
	res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "bob", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "bob-secret"}})
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatalf("create SCRAM user bob: %v", err)
	}

	base := "http://" + n.httpAddr
	get := func(path string, set func(*http.Request)) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if set != nil {
			set(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	basic := func(u, p string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth(u, p) } }
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	sign := func(sub, aud string, ttl time.Duration) string {
		tok, err := issuer.Sign(sasltest.Claims(sub, "https://issuer.test", aud, ttl))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := get(path, nil); code != 200 {
			t.Errorf("%s without credentials: %d, want 200", path, code)
		}
	}
	for _, tc := range []struct {
		name string
		set  func(*http.Request)
		want int
	}{
		{"no credentials", nil, 401},
		{"PLAIN user", basic("ops", "ops-secret"), 200},
		{"PLAIN user, wrong password", basic("ops", "nope"), 401},
		{"bootstrap SCRAM user", basic("admin", "admin-secret"), 200},
		{"SCRAM user, wrong password", basic("admin", "admin-secret2"), 401},
		{"unknown user", basic("eve", "x"), 401},
		{"SCRAM user without Describe on the cluster", basic("bob", "bob-secret"), 403},
		{"valid token", bearer(sign("svc", "sluice-http", time.Minute)), 200},
		{"expired token", bearer(sign("svc", "sluice-http", -time.Minute)), 401},
		{"token for another audience", bearer(sign("svc", "elsewhere", time.Minute)), 401},
	} {
		if code, body := get("/metrics", tc.set); code != tc.want {
			t.Errorf("%s: %d (%s), want %d", tc.name, code, strings.TrimSpace(body), tc.want)
		}
	}

	// Granting bob Describe on the cluster lets him in, without a restart.
	acl := kadm.NewACLs().Allow("User:bob").AllowHosts("*").Clusters().Operations(kadm.OpDescribe)
	if results, err := adm.CreateACLs(ctx, acl); err != nil || results[0].Err != nil {
		t.Fatalf("create ACL: %v %v", err, results)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := get("/metrics", basic("bob", "bob-secret"))
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob after the ACL: %d, want 200", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The attempts are counted.
	_, body := get("/metrics", basic("admin", "admin-secret"))
	for _, want := range []string{`sluice_http_authentications_total{method="basic",result="failed"}`, `sluice_http_authentications_total{method="bearer",result="ok"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestHTTPTLS: the HTTP listener over TLS (sluice.http.ssl.enabled with listener.name.http.ssl.*,
// ssl.client.auth=requested): the harness's probes reach it over HTTPS; /metrics answers a
// client certificate (CN=OPS,O=acme mapped to the super user ops by ssl.principal.mapping.rules:
// any other principal would be refused by the authorizer) and basic credentials, refuses a
// caller with neither, and plain HTTP gets no page.
func TestHTTPTLS(t *testing.T) {
	ca := newTestCA(t)
	srv := ca.serverCert("http", "/CN=localhost")
	cli := ca.clientCert("ops", "/O=acme/CN=OPS")
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	anonymous := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(anonymous.CloseIdleConnections)
	n, _ := startWithPropertiesSetup(t, `
listeners=PLAINTEXT://{ADDR1}
sluice.http.ssl.enabled=true
sluice.http.authentication.methods=basic
listener.name.http.ssl.keystore.type=PEM
listener.name.http.ssl.keystore.location=`+srv.PEMFile+`
listener.name.http.ssl.truststore.type=PEM
listener.name.http.ssl.truststore.location=`+ca.CertFile+`
listener.name.http.ssl.client.auth=requested
listener.name.http.ssl.principal.mapping.rules=RULE:^CN=([^,]+),O=acme$/$1/L,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS;User:admin;User:ops
`, func(n *node) { n.httpsClient = anonymous }, "--add-scram", "SCRAM-SHA-256=[name=admin,password=admin-secret]")

	cert, err := tls.LoadX509KeyPair(cli.CertFile, cli.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}}
	t.Cleanup(withCert.CloseIdleConnections)
	status := func(cl *http.Client, user, pass string) int {
		t.Helper()
		req, err := http.NewRequest("GET", "https://"+n.httpAddr+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if got := status(withCert, "", ""); got != 200 {
		t.Errorf("client certificate: %d, want 200", got)
	}
	if got := status(anonymous, "", ""); got != 401 {
		t.Errorf("no certificate, no credentials: %d, want 401", got)
	}
	if got := status(anonymous, "admin", "admin-secret"); got != 200 {
		t.Errorf("basic over TLS: %d, want 200", got)
	}
	if resp, err := http.Get("http://" + n.httpAddr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered 200 on the TLS listener")
		}
	}
	_, body := func() (int, string) {
		req, _ := http.NewRequest("GET", "https://"+n.httpAddr+"/metrics", nil)
		resp, err := withCert.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}()
	if !strings.Contains(body, `sluice_http_authentications_total{method="certificate",result="ok"}`) {
		t.Error("/metrics does not count the certificate authentications")
	}
}
