package tests

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
		chromedp.UserDataDir(t.TempDir()),
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
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	// Start the browser now, so a failure to start is reported here. This first run must use
	// ctx itself: cancelling the context of the run that started the browser closes it.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return ctx
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

// consoleURL is the console's address on a node's HTTP listener.
func consoleURL(n *node, path string) string {
	return "http://" + n.httpAddr + path
}
