package partition

import (
	"errors"
	"math"
	"testing"

	"github.com/sluicehq/sluice/internal/record"
)

func build(t testing.TB, codec record.Codec, timestamps []int64, keyless bool) []byte {
	t.Helper()
	b := record.NewBuilder(codec)
	for i, ts := range timestamps {
		var key []byte
		if !keyless {
			key = []byte{byte(i)}
		}
		b.Add(ts, key, []byte("some value"))
	}
	out, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValidateTimestampsAndKeys(t *testing.T) {
	now := int64(1_700_000_000_000)
	cfg := DefaultConfig()
	cfg.TimestampBeforeMaxMs = 1000
	cfg.TimestampAfterMaxMs = 1000
	compacted := cfg
	compacted.Compacted = true
	cases := []struct {
		name     string
		cfg      Config
		records  []byte
		want     error
		badIndex []int32
	}{
		{"in range", cfg, build(t, record.None, []int64{now, now + 500}, false), nil, nil},
		{"future record", cfg, build(t, record.Zstd, []int64{now, now + 5000, now}, false), ErrInvalidTimestamp, []int32{1}},
		{"old record", cfg, build(t, record.None, []int64{now - 5000, now}, false), ErrInvalidTimestamp, []int32{0}},
		{"log append time ignores timestamps", Config{MaxMessageBytes: math.MaxInt32, LogAppendTime: true, TimestampAfterMaxMs: 0},
			build(t, record.None, []int64{now + 1e9}, false), nil, nil},
		{"keyless on compacted", compacted, build(t, record.Snappy, []int64{now, now}, true), ErrInvalidRecord, []int32{0, 1}},
		{"keys on compacted", compacted, build(t, record.Gzip, []int64{now, now}, false), nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := validate(c.records, c.cfg, now)
			if !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			var re *RecordErrors
			if c.badIndex == nil {
				return
			}
			if !errors.As(err, &re) || len(re.Records) != len(c.badIndex) {
				t.Fatalf("record errors %+v, want indexes %v", re, c.badIndex)
			}
			for i, idx := range c.badIndex {
				if re.Records[i].BatchIndex != idx {
					t.Fatalf("record error %d at index %d, want %d", i, re.Records[i].BatchIndex, idx)
				}
			}
		})
	}
}

func TestValidateCRCVersusInvalid(t *testing.T) {
	good := build(t, record.None, []int64{1, 2}, false)
	damaged := append([]byte(nil), good...)
	damaged[len(damaged)-1] ^= 1
	if _, err := validate(damaged, DefaultConfig(), 0); !errors.Is(err, record.ErrCorrupt) || errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("damaged bytes: %v, want record.ErrCorrupt only", err)
	}
	// An unknown codec with an intact CRC is invalid, not damaged.
	odd := append([]byte(nil), good...)
	odd[22] |= 7
	if _, err := validate(fixCRC(odd), DefaultConfig(), 0); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("unknown codec with a good CRC: %v", err)
	}
}

func fixCRC(b []byte) []byte {
	crc := crc32c(b[crcOffset:])
	b[17], b[18], b[19], b[20] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
	return b
}

// BenchmarkValidate measures produce-path validation of a 16 KiB batch of
// 1 KiB records (uncompressed: header, CRC and record framing).
func BenchmarkValidate(b *testing.B) {
	bld := record.NewBuilder(record.None)
	value := make([]byte, 1024)
	for range 16 {
		bld.Add(1, nil, value)
	}
	batch, _ := bld.Build(nil)
	cfg := DefaultConfig()
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := validate(batch, cfg, 1); err != nil {
			b.Fatal(err)
		}
	}
}
