package partition

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzProducerSnapshot feeds arbitrary bytes to the snapshot decoder, as a
// damaged .snapshot file would: it must return ErrCorruptSnapshot or
// entries that encode back to the same bytes, never panic.
func FuzzProducerSnapshot(f *testing.F) {
	f.Add(encodeProducerSnapshot(nil))
	f.Add(encodeProducerSnapshot([]snapshotEntry{
		{ProducerID: 1, Epoch: 2, LastSequence: 9, LastOffset: 40, OffsetDelta: 9, Timestamp: 1, CoordinatorEpoch: -1, CurrentTxnFirstOffset: -1},
		{ProducerID: 5, Epoch: 0, LastSequence: -1, LastOffset: -1, Timestamp: 2, CoordinatorEpoch: 3, CurrentTxnFirstOffset: 31},
	}))
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := decodeProducerSnapshot(b)
		if err != nil {
			if !errors.Is(err, ErrCorruptSnapshot) {
				t.Fatalf("error %v is not ErrCorruptSnapshot", err)
			}
			return
		}
		if again := encodeProducerSnapshot(entries); !bytes.Equal(again, b) {
			t.Fatalf("decoded %d entries that encode to other bytes", len(entries))
		}
		states := newProducerStates(DefaultProducerIDExpirationMs, DefaultProducerIDExpirationCheckIntervalMs)
		states.load(entries, 0)
		_ = states.snapshotEntries()
	})
}
