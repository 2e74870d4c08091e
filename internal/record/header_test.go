package record

import (
	"encoding/binary"
	"hash/crc32"
	"testing"
)

func TestCRC32CKnownAnswer(t *testing.T) {
	// The check value of CRC-32C (Castagnoli) for "123456789", from the CRC catalogue; Kafka's
	// batches use exactly this CRC. A table built from the IEEE polynomial would give cbf43926.
	if got := crc32.Checksum([]byte("123456789"), castagnoli); got != 0xe3069283 {
		t.Fatalf("crc32c(123456789) = %#08x, want 0xe3069283", got)
	}
}

func TestBatchKnownAnswer(t *testing.T) {
	// A batch laid out byte by byte from the format spec, independent of the Builder: one
	// record, key null, value "hi", no headers, offset 0, timestamp 1000.
	rec := []byte{
		0x10,     // record length 8 (zigzag)
		0x00,     // attributes
		0x00,     // timestamp delta 0
		0x00,     // offset delta 0
		0x01,     // key length -1 (null)
		0x04,     // value length 2
		'h', 'i', // value
		0x00, // header count 0
	}
	batch := make([]byte, HeaderSize, HeaderSize+len(rec))
	be := binary.BigEndian
	be.PutUint64(batch[0:], 42)                             // base offset
	be.PutUint32(batch[8:], uint32(HeaderSize-12+len(rec))) // length
	be.PutUint32(batch[12:], 7)                             // partition leader epoch
	batch[16] = 2                                           // magic
	be.PutUint16(batch[21:], 0)                             // attributes
	be.PutUint32(batch[23:], 0)                             // last offset delta
	be.PutUint64(batch[27:], 1000)                          // base timestamp
	be.PutUint64(batch[35:], 1000)                          // max timestamp
	be.PutUint64(batch[43:], ^uint64(0))                    // producer id -1
	be.PutUint16(batch[51:], 0xffff)                        // producer epoch -1
	be.PutUint32(batch[53:], 0xffffffff)                    // base sequence -1
	be.PutUint32(batch[57:], 1)                             // record count
	batch = append(batch, rec...)
	be.PutUint32(batch[17:], crc32.Checksum(batch[21:], crc32.MakeTable(crc32.Castagnoli)))

	h, err := Validate(batch, ValidateOptions{DecodeRecords: true})
	wantErr(t, err, nil)
	want := Header{BaseOffset: 42, Length: int32(len(batch) - 12), PartitionLeaderEpoch: 7, Magic: 2,
		CRC: be.Uint32(batch[17:]), BaseTimestamp: 1000, MaxTimestamp: 1000, ProducerID: -1,
		ProducerEpoch: -1, BaseSequence: -1, NumRecords: 1}
	if h != want {
		t.Fatalf("header = %+v\nwant     %+v", h, want)
	}

	// The Builder must produce the very same bytes for the same batch.
	b := NewBuilder(None)
	b.BaseOffset, b.PartitionLeaderEpoch = 42, 7
	b.Add(1000, nil, []byte("hi"))
	built, err := b.Build(nil)
	wantErr(t, err, nil)
	if string(built) != string(batch) {
		t.Fatalf("builder output differs from the spec layout:\n got %x\nwant %x", built, batch)
	}
}

func TestReadHeader(t *testing.T) {
	valid := buildBatch(t, None, 2, 10)
	legacy := func(magic byte) []byte {
		b := clone(valid)
		b[offMagic] = magic
		return b
	}
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"valid", valid, nil},
		{"header only, records missing", valid[:HeaderSize], nil}, // ReadHeader does not need the records
		{"magic 0 message set", legacy(0), ErrUnsupportedMagic},
		{"magic 1 message set", legacy(1), ErrUnsupportedMagic},
		{"magic 1 short", legacy(1)[:20], ErrUnsupportedMagic},
		{"unknown magic 3", legacy(3), ErrCorrupt},
		{"negative magic", legacy(0xff), ErrCorrupt},
		{"length below header", putInt32(clone(valid), offLength, minLength-1), ErrCorrupt},
		{"negative length", putInt32(clone(valid), offLength, -5), ErrCorrupt},
		{"length too large", putInt32(clone(valid), offLength, maxLength+1), ErrCorrupt},
		{"empty", nil, ErrTruncated},
		{"cut before magic", valid[:16], ErrTruncated},
		{"cut inside header", valid[:HeaderSize-1], ErrTruncated},
		{"cut inside header, bad length", putInt32(clone(valid), offLength, 3)[:30], ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadHeader(tt.input)
			wantErr(t, err, tt.want)
		})
	}
}

func TestHeaderAccessors(t *testing.T) {
	b := NewBuilder(Zstd)
	b.BaseOffset = 1000
	b.ProducerID, b.ProducerEpoch, b.BaseSequence = 77, 2, 10
	b.Transactional = true
	b.Add(5, nil, []byte("a"))
	b.Add(9, nil, []byte("b"))
	if err := b.AddAt(5, 7, nil, []byte("c")); err != nil {
		t.Fatal(err)
	}
	batch, err := b.Build(nil)
	wantErr(t, err, nil)
	h, err := Validate(batch, ValidateOptions{DecodeRecords: true})
	wantErr(t, err, nil)
	checks := []struct {
		name      string
		got, want any
	}{
		{"Size", h.Size(), len(batch)},
		{"LastOffset", h.LastOffset(), int64(1005)},
		{"NextOffset", h.NextOffset(), int64(1006)},
		{"Compression", h.Compression(), Zstd},
		{"IsTransactional", h.IsTransactional(), true},
		{"IsControl", h.IsControl(), false},
		{"LogAppendTime", h.LogAppendTime(), false},
		{"IsIdempotent", h.IsIdempotent(), true},
		{"BaseTimestamp", h.BaseTimestamp, int64(5)},
		{"MaxTimestamp", h.MaxTimestamp, int64(9)},
		{"ProducerEpoch", h.ProducerEpoch, int16(2)},
		{"BaseSequence", h.BaseSequence, int32(10)},
		{"NumRecords", h.NumRecords, int32(3)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestInPlaceRewrites(t *testing.T) {
	batch := buildBatch(t, Gzip, 3, 20)
	SetBaseOffset(batch, 1<<40)
	SetPartitionLeaderEpoch(batch, 12)
	h, err := Validate(batch, ValidateOptions{})
	wantErr(t, err, nil) // both fields lie outside the CRC
	if h.BaseOffset != 1<<40 || h.PartitionLeaderEpoch != 12 {
		t.Fatalf("after rewrite: base offset %d, epoch %d", h.BaseOffset, h.PartitionLeaderEpoch)
	}

	SetLogAppendTime(batch, 123456)
	h, err = Validate(batch, ValidateOptions{DecodeRecords: true})
	wantErr(t, err, nil) // the CRC was recomputed
	if !h.LogAppendTime() || h.MaxTimestamp != 123456 || h.Compression() != Gzip {
		t.Fatalf("after SetLogAppendTime: %+v", h)
	}
	recs, _, err := Iterate(batch, nil, 1<<20)
	wantErr(t, err, nil)
	var rec Record
	for recs.Next(&rec) {
		if rec.Timestamp != 123456 {
			t.Fatalf("record %d timestamp %d, want the log append time", rec.Offset, rec.Timestamp)
		}
	}
	wantErr(t, recs.Err(), nil)
}
