package storage

import (
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/internal/vfs"
)

func TestAbortedTxns(t *testing.T) {
	fsys := vfs.NewMem()
	newRecoveryFixtureOn(t, fsys)
	m := openManager(t, fsys, nil)
	l, _ := m.Log(testTP)
	// Markers are in the active segment (base 16, offsets 16..21).
	txns := []AbortedTxn{
		{ProducerID: 1, FirstOffset: 3, LastOffset: 17, LastStableOffset: 3},
		{ProducerID: 2, FirstOffset: 18, LastOffset: 19, LastStableOffset: 18},
		{ProducerID: 3, FirstOffset: 19, LastOffset: 21, LastStableOffset: 30},
	}
	for _, tx := range txns {
		if err := l.AppendAbortedTxn(tx); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.AppendAbortedTxn(AbortedTxn{ProducerID: 9, FirstOffset: 1, LastOffset: 2}); err == nil {
		t.Fatal("marker outside the active segment accepted")
	}
	cases := []struct {
		name         string
		start, upper int64
		want         []AbortedTxn
	}{
		{"fetch before all", 0, 3, nil},
		{"overlapping the first", 0, 4, txns[:1]},
		{"middle", 17, 19, txns[:2]},
		{"stops at a complete entry", 18, 25, txns[1:3]},
		{"after all", 22, 40, nil},
	}
	check := func(t *testing.T, l *Log) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := l.AbortedTxns(tc.start, tc.upper)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("AbortedTxns(%d, %d) = %v, want %v", tc.start, tc.upper, got, tc.want)
				}
			})
		}
	}
	check(t, l)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2 := openManager(t, fsys, nil)
	l2, _ := m2.Log(testTP)
	t.Run("after restart", func(t *testing.T) { check(t, l2) })
	if err := l2.TruncateTo(19); err != nil {
		t.Fatal(err)
	}
	got, err := l2.AbortedTxns(0, 100)
	if err != nil || !reflect.DeepEqual(got, txns[:1]) {
		t.Fatalf("after truncation to 19: %v %v", got, err)
	}
}

func newRecoveryFixtureOn(t *testing.T, fsys *vfs.MemFS) recoveryFixture {
	t.Helper()
	m := openManager(t, fsys, nil)
	cfg := DefaultLogConfig()
	batch := makeBatch(t, 2, 100, 0, 0)
	cfg.SegmentBytes = int64(4 * len(batch))
	l := createLog(t, m, cfg)
	for i := range 11 {
		mustAppend(t, l, 2, 100, int64(i))
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	return recoveryFixture{fs: fsys, batchSize: int64(len(batch)), cfg: cfg}
}
