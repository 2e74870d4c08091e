package storage

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/vfs"
)

// TestDurableOffset: in page-cache mode the durable offset follows the log end offset; in
// group-commit mode it stays where it is until a round covering the append completes, then
// moves (and the hook runs) to an offset the crash image holds; truncation lowers it.
func TestDurableOffset(t *testing.T) {
	t.Run("page cache follows the log end", func(t *testing.T) {
		m := openManager(t, vfs.NewMem(), nil)
		l := createLog(t, m, DefaultLogConfig())
		l.SetDurableHook(func() { t.Error("hook called in page-cache mode") })
		mustAppend(t, l, 3, 10, 1)
		if l.DurableOffset() != 3 || l.LogEndOffset() != 3 {
			t.Fatalf("durable offset %d, log end %d; want 3, 3", l.DurableOffset(), l.LogEndOffset())
		}
	})
	t.Run("group commit moves after the round", func(t *testing.T) {
		fsys := vfs.NewMem()
		m := openManager(t, fsys, func(o *Options) { o.GroupCommit = true })
		l := createLog(t, m, DefaultLogConfig())
		moved := make(chan int64, 16)
		l.SetDurableHook(func() { moved <- l.DurableOffset() })
		info, err := l.AppendNoWait(makeBatch(t, 4, 10, 1, 1), 0)
		if err != nil {
			t.Fatal(err)
		}
		if l.DurableOffset() != 0 {
			t.Fatalf("durable offset %d before any round", l.DurableOffset())
		}
		if err := l.ScheduleSync(info); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-moved:
			if got != 4 {
				t.Fatalf("hook saw durable offset %d, want 4", got)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no round completed")
		}
		crashed := fsys.CrashClone(vfs.CrashOptions{})
		m2 := openManager(t, crashed, nil)
		if l2, ok := m2.Log(testTP); !ok || l2.LogEndOffset() < 4 {
			t.Fatal("the crash image lost records below the durable offset")
		}
		if err := l.TruncateTo(2); err != nil {
			t.Fatal(err)
		}
		// The cut lands at the start of the batch holding offset 2.
		if l.LogEndOffset() != 0 || l.DurableOffset() != 0 {
			t.Fatalf("log end %d, durable offset %d after truncating into the batch at 0; want 0, 0", l.LogEndOffset(), l.DurableOffset())
		}
	})
}
