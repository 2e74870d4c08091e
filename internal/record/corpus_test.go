package record

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/klauspost/compress/snappy"
)

var updateFuzzCorpus = flag.Bool("update-fuzz-corpus", false, "rewrite testdata/fuzz seed corpora")

// TestWriteFuzzCorpus regenerates the committed seed corpora from the Builder:
//
//	go test ./internal/record -run TestWriteFuzzCorpus -update-fuzz-corpus
func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateFuzzCorpus {
		t.Skip("run with -update-fuzz-corpus to rewrite the seed corpora")
	}
	batches := seedBatches(t)
	for name, b := range batches {
		writeSeed(t, "FuzzValidate", name, b)
		writeSeed(t, "FuzzRecords", name, b)
	}
	var log []byte
	for _, c := range allCodecs {
		log = append(log, batches["valid-"+c.String()]...)
	}
	writeSeed(t, "FuzzBatches", "five-codecs", log)
	writeSeed(t, "FuzzBatches", "torn-tail", log[:len(log)-9])
	writeSeed(t, "FuzzBatches", "torn-header", log[:len(batches["valid-none"])+30])
	mid := bytes.Clone(log)
	mid[len(batches["valid-none"])+offMagic] = 1
	writeSeed(t, "FuzzBatches", "legacy-magic-second", mid)
	writeSeed(t, "FuzzBatches", "empty", nil)

	text := bytes.Repeat([]byte("seed record payload "), 40)
	for _, c := range allCodecs {
		comp, err := c.Compress(nil, text)
		if err != nil {
			t.Fatal(err)
		}
		writeSeed(t, "FuzzDecompress", c.String(), comp, uint8(c))
		writeSeed(t, "FuzzDecompress", c.String()+"-truncated", comp[:len(comp)*2/3], uint8(c))
		bomb, err := c.Compress(nil, make([]byte, 1<<20))
		if err != nil {
			t.Fatal(err)
		}
		if len(bomb) < 4<<10 {
			writeSeed(t, "FuzzDecompress", c.String()+"-bomb", bomb, uint8(c))
		}
	}
	writeSeed(t, "FuzzDecompress", "snappy-raw", snappy.Encode(nil, text), uint8(Snappy))
	writeSeed(t, "FuzzDecompress", "zstd-8mib-window", zstdFrameWithWindow(t, 23), uint8(Zstd))
}

// seedBatches are small batches covering each codec, headers, null fields, control batches
// and the common ways a batch goes bad.
func seedBatches(t *testing.T) map[string][]byte {
	t.Helper()
	seeds := map[string][]byte{}
	for _, c := range allCodecs {
		b := NewBuilder(c)
		b.BaseOffset = 7
		b.Add(1000, []byte("key"), []byte("value"), RecordHeader{"h", []byte("v")}, RecordHeader{"n", nil})
		b.Add(1001, nil, nil)
		if err := b.AddAt(4, 999, []byte{}, bytes.Repeat([]byte("x"), 100)); err != nil {
			t.Fatal(err)
		}
		batch, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		seeds["valid-"+c.String()] = batch
	}
	ctl := NewBuilder(None)
	ctl.Control, ctl.Transactional = true, true
	ctl.ProducerID, ctl.ProducerEpoch = 9, 1
	if err := ctl.AddControl(ControlCommit, 5, 3); err != nil {
		t.Fatal(err)
	}
	control, err := ctl.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	seeds["control-commit"] = control

	v := seeds["valid-none"]
	seeds["truncated"] = v[:len(v)-3]
	seeds["header-only"] = v[:HeaderSize]
	badCRC := bytes.Clone(v)
	badCRC[len(badCRC)-1] ^= 0x40
	seeds["bad-crc"] = badCRC
	legacy := bytes.Clone(v)
	legacy[offMagic] = 1
	seeds["magic-1"] = legacy
	seeds["wrong-count"] = fixCRC(putInt32(bytes.Clone(v), offNumRecords, 2))
	return seeds
}

// writeSeed writes one corpus entry in the go fuzz format: a header line, then one Go literal
// per argument of the fuzz function.
func writeSeed(t *testing.T, target, name string, data []byte, prefix ...uint8) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, p := range prefix {
		fmt.Fprintf(&b, "uint8(%d)\n", p)
	}
	fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(data)))
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
