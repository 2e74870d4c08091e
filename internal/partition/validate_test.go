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

// badTimestamps builds a batch of n records all far in the past.
func badTimestamps(t testing.TB, codec record.Codec, n int) []byte {
	t.Helper()
	ts := make([]int64, n)
	return build(t, codec, ts, false)
}

func TestValidateRecordErrorsBounded(t *testing.T) {
	now := int64(1_700_000_000_000)
	cfg := DefaultConfig()
	cfg.TimestampBeforeMaxMs, cfg.TimestampAfterMaxMs = 1000, 1000
	cases := []struct {
		name    string
		records []byte
		want    int
	}{
		{"fewer than the cap", badTimestamps(t, record.Zstd, 7), 7},
		{"capped", badTimestamps(t, record.Zstd, 5000), MaxRecordErrors},
		// Kafka stops at the first bad batch: the second adds nothing.
		{"first bad batch only", append(badTimestamps(t, record.None, 3), badTimestamps(t, record.None, 50)...), 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := validate(c.records, cfg, now)
			var re *RecordErrors
			if !errors.As(err, &re) || !errors.Is(err, ErrInvalidTimestamp) {
				t.Fatalf("err %v, want *RecordErrors of ErrInvalidTimestamp", err)
			}
			if len(re.Records) != c.want {
				t.Fatalf("%d record errors, want %d", len(re.Records), c.want)
			}
			for i, r := range re.Records {
				if r.BatchIndex != int32(i) || r.Message == "" {
					t.Fatalf("record error %d: %+v", i, r)
				}
			}
		})
	}
}

// TestValidateBadRecordsAllocateBounded: a batch of many bad records costs
// allocations for the reported ones only, not one per record.
func TestValidateBadRecordsAllocateBounded(t *testing.T) {
	if raceEnabled {
		t.Skip("counts allocations; the race detector's sync.Pool drops items at random")
	}
	now := int64(1_700_000_000_000)
	cfg := DefaultConfig()
	cfg.TimestampBeforeMaxMs, cfg.TimestampAfterMaxMs = 1000, 1000
	small, large := badTimestamps(t, record.Zstd, MaxRecordErrors), badTimestamps(t, record.Zstd, 20*MaxRecordErrors)
	validate(large, cfg, now) // warm the scratch pool and the zstd decoders
	allocs := func(b []byte) float64 {
		return testing.AllocsPerRun(5, func() { validate(b, cfg, now) })
	}
	if a, b := allocs(small), allocs(large); b > a+2 {
		t.Fatalf("%v allocations for %d bad records, %v for %d: per-record allocations", b, 20*MaxRecordErrors, a, MaxRecordErrors)
	}
}
