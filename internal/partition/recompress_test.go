package partition

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/internal/record"
)

// readRaw returns the raw batches stored from offset 0, copied out of the
// log's file regions.
func readRaw(t *testing.T, p *Partition) []byte {
	t.Helper()
	res, err := p.Read(0, ReadOptions{MaxBytes: 1 << 20, MinOneBatch: true, CurrentLeaderEpoch: NoLeaderEpoch, LastFetchedEpoch: NoLeaderEpoch, Replica: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Records.Release()
	var out []byte
	for _, r := range res.Records.Regions {
		b := make([]byte, r.Len())
		if _, err := r.ReadAt(b, 0); err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

func TestRecompressToTopicCodec(t *testing.T) {
	for _, tc := range []struct {
		name     string
		producer record.Codec
		topic    string
		want     record.Codec
	}{
		{"none to zstd", record.None, "zstd", record.Zstd},
		{"gzip to lz4", record.Gzip, "lz4", record.LZ4},
		{"snappy to uncompressed", record.Snappy, "uncompressed", record.None},
		{"producer keeps gzip", record.Gzip, "producer", record.Gzip},
		{"same codec unchanged", record.Snappy, "snappy", record.Snappy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Codec, cfg.Recompress = topicCodec(tc.topic)
			p := newTestPartition(t, cfg, soleLeader())
			b := record.NewBuilder(tc.producer)
			b.ProducerID, b.ProducerEpoch, b.BaseSequence = 7, 2, 0
			b.Add(1000, []byte("k1"), []byte("v1"), record.RecordHeader{Key: "h", Value: []byte("x")})
			b.Add(1001, nil, bytes.Repeat([]byte("v2"), 100))
			batch, err := b.Build(nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg.TimestampBeforeMaxMs = 1 << 62
			p.SetConfig(cfg)
			if _, err := p.Append(batch, -1); err != nil {
				t.Fatal(err)
			}
			raw := readRaw(t, p)
			h, err := record.Validate(raw, record.ValidateOptions{DecodeRecords: true})
			if err != nil {
				t.Fatalf("stored batch invalid: %v", err)
			}
			if h.Compression() != tc.want {
				t.Fatalf("stored codec %v, want %v", h.Compression(), tc.want)
			}
			if h.ProducerID != 7 || h.ProducerEpoch != 2 || h.BaseSequence != 0 || h.NumRecords != 2 || h.BaseOffset != 0 {
				t.Fatalf("header not carried over: %+v", h)
			}
			recs, _, err := record.Iterate(raw, nil, record.DefaultMaxDecompressedSize)
			if err != nil {
				t.Fatal(err)
			}
			var rec record.Record
			var got []string
			for recs.Next(&rec) {
				got = append(got, string(rec.Key)+"="+string(rec.Value[:2]))
				if rec.Offset == 0 {
					hs := rec.Headers()
					k, v, ok := hs.Next()
					if !ok || string(k) != "h" || string(v) != "x" || rec.Timestamp != 1000 {
						t.Fatalf("record 0 header %q=%q ok=%v ts=%d", k, v, ok, rec.Timestamp)
					}
				}
			}
			if err := recs.Err(); err != nil || len(got) != 2 || got[0] != "k1=v1" || got[1] != "=v2" {
				t.Fatalf("records %v, err %v", got, err)
			}
		})
	}
}

func TestRecompressedBatchTooLarge(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Codec, cfg.Recompress = topicCodec("uncompressed")
	cfg.TimestampBeforeMaxMs = 1 << 62
	b := record.NewBuilder(record.Zstd)
	b.Add(1000, []byte("k"), bytes.Repeat([]byte{'a'}, 64<<10))
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxMessageBytes = int32(len(batch) + 100) // the compressed batch fits, the rewritten one not
	p := newTestPartition(t, cfg, soleLeader())
	if _, err := p.Append(batch, -1); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("append: %v, want ErrMessageTooLarge", err)
	}
	if p.LogEndOffset() != 0 {
		t.Fatalf("log end %d after a refused append", p.LogEndOffset())
	}
}

func BenchmarkRecompress(b *testing.B) {
	bd := record.NewBuilder(record.None)
	for i := range 100 {
		bd.Add(1000, []byte{byte(i)}, bytes.Repeat([]byte{byte(i)}, 1000))
	}
	batch, err := bd.Build(nil)
	if err != nil {
		b.Fatal(err)
	}
	buf := new([]byte)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := recompress(batch, record.LZ4, 9, buf); err != nil {
			b.Fatal(err)
		}
	}
}
