package storage

import (
	"testing"

	"github.com/sluicehq/sluice/internal/record"
)

// cleanFuzzSeeds are segments of a few kinds of batch: keyed updates, tombstones, compressed,
// transactional with markers, an idempotent producer's.
func cleanFuzzSeeds(t testing.TB) [][]byte {
	build := func(b *record.Builder, base int64, kvs ...[2]string) []byte {
		b.BaseOffset = base
		for _, kv := range kvs {
			var v []byte
			if kv[1] != tomb {
				v = []byte(kv[1])
			}
			b.Add(1000, []byte(kv[0]), v)
		}
		out, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	plain := build(record.NewBuilder(record.None), 0, [2]string{"a", "1"}, [2]string{"b", "2"}, [2]string{"a", "3"})
	tombs := build(record.NewBuilder(record.None), 3, [2]string{"b", tomb}, [2]string{"c", "4"})
	gz := build(record.NewBuilder(record.Gzip), 5, [2]string{"c", "5"}, [2]string{"a", "6"})
	txn := record.NewBuilder(record.None)
	txn.ProducerID, txn.ProducerEpoch, txn.BaseSequence, txn.Transactional = 9, 0, 0, true
	txnData := build(txn, 7, [2]string{"d", "7"})
	marker := record.NewBuilder(record.None)
	marker.ProducerID, marker.ProducerEpoch, marker.Transactional, marker.Control = 9, 0, true, true
	marker.BaseOffset = 8
	if err := marker.AddControl(record.ControlAbort, 1000, 0); err != nil {
		t.Fatal(err)
	}
	markerBatch, err := marker.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	idem := record.NewBuilder(record.Zstd)
	idem.ProducerID, idem.ProducerEpoch, idem.BaseSequence = 4, 1, 10
	idemBatch := build(idem, 9, [2]string{"a", "8"})
	all := append(append(append(append(append(append([]byte(nil), plain...), tombs...), gz...), txnData...), markerBatch...), idemBatch...)
	return [][]byte{plain, append(append([]byte(nil), plain...), tombs...), gz, all, all[:len(all)-5]}
}

// FuzzCleanBatch feeds arbitrary segment bytes to the cleaner's key mapping and batch filter
// (which decompress, parse and rewrite what they read from disk): nothing may panic, errors
// are typed, and every batch the filter writes for a valid input batch is itself valid and
// keeps to the input's offsets.
func FuzzCleanBatch(f *testing.F) {
	for _, s := range cleanFuzzSeeds(f) {
		f.Add(s, int64(500))
	}
	f.Fuzz(func(t *testing.T, data []byte, nowMs int64) {
		keys := newOffsetMap(1<<20, 1024)
		var buf []byte
		it := record.NewBatches(data)
		for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
			if h.IsControl() || h.NumRecords <= 0 || keys.full(int(h.NumRecords)) {
				continue
			}
			buf, _ = mapBatch(keys, batch, h, buf, 0)
			keys.latest = max(keys.latest, h.LastOffset())
		}
		f := &batchFilter{keys: keys, txns: newCleanTxns([]AbortedTxn{{ProducerID: 9, FirstOffset: 7, LastOffset: 8}}),
			lastOfProd: map[int64]producerLast{4: {dataOffset: 9, epoch: 1}, 9: {dataOffset: -1}}, nowMs: nowMs, horizonMs: nowMs + 100, maxDecoded: 1 << 20, minHorizon: -1}
		it = record.NewBatches(data)
		for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
			_, inErr := record.Validate(batch, record.ValidateOptions{DecodeRecords: true, MaxDecompressedSize: 1 << 20})
			out, err := f.filter(nil, batch, h)
			if err != nil || inErr != nil {
				continue
			}
			outs := record.NewBatches(out)
			for ob, oh, ok := outs.Next(); ok; ob, oh, ok = outs.Next() {
				if _, err := record.Validate(ob, record.ValidateOptions{DecodeRecords: true}); err != nil {
					t.Fatalf("the filter wrote an invalid batch from a valid one: %v", err)
				}
				if oh.BaseOffset != h.BaseOffset || oh.LastOffset() != h.LastOffset() || oh.ProducerID != h.ProducerID {
					t.Fatalf("rewritten batch %+v does not keep the offsets and producer of %+v", oh, h)
				}
			}
			if outs.Err() != nil {
				t.Fatalf("the filter wrote bytes that do not frame: %v", outs.Err())
			}
		}
	})
}
