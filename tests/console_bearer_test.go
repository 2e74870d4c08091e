package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/internal/security/sasl/sasltest"
)

// TestConsoleBearerSignIn: on a SASL_PLAINTEXT listener that validates OAUTHBEARER tokens
// against a JWKS file, the sign-in form offers OAUTHBEARER; a token signed by the issuer signs
// in as its subject (shown in the header), whose ACLs decide what the topics page lists; a
// token the broker refuses (another issuer's key) does not sign in.
func TestConsoleBearerSignIn(t *testing.T) {
	issuer, jwks := newJWKSIssuer(t, "RS256", "console-key")
	n, _ := startWithProperties(t, `
listeners=PLAINTEXT://{ADDR1},SASL_PLAINTEXT://{ADDR2}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=OAUTHBEARER,SCRAM-SHA-256
sasl.oauthbearer.jwks.endpoint.url=`+jwks+`
sasl.oauthbearer.expected.audience=kafka
sasl.oauthbearer.expected.issuer=https://issuer.test
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
`)
	n.createTopic("bearer-visible", 1, nil)
	n.createTopic("bearer-hidden", 1, nil)
	allowACLs(t, n, kadm.NewACLs().Allow("User:svc-reports").Topics("bearer-visible").Operations(kadm.OpRead))
	token, err := issuer.Sign(sasltest.Claims("svc-reports", "https://issuer.test", "kafka", time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := sasltest.NewIssuer("RS256", "console-key")
	if err != nil {
		t.Fatal(err)
	}
	forged, err := stranger.Sign(sasltest.Claims("svc-reports", "https://issuer.test", "kafka", time.Hour))
	if err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	signIn := func(tok string) {
		t.Helper()
		browse(t, b, 30*time.Second,
			chromedp.Navigate(consoleURL(n, "/topics")),
			chromedp.WaitVisible(`input[name=password]`),
			chromedp.SetValue(`select[name=mechanism]`, "OAUTHBEARER"),
			chromedp.SetValue(`input[name=password]`, tok),
			clickLoad(`form[action="/login"] button[type=submit]`))
	}
	browse(t, b, 20*time.Second, chromedp.Navigate(consoleURL(n, "/login")), chromedp.WaitVisible(`select[name=mechanism]`))
	if offered := browseGet(t, b, 10*time.Second, chromedp.Text(`select[name=mechanism]`)); !strings.Contains(offered, "OAUTHBEARER") {
		t.Fatalf("the sign-in form offers %q, want OAUTHBEARER", offered)
	}

	signIn(forged)
	if msg := browseGet(t, b, 10*time.Second, chromedp.Text(`main`)); !strings.Contains(msg, "refused") {
		t.Fatalf("a token of another issuer: the page says %q, want the refusal", msg)
	}
	screenshot(t, b, "forged-token")

	signIn(token)
	browse(t, b, 20*time.Second, chromedp.WaitVisible(`table#topics`))
	if who := browseGet(t, b, 10*time.Second, chromedp.Text(`form.who span`)); who != "User:svc-reports" {
		t.Fatalf("signed in as %q, want User:svc-reports", who)
	}
	topics := browseGet(t, b, 10*time.Second, chromedp.Text(`table#topics tbody`))
	if !strings.Contains(topics, "bearer-visible") || strings.Contains(topics, "bearer-hidden") {
		t.Fatalf("the token's user sees %q: want bearer-visible only", topics)
	}
	screenshot(t, b, "topics")
}
