package registry

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// gatedLog is a Log whose Syncs each wait for a release.
type gatedLog struct {
	*MemNode
	calls   atomic.Int32
	release chan struct{}
}

func (l *gatedLog) Sync(ctx context.Context) error {
	l.calls.Add(1)
	select {
	case <-l.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestSyncsCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mlog := NewMemLog()
		state := NewState()
		l := &gatedLog{MemNode: mlog.Join(state), release: make(chan struct{})}
		svc := New(Options{Log: l, State: state, Formats: testFormats()})
		ctx := context.Background()
		var wg sync.WaitGroup
		wg.Go(func() { _ = svc.sync(ctx) })
		synctest.Wait()
		// Twenty more requests (reads, produces with unknown ids) while a Sync runs: they all
		// wait for the one Sync that starts after it.
		for range 10 {
			wg.Go(func() { _ = svc.sync(ctx) })
			wg.Go(func() { _, _ = svc.SubjectsForID(ctx, 42) })
		}
		synctest.Wait()
		if got := l.calls.Load(); got != 1 {
			t.Fatalf("%d Syncs running, want 1", got)
		}
		l.release <- struct{}{}
		synctest.Wait()
		if got := l.calls.Load(); got != 2 {
			t.Fatalf("%d Syncs after the first ended, want 2", got)
		}
		l.release <- struct{}{}
		wg.Wait()
		if got := l.calls.Load(); got != 2 {
			t.Fatalf("%d Syncs in all, want 2", got)
		}
	})
}
