package storage

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/vfs"
)

// TestFlushPolicies checks what page-cache mode makes durable, by crashing a MemFS.
func TestFlushPolicies(t *testing.T) {
	cases := []struct {
		name        string
		cfg         func(*LogConfig)
		advance     time.Duration // clock advance after the appends
		wantDurable int64         // offsets that must survive the crash
	}{
		{"default leaves appends to the page cache", func(*LogConfig) {}, time.Hour, 0},
		{"flush.messages=3 flushes on the third record", func(c *LogConfig) { c.FlushMessages = 3 }, 0, 3},
		{"flush.messages=1 flushes every append", func(c *LogConfig) { c.FlushMessages = 1 }, 0, 4},
		{"flush.ms flushes once the time has passed", func(c *LogConfig) { c.FlushMs = 1000 }, 2 * time.Second, 4},
		{"flush.ms not yet passed", func(c *LogConfig) { c.FlushMs = 60_000 }, time.Second, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMem()
			clock := newTestClock(1_000_000)
			cfg := DefaultLogConfig()
			tc.cfg(&cfg)
			m := openManager(t, fsys, func(o *Options) { o.Now = clock.Now; o.FlushCheckInterval = time.Millisecond })
			l := createLog(t, m, cfg)
			for i := range 4 {
				mustAppend(t, l, 1, 10, int64(i))
			}
			clock.Advance(tc.advance)
			if tc.wantDurable == 4 && cfg.FlushMs < DefaultLogConfig().FlushMs {
				// The background loop flushes; wait for it (a condition, not a duration).
				for l.RecoveryPoint() < 4 {
					time.Sleep(time.Millisecond)
				}
			} else {
				time.Sleep(20 * time.Millisecond) // let the loop run; it must not flush
			}
			crashed := fsys.CrashClone(vfs.CrashOptions{})
			m2 := openManager(t, crashed, nil)
			l2, ok := m2.Log(testTP)
			if !ok {
				t.Fatal("partition lost")
			}
			if l2.LogEndOffset() != tc.wantDurable {
				t.Fatalf("%d offsets survived the crash, want %d", l2.LogEndOffset(), tc.wantDurable)
			}
		})
	}
}
