package record

import (
	"fmt"
	"testing"
)

// The CPU cost of the legacy conversions on one request's records (100 records of 100-byte
// values), next to validating the same records as a v2 batch (what a v2 produce costs):
//
//	go test ./internal/record -run '^$' -bench 'Legacy' -benchmem -count 3 -cpu 1

func legacyBenchRecords(b *testing.B, codec Codec) []byte {
	b.Helper()
	bb := NewBuilder(codec)
	for i := range 100 {
		bb.Add(1_700_000_000_000+int64(i), []byte(fmt.Sprintf("key-%d", i)), []byte(fmt.Sprintf("%0100d", i)))
	}
	batch, err := bb.Build(nil)
	if err != nil {
		b.Fatal(err)
	}
	return batch
}

func BenchmarkLegacyProduce(b *testing.B) {
	for _, codec := range []Codec{None, LZ4, Gzip} {
		batch := legacyBenchRecords(b, codec)
		b.Run(codec.String()+"/v2-validate", func(b *testing.B) {
			var buf []byte
			b.SetBytes(100 * 100)
			for range b.N {
				if _, err := Validate(batch, ValidateOptions{DecodeRecords: true, Buffer: &buf}); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, magic := range []int8{1, 0} {
			set, _, err := DownConvert(nil, batch, DownConvertOptions{Magic: magic, MaxBytes: 1 << 20})
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/magic%d-convert+validate", codec, magic), func(b *testing.B) {
				var buf, out []byte
				b.SetBytes(100 * 100)
				for range b.N {
					out, _, err = ConvertLegacy(out[:0], set, LegacyOptions{Buffer: &buf})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := Validate(out, ValidateOptions{DecodeRecords: true, Buffer: &buf}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkLegacyDownConvert(b *testing.B) {
	for _, codec := range []Codec{None, LZ4, Gzip} {
		batch := legacyBenchRecords(b, codec)
		for _, magic := range []int8{1, 0} {
			b.Run(fmt.Sprintf("%s/magic%d", codec, magic), func(b *testing.B) {
				var out []byte
				b.SetBytes(100 * 100)
				for range b.N {
					var err error
					if out, _, err = DownConvert(out[:0], batch, DownConvertOptions{Magic: magic, MaxBytes: 1 << 20}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
