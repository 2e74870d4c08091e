package record

import (
	"errors"
	"testing"
)

func TestBatches(t *testing.T) {
	var log []byte
	var ends []int // where each batch ends
	for i, codec := range allCodecs {
		b := NewBuilder(codec)
		b.BaseOffset = int64(i * 10)
		for j := 0; j < 3; j++ {
			b.Add(int64(j), []byte("k"), []byte("some value"))
		}
		var err error
		if log, err = b.Build(log); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, len(log))
	}

	t.Run("whole", func(t *testing.T) {
		it := NewBatches(log)
		n := 0
		for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
			if h.BaseOffset != int64(n*10) || h.Compression() != allCodecs[n] {
				t.Fatalf("batch %d: %+v", n, h)
			}
			if _, err := Validate(batch, ValidateOptions{DecodeRecords: true}); err != nil {
				t.Fatalf("batch %d: %v", n, err)
			}
			n++
			if it.Pos() != ends[n-1] {
				t.Fatalf("Pos %d after batch %d, want %d", it.Pos(), n, ends[n-1])
			}
		}
		wantErr(t, it.Err(), nil)
		if n != len(allCodecs) {
			t.Fatalf("%d batches, want %d", n, len(allCodecs))
		}
	})

	// Every cut that is not on a batch boundary is a torn tail: ErrTruncated, with Pos at the
	// start of the torn batch and every batch before it returned.
	t.Run("torn at every byte", func(t *testing.T) {
		for cut := 0; cut < len(log); cut++ {
			it := NewBatches(log[:cut])
			n := 0
			for _, _, ok := it.Next(); ok; _, _, ok = it.Next() {
				n++
			}
			whole := 0
			for whole < len(ends) && ends[whole] <= cut {
				whole++
			}
			start := 0
			if whole > 0 {
				start = ends[whole-1]
			}
			if n != whole || it.Pos() != start {
				t.Fatalf("cut %d: %d batches, Pos %d; want %d, %d", cut, n, it.Pos(), whole, start)
			}
			if cut == start {
				wantErr(t, it.Err(), nil)
			} else {
				wantErr(t, it.Err(), ErrTruncated)
			}
		}
	})

	tests := []struct {
		name    string
		corrupt func(b []byte)
		want    error
		wantPos int
	}{
		{"bad length in second batch", func(b []byte) { putInt32(b, ends[0]+offLength, 10) }, ErrCorrupt, ends[0]},
		{"legacy magic in third batch", func(b []byte) { b[ends[1]+offMagic] = 1 }, ErrUnsupportedMagic, ends[1]},
		{"garbage magic in first batch", func(b []byte) { b[offMagic] = 0x7f }, ErrCorrupt, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clone(log)
			tt.corrupt(c)
			it := NewBatches(c)
			for _, _, ok := it.Next(); ok; _, _, ok = it.Next() {
			}
			wantErr(t, it.Err(), tt.want)
			if errors.Is(it.Err(), ErrTruncated) {
				t.Fatal("corruption reported as a torn tail")
			}
			if it.Pos() != tt.wantPos {
				t.Fatalf("Pos %d, want %d", it.Pos(), tt.wantPos)
			}
		})
	}
}
