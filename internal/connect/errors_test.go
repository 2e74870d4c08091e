package connect

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

type flaky struct{ retriable bool }

func (e flaky) Error() string   { return "flaky" }
func (e flaky) Retriable() bool { return e.retriable }

func testHandler(cfg map[string]string) *errorHandler {
	w := &Worker{log: slog.New(slog.DiscardHandler), met: newWorkerMetrics()}
	t := &taskRunner{cs: &connState{w: w, name: "c"}, config: cfg}
	return newErrorHandler(t, false)
}

// TestRetry: errors.retry.timeout retries only retriable errors, only when set, until the
// operation succeeds, the timeout passes or the task stops.
func TestRetry(t *testing.T) {
	ctx := context.Background()
	failing := func(n int, err error) (func() error, *int) {
		calls := 0
		return func() error {
			calls++
			if calls <= n {
				return err
			}
			return nil
		}, &calls
	}
	retrying := map[string]string{"errors.retry.timeout": "60000", "errors.retry.delay.max.ms": "1"}

	h := testHandler(retrying)
	op, calls := failing(3, flaky{true})
	if err := h.retry(ctx, op); err != nil || *calls != 4 {
		t.Fatalf("retriable: %v after %d calls, want success after 4", err, *calls)
	}
	if n := testutil.ToFloat64(h.t.cs.w.met.recordRetries.WithLabelValues("c", "0")); n != 3 {
		t.Fatalf("retries counted %v, want 3", n)
	}
	// Wrapped: found anywhere in the chain.
	op, calls = failing(1, errors.Join(errors.New("converting"), flaky{true}))
	if err := h.retry(ctx, op); err != nil || *calls != 2 {
		t.Fatalf("wrapped retriable: %v after %d calls", err, *calls)
	}
	op, calls = failing(3, flaky{false})
	if err := h.retry(ctx, op); !errors.Is(err, flaky{false}) || *calls != 1 {
		t.Fatalf("not retriable: %v after %d calls, want the error after 1", err, *calls)
	}
	op, calls = failing(3, errors.New("plain"))
	if err := h.retry(ctx, op); err == nil || *calls != 1 {
		t.Fatalf("plain error: %v after %d calls", err, *calls)
	}
	// The default, errors.retry.timeout=0: one attempt.
	op, calls = failing(3, flaky{true})
	if err := testHandler(nil).retry(ctx, op); err == nil || *calls != 1 {
		t.Fatalf("no retry timeout: %v after %d calls", err, *calls)
	}
	// The timeout passes: the last error.
	op, calls = failing(1<<30, flaky{true})
	if err := testHandler(map[string]string{"errors.retry.timeout": "30", "errors.retry.delay.max.ms": "5"}).retry(ctx, op); !errors.Is(err, flaky{true}) || *calls < 2 {
		t.Fatalf("past the timeout: %v after %d calls, want the error after at least 2", err, *calls)
	}
	// The task stops: the context's error with the last one.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	op, _ = failing(1<<30, flaky{true})
	if err := testHandler(map[string]string{"errors.retry.timeout": "-1"}).retry(cctx, op); !errors.Is(err, context.Canceled) || !errors.Is(err, flaky{true}) {
		t.Fatalf("stopped: %v", err)
	}
}
