package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

var testTP = TopicPartition{Topic: "orders", Partition: 0}

// testClock is a settable clock for retention, segment.ms and flush.ms; the Manager's
// background goroutine reads it, hence the mutex.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock(ms int64) *testClock { return &testClock{now: time.UnixMilli(ms)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// openManager opens a Manager on fsys (a MemFS unless given) with test-friendly defaults;
// it is closed at cleanup unless the test closes it.
func openManager(t testing.TB, fsys vfs.FS, mod func(*Options)) *Manager {
	t.Helper()
	opts := Options{
		FS:                     fsys,
		Dir:                    "/data",
		Logger:                 testLogger(t),
		RetentionCheckInterval: time.Hour,
		CheckpointInterval:     time.Hour,
	}
	if mod != nil {
		mod(&opts)
	}
	m, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func createLog(t testing.TB, m *Manager, cfg LogConfig) *Log {
	t.Helper()
	l, err := m.CreateLog(testTP, [16]byte{1, 2, 3}, cfg)
	if err != nil {
		t.Fatalf("CreateLog: %v", err)
	}
	return l
}

// makeBatch builds a valid uncompressed batch of n records whose values are valueSize bytes
// stamped with tag, all with timestamp ts.
func makeBatch(t testing.TB, n, valueSize int, ts int64, tag uint64) []byte {
	t.Helper()
	b := record.NewBuilder(record.None)
	val := make([]byte, valueSize)
	for i := range n {
		if valueSize >= 16 {
			binary.BigEndian.PutUint64(val, tag)
			binary.BigEndian.PutUint64(val[8:], uint64(i))
		}
		b.Add(ts, nil, val)
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatalf("build batch: %v", err)
	}
	return out
}

// mustAppend appends a batch of n records at ts and returns its info.
func mustAppend(t testing.TB, l *Log, n, valueSize int, ts int64) AppendInfo {
	t.Helper()
	info, err := l.Append(makeBatch(t, n, valueSize, ts, 0), 1)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return info
}

// regionBytes copies the bytes of a read result (test only).
func regionBytes(t testing.TB, res ReadResult) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, r := range res.Regions {
		if _, err := r.WriteTo(&buf); err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
	}
	return buf.Bytes()
}

// batchView is what a test checks about a stored batch.
type batchView struct {
	base, last int64
	epoch      int32
	tag        uint64
}

// parseBatches validates every batch in b and returns their offsets.
func parseBatches(t testing.TB, b []byte) []batchView {
	t.Helper()
	var out []batchView
	it := record.NewBatches(b)
	for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
		if _, err := record.Validate(batch, record.ValidateOptions{}); err != nil {
			t.Fatalf("stored batch at offset %d does not validate: %v", h.BaseOffset, err)
		}
		v := batchView{base: h.BaseOffset, last: h.LastOffset(), epoch: h.PartitionLeaderEpoch}
		recs, _, err := record.Iterate(batch, nil, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		var rec record.Record
		if recs.Next(&rec) && len(rec.Value) >= 8 {
			v.tag = binary.BigEndian.Uint64(rec.Value)
		}
		out = append(out, v)
	}
	if err := it.Err(); err != nil {
		t.Fatalf("stored bytes do not frame: %v", err)
	}
	return out
}

// readAll reads every batch from offset to the log end.
func readAll(t testing.TB, l *Log, from int64) []batchView {
	t.Helper()
	var out []batchView
	for off := from; off < l.LogEndOffset(); {
		res, err := l.Read(off, 1<<20, l.LogEndOffset(), true)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		got := parseBatches(t, regionBytes(t, res))
		res.Release()
		if len(got) == 0 {
			t.Fatalf("Read(%d) returned nothing below log end %d", off, l.LogEndOffset())
		}
		out = append(out, got...)
		off = got[len(got)-1].last + 1
	}
	return out
}

// checkContiguous fails unless batches cover [from, to) with no gap or overlap.
func checkContiguous(t testing.TB, batches []batchView, from, to int64) {
	t.Helper()
	next := from
	for _, b := range batches {
		if b.base != next {
			t.Fatalf("batch at %d, expected %d (gap or overlap)", b.base, next)
		}
		next = b.last + 1
	}
	if next != to {
		t.Fatalf("batches end at %d, want %d", next, to)
	}
}

func memFile(t testing.TB, fsys vfs.FS, name string) []byte {
	t.Helper()
	data, err := readSmallFile(fsys, name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return data
}

func writeFile(t testing.TB, fsys vfs.FS, name string, data []byte) {
	t.Helper()
	if err := publishFile(fsys, name, data); err != nil {
		t.Fatal(err)
	}
}

func segPath(tp TopicPartition, base int64, kind fileKind) string {
	return fmt.Sprintf("/data/%s/%s", tp, segmentFileName(base, kind))
}

func mustBeOffline(t testing.TB, l *Log, want error) {
	t.Helper()
	_, err := l.Read(l.LogStartOffset(), 100, 1<<62, true)
	if !errors.Is(err, ErrLogOffline) {
		t.Fatalf("log not offline: Read error %v", err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("offline cause %v does not match %v", err, want)
	}
}

// setHeader sets a batch's base offset and partition leader epoch (as a leader would have).
func setHeader(b []byte, base int64, epoch int32) {
	record.SetBaseOffset(b, base)
	record.SetPartitionLeaderEpoch(b, epoch)
}

// metricValue sums the values of a counter or gauge (all label values).
func metricValue(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 16)
	go func() { c.Collect(ch); close(ch) }()
	var sum float64
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			continue
		}
		switch {
		case pb.Counter != nil:
			sum += pb.Counter.GetValue()
		case pb.Gauge != nil:
			sum += pb.Gauge.GetValue()
		case pb.Histogram != nil:
			sum += float64(pb.Histogram.GetSampleCount())
		}
	}
	return sum
}

// validBatches is parseBatches for goroutines: it reports instead of failing the test.
func validBatches(b []byte) ([]batchView, error) {
	var out []batchView
	it := record.NewBatches(b)
	for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
		if _, err := record.Validate(batch, record.ValidateOptions{}); err != nil {
			return nil, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
		}
		v := batchView{base: h.BaseOffset, last: h.LastOffset(), epoch: h.PartitionLeaderEpoch}
		recs, _, err := record.Iterate(batch, nil, 1<<20)
		if err != nil {
			return nil, err
		}
		var rec record.Record
		if recs.Next(&rec) && len(rec.Value) >= 8 {
			v.tag = binary.BigEndian.Uint64(rec.Value)
		}
		out = append(out, v)
	}
	return out, it.Err()
}
