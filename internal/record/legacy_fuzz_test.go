package record

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// legacySeeds are kafka-python's sets and Sluice's own of each magic and codec.
func legacySeeds(f *testing.F) [][]byte {
	f.Helper()
	var seeds [][]byte
	files, _ := filepath.Glob(filepath.Join("testdata", "legacy", "*.bin"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	for _, magic := range []int8{0, 1} {
		for _, codec := range []Codec{None, Gzip, Snappy, LZ4} {
			seeds = append(seeds, legacySet(f, magic, codec, sampleRecords(4)))
		}
	}
	return seeds
}

// FuzzConvertLegacy: a produce request's legacy message set. Whatever it holds, conversion
// fails with a sentinel or yields a valid v2 batch of as many records, which down-converts
// back to a set of the same records.
func FuzzConvertLegacy(f *testing.F) {
	for _, s := range legacySeeds(f) {
		f.Add(s)
	}
	var buf []byte
	f.Fuzz(func(t *testing.T, data []byte) {
		out, info, err := ConvertLegacy([]byte("keep"), data, LegacyOptions{MaxDecompressedSize: fuzzLimit, Buffer: &buf})
		sentinel(t, err)
		if string(out[:4]) != "keep" {
			t.Fatal("dst prefix lost")
		}
		if err != nil {
			if len(out) != 4 {
				t.Fatal("dst grew on error")
			}
			return
		}
		batch := out[4:]
		h, got := readV2(t, batch)
		if int(h.NumRecords) != info.Messages || len(got) != info.Messages {
			t.Fatalf("batch of %d records, info says %d", h.NumRecords, info.Messages)
		}
		if h.Compression() == Zstd {
			t.Fatal("zstd from a legacy set")
		}
		set, res, err := DownConvert(nil, batch, DownConvertOptions{Magic: info.Magic, MaxBytes: 1})
		if err != nil || res.Batches != 1 {
			t.Fatalf("down-convert of a converted batch: %+v %v", res, err)
		}
		again, _, err := ConvertLegacy(nil, set, LegacyOptions{MaxDecompressedSize: 4 * fuzzLimit})
		if err != nil {
			t.Fatalf("re-convert: %v", err)
		}
		_, back := readV2(t, again)
		for i := range got {
			if !bytes.Equal(got[i].key, back[i].key) || !bytes.Equal(got[i].value, back[i].value) ||
				(info.Magic == 1 && got[i].timestamp != back[i].timestamp) {
				t.Fatalf("record %d changed in the round trip", i)
			}
		}
	})
}

// FuzzDownConvert: v2 bytes read from a log (normally valid, but a decoder of disk bytes must
// survive any). The output is always a well-formed legacy message set.
func FuzzDownConvert(f *testing.F) {
	for _, c := range allCodecs {
		f.Add(uint8(0), buildBatch(f, c, 5, 20))
		f.Add(uint8(1), buildBatch(f, c, 5, 20))
	}
	f.Fuzz(func(t *testing.T, magic uint8, data []byte) {
		m := int8(magic % 2)
		out, _, err := DownConvert(nil, data, DownConvertOptions{Magic: m, MaxBytes: 1 << 16, MaxDecompressedSize: fuzzLimit})
		sentinel(t, err)
		for p := out; len(p) > 0; {
			msg, err := readLegacyMessage(p)
			if err != nil {
				t.Fatalf("down-converted set unreadable: %v", err)
			}
			if msg.magic != m {
				t.Fatalf("magic %d, want %d", msg.magic, m)
			}
			p = p[msg.size:]
		}
	})
}
