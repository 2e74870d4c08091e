package partition

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/internal/record"
)

// TestReplayReadSize: Replay reads in chunks of at most readSize bytes of whole batches
// (offsets.load.buffer.size for __consumer_offsets), one batch when a batch is larger, and
// hands every batch over exactly once whatever the size.
func TestReplayReadSize(t *testing.T) {
	p := newTestPartition(t, DefaultConfig(), soleLeader())
	batchSize := 0
	for range 20 {
		b := records(t, 4)
		batchSize = len(b)
		if _, err := p.Append(b, -1); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		readSize  int
		maxChunks int // batches per call at most
	}{
		{readSize: 1, maxChunks: 1},             // smaller than a batch: one batch per read
		{readSize: 3 * batchSize, maxChunks: 3}, // three whole batches fit
		{readSize: 0, maxChunks: 20},            // default 1 MiB: everything at once
		{readSize: 1 << 30, maxChunks: 20},
	} {
		calls, batches := 0, 0
		err := p.Replay(context.Background(), p.HighWatermark(), c.readSize, func(data []byte) error {
			calls++
			it := record.NewBatches(data)
			n := 0
			for _, _, ok := it.Next(); ok; _, _, ok = it.Next() {
				n++
			}
			if n == 0 || n > c.maxChunks {
				t.Errorf("readSize %d: a read handed over %d batches, want 1..%d", c.readSize, n, c.maxChunks)
			}
			batches += n
			return it.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if batches != 20 || calls < (20+c.maxChunks-1)/c.maxChunks {
			t.Errorf("readSize %d: %d batches in %d reads, want 20 in at least %d", c.readSize, batches, calls, (20+c.maxChunks-1)/c.maxChunks)
		}
	}
}
