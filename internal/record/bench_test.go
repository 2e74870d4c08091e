package record

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchBatch is a batch of 16 records of 1 KiB (about 16 KiB of records) whose values look like
// JSON events: compressible, but not trivially.
func benchBatch(b *testing.B, codec Codec) []byte {
	b.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	bl := NewBuilder(codec)
	for i := 0; i < 16; i++ {
		v := make([]byte, 0, 1024)
		for len(v) < 1000 {
			v = fmt.Appendf(v, `{"user":%d,"event":"page_view","ms":%d},`, rng.IntN(100000), rng.IntN(1e9))
		}
		bl.Add(1_700_000_000_000+int64(i), fmt.Appendf(nil, "user-%d", i), v[:1024],
			RecordHeader{"trace-id", []byte("0af7651916cd43dd8448eb211c80319c")})
	}
	batch, err := bl.Build(nil)
	if err != nil {
		b.Fatal(err)
	}
	return batch
}

// BenchmarkValidate: the produce fast path (header and CRC) on an uncompressed batch, then full
// record decoding for each codec with a reused buffer. Bytes/s are of the batch as sent.
func BenchmarkValidate(b *testing.B) {
	plain := benchBatch(b, None)
	b.Run("header+crc", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			if _, err := Validate(plain, ValidateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, codec := range allCodecs {
		batch := benchBatch(b, codec)
		b.Run("decode/"+codec.String(), func(b *testing.B) {
			var buf []byte
			opts := ValidateOptions{DecodeRecords: true, Buffer: &buf}
			b.ReportAllocs()
			b.SetBytes(int64(len(batch)))
			for b.Loop() {
				if _, err := Validate(batch, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIterate walks every record of an uncompressed 16 KiB batch, touching keys, values and
// headers: the per-record cost with no decompression.
func BenchmarkIterate(b *testing.B) {
	batch := benchBatch(b, None)
	var rec Record
	b.ReportAllocs()
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		recs, _, err := Iterate(batch, nil, len(batch))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for recs.Next(&rec) {
			n += len(rec.Key) + len(rec.Value)
			hs := rec.Headers()
			for k, _, ok := hs.Next(); ok; k, _, ok = hs.Next() {
				n += len(k)
			}
		}
		if recs.Err() != nil || n == 0 {
			b.Fatal(recs.Err())
		}
	}
}

// BenchmarkDecompress expands the records payload of the 16 KiB batch per codec into a reused
// buffer. Bytes/s are decompressed bytes.
func BenchmarkDecompress(b *testing.B) {
	plain := benchBatch(b, None)[HeaderSize:]
	for _, codec := range allCodecs[1:] {
		comp, err := codec.Compress(nil, plain)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(codec.String(), func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			b.SetBytes(int64(len(plain)))
			for b.Loop() {
				if buf, err = codec.Decompress(buf[:0], comp, len(plain)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(comp)), "compressed-bytes")
		})
	}
}

// BenchmarkCompress compresses the same payload per codec into a reused buffer (the Builder's
// cost for recompression).
func BenchmarkCompress(b *testing.B) {
	plain := benchBatch(b, None)[HeaderSize:]
	for _, codec := range allCodecs[1:] {
		b.Run(codec.String(), func(b *testing.B) {
			var buf []byte
			var err error
			b.ReportAllocs()
			b.SetBytes(int64(len(plain)))
			for b.Loop() {
				if buf, err = codec.Compress(buf[:0], plain); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
