package record

import (
	"bytes"
	"errors"
	"testing"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/ and are written by TestWriteFuzzCorpus
// (run it with -update-fuzz-corpus after changing the seeds).

const fuzzLimit = 1 << 20

// sentinel fails unless err is nil or wraps one of the package's sentinel errors: every decoder
// error must be classifiable by callers.
func sentinel(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []error{ErrCorrupt, ErrUnsupportedMagic, ErrTooLarge, ErrTruncated, ErrInvalidRecord, ErrInvalidTimestamp, ErrUnsupportedCodec} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error wraps no sentinel: %v", err)
}

func FuzzValidate(f *testing.F) {
	var buf []byte
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Validate(data, ValidateOptions{})
		sentinel(t, err)
		deep, derr := Validate(data, ValidateOptions{DecodeRecords: true, MaxDecompressedSize: fuzzLimit, Buffer: &buf})
		sentinel(t, derr)
		if err != nil && derr == nil {
			t.Fatalf("full validation accepted what the fast path refused: %v", err)
		}
		if err != nil {
			return
		}
		if h.Size() != len(data) || h.Magic != Magic {
			t.Fatalf("accepted batch with size %d of %d bytes, magic %d", h.Size(), len(data), h.Magic)
		}
		if derr == nil {
			if deep != h {
				t.Fatal("fast and full validation read different headers")
			}
			// Offsets live outside the CRC: rewriting them keeps the batch valid.
			c := bytes.Clone(data)
			SetBaseOffset(c, h.BaseOffset+12345)
			SetPartitionLeaderEpoch(c, h.PartitionLeaderEpoch+1)
			if _, err := Validate(c, ValidateOptions{DecodeRecords: true, MaxDecompressedSize: fuzzLimit}); err != nil {
				t.Fatalf("valid batch broken by rewriting its base offset: %v", err)
			}
		}
	})
}

func FuzzBatches(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		it := NewBatches(data)
		total := 0
		for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
			if len(batch) != h.Size() || !bytes.Equal(batch, data[total:total+len(batch)]) {
				t.Fatalf("batch at %d: %d bytes, header says %d", total, len(batch), h.Size())
			}
			total += len(batch)
			if it.Pos() != total {
				t.Fatalf("Pos %d, batches cover %d", it.Pos(), total)
			}
		}
		sentinel(t, it.Err())
		if it.Pos() != total {
			t.Fatalf("Pos %d after the end, batches cover %d", it.Pos(), total)
		}
		if it.Err() == nil && total != len(data) {
			t.Fatalf("no error, but only %d of %d bytes framed", total, len(data))
		}
		if errors.Is(it.Err(), ErrTruncated) {
			// A torn tail: the remaining bytes are shorter than the batch they start.
			rest := data[total:]
			if h, err := ReadHeader(rest); err == nil && len(rest) >= h.Size() {
				t.Fatalf("reported torn with %d bytes for a %d-byte batch", len(rest), h.Size())
			}
		}
	})
}

func FuzzRecords(f *testing.F) {
	var buf []byte
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, b, err := Iterate(data, buf, fuzzLimit)
		buf = b
		sentinel(t, err)
		if err != nil {
			return
		}
		h := recs.Header()
		// Rebuild the batch from what was read; when iteration succeeds the copy must hold
		// the same records.
		rebuilt := NewBuilder(None)
		rebuilt.BaseOffset = h.BaseOffset
		var rec Record
		var keys, values [][]byte
		n := int32(0)
		prev := int32(-1) // offset deltas start at 0 (base offsets may be anything, even negative)
		for recs.Next(&rec) {
			if rec.OffsetDelta <= prev || rec.OffsetDelta > h.LastOffsetDelta {
				t.Fatalf("offset delta %d after %d, last offset delta %d", rec.OffsetDelta, prev, h.LastOffsetDelta)
			}
			prev = rec.OffsetDelta
			hs := rec.Headers()
			for i := int32(0); i < rec.NumHeaders; i++ {
				if _, _, ok := hs.Next(); !ok {
					t.Fatalf("record %d: header %d of %d missing", n, i, rec.NumHeaders)
				}
			}
			if _, _, ok := hs.Next(); ok {
				t.Fatalf("record %d: more headers than NumHeaders", n)
			}
			if err := rebuilt.AddRecord(&rec); err != nil {
				t.Fatalf("rebuild: %v", err)
			}
			keys, values = append(keys, bytes.Clone(rec.Key)), append(values, bytes.Clone(rec.Value))
			n++
		}
		sentinel(t, recs.Err())
		if recs.Err() != nil {
			return
		}
		if n != h.NumRecords {
			t.Fatalf("iterated %d records, header says %d", n, h.NumRecords)
		}
		if n == 0 {
			return
		}
		out, err := rebuilt.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := Iterate(out, nil, fuzzLimit)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; again.Next(&rec); i++ {
			if !bytes.Equal(rec.Key, keys[i]) || !bytes.Equal(rec.Value, values[i]) ||
				(rec.Key == nil) != (keys[i] == nil) || (rec.Value == nil) != (values[i] == nil) {
				t.Fatalf("record %d differs after rebuilding", i)
			}
		}
		if again.Err() != nil {
			t.Fatal(again.Err())
		}
	})
}

func FuzzDecompress(f *testing.F) {
	const limit = 64 << 10
	f.Fuzz(func(t *testing.T, codec uint8, data []byte) {
		c := Codec(codec % 5)
		out, err := c.Decompress([]byte("keep"), data, limit)
		sentinel(t, err)
		if string(out[:4]) != "keep" {
			t.Fatal("Decompress lost dst's prefix")
		}
		if err != nil {
			return
		}
		out = out[4:]
		if len(out) > limit {
			t.Fatalf("%d bytes out, limit %d", len(out), limit)
		}
		again, err := c.Compress(nil, out)
		if err != nil {
			t.Fatal(err)
		}
		back, err := c.Decompress(nil, again, limit)
		if err != nil || !bytes.Equal(back, out) {
			t.Fatalf("re-compressed output does not round-trip: %v", err)
		}
	})
}
