package registry

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
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

// TestIDLookupWithoutSync: a schema this node holds is answered by id without waiting for a
// Sync (its text never changes under the id); an id it does not hold yet, the subjects of an id
// and fetchMaxId wait for one.
func TestIDLookupWithoutSync(t *testing.T) {
	mlog, nodes := newNodes(t, 1)
	writer := nodes[0]
	state := NewState()
	l := &gatedLog{MemNode: mlog.Join(state), release: make(chan struct{})}
	svc := New(Options{Log: l, State: state, Formats: testFormats()})
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	id := writer.register(t, "s", schemaBody(rec("R", "a")))

	get := func(path string) int {
		t.Helper()
		done := make(chan int, 1)
		go func() {
			status, _ := doHTTP(t, srv.URL, "GET", path, nil, nil)
			done <- status
		}()
		select {
		case status := <-done:
			return status
		case <-time.After(5 * time.Second):
			t.Fatalf("GET %s is still waiting", path)
			return 0
		}
	}
	for _, path := range []string{fmt.Sprintf("/schemas/ids/%d", id), fmt.Sprintf("/schemas/ids/%d/schema", id)} {
		if status := get(path); status != 200 {
			t.Fatalf("GET %s: %d", path, status)
		}
	}
	if got := l.calls.Load(); got != 0 {
		t.Fatalf("%d Syncs for ids this node holds, want 0", got)
	}
	// Each of these waits for a Sync: released one at a time.
	for _, c := range []struct {
		path   string
		status int
	}{
		{fmt.Sprintf("/schemas/ids/%d", id+1), 404},
		{fmt.Sprintf("/schemas/ids/%d/subjects", id), 200},
		{fmt.Sprintf("/schemas/ids/%d?fetchMaxId=true", id), 200},
	} {
		before := l.calls.Load()
		go func() {
			for l.calls.Load() == before {
				time.Sleep(time.Millisecond)
			}
			l.release <- struct{}{}
		}()
		if status := get(c.path); status != c.status {
			t.Fatalf("GET %s: %d, want %d", c.path, status, c.status)
		}
		if l.calls.Load() != before+1 {
			t.Fatalf("GET %s: %d Syncs, want 1", c.path, l.calls.Load()-before)
		}
	}
}
