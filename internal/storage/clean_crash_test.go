package storage

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// crashPointFS counts the file-system operations that change state (creates, writes, syncs,
// renames, removes, directory syncs) once armed, and takes a crash image just before the
// operation numbered at.
type crashPointFS struct {
	*vfs.MemFS
	mu    sync.Mutex
	armed bool
	ops   int
	at    int
	image *vfs.MemFS
	rng   *rand.Rand
}

type crashPointFile struct {
	vfs.File
	fs *crashPointFS
}

func (c *crashPointFS) step() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed {
		return
	}
	c.ops++
	if c.ops == c.at {
		c.image = c.MemFS.CrashClone(vfs.CrashOptions{Rand: c.rng})
	}
}

func (c *crashPointFS) Create(name string) (vfs.File, error) {
	c.step()
	f, err := c.MemFS.Create(name)
	if err != nil {
		return nil, err
	}
	return &crashPointFile{f, c}, nil
}

func (c *crashPointFS) OpenReadWrite(name string) (vfs.File, error) {
	f, err := c.MemFS.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return &crashPointFile{f, c}, nil
}

func (c *crashPointFS) Rename(a, b string) error { c.step(); return c.MemFS.Rename(a, b) }
func (c *crashPointFS) Remove(a string) error    { c.step(); return c.MemFS.Remove(a) }
func (c *crashPointFS) SyncDir(a string) error   { c.step(); return c.MemFS.SyncDir(a) }
func (f *crashPointFile) Sync() error            { f.fs.step(); return f.File.Sync() }
func (f *crashPointFile) Write(p []byte) (int, error) {
	f.fs.step()
	return f.File.Write(p)
}

// TestCleanCrashAtEveryStep takes a crash image before every file-system operation of a clean
// (which both deduplicates keys and removes tombstones past their horizon) and checks that
// the recovered log holds, for every key, its latest value, no deleted key, every record
// past the cleaned range, and offsets that only rise.
func TestCleanCrashAtEveryStep(t *testing.T) {
	clock := newTestClock(50_000_000)
	base := vfs.NewMem()
	cfg := compactConfig()
	m := openCleanerManager(t, base, clock)
	l := createLog(t, m, cfg)
	rng := rand.New(rand.NewPCG(11, 12))
	written := writeUpdates(t, l, rng, 1500, 30, record.Gzip, 1)
	var tombs [][2]string
	for k := range 6 {
		tombs = append(tombs, [2]string{fmt.Sprintf("key-%03d", k), tomb})
	}
	info, err := l.Append(keyedBatch(t, record.None, 1, tombs...), 1)
	if err != nil {
		t.Fatal(err)
	}
	for j, kv := range tombs {
		written = append(written, cleanRecord{offset: info.FirstOffset + int64(j), key: kv[0], tombstone: true})
	}
	written = append(written, writeKeyed(t, l, rng, "fill", 400, 5000, record.None, 1)...)
	if _, cleaned, err := m.CleanDirtiest(); err != nil || !cleaned {
		t.Fatalf("first clean: %v %v", cleaned, err)
	}
	written = append(written, writeUpdates(t, l, rng, 1500, 30, record.Snappy, 1)...)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second) // the tombstones' horizon has passed
	image := base.CrashClone(vfs.CrashOptions{})
	leo := written[len(written)-1].offset + 1

	// reopen opens a Manager and gives the log its config (as the partition layer does).
	reopen := func(t *testing.T, fsys vfs.FS) (*Manager, *Log) {
		t.Helper()
		m := openCleanerManager(t, fsys, clock)
		l, ok := m.Log(testTP)
		if !ok {
			t.Fatal("log missing")
		}
		if err := l.checkUsable(); err != nil {
			t.Fatalf("log offline: %v", err)
		}
		if err := l.SetConfig(cfg); err != nil {
			t.Fatal(err)
		}
		return m, l
	}
	check := func(t *testing.T, fsys vfs.FS) {
		t.Helper()
		m, l := reopen(t, fsys)
		if l.LogEndOffset() != leo {
			t.Fatalf("log end offset %d, want %d", l.LogEndOffset(), leo)
		}
		segs := l.segs()
		checkCompacted(t, l, written, 0)
		got := readRecords(t, l)
		active := segs[len(segs)-1].baseOffset
		n := 0
		for _, r := range got {
			if r.offset >= active {
				n++
			}
		}
		want := 0
		for _, r := range written {
			if r.offset >= active {
				want++
			}
		}
		if n != want {
			t.Fatalf("%d records in the active segment, want %d", n, want)
		}
		// The recovered log cleans again without trouble.
		if _, _, err := m.CleanDirtiest(); err != nil {
			t.Fatal(err)
		}
		checkCompacted(t, l, written, 0)
	}

	// Count the operations of an uninterrupted clean.
	counter := &crashPointFS{MemFS: image.CrashClone(vfs.CrashOptions{})}
	total := func() int {
		m, _ := reopen(t, counter)
		counter.armed = true
		if _, cleaned, err := m.CleanDirtiest(); err != nil || !cleaned {
			t.Fatalf("clean: %v %v", cleaned, err)
		}
		counter.armed = false
		return counter.ops
	}()
	if total < 10 {
		t.Fatalf("a clean made only %d file-system operations", total)
	}
	t.Run("uninterrupted", func(t *testing.T) { check(t, counter.MemFS.CrashClone(vfs.CrashOptions{})) })
	swapsCompleted := 0
	for at := 1; at <= total; at++ {
		t.Run(fmt.Sprintf("op=%d", at), func(t *testing.T) {
			fsys := &crashPointFS{MemFS: image.CrashClone(vfs.CrashOptions{}), at: at, rng: rand.New(rand.NewPCG(uint64(at), 7))}
			m, _ := reopen(t, fsys)
			fsys.armed = true
			if _, _, err := m.CleanDirtiest(); err != nil {
				t.Fatal(err)
			}
			fsys.armed = false
			if fsys.image == nil {
				t.Fatalf("no crash image at operation %d of %d", at, total)
			}
			names, _ := fsys.image.ReadDir("/data/" + testTP.String())
			for _, n := range names {
				if strings.HasSuffix(n, ".log"+swapSuffix) {
					swapsCompleted++
				}
			}
			check(t, fsys.image)
		})
	}
	if swapsCompleted == 0 {
		t.Fatal("no crash image held a committed swap: the load-time completion was not exercised")
	}
	t.Logf("%d crash points, %d with a committed swap to complete", total, swapsCompleted)
}
