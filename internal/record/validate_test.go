package record

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestValidateCodecs(t *testing.T) {
	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			batch := buildBatch(t, codec, 50, 300)
			for _, opts := range []ValidateOptions{{}, {DecodeRecords: true}} {
				h, err := Validate(batch, opts)
				wantErr(t, err, nil)
				if h.NumRecords != 50 || h.Compression() != codec || h.Size() != len(batch) {
					t.Fatalf("header %+v", h)
				}
			}
		})
	}
}

// recordAt returns the position of record i's first byte in an uncompressed batch.
func recordAt(t *testing.T, batch []byte, i int) int {
	t.Helper()
	pos := HeaderSize
	for ; i > 0; i-- {
		l, n := readVarint(batch[pos:])
		if n <= 0 {
			t.Fatal("bad fixture")
		}
		pos += n + int(l)
	}
	return pos
}

func TestValidateRejects(t *testing.T) {
	// Two records of fixed shape so tests can poke at known bytes: each record is
	// [len][attr][tsDelta][offsetDelta][keyLen]k[valueLen]vvvv[headers=0].
	b := NewBuilder(None)
	b.Add(10, []byte("k"), []byte("vvvv"))
	b.Add(11, []byte("k"), []byte("vvvv"))
	plain, err := b.Build(nil)
	wantErr(t, err, nil)
	zstdBatch := buildBatch(t, Zstd, 20, 1000)

	tests := []struct {
		name string
		make func(t *testing.T) []byte
		opts ValidateOptions
		want error
	}{
		{"bad crc in records", func(t *testing.T) []byte {
			c := clone(plain)
			c[len(c)-1] ^= 1
			return c
		}, ValidateOptions{}, ErrCorrupt},
		{"bad crc field", func(t *testing.T) []byte {
			c := clone(plain)
			c[offCRC] ^= 0x80
			return c
		}, ValidateOptions{}, ErrCorrupt},
		{"bad crc in attributes", func(t *testing.T) []byte {
			c := clone(plain)
			c[offAttributes+1] |= byte(Gzip) // a CRC over the wrong range would miss this
			return c
		}, ValidateOptions{}, ErrCorrupt},
		{"more records announced than the offset span allows", func(t *testing.T) []byte {
			return fixCRC(putInt32(clone(plain), offNumRecords, 3))
		}, ValidateOptions{}, ErrCorrupt},
		{"more records announced than present", func(t *testing.T) []byte {
			c := putInt32(clone(plain), offNumRecords, 3)
			return fixCRC(putInt32(c, offLastOffsetDelta, 5))
		}, ValidateOptions{DecodeRecords: true}, ErrCorrupt},
		{"fewer records announced than present", func(t *testing.T) []byte {
			return fixCRC(putInt32(clone(plain), offNumRecords, 1))
		}, ValidateOptions{DecodeRecords: true}, ErrCorrupt},
		{"wrong count inside compressed payload", func(t *testing.T) []byte {
			c := putInt32(clone(zstdBatch), offNumRecords, 19)
			return fixCRC(c)
		}, ValidateOptions{DecodeRecords: true}, ErrCorrupt},
		{"negative record count", func(t *testing.T) []byte {
			return fixCRC(putInt32(clone(plain), offNumRecords, -1))
		}, ValidateOptions{}, ErrCorrupt},
		{"negative last offset delta", func(t *testing.T) []byte {
			return fixCRC(putInt32(clone(plain), offLastOffsetDelta, -1))
		}, ValidateOptions{}, ErrCorrupt},
		{"more records than bytes", func(t *testing.T) []byte {
			c := putInt32(clone(plain), offLastOffsetDelta, 100)
			return fixCRC(putInt32(c, offNumRecords, 100))
		}, ValidateOptions{}, ErrCorrupt},
		{"unknown codec 5", func(t *testing.T) []byte {
			c := clone(plain)
			c[offAttributes+1] = 5
			return fixCRC(c)
		}, ValidateOptions{}, ErrCorrupt},
		{"magic 0", func(t *testing.T) []byte {
			c := clone(plain)
			c[offMagic] = 0
			return c
		}, ValidateOptions{}, ErrUnsupportedMagic},
		{"magic 1", func(t *testing.T) []byte {
			c := clone(plain)
			c[offMagic] = 1
			return c
		}, ValidateOptions{}, ErrUnsupportedMagic},
		{"torn: last byte missing", func(t *testing.T) []byte {
			return clone(plain[:len(plain)-1])
		}, ValidateOptions{}, ErrTruncated},
		{"trailing byte", func(t *testing.T) []byte {
			return append(clone(plain), 0)
		}, ValidateOptions{}, ErrCorrupt},
		{"offset delta repeats", func(t *testing.T) []byte {
			c := clone(plain)
			c[recordAt(t, c, 1)+3] = 0x00 // record 1 offset delta 0, same as record 0
			return fixCRC(c)
		}, ValidateOptions{DecodeRecords: true}, ErrCorrupt},
		{"offset delta past last offset delta", func(t *testing.T) []byte {
			c := clone(plain)
			c[recordAt(t, c, 1)+3] = 0x04 // delta 2 > last offset delta 1
			return fixCRC(c)
		}, ValidateOptions{DecodeRecords: true}, ErrCorrupt},
		{"negative offset delta", func(t *testing.T) []byte {
			c := clone(plain)
			c[recordAt(t, c, 0)+3] = 0x01 // -1
			return fixCRC(c)
		}, ValidateOptions{DecodeRecords: true}, ErrCorrupt},
		{"record length overruns batch", func(t *testing.T) []byte {
			c := clone(plain)
			c[recordAt(t, c, 1)] = 0x7e
			return fixCRC(c)
		}, ValidateOptions{DecodeRecords: true}, ErrCorrupt},
		{"value length overruns record", func(t *testing.T) []byte {
			c := clone(plain)
			c[recordAt(t, c, 0)+6] = 0x0a // value length 5, record holds 4
			return fixCRC(c)
		}, ValidateOptions{DecodeRecords: true}, ErrCorrupt},
		{"key length below -1", func(t *testing.T) []byte {
			c := clone(plain)
			c[recordAt(t, c, 0)+4] = 0x03 // -2
			return fixCRC(c)
		}, ValidateOptions{DecodeRecords: true}, ErrCorrupt},
		{"compressed payload garbage", func(t *testing.T) []byte {
			c := clone(zstdBatch)
			for i := HeaderSize + 10; i < len(c); i++ {
				c[i] = byte(i * 31)
			}
			return fixCRC(c)
		}, ValidateOptions{DecodeRecords: true}, ErrCorrupt},
		{"compressed over the bound", func(t *testing.T) []byte {
			return clone(zstdBatch)
		}, ValidateOptions{DecodeRecords: true, MaxDecompressedSize: 4096}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Validate(tt.make(t), tt.opts)
			wantErr(t, err, tt.want)
		})
	}
}

// The produce fast path must not look inside: a batch whose CRC is right but whose compressed
// payload is garbage passes it, and fails when records are decoded.
func TestValidateFastPathSkipsRecords(t *testing.T) {
	c := buildBatch(t, LZ4, 5, 100)
	for i := HeaderSize + 8; i < len(c); i++ {
		c[i] = 0xAA
	}
	fixCRC(c)
	_, err := Validate(c, ValidateOptions{})
	wantErr(t, err, nil)
	_, err = Validate(c, ValidateOptions{DecodeRecords: true})
	wantErr(t, err, ErrCorrupt)
}

func TestValidateReusesBuffer(t *testing.T) {
	batch := buildBatch(t, Snappy, 40, 500)
	var buf []byte
	opts := ValidateOptions{DecodeRecords: true, Buffer: &buf}
	_, err := Validate(batch, opts)
	wantErr(t, err, nil)
	if cap(buf) < 40*500 {
		t.Fatalf("buffer not kept: cap %d", cap(buf))
	}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := Validate(batch, opts); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Fatalf("Validate with a warm buffer allocates %.1f times per batch", allocs)
	}
}

func TestIterateRecords(t *testing.T) {
	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			b := NewBuilder(codec)
			b.BaseOffset = 500
			b.Add(1000, []byte("key"), []byte("value"),
				RecordHeader{"trace", []byte("abc")}, RecordHeader{"empty", []byte{}}, RecordHeader{"null", nil})
			b.Add(990, nil, nil) // null key and value, timestamp before the base
			b.Add(1010, []byte{}, []byte{})
			if err := b.AddAt(7, 1005, []byte("gap"), bytes.Repeat([]byte{0}, 3000)); err != nil {
				t.Fatal(err)
			}
			batch, err := b.Build(nil)
			wantErr(t, err, nil)
			h, err := Validate(batch, ValidateOptions{DecodeRecords: true})
			wantErr(t, err, nil)
			if h.LastOffsetDelta != 7 || h.NumRecords != 4 || h.MaxTimestamp != 1010 || h.BaseTimestamp != 1000 {
				t.Fatalf("header %+v", h)
			}

			recs, _, err := Iterate(batch, nil, 1<<20)
			wantErr(t, err, nil)
			type hdr struct {
				key   string
				value []byte
			}
			type want struct {
				offset, ts int64
				key, value []byte
				headers    []hdr
			}
			wants := []want{
				{500, 1000, []byte("key"), []byte("value"), []hdr{{"trace", []byte("abc")}, {"empty", []byte{}}, {"null", nil}}},
				{501, 990, nil, nil, nil},
				{502, 1010, []byte{}, []byte{}, nil},
				{507, 1005, []byte("gap"), make([]byte, 3000), nil},
			}
			var rec Record
			i := 0
			for ; recs.Next(&rec); i++ {
				w := wants[i]
				if rec.Offset != w.offset || rec.Timestamp != w.ts {
					t.Errorf("record %d: offset %d ts %d, want %d %d", i, rec.Offset, rec.Timestamp, w.offset, w.ts)
				}
				sameBytes(t, "key", rec.Key, w.key)
				sameBytes(t, "value", rec.Value, w.value)
				hs := rec.Headers()
				var got []hdr
				for k, v, ok := hs.Next(); ok; k, v, ok = hs.Next() {
					got = append(got, hdr{string(k), v})
				}
				if len(got) != len(w.headers) || int(rec.NumHeaders) != len(w.headers) {
					t.Fatalf("record %d: %d headers, want %d", i, len(got), len(w.headers))
				}
				for j := range got {
					if got[j].key != w.headers[j].key {
						t.Errorf("record %d header %d key %q", i, j, got[j].key)
					}
					sameBytes(t, "header value", got[j].value, w.headers[j].value)
				}
			}
			wantErr(t, recs.Err(), nil)
			if i != len(wants) {
				t.Fatalf("%d records, want %d", i, len(wants))
			}
		})
	}
}

// sameBytes compares contents and nullness: a null key must not come back as an empty one.
func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if (got == nil) != (want == nil) || !bytes.Equal(got, want) {
		t.Errorf("%s = %q (nil %v), want %q (nil %v)", what, got, got == nil, want, want == nil)
	}
}

func TestIterateNoAllocPerRecord(t *testing.T) {
	batch := buildBatch(t, None, 100, 50)
	var rec Record
	allocs := testing.AllocsPerRun(50, func() {
		recs, _, err := Iterate(batch, nil, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for recs.Next(&rec) {
			n++
		}
		if n != 100 || recs.Err() != nil {
			t.Fatalf("%d records, err %v", n, recs.Err())
		}
	})
	if allocs != 0 {
		t.Fatalf("iterating 100 records allocates %.1f times", allocs)
	}
}

func TestBuilderRecompress(t *testing.T) {
	src := NewBuilder(Gzip)
	src.BaseOffset = 10
	src.Add(100, []byte("a"), []byte("1"), RecordHeader{"h", []byte("x")})
	src.Add(200, []byte("b"), nil)
	if err := src.AddAt(4, 150, nil, []byte("3")); err != nil {
		t.Fatal(err)
	}
	in, err := src.Build(nil)
	wantErr(t, err, nil)

	recs, _, err := Iterate(in, nil, 1<<20)
	wantErr(t, err, nil)
	dst := NewBuilder(Zstd)
	dst.BaseOffset = 10
	var rec Record
	for recs.Next(&rec) {
		wantErr(t, dst.AddRecord(&rec), nil)
	}
	wantErr(t, recs.Err(), nil)
	out, err := dst.Build(nil)
	wantErr(t, err, nil)

	// Same records, different codec: decompressed payloads and all header fields but
	// attributes, length and CRC must match.
	hin, _ := Validate(in, ValidateOptions{DecodeRecords: true})
	hout, err := Validate(out, ValidateOptions{DecodeRecords: true})
	wantErr(t, err, nil)
	hin.Attributes, hin.Length, hin.CRC = 0, 0, 0
	if hout.Compression() != Zstd {
		t.Fatalf("codec %s", hout.Compression())
	}
	hout.Attributes, hout.Length, hout.CRC = 0, 0, 0
	if hin != hout {
		t.Fatalf("headers differ:\n in %+v\nout %+v", hin, hout)
	}
	pin, err := Gzip.Decompress(nil, in[HeaderSize:], 1<<20)
	wantErr(t, err, nil)
	pout, err := Zstd.Decompress(nil, out[HeaderSize:], 1<<20)
	wantErr(t, err, nil)
	if !bytes.Equal(pin, pout) {
		t.Fatal("recompressed records differ")
	}
}

func TestBuilderErrors(t *testing.T) {
	b := NewBuilder(None)
	if _, err := b.Build(nil); err == nil {
		t.Fatal("empty batch built")
	}
	b.Add(1, nil, nil)
	if err := b.AddAt(0, 1, nil, nil); err == nil {
		t.Fatal("AddAt accepted a non-increasing offset delta")
	}
	b.Codec = 6
	if _, err := b.Build(nil); err == nil {
		t.Fatal("built with codec 6")
	}
	b.Codec = None
	b.Reset()
	b.Add(5, nil, []byte("x"))
	batch, err := b.Build([]byte("prefix"))
	wantErr(t, err, nil)
	if string(batch[:6]) != "prefix" {
		t.Fatal("Build did not append to dst")
	}
	h, err := Validate(batch[6:], ValidateOptions{DecodeRecords: true})
	wantErr(t, err, nil)
	if h.NumRecords != 1 || h.BaseTimestamp != 5 {
		t.Fatalf("after Reset: %+v", h)
	}
	if binary.BigEndian.Uint16(batch[6+offAttributes:]) != 0 {
		t.Fatal("attributes set on a plain batch")
	}
}

// Recompressing a LogAppendTime batch keeps each record's create time; the append time is the
// batch's, set again on the result.
func TestBuilderAddRecordKeepsCreateTime(t *testing.T) {
	src := NewBuilder(None)
	src.Add(100, nil, []byte("a"))
	src.Add(250, nil, []byte("b"))
	in, err := src.Build(nil)
	wantErr(t, err, nil)
	SetLogAppendTime(in, 999)

	recs, _, err := Iterate(in, nil, 1<<10)
	wantErr(t, err, nil)
	dst := NewBuilder(Snappy)
	var rec Record
	for recs.Next(&rec) {
		if rec.Timestamp != 999 {
			t.Fatalf("LogAppendTime batch yields timestamp %d", rec.Timestamp)
		}
		wantErr(t, dst.AddRecord(&rec), nil)
	}
	out, err := dst.Build(nil)
	wantErr(t, err, nil)
	h, err := Validate(out, ValidateOptions{DecodeRecords: true})
	wantErr(t, err, nil)
	if h.BaseTimestamp != 100 || h.MaxTimestamp != 250 || h.LogAppendTime() {
		t.Fatalf("rebuilt header %+v", h)
	}
}
