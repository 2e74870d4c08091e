package storage

import (
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/vfs"
)

// openCountFS counts opens of existing .log files and can hold the open of one file.
type openCountFS struct {
	vfs.FS
	logOpens atomic.Int64

	mu      sync.Mutex
	hold    string        // base name whose open waits for gate
	waiting chan struct{} // receives when the held open starts
	gate    chan struct{}
}

func (c *openCountFS) OpenReadWrite(name string) (vfs.File, error) {
	if strings.HasSuffix(name, ".log") {
		c.logOpens.Add(1)
	}
	c.mu.Lock()
	hold := c.hold != "" && strings.HasSuffix(name, c.hold)
	c.mu.Unlock()
	if hold {
		c.waiting <- struct{}{}
		<-c.gate
	}
	return c.FS.OpenReadWrite(name)
}

// TestActiveLogsStayOpenPastTheBudget appends round-robin to more partitions than a third of
// the open-file budget, with an index entry on every append: the index files take turns in
// the budget, while every active segment's .log stays open, so appends reopen no .log.
func TestActiveLogsStayOpenPastTheBudget(t *testing.T) {
	const partitions, budget = 12, 16 // 36 files, 12 of them active .log files
	fsys := &openCountFS{FS: vfs.NewMem()}
	m := openManager(t, fsys, func(o *Options) { o.MaxOpenFiles = budget })
	cfg := DefaultLogConfig()
	cfg.IndexIntervalBytes = 1 // an index entry per batch
	var logs []*Log
	for p := range partitions {
		l, err := m.CreateLog(TopicPartition{Topic: "t", Partition: int32(p)}, [16]byte{1}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	appendRound := func() {
		for _, l := range logs {
			mustAppend(t, l, 1, 100, time.Now().UnixMilli())
		}
	}
	appendRound() // warms up: each .log is opened at most once
	before := fsys.logOpens.Load()
	for range 20 {
		appendRound()
	}
	if got := fsys.logOpens.Load() - before; got != 0 {
		t.Fatalf("%d .log files reopened in 20 rounds of appends: active segments' .log files were evicted", got)
	}
	if open := m.OpenFiles(); open > budget {
		t.Fatalf("%d files open, budget %d", open, budget)
	}
}

// TestOpenDoesNotBlockOtherFiles holds the open(2) of one log's evicted .log file and checks
// that another log is read meanwhile: the cache's mutex is not held across the open.
func TestOpenDoesNotBlockOtherFiles(t *testing.T) {
	fsys := &openCountFS{FS: vfs.NewMem(), waiting: make(chan struct{}, 1), gate: make(chan struct{})}
	m := openManager(t, fsys, func(o *Options) { o.MaxOpenFiles = 2 })
	var logs []*Log
	for p := range 2 {
		l, err := m.CreateLog(TopicPartition{Topic: "t", Partition: int32(p)}, [16]byte{1}, DefaultLogConfig())
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, 1, 100, time.Now().UnixMilli())
		logs = append(logs, l)
	}
	m.files.closeAll() // every file closed: the next reads must open them
	m.files.mu.Lock()
	m.files.mu.closed = false
	m.files.mu.Unlock()
	fsys.mu.Lock()
	fsys.hold = path.Join("t-0", segmentFileName(0, kindLog))
	fsys.mu.Unlock()

	held := make(chan error, 1)
	go func() {
		res, err := logs[0].Read(0, 1<<20, logs[0].LogEndOffset(), true)
		if err == nil {
			res.Release()
		}
		held <- err
	}()
	<-fsys.waiting
	if got := readAll(t, logs[1], 0); len(got) != 1 {
		t.Fatalf("read %d batches from t-1 while t-0's open is held, want 1", len(got))
	}
	fsys.mu.Lock()
	fsys.hold = "" // later opens (the Close in cleanup reopens t-0's .log) must not wait on waiting
	fsys.mu.Unlock()
	close(fsys.gate)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}
