package partition

import (
	"errors"
	"testing"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/internal/vfs"
)

func committedRead(t *testing.T, p *Partition, offset int64) ReadResult {
	t.Helper()
	rr, err := p.Read(offset, ReadOptions{MaxBytes: 1 << 20, Isolation: ReadCommitted,
		CurrentLeaderEpoch: NoLeaderEpoch, LastFetchedEpoch: NoLeaderEpoch, Replica: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rr.Records.Release)
	return rr
}

func TestTransactionHoldsLastStableOffset(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), false)
	h.mustAppend(pbatch{id: 1, seq: 0, n: 2})              // 0-1 idempotent, no txn
	h.mustAppend(pbatch{id: 2, seq: 0, n: 2, txn: true})   // 2-3 opens producer 2's txn
	h.mustAppend(pbatch{id: -1, epoch: -1, seq: -1, n: 1}) // 4
	h.mustAppend(pbatch{id: 3, seq: 0, n: 1, txn: true})   // 5 opens producer 3's txn
	if hw, lso := h.p.HighWatermark(), h.p.LastStableOffset(); hw != 6 || lso != 2 {
		t.Fatalf("hw %d, lso %d; want 6, 2", hw, lso)
	}
	if rr := committedRead(t, h.p, 0); rr.Records.NextOffset != 2 || rr.LastStableOffset != 2 {
		t.Fatalf("read_committed returned up to %d (lso %d), want 2", rr.Records.NextOffset, rr.LastStableOffset)
	}
	for _, tc := range []struct {
		name string
		iso  Isolation
		want int64
	}{{"read_uncommitted", ReadUncommitted, 6}, {"read_committed", ReadCommitted, 2}} {
		t.Run("latest "+tc.name, func(t *testing.T) {
			res, err := h.p.ListOffset(LatestTimestamp, tc.iso, NoLeaderEpoch)
			if err != nil || res.Offset != tc.want {
				t.Fatalf("latest offset %d, %v; want %d", res.Offset, err, tc.want)
			}
		})
	}

	w := NewWaiter()
	h.p.Watch(w)
	off, err := h.p.WriteTxnMarker(TxnMarker{ProducerID: 2, ProducerEpoch: 0, Commit: true, CoordinatorEpoch: 1})
	if err != nil || off != 6 {
		t.Fatalf("commit marker at %d, %v; want 6", off, err)
	}
	select {
	case <-w.C():
	default:
		t.Fatal("a marker moving the last stable offset did not wake the waiter")
	}
	if lso := h.p.LastStableOffset(); lso != 5 {
		t.Fatalf("lso %d after producer 2 committed, want 5 (producer 3 still open)", lso)
	}
	if _, err := h.p.WriteTxnMarker(TxnMarker{ProducerID: 3, ProducerEpoch: 0, Commit: true}); err != nil {
		t.Fatal(err)
	}
	if hw, lso := h.p.HighWatermark(), h.p.LastStableOffset(); lso != hw || hw != 8 {
		t.Fatalf("hw %d, lso %d; want both 8", hw, lso)
	}
	rr := committedRead(t, h.p, 0)
	if rr.Records.NextOffset != 8 || len(rr.AbortedTxns) != 0 {
		t.Fatalf("read_committed to %d with aborted %+v; want 8 and none", rr.Records.NextOffset, rr.AbortedTxns)
	}
}

func TestAbortRecordedForReadCommitted(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), false)
	h.mustAppend(pbatch{id: 4, seq: 0, n: 3, txn: true}) // 0-2
	h.mustAppend(pbatch{id: 6, seq: 0, n: 1, txn: true}) // 3, stays open across the abort
	h.mustAppend(pbatch{id: 4, seq: 3, n: 1, txn: true}) // 4
	abort, err := h.p.WriteTxnMarker(TxnMarker{ProducerID: 4, ProducerEpoch: 0, CoordinatorEpoch: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.p.WriteTxnMarker(TxnMarker{ProducerID: 6, ProducerEpoch: 0, Commit: true, CoordinatorEpoch: 2}); err != nil {
		t.Fatal(err)
	}
	rr := committedRead(t, h.p, 1)
	want := storage.AbortedTxn{ProducerID: 4, FirstOffset: 0, LastOffset: abort, LastStableOffset: 3}
	if len(rr.AbortedTxns) != 1 || rr.AbortedTxns[0] != want {
		t.Fatalf("aborted %+v, want [%+v]", rr.AbortedTxns, want)
	}
	// A new transaction of the same producer after the abort.
	if _, err := h.append(pbatch{id: 4, seq: 4, n: 1, txn: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := h.p.LastStableOffset(), h.p.LogEndOffset()-1; got != want {
		t.Fatalf("lso %d, want %d (the new transaction's first offset)", got, want)
	}
	uncommitted, err := h.p.Read(0, ReadOptions{MaxBytes: 1 << 20, Isolation: ReadUncommitted,
		CurrentLeaderEpoch: NoLeaderEpoch, LastFetchedEpoch: NoLeaderEpoch, Replica: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer uncommitted.Records.Release()
	if uncommitted.AbortedTxns != nil {
		t.Fatalf("read_uncommitted got aborted transactions %+v", uncommitted.AbortedTxns)
	}
}

func TestTxnMarkerChecks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(h *producerHost)
		marker  TxnMarker
		wantErr error
	}{
		{"no producer here: still written", func(*producerHost) {}, TxnMarker{ProducerID: 9, ProducerEpoch: 0, Commit: true}, nil},
		{"older producer epoch", func(h *producerHost) { h.mustAppend(pbatch{id: 9, epoch: 5, seq: 0, n: 1, txn: true}) },
			TxnMarker{ProducerID: 9, ProducerEpoch: 4}, ErrInvalidProducerEpoch},
		{"older coordinator epoch", func(h *producerHost) {
			h.mustAppend(pbatch{id: 9, seq: 0, n: 1, txn: true})
			if _, err := h.p.WriteTxnMarker(TxnMarker{ProducerID: 9, Commit: true, CoordinatorEpoch: 3}); err != nil {
				h.t.Fatal(err)
			}
			h.mustAppend(pbatch{id: 9, seq: 1, n: 1, txn: true})
		}, TxnMarker{ProducerID: 9, Commit: true, CoordinatorEpoch: 2}, ErrTransactionCoordinatorFenced},
		{"bumped epoch on abort", func(h *producerHost) { h.mustAppend(pbatch{id: 9, epoch: 1, seq: 0, n: 1, txn: true}) },
			TxnMarker{ProducerID: 9, ProducerEpoch: 2}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newProducerHost(t, vfs.NewMem(), false)
			tc.setup(h)
			end := h.p.LogEndOffset()
			off, err := h.p.WriteTxnMarker(tc.marker)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				if h.p.LogEndOffset() != end {
					t.Fatal("a refused marker was appended")
				}
				return
			}
			if off != end || h.p.LastStableOffset() != h.p.LogEndOffset() {
				t.Fatalf("marker at %d (want %d), lso %d, log end %d", off, end, h.p.LastStableOffset(), h.p.LogEndOffset())
			}
			rr := committedRead(t, h.p, off)
			if rr.Records.FirstOffset != off {
				t.Fatalf("marker not readable at %d", off)
			}
			var hdr [record.HeaderSize]byte
			if _, err := rr.Records.Regions[0].ReadAt(hdr[:], 0); err != nil {
				t.Fatal(err)
			}
			hd, err := record.ReadHeader(hdr[:])
			if err != nil || !hd.IsControl() || !hd.IsTransactional() || hd.ProducerID != tc.marker.ProducerID {
				t.Fatalf("marker header %+v, %v", hd, err)
			}
		})
	}
}

func TestEpochBumpAfterAbortFencesOldEpoch(t *testing.T) {
	h := newProducerHost(t, vfs.NewMem(), false)
	h.mustAppend(pbatch{id: 9, epoch: 1, seq: 0, n: 1, txn: true})
	if _, err := h.p.WriteTxnMarker(TxnMarker{ProducerID: 9, ProducerEpoch: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.append(pbatch{id: 9, epoch: 1, seq: 1, n: 1, txn: true}); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("zombie batch after the abort bumped the epoch: %v", err)
	}
	if _, err := h.append(pbatch{id: 9, epoch: 2, seq: 0, n: 1, txn: true}); err != nil {
		t.Fatalf("new epoch from 0: %v", err)
	}
}
