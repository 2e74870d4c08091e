package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// newTestConsole is an anonymous console of a kfake cluster, served by an httptest server.
func newTestConsole(t *testing.T) (*Console, *httptest.Server) {
	t.Helper()
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	c, err := New(Options{Brokers: kc.ListenAddrs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv
}

// TestCrossSiteRequestRefused: a form another site makes the browser post (the anonymous
// console has no cookie to guard it) is refused; the console's own forms go through.
func TestCrossSiteRequestRefused(t *testing.T) {
	_, srv := newTestConsole(t)
	post := func(origin, fetchSite string) int {
		form := url.Values{"name": {"made-by-" + fetchSite}, "partitions": {"1"}, "replication_factor": {"1"}}
		req, _ := http.NewRequest("POST", srv.URL+"/topics", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if fetchSite != "" {
			req.Header.Set("Sec-Fetch-Site", fetchSite)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("http://evil.example", "cross-site"); code != http.StatusForbidden {
		t.Errorf("cross-site POST: status %d, want 403", code)
	}
	if code := post("http://evil.example", ""); code != http.StatusForbidden {
		t.Errorf("POST with a foreign Origin: status %d, want 403", code)
	}
	if code := post(srv.URL, "same-origin"); code == http.StatusForbidden {
		t.Errorf("same-origin POST refused")
	}
}

// TestNavigationMarksSection: the navigation marks the section of the page shown, for the
// section's own page and the pages below it, and no other.
func TestNavigationMarksSection(t *testing.T) {
	_, srv := newTestConsole(t)
	for path, want := range map[string]string{"/no/such/page": "", "/topics/x/no-such": "/topics", "/groups/g/no-such": "/groups",
		"/brokersx": ""} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var marked []string
		for _, m := range regexp.MustCompile(`href="([^"]*)" aria-current="page"`).FindAllSubmatch(body, -1) {
			marked = append(marked, string(m[1]))
		}
		if got := strings.Join(marked, " "); got != want {
			t.Errorf("%s: navigation marks %q, want %q", path, got, want)
		}
	}
}

// FuzzTokenSubject: any token typed into the sign-in form gives a subject or "(token)",
// never a panic.
func FuzzTokenSubject(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdmMifQ.c2ln")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		if tokenSubject(token) == "" {
			t.Fatal("empty subject")
		}
	})
}

func TestTokenSubject(t *testing.T) {
	for token, want := range map[string]string{
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdmMifQ.c2ln": "svc",
		"eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln":    "(token)",
		"not-a-jwt": "(token)",
	} {
		if got := tokenSubject(token); got != want {
			t.Errorf("tokenSubject(%q) = %q, want %q", token, got, want)
		}
	}
}
