package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kadm"
)

// The console's browser tests drive Debian's Chromium headless through chromedp against real
// `sluice serve` processes. Screenshots of the pages land in artifacts/console/ at the
// repository's root (or $SLUICE_ARTIFACTS/console), kept as the run's artifacts.

// chromiumPath is Debian's Chromium (scripts/install-test-deps.sh installs it).
const chromiumPath = "/usr/bin/chromium"

// newBrowser starts a headless Chromium for the test and returns a tab's context; the
// browser is closed when the test ends. Every chromedp action should run under a context with
// a timeout (browse does).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: run scripts/install-test-deps.sh", chromiumPath)
		}
		t.Skipf("%s is missing: run scripts/install-test-deps.sh", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU,
		chromedp.WindowSize(1366, 900), // a laptop screen
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	// Start the browser now, so a failure to start is reported here. This first run must use
	// ctx itself: cancelling the context of the run that started the browser closes it. A
	// start that fails (CI saw Chromium exit at once on a machine running two CI runs) is
	// tried again, three times in all, each with a fresh profile.
	for attempt := 1; ; attempt++ {
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(opts, chromedp.UserDataDir(t.TempDir()))...)
		ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
		err := chromedp.Do(ctx)
		if err == nil {
			t.Cleanup(func() {
				cancel()
				cancelAlloc()
			})
			return ctx
		}
		cancel()
		cancelAlloc()
		if attempt == 3 {
			t.Fatalf("start chromium: %v", err)
		}
		t.Logf("start chromium (attempt %d): %v", attempt, err)
		time.Sleep(time.Second)
	}
}

// chromedp v0.23's actions are typed: chromedp.Action[T] yields a T (Title() a string,
// Evaluate[T] a T); steps without a result are Action[chromedp.Void], run in order by
// chromedp.Do. browse and browseGet wrap both with a timeout; into keeps a result in a
// variable so that it can be a step among others.

// browse runs steps in the test's browser with a timeout, failing the test (after a
// screenshot) when one fails.
func browse(t *testing.T, ctx context.Context, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(runCtx, steps...); err != nil {
		browserFail(t, ctx, err)
	}
}

// browseGet runs one action with a result, failing the test (after a screenshot) when it fails.
func browseGet[T any](t *testing.T, ctx context.Context, timeout time.Duration, a chromedp.Action[T]) T {
	t.Helper()
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(runCtx, a)
	if err != nil {
		browserFail(t, ctx, err)
	}
	return v
}

// into is a step that stores a's result in dst.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		v, err := a(ctx, tg)
		if err == nil {
			*dst = v
		}
		return err
	})
}

func browserFail(t *testing.T, ctx context.Context, err error) {
	t.Helper()
	screenshot(t, ctx, "failed")
	locCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(locCtx, chromedp.Location())
	t.Fatalf("browser at %s: %v", loc, err)
}

// screenshot saves a full-page PNG (quality 100: below it Chromium encodes JPEG) of the tab as artifacts/console/<test>-<name>.png.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shotCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(shotCtx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := artifactsDir(t, "console")
	file := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+"-"+name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", file)
}

// artifactsDir is $SLUICE_ARTIFACTS/sub, or artifacts/sub at the repository's root, created.
func artifactsDir(t *testing.T, sub string) string {
	t.Helper()
	root := os.Getenv("SLUICE_ARTIFACTS")
	if root == "" {
		_, file, _, _ := runtime.Caller(0)
		root = filepath.Join(filepath.Dir(file), "..", "artifacts")
	}
	dir := filepath.Join(root, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// clickLoad clicks sel (a submit button or a link) and waits until the page it leads to has
// loaded, so that the next step does not query the page being left (which may match it).
func clickLoad(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := chromedp.Evaluate[bool](`window.sluiceTestLeaving = true`)(ctx, tg); err != nil {
			return err
		}
		if _, err := chromedp.Click(sel)(ctx, tg); err != nil {
			return err
		}
		for { // evaluations fail while the page is replaced; ask until the new one has loaded
			done, err := chromedp.Evaluate[bool](`!window.sluiceTestLeaving && document.readyState === "complete"`)(ctx, tg)
			if err == nil && done {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for the page after clicking %s: %w (last: %v)", sel, ctx.Err(), err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// checkFitsWindow fails the test when the page shown is wider than the browser's window (1366
// pixels): no sideways scrolling on a laptop screen.
func checkFitsWindow(t *testing.T, b context.Context, what string) {
	t.Helper()
	if w := browseGet(t, b, 5*time.Second, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); w > 0 {
		t.Fatalf("%s is %d pixels wider than the window", what, w)
	}
}

// startSecuredConsoleNode starts a node whose console asks users to sign in: a SASL_PLAINTEXT
// listener with SCRAM-SHA-256 (the console's) beside a PLAINTEXT one (the test's own clients,
// as User:ANONYMOUS), the standard authorizer, and admin (password admin-secret) a super user.
func startSecuredConsoleNode(t *testing.T) *node {
	t.Helper()
	n, _ := startWithProperties(t, `
listeners=PLAINTEXT://{ADDR1},SASL_PLAINTEXT://{ADDR2}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-256
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS;User:admin
`, "--add-scram", "SCRAM-SHA-256=[name=admin,password=admin-secret]")
	return n
}

// addSCRAMUser creates a SCRAM-SHA-256 user, failing the test on any error.
func addSCRAMUser(t *testing.T, n *node, user, password string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := n.admin().AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: user, Mechanism: kadm.ScramSha256, Iterations: 4096, Password: password}})
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatalf("create user %s: %v", user, err)
	}
}

// allowACLs creates literal ACLs, failing the test on any error.
func allowACLs(t *testing.T, n *node, b *kadm.ACLBuilder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := n.admin().CreateACLs(ctx, b.ResourcePatternType(kadm.ACLPatternLiteral))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("create ACL: %v", r.Err)
		}
	}
}

// consoleBenchRuns skips a page-load benchmark unless SLUICE_CONSOLE_BENCH=1 and returns how
// many loads per page to measure (SLUICE_CONSOLE_BENCH_N, default 20).
func consoleBenchRuns(t *testing.T) int {
	t.Helper()
	if os.Getenv("SLUICE_CONSOLE_BENCH") != "1" {
		t.Skip("set SLUICE_CONSOLE_BENCH=1 to measure the console's page loads")
	}
	if v, err := strconv.Atoi(os.Getenv("SLUICE_CONSOLE_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return 20
}

// logPageLoads loads each of the node's console paths runs times and logs the median and p95
// of the server's time (Navigation Timing responseEnd - requestStart) and of the full load
// (loadEventEnd), with note after each line.
func logPageLoads(t *testing.T, ctx context.Context, n *node, runs int, note string, paths ...string) {
	t.Helper()
	type timing struct {
		Server float64 `json:"server"`
		Load   float64 `json:"load"`
	}
	for _, path := range paths {
		var server, load []float64
		for range runs {
			var tm timing
			browse(t, ctx, 60*time.Second, chromedp.Navigate(consoleURL(n, path)),
				into(new(bool), chromedp.Poll[bool](`performance.getEntriesByType("navigation")[0].loadEventEnd > 0`)),
				into(&tm, chromedp.Evaluate[timing](`(() => { const e = performance.getEntriesByType("navigation")[0]; return {server: e.responseEnd - e.requestStart, load: e.loadEventEnd - e.startTime}; })()`)))
			server, load = append(server, tm.Server), append(load, tm.Load)
		}
		slices.Sort(server)
		slices.Sort(load)
		q := func(xs []float64, p float64) float64 { return xs[min(len(xs)-1, int(p*float64(len(xs))))] }
		t.Logf("%-32s server median %6.1f ms p95 %6.1f ms · full load median %6.1f ms p95 %6.1f ms (%d loads%s)",
			path, q(server, 0.5), q(server, 0.95), q(load, 0.5), q(load, 0.95), runs, note)
	}
}

// consoleURL is the console's address on a node's HTTP listener.
func consoleURL(n *node, path string) string {
	return "http://" + n.httpAddr + path
}
