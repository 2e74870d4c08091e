package storage

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; the f.Add seeds below are the same
// shapes, so `go test` exercises them even without the directory.

func FuzzOffsetCheckpoint(f *testing.F) {
	f.Add([]byte("0\n2\norders 0 18244\norders 1 17730\n"))
	f.Add([]byte("0\n0\n"))
	f.Add([]byte("0\n1\na 2147483647 9223372036854775807\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseOffsetCheckpoint(data)
		if err != nil {
			return
		}
		again, err := parseOffsetCheckpoint(formatOffsetCheckpoint(m))
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip of %q: %v %v", data, again, err)
		}
	})
}

func FuzzEpochCheckpoint(f *testing.F) {
	f.Add([]byte("0\n3\n0 0\n4 1850\n7 90312\n"))
	f.Add([]byte("0\n0\n"))
	f.Add([]byte("0\n2\n4 0\n3 10\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseEpochCheckpoint(data)
		if err != nil {
			return
		}
		again, err := parseEpochCheckpoint(formatEpochCheckpoint(entries))
		if err != nil || !equalEpochs(again, entries) {
			t.Fatalf("round trip of %q: %v %v", data, again, err)
		}
	})
}

func FuzzPartitionMetadata(f *testing.F) {
	f.Add([]byte("version: 0\ntopic_id: 4CzaD9i3TvKQ0Z1hO5C_mw\n"))
	f.Add([]byte("version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := parsePartitionMetadata(data)
		if err != nil {
			return
		}
		if got := formatPartitionMetadata(id); !bytes.Equal(got, data) {
			t.Fatalf("accepted %q but formats as %q", data, got)
		}
	})
}

// fuzzFile puts data in a MemFS file.
func fuzzFile(t *testing.T, data []byte) vfs.File {
	t.Helper()
	fsys := vfs.NewMem()
	f, err := fsys.Create("/f")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return f
}

// offsetIndexSeed encodes entries as an offset index.
func offsetIndexSeed(entries ...offsetEntry) []byte {
	b := make([]byte, len(entries)*offsetEntrySize)
	for i, e := range entries {
		putOffsetEntry(b[i*offsetEntrySize:], e)
	}
	return b
}

func FuzzOffsetIndex(f *testing.F) {
	f.Add(offsetIndexSeed(), int64(10), int64(0))
	f.Add(offsetIndexSeed(offsetEntry{1, 100}, offsetEntry{5, 400}, offsetEntry{9, 800}), int64(1000), int64(6))
	f.Add(offsetIndexSeed(offsetEntry{5, 400}, offsetEntry{1, 100}), int64(1000), int64(3))
	f.Add([]byte{1, 2, 3}, int64(10), int64(1))
	f.Fuzz(func(t *testing.T, data []byte, logSize, target int64) {
		file := fuzzFile(t, data)
		n, last, err := checkOffsetIndex(file, int64(len(data)), logSize, math.MaxUint32)
		if err != nil {
			return
		}
		if n > 0 && last != getOffsetEntry(data[(n-1)*offsetEntrySize:]) {
			t.Fatalf("last entry %v", last)
		}
		// On a valid index, the chunked binary search agrees with a linear scan.
		want := int64(-1)
		for i := int64(0); i < n; i++ {
			if offsetKey(data[i*offsetEntrySize:]) <= target {
				want = i
			}
		}
		got, err := searchIndex(file, n, offsetEntrySize, offsetKey, target)
		if err != nil || got != want {
			t.Fatalf("searchIndex(%d) = %d %v, want %d", target, got, err, want)
		}
	})
}

func FuzzTimeIndex(f *testing.F) {
	seed := make([]byte, 3*timeEntrySize)
	for i := range 3 {
		putTimeEntry(seed[i*timeEntrySize:], timeEntry{timestamp: int64(1000 * (i + 1)), relOffset: uint32(i * 4)})
	}
	f.Add(seed, int64(2500))
	f.Add(seed[:20], int64(0))
	f.Add([]byte{}, int64(-1))
	f.Fuzz(func(t *testing.T, data []byte, target int64) {
		file := fuzzFile(t, data)
		n, _, err := checkTimeIndex(file, int64(len(data)), math.MaxUint32)
		if err != nil {
			return
		}
		want := int64(-1)
		for i := int64(0); i < n; i++ {
			if timeKey(data[i*timeEntrySize:]) <= target {
				want = i
			}
		}
		got, err := searchIndex(file, n, timeEntrySize, timeKey, target)
		if err != nil || got != want {
			t.Fatalf("searchIndex(%d) = %d %v, want %d", target, got, err, want)
		}
	})
}

func FuzzTxnIndex(f *testing.F) {
	seed := make([]byte, 2*txnEntrySize)
	putAbortedTxn(seed, AbortedTxn{ProducerID: 1, FirstOffset: 3, LastOffset: 17, LastStableOffset: 3})
	putAbortedTxn(seed[txnEntrySize:], AbortedTxn{ProducerID: 2, FirstOffset: 18, LastOffset: 19, LastStableOffset: 18})
	f.Add(seed)
	f.Add(seed[:40])
	f.Add(bytes.Repeat([]byte{0xff}, txnEntrySize))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := fuzzFile(t, data)
		n := int64(len(data) / txnEntrySize)
		seen := int64(0)
		err := scanTxnIndex(file, n, func(pos int64, tx AbortedTxn) bool {
			if tx.LastOffset < tx.FirstOffset || tx.FirstOffset < 0 {
				t.Fatalf("accepted entry %+v", tx)
			}
			seen++
			return true
		})
		if err == nil && seen != n {
			t.Fatalf("saw %d of %d entries without an error", seen, n)
		}
	})
}

// FuzzRecoverSegment feeds arbitrary bytes to the recovery scan: it must stop at the first bad
// batch, never panic, and everything it accepts must frame as valid batches.
func FuzzRecoverSegment(f *testing.F) {
	b := record.NewBuilder(record.None)
	b.Add(1, []byte("k"), []byte("v"))
	one, _ := b.Build(nil)
	two := append(bytes.Clone(one), one...)
	binary.BigEndian.PutUint64(two[len(one):], 1)
	f.Add(one)
	f.Add(two)
	f.Add(two[:len(two)-3])
	f.Add(append(bytes.Clone(one), make([]byte, 100)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := fuzzFile(t, data)
		res, err := scanSegment(file, int64(len(data)), 0, math.MaxInt64, 1)
		if err != nil {
			t.Fatalf("I/O error on memory: %v", err)
		}
		if res.validBytes > int64(len(data)) || (res.stopErr == nil) != (res.validBytes == int64(len(data))) {
			t.Fatalf("valid %d of %d bytes, stop %v", res.validBytes, len(data), res.stopErr)
		}
		it := record.NewBatches(data[:res.validBytes])
		var count int64
		for batch, _, ok := it.Next(); ok; batch, _, ok = it.Next() {
			if _, err := record.Validate(batch, record.ValidateOptions{}); err != nil {
				t.Fatalf("accepted an invalid batch: %v", err)
			}
			count++
		}
		if it.Err() != nil || count != res.batches {
			t.Fatalf("accepted bytes hold %d batches (%v), scan said %d", count, it.Err(), res.batches)
		}
	})
}
