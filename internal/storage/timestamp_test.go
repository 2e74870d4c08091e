package storage

import (
	"testing"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// timestampLog holds batches whose records carry distinct timestamps, over several segments,
// in several codecs: batch i has records at 1000*i + {0, 10, 20}, except batch 3 which is
// stamped with LogAppendTime 3500.
func timestampLog(t *testing.T) *Log {
	t.Helper()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 600
	cfg.IndexIntervalBytes = 1
	m := openManager(t, vfs.NewMem(), nil)
	l := createLog(t, m, cfg)
	codecs := []record.Codec{record.None, record.Gzip, record.Zstd, record.None, record.LZ4, record.Snappy}
	for i, codec := range codecs {
		b := record.NewBuilder(codec)
		for j := range 3 {
			b.Add(int64(1000*i+10*j), nil, []byte("value"))
		}
		batch, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			record.SetLogAppendTime(batch, 3500)
		}
		if _, err := l.Append(batch, 0); err != nil {
			t.Fatal(err)
		}
	}
	if l.NumSegments() < 2 {
		t.Fatalf("want several segments, have %d", l.NumSegments())
	}
	return l
}

func TestOffsetForTimestamp(t *testing.T) {
	l := timestampLog(t)
	cases := []struct {
		name      string
		ts        int64
		want      TimestampOffset
		wantFound bool
	}{
		{"before everything", -5, TimestampOffset{0, 0}, true},
		{"exact first record", 0, TimestampOffset{0, 0}, true},
		{"between records of a batch", 5, TimestampOffset{10, 1}, true},
		{"last record of a batch", 20, TimestampOffset{20, 2}, true},
		{"between batches", 21, TimestampOffset{1000, 3}, true},
		{"inside a compressed batch", 2015, TimestampOffset{2020, 8}, true},
		{"log append time batch", 3001, TimestampOffset{3500, 9}, true},
		{"snappy batch in a later segment", 5011, TimestampOffset{5020, 17}, true},
		{"after everything", 5021, TimestampOffset{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, found, err := l.OffsetForTimestamp(tc.ts)
			if err != nil {
				t.Fatal(err)
			}
			if found != tc.wantFound || got != tc.want {
				t.Fatalf("OffsetForTimestamp(%d) = %+v %v, want %+v %v", tc.ts, got, found, tc.want, tc.wantFound)
			}
		})
	}
}

func TestOffsetForTimestampRespectsLogStart(t *testing.T) {
	l := timestampLog(t)
	if err := l.DeleteRecordsBefore(4); err != nil {
		t.Fatal(err)
	}
	got, found, err := l.OffsetForTimestamp(0)
	if err != nil || !found || got != (TimestampOffset{1010, 4}) {
		t.Fatalf("after DeleteRecords: %+v %v %v", got, found, err)
	}
}

func TestMaxTimestamp(t *testing.T) {
	l := timestampLog(t)
	got, found, err := l.MaxTimestamp()
	if err != nil || !found || got != (TimestampOffset{5020, 17}) {
		t.Fatalf("MaxTimestamp = %+v %v %v", got, found, err)
	}
	// A larger timestamp appended later wins; of two records sharing it, the first.
	b := record.NewBuilder(record.None)
	b.Add(9000, nil, nil)
	b.Add(9000, nil, nil)
	batch, _ := b.Build(nil)
	if _, err := l.Append(batch, 0); err != nil {
		t.Fatal(err)
	}
	got, _, _ = l.MaxTimestamp()
	if got != (TimestampOffset{9000, 18}) {
		t.Fatalf("MaxTimestamp after append = %+v", got)
	}
}

func TestMaxTimestampEmptyLog(t *testing.T) {
	m := openManager(t, vfs.NewMem(), nil)
	l := createLog(t, m, DefaultLogConfig())
	if _, found, err := l.MaxTimestamp(); found || err != nil {
		t.Fatalf("empty log: found %v err %v", found, err)
	}
	if _, found, err := l.OffsetForTimestamp(0); found || err != nil {
		t.Fatalf("empty log: found %v err %v", found, err)
	}
}
