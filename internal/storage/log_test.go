package storage

import (
	"errors"
	"testing"

	"github.com/sluicehq/sluice/internal/vfs"
)

func TestAppendAssignsOffsets(t *testing.T) {
	m := openManager(t, vfs.NewMem(), nil)
	l := createLog(t, m, DefaultLogConfig())
	var infos []AppendInfo
	for i, n := range []int{1, 5, 3} {
		info, err := l.Append(makeBatch(t, n, 32, int64(1000+i), uint64(i)), 7)
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, info)
	}
	want := []struct{ first, last int64 }{{0, 0}, {1, 5}, {6, 8}}
	for i, w := range want {
		if infos[i].FirstOffset != w.first || infos[i].LastOffset != w.last {
			t.Fatalf("append %d: offsets %d..%d, want %d..%d", i, infos[i].FirstOffset, infos[i].LastOffset, w.first, w.last)
		}
	}
	if infos[2].MaxTimestamp != 1002 || infos[2].OffsetOfMaxTimestamp != 8 || infos[2].LogAppendTime != -1 {
		t.Fatalf("append info %+v", infos[2])
	}
	if l.LogEndOffset() != 9 {
		t.Fatalf("log end offset %d, want 9", l.LogEndOffset())
	}
	got := readAll(t, l, 0)
	checkContiguous(t, got, 0, 9)
	for i, b := range got {
		if b.epoch != 7 || b.tag != uint64(i) {
			t.Fatalf("batch %d: epoch %d tag %d", i, b.epoch, b.tag)
		}
	}
	if e, ok := l.LeaderEpochs().Latest(); !ok || e != (EpochEntry{Epoch: 7, StartOffset: 0}) {
		t.Fatalf("leader epochs %v", l.LeaderEpochs().Entries())
	}
}

func TestAppendRejects(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1000
	cases := []struct {
		name  string
		bytes func(t *testing.T) []byte
		want  error
	}{
		{"empty", func(t *testing.T) []byte { return nil }, ErrInvalidAppend},
		{"torn batch", func(t *testing.T) []byte { b := makeBatch(t, 1, 10, 0, 0); return b[:len(b)-1] }, ErrInvalidAppend},
		{"larger than segment.bytes", func(t *testing.T) []byte { return makeBatch(t, 10, 200, 0, 0) }, ErrRecordBatchTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := openManager(t, vfs.NewMem(), nil)
			l := createLog(t, m, cfg)
			if _, err := l.Append(tc.bytes(t), 0); !errors.Is(err, tc.want) {
				t.Fatalf("Append error %v, want %v", err, tc.want)
			}
			if l.LogEndOffset() != 0 || l.Size() != 0 {
				t.Fatalf("rejected append changed the log: end %d size %d", l.LogEndOffset(), l.Size())
			}
		})
	}
}

func TestAppendAsFollower(t *testing.T) {
	m := openManager(t, vfs.NewMem(), nil)
	l := createLog(t, m, DefaultLogConfig())
	withOffsets := func(base int64, epoch int32, n int) []byte {
		b := makeBatch(t, n, 16, 5, uint64(base))
		setHeader(b, base, epoch)
		return b
	}
	if _, err := l.AppendAsFollower(withOffsets(0, 3, 2)); err != nil {
		t.Fatal(err)
	}
	// A gap (compacted leader) is fine.
	if _, err := l.AppendAsFollower(withOffsets(10, 4, 2)); err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 12 {
		t.Fatalf("log end %d, want 12", l.LogEndOffset())
	}
	if _, err := l.AppendAsFollower(withOffsets(11, 4, 1)); !errors.Is(err, ErrOffsetsOutOfOrder) {
		t.Fatalf("overlapping follower append: %v", err)
	}
	if got := l.LeaderEpochs().Entries(); len(got) != 2 || got[1] != (EpochEntry{Epoch: 4, StartOffset: 10}) {
		t.Fatalf("epochs %v", got)
	}
	got := readAll(t, l, 0)
	if len(got) != 2 || got[1].base != 10 {
		t.Fatalf("batches %v", got)
	}
}
