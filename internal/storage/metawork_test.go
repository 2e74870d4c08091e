package storage

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/vfs"
)

// overlapFS counts the calls of partition creation's file work (MkdirAll, Create, Rename)
// in flight at once; each call lingers a little so that unbounded callers would overlap.
type overlapFS struct {
	vfs.FS
	inFlight, maxInFlight atomic.Int64
}

func (f *overlapFS) enter() func() {
	n := f.inFlight.Add(1)
	for {
		m := f.maxInFlight.Load()
		if n <= m || f.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(2 * time.Millisecond)
	return func() { f.inFlight.Add(-1) }
}

func (f *overlapFS) MkdirAll(dir string) error {
	if strings.Contains(dir, "meta-") {
		defer f.enter()()
	}
	return f.FS.MkdirAll(dir)
}

func (f *overlapFS) Create(name string) (vfs.File, error) {
	if strings.Contains(name, "meta-") {
		defer f.enter()()
	}
	return f.FS.Create(name)
}

func (f *overlapFS) Rename(oldname, newname string) error {
	if strings.Contains(newname, "meta-") {
		defer f.enter()()
	}
	return f.FS.Rename(oldname, newname)
}

// TestCreateLogBoundsFileWork: concurrent CreateLog calls (partition.Manager.Apply runs 32)
// do their file work at most GOMAXPROCS-1 at a time (at least one), so creating a topic
// leaves a CPU to produce and fetch; their shared fsync rounds still gather all of them, and
// every log is created whole.
func TestCreateLogBoundsFileWork(t *testing.T) {
	fsys := &overlapFS{FS: vfs.NewMem()}
	m := openManager(t, fsys, nil)
	m.metaWorkMaxWait = time.Hour // the bound itself, not its escape for hung operations
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tp := TopicPartition{Topic: "meta-bound", Partition: int32(i)}
			l, err := m.CreateLog(tp, [16]byte{byte(i + 1)}, DefaultLogConfig())
			if err == nil && l.LogEndOffset() != 0 {
				err = fmt.Errorf("log end offset %d", l.LogEndOffset())
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("CreateLog %d: %v", i, err)
		}
	}
	bound := int64(max(1, runtime.GOMAXPROCS(0)-1))
	if got := fsys.maxInFlight.Load(); got > bound {
		t.Fatalf("%d creation file operations ran at once, want at most %d", got, bound)
	}
	if got := len(m.Logs()); got != n {
		t.Fatalf("%d logs, want %d", got, n)
	}
	// Reopening finds every log with its topic id (partition.metadata was published whole).
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2 := openManager(t, fsys.FS, nil)
	for i := range n {
		l, ok := m2.Log(TopicPartition{Topic: "meta-bound", Partition: int32(i)})
		if !ok || l.TopicID() != [16]byte{byte(i + 1)} {
			t.Fatalf("partition %d after reopen: found %v, topic id %v", i, ok, l)
		}
	}
}

// threadNice reads the calling thread's nice value from /proc (field 19 of its stat line).
func threadNice() (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", syscall.Gettid()))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: count after it.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 17 {
		return 0, fmt.Errorf("stat %q: too few fields", b)
	}
	return strconv.Atoi(fields[16]) // field 19 overall
}

// TestMetaWorkRunsNiced: creation's file work runs on threads at metaWorkNice, so the kernel
// favours produce and fetch goroutines' threads when both want a CPU; the caller's own thread
// keeps its priority.
func TestMetaWorkRunsNiced(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("per-thread nice values are Linux's")
	}
	m := openManager(t, vfs.NewMem(), nil)
	m.metaWorkMaxWait = time.Hour
	var inWorker int
	if err := m.doMetaWork(func() (err error) { inWorker, err = threadNice(); return err }); err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	caller, err := threadNice()
	if err != nil {
		t.Fatal(err)
	}
	if want := min(19, caller+metaWorkNice); inWorker != want {
		t.Fatalf("metaWork ran at nice %d, the caller is at %d: want %d", inWorker, caller, want)
	}
}
