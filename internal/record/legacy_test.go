package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/pierrec/lz4/v4"
)

// legacyRecord is what a test expects a converted record to hold.
type legacyRecord struct {
	key, value []byte
	timestamp  int64
}

// sampleRecords are five records with a null key and a null value among them.
func sampleRecords(n int) []legacyRecord {
	out := make([]legacyRecord, n)
	for i := range out {
		out[i] = legacyRecord{key: []byte(fmt.Sprintf("key-%d", i)), value: []byte(fmt.Sprintf("value-%d-%s", i, bytes.Repeat([]byte("x"), i))),
			timestamp: 1_700_000_000_000 + int64(i)}
		if i == 2 {
			out[i].key = nil
		}
		if i == 3 {
			out[i].value = nil
		}
	}
	return out
}

// legacySet encodes recs as a legacy message set of magic, uncompressed (one message each)
// or in one wrapper of codec, with offsets as a producer writes them (v1 wrappers: relative).
func legacySet(t testing.TB, magic int8, codec Codec, recs []legacyRecord) []byte {
	t.Helper()
	mp := legacyMessageParams{magic: magic}
	var set []byte
	if codec == None {
		for i, r := range recs {
			set = appendLegacyMessage(set, int64(i), mp, 0, r.timestamp, r.key, r.value)
		}
		return set
	}
	var inner []byte
	maxTs := int64(-1)
	for i, r := range recs {
		inner = appendLegacyMessage(inner, int64(i), mp, 0, r.timestamp, r.key, r.value)
		maxTs = max(maxTs, r.timestamp)
	}
	set, err := appendLegacyWrapper(nil, int64(len(recs)-1), mp, codec, maxTs, inner)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// readV2 returns the records of one v2 batch.
func readV2(t testing.TB, batch []byte) (Header, []legacyRecord) {
	t.Helper()
	h, err := Validate(batch, ValidateOptions{DecodeRecords: true})
	if err != nil {
		t.Fatalf("converted batch does not validate: %v", err)
	}
	recs, _, err := Iterate(batch, nil, DefaultMaxDecompressedSize)
	if err != nil {
		t.Fatal(err)
	}
	var out []legacyRecord
	var rec Record
	for recs.Next(&rec) {
		out = append(out, legacyRecord{key: bytes.Clone(rec.Key), value: bytes.Clone(rec.Value), timestamp: rec.Timestamp})
	}
	if err := recs.Err(); err != nil {
		t.Fatal(err)
	}
	return h, out
}

func sameRecords(t testing.TB, got, want []legacyRecord, magic int8) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		ts := want[i].timestamp
		if magic == 0 {
			ts = -1
		}
		g := got[i]
		if !bytes.Equal(g.key, want[i].key) || (g.key == nil) != (want[i].key == nil) ||
			!bytes.Equal(g.value, want[i].value) || (g.value == nil) != (want[i].value == nil) || g.timestamp != ts {
			t.Fatalf("record %d = {%q %q %d}, want {%q %q %d}", i, g.key, g.value, g.timestamp, want[i].key, want[i].value, ts)
		}
	}
}

// TestConvertLegacyKafkaPython converts message sets written by kafka-python's legacy encoder
// (testdata/legacy/gen.py), not by Sluice's.
func TestConvertLegacyKafkaPython(t *testing.T) {
	for _, magic := range []int8{0, 1} {
		for _, codec := range []Codec{None, Gzip} {
			name := fmt.Sprintf("kafka-python-v%d-%s.bin", magic, codec)
			t.Run(name, func(t *testing.T) {
				set, err := os.ReadFile(filepath.Join("testdata", "legacy", name))
				if err != nil {
					t.Fatal(err)
				}
				batch, info, err := ConvertLegacy(nil, set, LegacyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if info.Magic != magic || info.Codec != codec || info.Messages != 5 {
					t.Fatalf("info %+v", info)
				}
				h, got := readV2(t, batch)
				if h.Compression() != codec || h.BaseOffset != 0 || h.ProducerID != NoProducerID || h.LogAppendTime() {
					t.Fatalf("header %+v", h)
				}
				sameRecords(t, got, sampleRecords(5), magic)
			})
		}
	}
}

// TestLegacyRoundTrip: v2 batches down-converted to each magic and codec, then converted
// back, hold the same records; the wrapper's offsets are Kafka's (v1 inner offsets relative,
// the wrapper at the last offset; v0 inner offsets absolute).
func TestLegacyRoundTrip(t *testing.T) {
	want := sampleRecords(5)
	for _, magic := range []int8{0, 1} {
		for _, codec := range []Codec{None, Gzip, Snappy, LZ4} {
			t.Run(fmt.Sprintf("v%d-%s", magic, codec), func(t *testing.T) {
				b := NewBuilder(codec)
				b.BaseOffset = 100
				for _, r := range want {
					b.Add(r.timestamp, r.key, r.value, RecordHeader{Key: "dropped", Value: []byte("in v0/v1")})
				}
				v2, err := b.Build(nil)
				if err != nil {
					t.Fatal(err)
				}
				set, res, err := DownConvert(nil, v2, DownConvertOptions{Magic: magic, FetchOffset: 100, MaxBytes: 1 << 20})
				if err != nil || res.Batches != 1 || res.NextOffset != 105 || res.Records != 5 {
					t.Fatalf("down-convert: %+v, %v", res, err)
				}
				checkLegacyOffsets(t, set, magic, codec, 100, 104)
				back, info, err := ConvertLegacy(nil, set, LegacyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if info.Codec != codec || info.Magic != magic {
					t.Fatalf("info %+v", info)
				}
				_, got := readV2(t, back)
				sameRecords(t, got, want, magic)
			})
		}
	}
}

// checkLegacyOffsets walks a down-converted set of one batch from first to last.
func checkLegacyOffsets(t *testing.T, set []byte, magic int8, codec Codec, first, last int64) {
	t.Helper()
	m, err := readLegacyMessage(set)
	if err != nil {
		t.Fatal(err)
	}
	if m.magic != magic || m.codec() != codec {
		t.Fatalf("first message magic %d codec %s", m.magic, m.codec())
	}
	if codec == None {
		for off, p := first, set; len(p) > 0; off++ {
			m, err := readLegacyMessage(p)
			if err != nil || m.offset != off {
				t.Fatalf("message offset %d, want %d (%v)", m.offset, off, err)
			}
			p = p[m.size:]
		}
		return
	}
	if m.size != len(set) || m.offset != last || m.key != nil {
		t.Fatalf("wrapper of %d bytes (set %d), offset %d, want %d", m.size, len(set), m.offset, last)
	}
	payload := m.value
	if codec == LZ4 && magic == 0 {
		payload = fixLegacyLZ4(payload)
	}
	inner, err := codec.Decompress(nil, payload, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := first
	if magic == 1 {
		want = 0
	}
	for p := inner; len(p) > 0; want++ {
		im, err := readLegacyMessage(p)
		if err != nil || im.offset != want || im.magic != magic {
			t.Fatalf("inner offset %d magic %d, want %d (%v)", im.offset, im.magic, want, err)
		}
		p = p[im.size:]
	}
}

func TestDownConvertFetchOffset(t *testing.T) {
	for _, codec := range []Codec{None, Gzip} {
		batch := buildBatch(t, codec, 5, 10) // offsets 100..104
		set, res, err := DownConvert(nil, batch, DownConvertOptions{Magic: 1, FetchOffset: 102, MaxBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[Codec]int{None: 3, Gzip: 5}[codec]; res.Records != want {
			t.Fatalf("%s: %d records converted, want %d", codec, res.Records, want)
		}
		m, err := readLegacyMessage(set)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case codec == None && m.offset != 102:
			t.Fatalf("uncompressed: first message at %d, want the fetch offset 102", m.offset)
		case codec != None && m.offset != 104:
			t.Fatalf("compressed: wrapper at %d, want the whole batch (last offset 104)", m.offset)
		}
	}
}

func TestDownConvertLogAppendTime(t *testing.T) {
	for _, codec := range []Codec{None, Snappy} {
		batch := buildBatch(t, codec, 3, 10)
		SetLogAppendTime(batch, 42)
		set, _, err := DownConvert(nil, batch, DownConvertOptions{Magic: 1, MaxBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		m, err := readLegacyMessage(set)
		if err != nil {
			t.Fatal(err)
		}
		if m.attributes&legacyAttrLogAppendTime == 0 || m.timestamp != 42 {
			t.Fatalf("%s: attributes %#x timestamp %d, want LogAppendTime 42", codec, m.attributes, m.timestamp)
		}
	}
}

func TestDownConvertBatches(t *testing.T) {
	none := buildBatch(t, None, 5, 10)
	ctrl := NewBuilder(None)
	ctrl.Control, ctrl.BaseOffset = true, 105
	ctrl.ProducerID, ctrl.ProducerEpoch = 7, 0
	ctrl.Add(0, []byte{0, 0, 0, 0}, []byte{0, 0, 0, 0, 0, 0})
	control, err := ctrl.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	zstd := buildBatch(t, Zstd, 5, 10)
	SetBaseOffset(zstd, 106)
	big := buildBatch(t, None, 100, 100)
	SetBaseOffset(big, 111)
	cases := []struct {
		name     string
		batches  []byte
		maxBytes int
		want     int   // converted batches
		next     int64 // NextOffset
		err      error
	}{
		{"control batch dropped", cat(none, control), 1 << 20, 1, 106, nil},
		{"zstd first", zstd, 1 << 20, 0, -1, ErrUnsupportedCodec},
		{"zstd after others stops there", cat(none, control, zstd), 1 << 20, 1, 106, nil},
		{"first batch whole past max bytes", cat(big, none), 10, 1, 211, nil},
		{"max bytes stops before the next batch", cat(none, big), 300, 1, 105, nil},
		{"empty", nil, 100, 0, -1, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set, res, err := DownConvert([]byte("keep"), c.batches, DownConvertOptions{Magic: 0, MaxBytes: c.maxBytes})
			wantErr(t, err, c.err)
			if string(set[:4]) != "keep" {
				t.Fatal("dst prefix lost")
			}
			if res.Batches != c.want || res.NextOffset != c.next {
				t.Fatalf("converted %d batches to %d, want %d to %d", res.Batches, res.NextOffset, c.want, c.next)
			}
			for p := set[4:]; len(p) > 0; {
				m, err := readLegacyMessage(p)
				if err != nil {
					t.Fatal(err)
				}
				p = p[m.size:]
			}
		})
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// rewrap recomputes a legacy entry's CRC after a test edited it.
func rewrap(e []byte) []byte {
	binary.BigEndian.PutUint32(e[legacyOffCRC:], crc32.ChecksumIEEE(e[legacyOffMagic:]))
	return e
}

func TestConvertLegacyErrors(t *testing.T) {
	recs := sampleRecords(3)
	v1 := legacySet(t, 1, None, recs)
	gz := legacySet(t, 1, Gzip, recs)
	mp1 := legacyMessageParams{magic: 1}
	wrap := func(codec Codec, inner []byte) []byte {
		w, err := appendLegacyWrapper(nil, 0, mp1, codec, 0, inner)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	lat := legacyMessageParams{magic: 1, logAppendTime: true, appendTime: 5}
	cases := []struct {
		name string
		set  []byte
		err  error
	}{
		{"crc", func() []byte { b := clone(v1); b[len(b)-1] ^= 1; return b }(), ErrCorrupt},
		{"inner crc", func() []byte {
			inner := appendLegacyMessage(nil, 0, mp1, 0, 1, []byte("k"), []byte("v"))
			inner[len(inner)-1] ^= 1
			return wrap(Gzip, inner)
		}(), ErrCorrupt},
		{"truncated", v1[:len(v1)-3], ErrCorrupt},
		{"size below minimum", func() []byte { b := clone(v1); binary.BigEndian.PutUint32(b[8:], 3); return b }(), ErrCorrupt},
		{"key length past the message", func() []byte {
			b := clone(v1)
			binary.BigEndian.PutUint32(b[legacyOffKeyV1:], 1000)
			return rewrap(b)
		}(), ErrCorrupt},
		{"two wrappers", cat(gz, gz), ErrInvalidRecord},
		{"wrapper after a message", cat(v1, gz), ErrInvalidRecord},
		{"nested compression", wrap(Gzip, gz), ErrInvalidRecord},
		{"inner magic differs", wrap(Gzip, legacySet(t, 0, None, recs)), ErrInvalidRecord},
		{"empty wrapper", wrap(Gzip, nil), ErrInvalidRecord},
		{"null wrapper value", func() []byte {
			return appendLegacyMessage(nil, 0, mp1, int8(Gzip), 0, nil, nil)
		}(), ErrInvalidRecord},
		{"magic 2 entry", func() []byte { b := clone(v1); b[legacyOffMagic] = 2; return rewrap(b) }(), ErrInvalidRecord},
		{"unknown codec", func() []byte { b := clone(gz); b[legacyOffAttrs] = 6; return rewrap(b) }(), ErrCorrupt},
		{"zstd", func() []byte { b := clone(gz); b[legacyOffAttrs] = byte(Zstd); return rewrap(b) }(), ErrUnsupportedCodec},
		{"garbage gzip", wrap(None, []byte("not gzip at all")), ErrCorrupt},
		{"log append time", appendLegacyMessage(nil, 0, lat, 0, 5, nil, []byte("v")), ErrInvalidTimestamp},
		{"log append time inner", wrap(Gzip, appendLegacyMessage(nil, 0, lat, 0, 5, nil, []byte("v"))), ErrInvalidTimestamp},
		{"empty set", nil, ErrInvalidRecord},
	}
	// "garbage gzip" is a None wrapper around bytes: make it claim gzip.
	cases[14].set[legacyOffAttrs] = byte(Gzip)
	rewrap(cases[14].set)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := ConvertLegacy([]byte("keep"), c.set, LegacyOptions{})
			wantErr(t, err, c.err)
			if string(out) != "keep" {
				t.Fatalf("dst changed on error: %q", out)
			}
		})
	}
}

// TestConvertLegacyBomb: a wrapper expanding past the limit fails without expanding it all.
func TestConvertLegacyBomb(t *testing.T) {
	recs := []legacyRecord{{value: make([]byte, 4<<20)}}
	for _, codec := range []Codec{Gzip, Snappy, LZ4} {
		set := legacySet(t, 1, codec, recs)
		var buf []byte
		_, _, err := ConvertLegacy(nil, set, LegacyOptions{MaxDecompressedSize: 1 << 20, Buffer: &buf})
		wantErr(t, err, ErrTooLarge)
		if cap(buf) > 2<<20+256<<10 {
			t.Fatalf("%s: buffer grew to %d bytes for a 1 MiB limit", codec, cap(buf))
		}
	}
}

// TestLegacyLZ4HeaderChecksum: a v0 LZ4 wrapper carries Kafka's old header checksum (over the
// frame magic too), a v1 wrapper the correct one; both convert back.
func TestLegacyLZ4HeaderChecksum(t *testing.T) {
	recs := sampleRecords(4)
	for _, magic := range []int8{0, 1} {
		set := legacySet(t, magic, LZ4, recs)
		m, err := readLegacyMessage(set)
		if err != nil {
			t.Fatal(err)
		}
		hc := lz4DescriptorEnd(m.value)
		correct, old := lz4HeaderChecksum(m.value[4:hc]), lz4HeaderChecksum(m.value[:hc])
		want := correct
		if magic == 0 {
			want = old
		}
		if correct == old || m.value[hc] != want {
			t.Fatalf("v%d: header checksum %#x, want %#x (correct %#x, old %#x)", magic, m.value[hc], want, correct, old)
		}
		if _, _, err := ConvertLegacy(nil, set, LegacyOptions{}); err != nil {
			t.Fatalf("v%d: %v", magic, err)
		}
	}
}

func TestXXH32(t *testing.T) {
	for in, want := range map[string]uint32{
		"":    0x02cc5d05,
		"a":   0x550d7456,
		"abc": 0x32d153ff,
		"Nobody inspects the spammish repetition": 0xe2293b2f,
	} {
		if got := xxh32([]byte(in)); got != want {
			t.Errorf("xxh32(%q) = %#x, want %#x", in, got, want)
		}
	}
	// The checksum pierrec's writer puts in a frame with a content size (a 10-byte descriptor).
	var frame bytes.Buffer
	w := lz4.NewWriter(&frame)
	if err := w.Apply(lz4.SizeOption(5)); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello"))
	w.Close()
	f := frame.Bytes()
	hc := lz4DescriptorEnd(f)
	if hc != 14 || f[hc] != lz4HeaderChecksum(f[4:hc]) {
		t.Fatalf("descriptor end %d, checksum %#x, computed %#x", hc, f[hc], lz4HeaderChecksum(f[4:hc]))
	}
}
