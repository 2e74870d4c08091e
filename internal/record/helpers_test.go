package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

var allCodecs = []Codec{None, Gzip, Snappy, LZ4, Zstd}

// buildBatch builds a batch of n records (keys "k<i>", values of valueSize bytes) with codec.
func buildBatch(t testing.TB, codec Codec, n, valueSize int) []byte {
	t.Helper()
	b := NewBuilder(codec)
	b.BaseOffset = 100
	b.PartitionLeaderEpoch = 3
	for i := 0; i < n; i++ {
		v := make([]byte, valueSize)
		for j := range v {
			v[j] = byte('a' + (i+j)%7)
		}
		b.Add(1_700_000_000_000+int64(i), []byte(fmt.Sprintf("k%d", i)), v)
	}
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatalf("build %s batch: %v", codec, err)
	}
	return batch
}

// fixCRC recomputes the CRC after a test has edited bytes the CRC covers, so that the test
// reaches the check it is aimed at.
func fixCRC(batch []byte) []byte {
	binary.BigEndian.PutUint32(batch[offCRC:], checksum(batch))
	return batch
}

// putInt32 overwrites a big-endian int32 header field.
func putInt32(batch []byte, off int, v int32) []byte {
	binary.BigEndian.PutUint32(batch[off:], uint32(v))
	return batch
}

// wantErr fails unless err wraps want (or is nil when want is nil).
func wantErr(t testing.TB, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("error = %v, want one wrapping %v", err, want)
	}
}

// clone returns a copy so table cases can mutate shared fixtures.
func clone(b []byte) []byte { return append([]byte(nil), b...) }
