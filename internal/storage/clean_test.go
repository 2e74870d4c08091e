package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// cleanRecord is one record as a test reads it back.
type cleanRecord struct {
	offset     int64
	key, value string
	tombstone  bool
}

// compactConfig is a compacted log with small segments.
func compactConfig() LogConfig {
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 8 << 10
	cfg.IndexIntervalBytes = 512
	cfg.CleanupPolicy = CleanupCompact
	cfg.MinCleanableDirtyRatio = 0.01
	cfg.DeleteRetentionMs = 1000
	return cfg
}

// openCleanerManager opens a Manager whose cleaner runs only when the test calls
// CleanDirtiest.
func openCleanerManager(t testing.TB, fsys vfs.FS, clock *testClock) *Manager {
	t.Helper()
	if fsys == nil {
		fsys = vfs.NewMem()
	}
	return openManager(t, fsys, func(o *Options) {
		o.CleanerThreads = -1
		if clock != nil {
			o.Now = clock.Now
		}
	})
}

// keyedBatch builds a batch of records with the given keys and values ("" value with tomb =
// a tombstone).
func keyedBatch(t testing.TB, codec record.Codec, ts int64, kvs ...[2]string) []byte {
	t.Helper()
	b := record.NewBuilder(codec)
	for _, kv := range kvs {
		var v []byte
		if kv[1] != "\x00tomb" {
			v = []byte(kv[1])
		}
		b.Add(ts, []byte(kv[0]), v)
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const tomb = "\x00tomb"

// readRecords reads every record of the log, checking that batches validate and offsets rise.
func readRecords(t testing.TB, l *Log) []cleanRecord {
	t.Helper()
	var out []cleanRecord
	last := int64(-1)
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		res, err := l.Read(off, 1<<20, l.LogEndOffset(), true)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		data := regionBytes(t, res)
		res.Release()
		it := record.NewBatches(data)
		n := 0
		for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
			n++
			if _, err := record.Validate(batch, record.ValidateOptions{DecodeRecords: true}); err != nil {
				t.Fatalf("batch at %d does not validate: %v", h.BaseOffset, err)
			}
			recs, _, err := record.Iterate(batch, nil, 1<<24)
			if err != nil {
				t.Fatal(err)
			}
			var rec record.Record
			for recs.Next(&rec) {
				if rec.Offset <= last {
					t.Fatalf("offset %d after %d", rec.Offset, last)
				}
				last = rec.Offset
				if h.IsControl() {
					continue
				}
				out = append(out, cleanRecord{offset: rec.Offset, key: string(rec.Key), value: string(rec.Value), tombstone: rec.Value == nil})
			}
			if recs.Err() != nil {
				t.Fatal(recs.Err())
			}
			off = h.NextOffset()
		}
		if n == 0 {
			t.Fatalf("Read(%d) returned nothing below log end %d", off, l.LogEndOffset())
		}
	}
	return out
}

// latestByKey is what a fully compacted log must hold for keys written in order.
func latestByKey(recs []cleanRecord) map[string]cleanRecord {
	out := map[string]cleanRecord{}
	for _, r := range recs {
		out[r.key] = r
	}
	return out
}

// writeUpdates appends n updates over keys (batches of 10) and returns them.
func writeUpdates(t testing.TB, l *Log, rng *rand.Rand, n, keys int, codec record.Codec, ts int64) []cleanRecord {
	t.Helper()
	return writeKeyed(t, l, rng, "key", n, keys, codec, ts)
}

// writeKeyed appends n updates over keys named prefix-NNN.
func writeKeyed(t testing.TB, l *Log, rng *rand.Rand, prefix string, n, keys int, codec record.Codec, ts int64) []cleanRecord {
	t.Helper()
	var all []cleanRecord
	for i := 0; i < n; i += 10 {
		var kvs [][2]string
		for j := range 10 {
			kvs = append(kvs, [2]string{fmt.Sprintf("%s-%03d", prefix, rng.IntN(keys)), fmt.Sprintf("value-%06d-%s", i+j, "padpadpadpadpadpad")})
		}
		info, err := l.Append(keyedBatch(t, codec, ts, kvs...), 1)
		if err != nil {
			t.Fatal(err)
		}
		for j, kv := range kvs {
			all = append(all, cleanRecord{offset: info.FirstOffset + int64(j), key: kv[0], value: kv[1]})
		}
	}
	return all
}

// checkCompacted asserts that the log holds, for every key, its latest record, and below
// cleanedUpTo no other record of that key.
func checkCompacted(t testing.TB, l *Log, written []cleanRecord, cleanedUpTo int64) []cleanRecord {
	t.Helper()
	got := readRecords(t, l)
	want := latestByKey(written)
	have := latestByKey(got)
	for k, w := range want {
		h, ok := have[k]
		if w.tombstone {
			if ok && !h.tombstone {
				t.Fatalf("deleted key %s came back as %q at %d", k, h.value, h.offset)
			}
			continue
		}
		if !ok || h.value != w.value || h.offset != w.offset {
			t.Fatalf("key %s: latest is %+v, want %+v", k, h, w)
		}
	}
	seen := map[string]int64{}
	for _, r := range got {
		if r.offset >= cleanedUpTo {
			break
		}
		if prev, ok := seen[r.key]; ok {
			t.Fatalf("key %s kept at %d and %d below the cleaned offset %d", r.key, prev, r.offset, cleanedUpTo)
		}
		seen[r.key] = r.offset
	}
	return got
}

func TestCleanKeepsLatestValuePerKey(t *testing.T) {
	for _, codec := range []record.Codec{record.None, record.Gzip, record.Snappy, record.LZ4, record.Zstd} {
		t.Run(codec.String(), func(t *testing.T) {
			m := openCleanerManager(t, nil, nil)
			l := createLog(t, m, compactConfig())
			rng := rand.New(rand.NewPCG(1, 2))
			written := writeUpdates(t, l, rng, 3000, 40, codec, 1000)
			sizeBefore, segsBefore := l.Size(), l.NumSegments()
			tp, cleaned, err := m.CleanDirtiest()
			if err != nil || !cleaned || tp != testTP {
				t.Fatalf("CleanDirtiest = %v %v %v", tp, cleaned, err)
			}
			segs := l.segs()
			activeBase := segs[len(segs)-1].baseOffset
			checkCompacted(t, l, written, activeBase)
			if l.Size() >= sizeBefore/2 {
				t.Fatalf("size %d → %d", sizeBefore, l.Size())
			}
			if off, ok := m.CleanerCheckpoint(testTP); !ok || off != activeBase {
				t.Fatalf("cleaner checkpoint %d %v, want %d", off, ok, activeBase)
			}
			// The segments, now small, merge at the next clean (grouped up to segment.bytes).
			cleanedBefore := len(segs) - 1
			written = append(written, writeUpdates(t, l, rng, 1000, 40, codec, 1000)...)
			if _, cleaned, err := m.CleanDirtiest(); err != nil || !cleaned {
				t.Fatalf("second clean: %v %v", cleaned, err)
			}
			oldActive := activeBase
			segs = l.segs()
			activeBase = segs[len(segs)-1].baseOffset
			checkCompacted(t, l, written, activeBase)
			if cleanedBefore < 2 || segs[1].baseOffset < oldActive {
				t.Fatalf("the %d segments cleaned first (of %d) were not merged into one: second segment at %d, below %d",
					cleanedBefore, segsBefore, segs[1].baseOffset, oldActive)
			}
			// Rewritten batches keep their codec.
			for _, s := range l.segs()[:len(l.segs())-1] {
				data := memFile(t, m.fs, s.path(kindLog))
				it := record.NewBatches(data)
				for _, h, ok := it.Next(); ok; _, h, ok = it.Next() {
					if h.Compression() != codec {
						t.Fatalf("cleaned batch at %d has codec %v, want %v", h.BaseOffset, h.Compression(), codec)
					}
				}
			}
			// A restart reads the same cleaned log (indexes valid, checkpoint kept).
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			m2 := openCleanerManager(t, m.fs, nil)
			l2, _ := m2.Log(testTP)
			checkCompacted(t, l2, written, activeBase)
			if off, ok := m2.CleanerCheckpoint(testTP); !ok || off != activeBase {
				t.Fatalf("cleaner checkpoint after restart %d %v, want %d", off, ok, activeBase)
			}
			if _, cleaned, err := m2.CleanDirtiest(); err != nil || cleaned {
				t.Fatalf("a clean log was cleaned again: %v %v", cleaned, err)
			}
		})
	}
}

func TestCleanOffsetsAndIndexes(t *testing.T) {
	m := openCleanerManager(t, nil, nil)
	l := createLog(t, m, compactConfig())
	written := writeUpdates(t, l, rand.New(rand.NewPCG(3, 4)), 2000, 25, record.None, 1000)
	if _, _, err := m.CleanDirtiest(); err != nil {
		t.Fatal(err)
	}
	kept := readRecords(t, l)
	// Every kept record is found by reading from its own offset (the rebuilt offset index) and
	// from any offset in the gap before it.
	prev := l.LogStartOffset()
	for _, r := range kept {
		for _, from := range []int64{r.offset, (prev + r.offset) / 2} {
			res, err := l.Read(from, 1, l.LogEndOffset(), true)
			if err != nil {
				t.Fatal(err)
			}
			first := firstRecordFrom(t, regionBytes(t, res), from)
			res.Release()
			if first < 0 {
				// The batch covering from kept no record at or past it: the next read goes on.
				res, err = l.Read(res.NextOffset, 1, l.LogEndOffset(), true)
				if err != nil {
					t.Fatal(err)
				}
				first = firstRecordFrom(t, regionBytes(t, res), from)
				res.Release()
			}
			if first != r.offset {
				t.Fatalf("reading from %d found %d first, want %d", from, first, r.offset)
			}
		}
		prev = r.offset + 1
	}
	if got, ok, err := l.OffsetForTimestamp(0); err != nil || !ok || got.Offset != kept[0].offset {
		t.Fatalf("OffsetForTimestamp(0) = %+v %v %v, want %d", got, ok, err, kept[0].offset)
	}
	if l.LogEndOffset() != int64(len(written)) {
		t.Fatalf("log end offset %d, want %d", l.LogEndOffset(), len(written))
	}
}

// firstRecordFrom returns the offset of the first record at or past from in the batches, -1 if
// none.
func firstRecordFrom(t testing.TB, data []byte, from int64) int64 {
	t.Helper()
	it := record.NewBatches(data)
	for batch, _, ok := it.Next(); ok; batch, _, ok = it.Next() {
		recs, _, err := record.Iterate(batch, nil, 1<<24)
		if err != nil {
			t.Fatal(err)
		}
		var rec record.Record
		for recs.Next(&rec) {
			if rec.Offset >= from {
				return rec.Offset
			}
		}
	}
	return -1
}

func TestCleanTombstonesAfterDeleteRetention(t *testing.T) {
	clock := newTestClock(1_000_000)
	m := openCleanerManager(t, nil, clock)
	l := createLog(t, m, compactConfig())
	rng := rand.New(rand.NewPCG(5, 6))
	written := writeUpdates(t, l, rng, 1000, 20, record.Zstd, clock.Now().UnixMilli())
	var kvs [][2]string
	for k := range 5 {
		kvs = append(kvs, [2]string{fmt.Sprintf("key-%03d", k), tomb})
	}
	info, err := l.Append(keyedBatch(t, record.Zstd, clock.Now().UnixMilli(), kvs...), 1)
	if err != nil {
		t.Fatal(err)
	}
	for j, kv := range kvs {
		written = append(written, cleanRecord{offset: info.FirstOffset + int64(j), key: kv[0], tombstone: true})
	}
	written = append(written, writeKeyed(t, l, rng, "fill", 600, 5000, record.None, clock.Now().UnixMilli())...) // push the tombstones out of the active segment
	countTombstones := func() int {
		n := 0
		for _, r := range readRecords(t, l) {
			if r.tombstone {
				n++
			}
		}
		return n
	}
	if _, _, err := m.CleanDirtiest(); err != nil {
		t.Fatal(err)
	}
	checkCompacted(t, l, written, 0)
	if n := countTombstones(); n != 5 {
		t.Fatalf("%d tombstones after the first clean, want 5 (kept until delete.retention.ms)", n)
	}
	// Within delete.retention.ms nothing is due.
	clock.Advance(500 * time.Millisecond)
	if _, cleaned, err := m.CleanDirtiest(); err != nil || cleaned {
		t.Fatalf("cleaned before the delete horizon: %v %v", cleaned, err)
	}
	clock.Advance(600 * time.Millisecond)
	if _, cleaned, err := m.CleanDirtiest(); err != nil || !cleaned {
		t.Fatalf("no clean once the delete horizon passed: %v %v", cleaned, err)
	}
	if n := countTombstones(); n != 0 {
		t.Fatalf("%d tombstones left after delete.retention.ms", n)
	}
	checkCompacted(t, l, written, 0)
}

func TestCleanMinCompactionLag(t *testing.T) {
	clock := newTestClock(10_000_000)
	m := openCleanerManager(t, nil, clock)
	cfg := compactConfig()
	cfg.MinCompactionLagMs = 60_000
	l := createLog(t, m, cfg)
	rng := rand.New(rand.NewPCG(7, 8))
	now := clock.Now().UnixMilli()
	old := writeUpdates(t, l, rng, 1000, 10, record.None, now-120_000)
	young := writeUpdates(t, l, rng, 1000, 10, record.None, now)
	if _, _, err := m.CleanDirtiest(); err != nil {
		t.Fatal(err)
	}
	firstYoung := young[0].offset
	got := readRecords(t, l)
	n := 0
	for _, r := range got {
		if r.offset >= firstYoung {
			n++
		}
	}
	// The segment holding the first young record may also hold old ones; none of the young
	// records may be gone.
	if n != len(young) {
		t.Fatalf("%d of %d records younger than min.compaction.lag.ms kept", n, len(young))
	}
	checkCompacted(t, l, append(old, young...), 0)
	if off, _ := m.CleanerCheckpoint(testTP); off > firstYoung {
		t.Fatalf("cleaner checkpoint %d past the first young record %d", off, firstYoung)
	}
}

func TestCleanDirtiestLogFirst(t *testing.T) {
	m := openCleanerManager(t, nil, nil)
	cfg := compactConfig()
	cfg.MinCleanableDirtyRatio = 0.3
	logs := map[string]*Log{}
	for _, topic := range []string{"a", "b", "plain"} {
		c := cfg
		if topic == "plain" {
			c.CleanupPolicy = CleanupDelete
		}
		l, err := m.CreateLog(TopicPartition{Topic: topic}, [16]byte{1}, c)
		if err != nil {
			t.Fatal(err)
		}
		logs[topic] = l
	}
	rng := rand.New(rand.NewPCG(9, 10))
	// Keys are (nearly) unique, so cleaning hardly shrinks the logs and ratios stay readable.
	unique := func(topic string, n int) { writeKeyed(t, logs[topic], rng, "u", n, 1<<30, record.None, 1) }
	unique("a", 1000)
	unique("b", 3000)
	unique("plain", 6000)
	cleanedNow := func() string {
		t.Helper()
		tp, cleaned, err := m.CleanDirtiest()
		if err != nil {
			t.Fatal(err)
		}
		if !cleaned {
			return ""
		}
		return tp.Topic
	}
	first, second := cleanedNow(), cleanedNow()
	if first == second || first == "" || second == "" || first == "plain" || second == "plain" {
		t.Fatalf("first cleans took %q then %q, want a and b once each", first, second)
	}
	if got := cleanedNow(); got != "" {
		t.Fatalf("a clean log (%s) was cleaned again", got)
	}
	unique("a", 1000) // a: about half dirty
	unique("b", 8000) // b: about 70% dirty
	if got := cleanedNow(); got != "b" {
		t.Fatalf("cleaned %q first, want the dirtiest log b", got)
	}
	if got := cleanedNow(); got != "a" {
		t.Fatalf("cleaned %q, want a", got)
	}
	unique("a", 600) // below min.cleanable.dirty.ratio
	if got := cleanedNow(); got != "" {
		t.Fatalf("cleaned %q below min.cleanable.dirty.ratio", got)
	}
}

func TestCleanCompactOnlyKeepsOldSegments(t *testing.T) {
	clock := newTestClock(100_000_000)
	m := openCleanerManager(t, nil, clock)
	cfg := compactConfig()
	cfg.RetentionMs = 1000
	cfg.RetentionBytes = 100
	l := createLog(t, m, cfg)
	writeUpdates(t, l, rand.New(rand.NewPCG(1, 1)), 500, 1000, record.None, 1)
	n := l.NumSegments()
	if deleted, err := l.DeleteOldSegments(clock.Now().UnixMilli()); err != nil || deleted != 0 {
		t.Fatalf("retention deleted %d segments of a compact-only log (%v)", deleted, err)
	}
	cfg.CleanupPolicy = CleanupCompact | CleanupDelete
	if err := l.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if deleted, err := l.DeleteOldSegments(clock.Now().UnixMilli()); err != nil || deleted != n-1 {
		t.Fatalf("compact,delete: retention deleted %d of %d segments (%v)", deleted, n-1, err)
	}
}

// txnBatch builds a transactional batch of one producer.
func txnBatch(t testing.TB, pid int64, seq int32, control bool, ct record.ControlType, kvs ...[2]string) []byte {
	t.Helper()
	b := record.NewBuilder(record.None)
	b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.Transactional = pid, 0, seq, true
	if control {
		b.Control = true
		b.BaseSequence = -1
		b.AddControl(ct, 1000, 0)
	} else {
		for _, kv := range kvs {
			b.Add(1000, []byte(kv[0]), []byte(kv[1]))
		}
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCleanDropsAbortedTransactions(t *testing.T) {
	clock := newTestClock(5_000_000)
	m := openCleanerManager(t, nil, clock)
	l := createLog(t, m, compactConfig())
	mustAppendBatch := func(b []byte) AppendInfo {
		info, err := l.Append(b, 1)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	// Producer 7 commits "a"; producer 8 aborts "b" (and overwrites "a" inside the aborted
	// transaction, which must not count).
	committed := mustAppendBatch(txnBatch(t, 7, 0, false, 0, [2]string{"a", "committed"}))
	aborted := mustAppendBatch(txnBatch(t, 8, 0, false, 0, [2]string{"b", "aborted"}, [2]string{"a", "aborted"}))
	mustAppendBatch(txnBatch(t, 7, 0, true, record.ControlCommit))
	abortMarker := mustAppendBatch(txnBatch(t, 8, 0, true, record.ControlAbort))
	if err := l.AppendAbortedTxn(AbortedTxn{ProducerID: 8, FirstOffset: aborted.FirstOffset, LastOffset: abortMarker.FirstOffset, LastStableOffset: abortMarker.FirstOffset + 1}); err != nil {
		t.Fatal(err)
	}
	// Producer 8 writes again, so the aborted batch is not its last.
	mustAppendBatch(txnBatch(t, 8, 2, false, 0, [2]string{"c", "later"}))
	mustAppendBatch(txnBatch(t, 8, 0, true, record.ControlCommit))
	writeUpdates(t, l, rand.New(rand.NewPCG(2, 2)), 800, 3000, record.None, 1000)
	if _, cleaned, err := m.CleanDirtiest(); err != nil || !cleaned {
		t.Fatalf("clean: %v %v", cleaned, err)
	}
	got := latestByKey(readRecords(t, l))
	if got["a"].value != "committed" || got["a"].offset != committed.FirstOffset {
		t.Fatalf("key a = %+v, want the committed value", got["a"])
	}
	if r, ok := got["b"]; ok {
		t.Fatalf("aborted record kept: %+v", r)
	}
	if got["c"].value != "later" {
		t.Fatalf("key c = %+v", got["c"])
	}
	// The markers stay until their delete horizon, then go.
	markers := func() int {
		n := 0
		for _, s := range l.segs() {
			data := memFile(t, m.fs, s.path(kindLog))
			it := record.NewBatches(data)
			for _, h, ok := it.Next(); ok; _, h, ok = it.Next() {
				if h.IsControl() && h.NumRecords > 0 {
					n++
				}
			}
		}
		return n
	}
	if n := markers(); n != 3 {
		t.Fatalf("%d markers after the first clean, want 3", n)
	}
	// Overwrite a, so producer 7's transaction leaves no records: its data batch stays, empty
	// (it holds producer 7's last sequence), and so does its commit marker (Kafka's rule: a
	// commit marker goes only once no batch of its transaction is left). Producer 8's abort
	// marker goes once its transaction's batches are gone and its delete horizon has passed
	// (two more cleans: one sets the horizon, one removes it). Producer 8's commit marker
	// stays: "c" is still there.
	if _, err := l.Append(keyedBatch(t, record.None, 1000, [2]string{"a", "plain"}), 1); err != nil {
		t.Fatal(err)
	}
	writeUpdates(t, l, rand.New(rand.NewPCG(3, 3)), 800, 3000, record.None, 1000)
	for range 3 {
		if _, _, err := m.CleanDirtiest(); err != nil {
			t.Fatal(err)
		}
		clock.Advance(2 * time.Second)
	}
	if n := markers(); n != 2 {
		t.Fatalf("%d markers left, want 2 (the commits of producers 7 and 8)", n)
	}
	if got := latestByKey(readRecords(t, l)); got["a"].value != "plain" || got["c"].value != "later" {
		t.Fatalf("a = %+v, c = %+v", got["a"], got["c"])
	}
}

func TestCleanKeepsLastBatchOfProducer(t *testing.T) {
	m := openCleanerManager(t, nil, nil)
	l := createLog(t, m, compactConfig())
	b := record.NewBuilder(record.Gzip)
	b.ProducerID, b.ProducerEpoch, b.BaseSequence = 42, 3, 100
	b.Add(1, []byte("k"), []byte("old"))
	b.Add(1, []byte("k"), []byte("older-but-later"))
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := l.Append(batch, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Overwrite k from a non-idempotent producer: the idempotent batch loses every record but
	// must stay, empty, with its offsets and sequence.
	writeUpdates(t, l, rand.New(rand.NewPCG(1, 9)), 10, 1, record.None, 1)
	for i := 0; l.NumSegments() < 3; i++ {
		if _, err := l.Append(keyedBatch(t, record.None, 1, [2]string{"k", fmt.Sprint("new", i)}, [2]string{fmt.Sprint("fill", i), string(make([]byte, 500))}), 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := m.CleanDirtiest(); err != nil {
		t.Fatal(err)
	}
	data := memFile(t, m.fs, l.segs()[0].path(kindLog))
	h, err := record.ReadHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	if h.ProducerID != 42 || h.BaseOffset != info.FirstOffset || h.LastOffset() != info.LastOffset || h.NumRecords != 0 || h.BaseSequence != 100 || h.ProducerEpoch != 3 {
		t.Fatalf("producer's last batch became %+v", h)
	}
	if _, err := record.Validate(data[:h.Size()], record.ValidateOptions{DecodeRecords: true}); err != nil {
		t.Fatal(err)
	}
}

func TestOffsetMap(t *testing.T) {
	m := newOffsetMap(1<<20, 1000)
	for i := range 1000 {
		m.put(binary.BigEndian.AppendUint32(nil, uint32(i%300)), int64(i))
	}
	for i := range 300 {
		want := int64(i + 900)
		if i+900 >= 1000 {
			want = int64(i + 600)
		}
		if got := m.get(binary.BigEndian.AppendUint32(nil, uint32(i))); got != want {
			t.Fatalf("key %d: %d, want %d", i, got, want)
		}
	}
	if m.get([]byte("absent")) != -1 || m.entries != 300 {
		t.Fatalf("absent key found or %d entries", m.entries)
	}
}

// TestCleanConcurrentWithAppendsAndReads runs cleans while a producer appends and readers read
// from the log start (and hold what they read across swaps): every read validates with rising
// offsets, and the final log holds every key's latest value.
func TestCleanConcurrentWithAppendsAndReads(t *testing.T) {
	m := openCleanerManager(t, nil, nil)
	l := createLog(t, m, compactConfig())
	var (
		mu      sync.Mutex
		written []cleanRecord
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(21, 22))
		for {
			select {
			case <-stop:
				return
			default:
			}
			recs := writeUpdates(t, l, rng, 10, 50, record.Snappy, 1)
			mu.Lock()
			written = append(written, recs...)
			mu.Unlock()
		}
	}()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var held []ReadResult
			defer func() {
				for i := range held {
					held[i].Release()
				}
			}()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := l.Read(l.LogStartOffset(), 1<<16, l.LogEndOffset(), true)
				if err != nil {
					t.Errorf("Read: %v", err)
					return
				}
				last := int64(-1)
				it := record.NewBatches(regionBytes(t, res))
				for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
					if _, err := record.Validate(batch, record.ValidateOptions{}); err != nil || h.BaseOffset <= last {
						t.Errorf("read a bad batch at %d (after %d): %v", h.BaseOffset, last, err)
						return
					}
					last = h.LastOffset()
				}
				// Hold a few results across cleans: their files must stay readable.
				held = append(held, res)
				if len(held) > 4 {
					if got := regionBytes(t, held[0]); len(got) == 0 && held[0].Bytes() > 0 {
						t.Error("a held region became unreadable")
					}
					held[0].Release()
					held = held[1:]
				}
			}
		}()
	}
	cleans := 0
	for cleans < 20 {
		_, cleaned, err := m.CleanDirtiest()
		if err != nil && !errors.Is(err, ErrCleanAborted) {
			t.Fatal(err)
		}
		if cleaned {
			cleans++
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if _, _, err := m.CleanDirtiest(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	checkCompacted(t, l, written, 0)
}

// TestCleanCorruptSegmentMarksUncleanable: bytes that do not parse in a segment being cleaned
// fail that clean with ErrCorruptLog, leave the log as it was and online, and the cleaner
// skips the log from then on instead of failing on it at every pass.
func TestCleanCorruptSegmentMarksUncleanable(t *testing.T) {
	fsys := vfs.NewMem()
	m := openCleanerManager(t, fsys, nil)
	cfg := compactConfig()
	l := createLog(t, m, cfg)
	writeUpdates(t, l, rand.New(rand.NewPCG(5, 5)), 1000, 20, record.None, 1)
	path := l.segs()[0].path(kindLog)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	data := memFile(t, fsys, path)
	// The second batch announces one record more than it holds.
	h, _ := record.ReadHeader(data)
	second := data[h.Size():]
	binary.BigEndian.PutUint32(second[hdrNumRecords:], binary.BigEndian.Uint32(second[hdrNumRecords:])+1)
	writeFile(t, fsys, path, data)
	m2 := openCleanerManager(t, fsys, nil)
	l2, _ := m2.Log(testTP)
	if err := l2.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	sizeBefore := l2.Size()
	if _, cleaned, err := m2.CleanDirtiest(); !errors.Is(err, ErrCorruptLog) || cleaned {
		t.Fatalf("clean of a corrupt segment: %v %v, want ErrCorruptLog", cleaned, err)
	}
	if l2.checkUsable() != nil || l2.Size() != sizeBefore {
		t.Fatalf("log offline (%v) or changed (%d → %d bytes)", l2.checkUsable(), sizeBefore, l2.Size())
	}
	if _, cleaned, err := m2.CleanDirtiest(); err != nil || cleaned {
		t.Fatalf("the uncleanable log was picked again: %v %v", cleaned, err)
	}
}

// TestCleanMaxCompactionLag: a log below min.cleanable.dirty.ratio is cleaned anyway once its
// oldest dirty record is older than max.compaction.lag.ms.
func TestCleanMaxCompactionLag(t *testing.T) {
	clock := newTestClock(20_000_000)
	m := openCleanerManager(t, nil, clock)
	cfg := compactConfig()
	cfg.MinCleanableDirtyRatio = 0.99
	cfg.MaxCompactionLagMs = 60_000
	l := createLog(t, m, cfg)
	rng := rand.New(rand.NewPCG(4, 4))
	written := writeUpdates(t, l, rng, 1000, 10, record.None, clock.Now().UnixMilli())
	if _, cleaned, err := m.CleanDirtiest(); err != nil || !cleaned {
		t.Fatalf("first clean (all dirty): %v %v", cleaned, err)
	}
	written = append(written, writeUpdates(t, l, rng, 1000, 10, record.None, clock.Now().UnixMilli())...)
	clock.Advance(30 * time.Second)
	if _, cleaned, err := m.CleanDirtiest(); err != nil || cleaned {
		t.Fatalf("cleaned below the ratio before max.compaction.lag.ms: %v %v", cleaned, err)
	}
	clock.Advance(31 * time.Second)
	if _, cleaned, err := m.CleanDirtiest(); err != nil || !cleaned {
		t.Fatalf("not cleaned after max.compaction.lag.ms: %v %v", cleaned, err)
	}
	segs := l.segs()
	checkCompacted(t, l, written, segs[len(segs)-1].baseOffset)
}

// TestCleanOffsetGapsAtSegmentEnds: a follower's log copied from a compacted leader has gaps,
// also between a segment's last batch and the next segment. A clean checkpoints at the segment
// boundary, so the cleaned log is not taken as dirty again.
func TestCleanOffsetGapsAtSegmentEnds(t *testing.T) {
	m := openCleanerManager(t, nil, nil)
	l := createLog(t, m, compactConfig())
	rng := rand.New(rand.NewPCG(8, 8))
	var written []cleanRecord
	next := int64(0)
	for i := 0; l.NumSegments() < 6; i++ {
		var kvs [][2]string
		for j := range 10 {
			kvs = append(kvs, [2]string{fmt.Sprintf("key-%03d", rng.IntN(30)), fmt.Sprintf("v-%d-%d", i, j)})
		}
		batch := keyedBatch(t, record.None, 1, kvs...)
		record.SetBaseOffset(batch, next)
		if _, err := l.AppendAsFollower(batch); err != nil {
			t.Fatal(err)
		}
		for j, kv := range kvs {
			written = append(written, cleanRecord{offset: next + int64(j), key: kv[0], value: kv[1]})
		}
		next += 10 + 3 // a gap of 3 offsets after every batch
	}
	if _, cleaned, err := m.CleanDirtiest(); err != nil || !cleaned {
		t.Fatalf("clean: %v %v", cleaned, err)
	}
	segs := l.segs()
	active := segs[len(segs)-1].baseOffset
	if off, _ := m.CleanerCheckpoint(testTP); off != active {
		t.Fatalf("checkpoint %d, want the active segment's base %d", off, active)
	}
	checkCompacted(t, l, written, active)
	if _, cleaned, err := m.CleanDirtiest(); err != nil || cleaned {
		t.Fatalf("the cleaned log was cleaned again: %v %v", cleaned, err)
	}
}
