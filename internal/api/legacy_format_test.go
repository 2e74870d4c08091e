package api_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/record"
)

// legacyMsg is one message of a legacy message set as a test reads it.
type legacyMsg struct {
	offset     int64
	magic      int8
	attributes int8
	timestamp  int64
	key, value []byte
}

// parseLegacy reads a legacy message set (no compression: wrappers are returned as they are),
// checking every CRC.
func parseLegacy(t *testing.T, set []byte) []legacyMsg {
	t.Helper()
	var out []legacyMsg
	for len(set) > 0 {
		if len(set) < 26 {
			t.Fatalf("%d stray bytes at the end of a message set", len(set))
		}
		size := int(binary.BigEndian.Uint32(set[8:]))
		e := set[:12+size]
		if crc32.ChecksumIEEE(e[16:]) != binary.BigEndian.Uint32(e[12:]) {
			t.Fatal("message crc mismatch")
		}
		m := legacyMsg{offset: int64(binary.BigEndian.Uint64(e)), magic: int8(e[16]), attributes: int8(e[17]), timestamp: -1}
		p := e[18:]
		if m.magic == 1 {
			m.timestamp = int64(binary.BigEndian.Uint64(p))
			p = p[8:]
		}
		readBytes := func() []byte {
			n := int32(binary.BigEndian.Uint32(p))
			p = p[4:]
			if n < 0 {
				return nil
			}
			v := p[:n]
			p = p[n:]
			return v
		}
		m.key = readBytes()
		m.value = readBytes()
		out = append(out, m)
		set = set[12+size:]
	}
	return out
}

// legacySetOf builds a legacy message set of magic and codec holding n records numbered from
// first ("k<i>", "v<i>", timestamps 1700000000000+i): a v2 batch down-converted, which
// writes what old producers send (v1 wrappers with relative inner offsets).
func legacySetOf(t *testing.T, magic int8, codec record.Codec, first, n int) []byte {
	t.Helper()
	b := record.NewBuilder(codec)
	for i := first; i < first+n; i++ {
		b.Add(1_700_000_000_000+int64(i), []byte(fmt.Sprintf("k%d", i)), []byte(fmt.Sprintf("v%d", i)))
	}
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	set, _, err := record.DownConvert(nil, batch, record.DownConvertOptions{Magic: magic, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func fetchRaw(t testing.TB, c *rawConn, version int16, topic string, offset int64, partitionMaxBytes int32) kmsg.FetchResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MaxWaitMillis, req.MinBytes = version, 0, 1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.PartitionMaxBytes = offset, partitionMaxBytes
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return c.send(req).(*kmsg.FetchResponse).Topics[0].Partitions[0]
}

// TestProduceLegacyVersions produces legacy message sets at Produce v0, v1 and v2 (magic 0,
// 0 and 1, as old clients send them) with every codec v0/v1 allows, then reads the records
// back with a v2-batch consumer (franz-go): same keys, values and order, v1 timestamps kept.
func TestProduceLegacyVersions(t *testing.T) {
	b := startBroker(t)
	b.createTopic("legacy", 1, nil)
	c := b.dial()
	var want []string
	var wantTs []int64
	next := int64(0)
	for _, version := range []int16{0, 1, 2} {
		magic := int8(0)
		if version == 2 {
			magic = 1
		}
		for _, codec := range []record.Codec{record.None, record.Gzip, record.Snappy, record.LZ4} {
			first := len(want)
			sp := produceRaw(c, version, "legacy", legacySetOf(t, magic, codec, first, 3))
			if sp.ErrorCode != 0 || sp.BaseOffset != next {
				t.Fatalf("v%d %s: error %v, base offset %d, want %d", version, codec, kerr.ErrorForCode(sp.ErrorCode), sp.BaseOffset, next)
			}
			if version == 2 && sp.LogAppendTime != -1 {
				t.Fatalf("v2 on a CreateTime topic: LogAppendTime %d, want -1", sp.LogAppendTime)
			}
			next += 3
			for i := first; i < first+3; i++ {
				want = append(want, fmt.Sprintf("k%d=v%d", i, i))
				ts := int64(-1)
				if magic == 1 {
					ts = 1_700_000_000_000 + int64(i)
				}
				wantTs = append(wantTs, ts)
			}
		}
	}
	cl := b.client(kgo.ConsumeTopics("legacy"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx := ctxT(t)
	var got []string
	for len(got) < len(want) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records", len(got), len(want))
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatal(err) })
		fs.EachRecord(func(r *kgo.Record) {
			i := len(got)
			got = append(got, string(r.Key)+"="+string(r.Value))
			if r.Offset != int64(i) || r.Timestamp.UnixMilli() != wantTs[i] {
				t.Fatalf("record %d: offset %d timestamp %d, want %d", i, r.Offset, r.Timestamp.UnixMilli(), wantTs[i])
			}
		})
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("record %d = %s, want %s", i, got[i], want[i])
		}
	}
}

// padding makes values compressible enough for franz-go to compress them (it sends a batch
// uncompressed when compression would not make it smaller).
var padding = strings.Repeat(" compressible", 20)

// TestFetchLegacyVersions reads records produced as v2 batches (franz-go, each codec v0/v1
// can carry) with raw Fetch v0–v3: magic 0 for v0–v1, magic 1 for v2–v3; uncompressed records
// one message each at their offsets, compressed batches as one wrapper at the batch's last
// offset.
func TestFetchLegacyVersions(t *testing.T) {
	b := startBroker(t)
	b.createTopic("modern", 1, nil)
	ctx := ctxT(t)
	n := 0
	for _, codec := range []kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression()} {
		cl := b.client(kgo.ProducerBatchCompression(codec), kgo.DefaultProduceTopic("modern"))
		var rs []*kgo.Record
		for range 4 {
			rs = append(rs, &kgo.Record{Key: []byte(fmt.Sprintf("k%d", n)), Value: []byte(fmt.Sprintf("v%d%s", n, padding)),
				Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("dropped")}}})
			n++
		}
		if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	c := b.dial()
	for _, version := range []int16{0, 1, 2, 3} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			wantMagic := int8(1)
			if version <= 1 {
				wantMagic = 0
			}
			rp := fetchRaw(t, c, version, "modern", 1, 1<<20)
			if rp.ErrorCode != 0 || rp.HighWatermark != int64(n) {
				t.Fatalf("error %v, high watermark %d", kerr.ErrorForCode(rp.ErrorCode), rp.HighWatermark)
			}
			msgs := parseLegacy(t, rp.RecordBatches)
			// Batch 0 (uncompressed) from the fetch offset 1: offsets 1, 2, 3; then one wrapper
			// per compressed batch at its last offset.
			wantOffsets := []int64{1, 2, 3, 7, 11, 15}
			if len(msgs) != len(wantOffsets) {
				t.Fatalf("%d messages, want %d", len(msgs), len(wantOffsets))
			}
			for i, m := range msgs {
				if m.magic != wantMagic || m.offset != wantOffsets[i] {
					t.Fatalf("message %d: magic %d offset %d, want %d at %d", i, m.magic, m.offset, wantMagic, wantOffsets[i])
				}
				compressed := m.attributes&7 != 0
				if compressed != (i >= 3) {
					t.Fatalf("message %d: attributes %#x", i, m.attributes)
				}
				if !compressed && (string(m.key) != fmt.Sprintf("k%d", m.offset) || string(m.value) != fmt.Sprintf("v%d%s", m.offset, padding)) {
					t.Fatalf("message at %d: %q=%q", m.offset, m.key, m.value)
				}
			}
			// Converting the wrappers back (as a produce would) yields the batches' records.
			for i, m := range msgs[3:] {
				e := wrapperEntry(t, rp.RecordBatches, m.offset)
				_, info, err := record.ConvertLegacy(nil, e, record.LegacyOptions{})
				if err != nil || info.Messages != 4 {
					t.Fatalf("wrapper %d: %d messages, %v", i, info.Messages, err)
				}
			}
		})
	}
}

// wrapperEntry returns the entry of set at offset.
func wrapperEntry(t *testing.T, set []byte, offset int64) []byte {
	t.Helper()
	for len(set) > 0 {
		size := 12 + int(binary.BigEndian.Uint32(set[8:]))
		if int64(binary.BigEndian.Uint64(set)) == offset {
			return set[:size]
		}
		set = set[size:]
	}
	t.Fatalf("no message at %d", offset)
	return nil
}

// TestLegacyFormatErrors: what old clients are answered for bad sets and what their formats
// cannot carry.
func TestLegacyFormatErrors(t *testing.T) {
	b := startBroker(t)
	b.createTopic("t", 1, nil)
	b.createTopic("off", 1, map[string]string{"message.downconversion.enable": "false"})
	b.createTopic("compacted", 1, map[string]string{"cleanup.policy": "compact"})
	c := b.dial()
	good := legacySetOf(t, 1, record.None, 0, 2)
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-1] ^= 1
	zstd := bytes.Clone(legacySetOf(t, 1, record.Gzip, 0, 2))
	zstd[17] = byte(record.Zstd)
	binary.BigEndian.PutUint32(zstd[12:], crc32.ChecksumIEEE(zstd[16:]))
	v2 := func() []byte {
		bb := record.NewBuilder(record.None)
		bb.Add(1, nil, []byte("v2 at v2"))
		out, _ := bb.Build(nil)
		return out
	}()
	cases := []struct {
		name    string
		version int16
		records []byte
		want    *kerr.Error
	}{
		{"crc", 2, badCRC, kerr.CorruptMessage},
		{"two wrappers", 1, append(legacySetOf(t, 0, record.Gzip, 0, 2), legacySetOf(t, 0, record.Gzip, 0, 2)...), kerr.InvalidRecord},
		{"zstd", 2, zstd, kerr.UnsupportedCompressionType},
		{"legacy at v3", 3, good, kerr.InvalidRecord},
		{"legacy at v9", 9, good, kerr.InvalidRecord},
		{"v2 batch at v2 is accepted", 2, v2, nil},
	}
	// A converted set is checked as any batch: a compacted topic refuses a null key.
	keyless := func() []byte {
		bb := record.NewBuilder(record.None)
		bb.Add(1, nil, []byte("no key"))
		batch, _ := bb.Build(nil)
		set, _, _ := record.DownConvert(nil, batch, record.DownConvertOptions{Magic: 0, MaxBytes: 1 << 20})
		return set
	}()
	if sp := produceRaw(c, 0, "compacted", keyless); sp.ErrorCode != kerr.InvalidRecord.Code {
		t.Fatalf("keyless v0 message on a compacted topic: %v, want INVALID_RECORD", kerr.ErrorForCode(sp.ErrorCode))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp := produceRaw(c, tc.version, "t", tc.records)
			if got := kerr.ErrorForCode(sp.ErrorCode); got != tc.want && !(tc.want == nil && sp.ErrorCode == 0) {
				t.Fatalf("error %v, want %v", got, tc.want)
			}
		})
	}
	// message.downconversion.enable=false: old fetches are refused, v4 is served.
	if sp := produceRaw(c, 2, "off", good); sp.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(sp.ErrorCode))
	}
	if rp := fetchRaw(t, c, 3, "off", 0, 1<<20); rp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("fetch v3 with down-conversion off: %v", kerr.ErrorForCode(rp.ErrorCode))
	}
	if rp := fetchRaw(t, c, 4, "off", 0, 1<<20); rp.ErrorCode != 0 || len(rp.RecordBatches) == 0 {
		t.Fatalf("fetch v4: %v", kerr.ErrorForCode(rp.ErrorCode))
	}
	// A zstd batch cannot be down-converted: first in the read, the partition fails.
	cl := b.client(kgo.ProducerBatchCompression(kgo.ZstdCompression()), kgo.DefaultProduceTopic("z"), kgo.AllowAutoTopicCreation())
	b.createTopic("z", 1, nil)
	if err := cl.ProduceSync(ctxT(t), &kgo.Record{Value: []byte(padding)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if rp := fetchRaw(t, c, 2, "z", 0, 1<<20); rp.ErrorCode != kerr.UnsupportedCompressionType.Code {
		t.Fatalf("fetch v2 of zstd: %v", kerr.ErrorForCode(rp.ErrorCode))
	}
}

// TestFetchLegacyLimits: v0–v2 have a hard per-partition limit (a batch larger than it is not
// sent, as Kafka 3 answered them); v3 sends the first batch whole (KIP-74).
func TestFetchLegacyLimits(t *testing.T) {
	b := startBroker(t)
	b.createTopic("big", 1, nil)
	c := b.dial()
	if sp := produceRaw(c, 2, "big", legacySetOf(t, 1, record.None, 0, 50)); sp.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(sp.ErrorCode))
	}
	for _, version := range []int16{0, 2} {
		if rp := fetchRaw(t, c, version, "big", 0, 100); rp.ErrorCode != 0 || len(rp.RecordBatches) != 0 {
			t.Fatalf("v%d: %v, %d bytes for a 100-byte partition limit", version, kerr.ErrorForCode(rp.ErrorCode), len(rp.RecordBatches))
		}
	}
	rp := fetchRaw(t, c, 3, "big", 0, 100)
	if msgs := parseLegacy(t, rp.RecordBatches); rp.ErrorCode != 0 || len(msgs) != 50 {
		t.Fatalf("v3: %v, %d messages, want the first batch's 50", kerr.ErrorForCode(rp.ErrorCode), len(msgs))
	}
}

// TestProduceLegacyLogAppendTime: on a LogAppendTime topic Produce v2 answers the append time
// and Fetch v2 messages carry it, flagged.
func TestProduceLegacyLogAppendTime(t *testing.T) {
	b := startBroker(t)
	b.createTopic("lat", 1, map[string]string{"message.timestamp.type": "LogAppendTime"})
	c := b.dial()
	sp := produceRaw(c, 2, "lat", legacySetOf(t, 1, record.Gzip, 0, 3))
	if sp.ErrorCode != 0 || sp.LogAppendTime <= 0 {
		t.Fatalf("error %v, LogAppendTime %d", kerr.ErrorForCode(sp.ErrorCode), sp.LogAppendTime)
	}
	rp := fetchRaw(t, c, 2, "lat", 0, 1<<20)
	msgs := parseLegacy(t, rp.RecordBatches)
	if len(msgs) != 1 || msgs[0].attributes&0x08 == 0 || msgs[0].timestamp != sp.LogAppendTime {
		t.Fatalf("messages %+v, want one wrapper with LogAppendTime %d", msgs, sp.LogAppendTime)
	}
}

// TestLegacyFormatsSwitchedOff: with sluice.protocol.legacy.versions.enable off, Produce
// v0–v2 are still advertised (as Kafka 4, KAFKA-18659) but answered UNSUPPORTED_VERSION, and
// Fetch v0–v3 are neither advertised nor served (the connection closes); on again, both work.
func TestLegacyFormatsSwitchedOff(t *testing.T) {
	b := startBroker(t)
	b.createTopic("t", 1, nil)
	gate := &api.VersionGate{}
	env := *b.env
	env.Versions = gate
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, &env, ln, func() {})
	dial := func() *rawConn {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
	}
	set := legacySetOf(t, 1, record.Gzip, 0, 2)
	gate.SetLegacy(false)
	c := dial()
	if sp := produceRaw(c, 2, "t", set); sp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("Produce v2 with legacy versions off: %v", kerr.ErrorForCode(sp.ErrorCode))
	}
	req := kmsg.NewPtrFetchRequest()
	req.Version = 3
	c.corr++
	if _, err := c.nc.Write(kmsg.NewRequestFormatter().AppendRequest(nil, req, c.corr)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.readFrame(); !errors.Is(err, io.EOF) {
		t.Fatalf("Fetch v3 with legacy versions off: %v, want the connection closed", err)
	}
	gate.SetLegacy(true)
	c = dial()
	if sp := produceRaw(c, 2, "t", set); sp.ErrorCode != 0 {
		t.Fatalf("Produce v2 with legacy versions on: %v", kerr.ErrorForCode(sp.ErrorCode))
	}
	if rp := fetchRaw(t, c, 3, "t", 0, 1<<20); rp.ErrorCode != 0 || len(parseLegacy(t, rp.RecordBatches)) != 1 {
		t.Fatalf("Fetch v3 with legacy versions on: %v", kerr.ErrorForCode(rp.ErrorCode))
	}
}

// TestProduceLegacyNoTimestamp: v0 messages carry no timestamp; the converted records (-1)
// pass message.timestamp.before.max.ms and after.max.ms as Kafka's NO_TIMESTAMP does, while a
// v1 message far in the past is INVALID_TIMESTAMP.
func TestProduceLegacyNoTimestamp(t *testing.T) {
	b := startBroker(t)
	b.createTopic("strict", 1, map[string]string{"message.timestamp.before.max.ms": "60000", "message.timestamp.after.max.ms": "60000"})
	c := b.dial()
	if sp := produceRaw(c, 1, "strict", legacySetOf(t, 0, record.Gzip, 0, 3)); sp.ErrorCode != 0 {
		t.Fatalf("magic 0 without timestamps: %v", kerr.ErrorForCode(sp.ErrorCode))
	}
	if sp := produceRaw(c, 2, "strict", legacySetOf(t, 1, record.None, 0, 3)); sp.ErrorCode != kerr.InvalidTimestamp.Code {
		t.Fatalf("magic 1 stamped in 2023: %v, want INVALID_TIMESTAMP", kerr.ErrorForCode(sp.ErrorCode))
	}
}

// TestFetchLegacyTransactions: Fetch v0–v3 know no transactions: committed and aborted
// records come as plain messages (read_uncommitted, as Kafka served these versions) and the
// transaction markers (control batches) are not sent.
func TestFetchLegacyTransactions(t *testing.T) {
	tb := startTxnBroker(t)
	tb.createTopic("txn", 1, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(tb.txnAddr), kgo.TransactionalID("legacy-tx"), kgo.DefaultProduceTopic("txn"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx := ctxT(t)
	for i, commit := range []bool{true, false} {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for j := range 3 {
			if err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("t%d-%d", i, j))).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	c := tb.txnConn()
	for _, version := range []int16{1, 3} {
		rp := fetchRaw(t, c, version, "txn", 0, 1<<20)
		var got []string
		for _, m := range parseLegacy(t, rp.RecordBatches) {
			got = append(got, fmt.Sprintf("%d:%s", m.offset, m.value))
		}
		// Offsets 0-2 committed, 3 its marker, 4-6 aborted, 7 its marker (once written).
		if want := "0:t0-0 1:t0-1 2:t0-2 4:t1-0 5:t1-1 6:t1-2"; strings.Join(got, " ") != want {
			t.Fatalf("v%d: %q, want %q", version, got, want)
		}
	}
}
