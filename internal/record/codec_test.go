package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/snappy/xerial"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

func payloads() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 200<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	text := bytes.Repeat([]byte(`{"user":"alice","action":"click","n":12345}`+"\n"), 30000)
	return map[string][]byte{
		"empty":         {},
		"one byte":      {'x'},
		"random 200KiB": random,
		"text 1.3MiB":   text,
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for name, src := range payloads() {
		for _, codec := range allCodecs {
			t.Run(codec.String()+"/"+name, func(t *testing.T) {
				comp, err := codec.Compress([]byte("pre"), src)
				wantErr(t, err, nil)
				if string(comp[:3]) != "pre" {
					t.Fatal("Compress did not append")
				}
				out, err := codec.Decompress([]byte("x"), comp[3:], len(src))
				wantErr(t, err, nil)
				if out[0] != 'x' || !bytes.Equal(out[1:], src) {
					t.Fatalf("round trip differs: %d bytes back, want %d", len(out)-1, len(src))
				}
				if len(src) > 0 {
					// One byte under the size must be refused, whatever the codec.
					_, err = codec.Decompress(nil, comp[3:], len(src)-1)
					wantErr(t, err, ErrTooLarge)
				}
			})
		}
	}
}

// Compressed data produced by other encoders, the way clients produce it.
func TestDecompressForeignFraming(t *testing.T) {
	src := bytes.Repeat([]byte("kafka record payload "), 10000) // 210 KB: several xerial chunks
	lz4Default := func() []byte {
		var buf bytes.Buffer
		w := lz4.NewWriter(&buf) // 4 MiB blocks and a content checksum: franz-go's defaults
		w.Write(src)
		w.Close()
		return buf.Bytes()
	}()
	zstdStream := func() []byte {
		var buf bytes.Buffer
		w, _ := zstd.NewWriter(&buf, zstd.WithWindowSize(1<<23)) // streamed: no content size
		w.Write(src)
		w.Close()
		return buf.Bytes()
	}()
	// xerial framing assembled by hand from the format description: header, then two chunks
	// of different sizes.
	handXerial := []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}
	for _, chunk := range [][]byte{src[:50000], src[50000:]} {
		block := snappy.Encode(nil, chunk)
		handXerial = binary.BigEndian.AppendUint32(handXerial, uint32(len(block)))
		handXerial = append(handXerial, block...)
	}
	tests := []struct {
		name  string
		codec Codec
		in    []byte
	}{
		{"raw snappy block", Snappy, snappy.Encode(nil, src)},
		{"xerial snappy (assembled by hand)", Snappy, handXerial},
		{"xerial snappy (third-party encoder)", Snappy, xerial.Encode(nil, src)},
		{"xerial snappy, header only", Snappy, xerial.Encode(nil, nil)},
		{"lz4 frame with 4MiB blocks and checksum", LZ4, lz4Default},
		{"zstd stream with 8MiB window", Zstd, zstdStream},
		{"zstd 8MiB window, 1 byte of content", Zstd, zstdFrameWithWindow(t, 23)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := src
			switch {
			case len(tt.in) == xerialHeaderSize:
				want = nil
			case tt.codec == Zstd && len(tt.in) < 20:
				want = []byte("z")
			}
			out, err := tt.codec.Decompress(nil, tt.in, len(want))
			wantErr(t, err, nil)
			if !bytes.Equal(out, want) {
				t.Fatalf("got %d bytes, want %d", len(out), len(want))
			}
		})
	}
}

func TestCompressFraming(t *testing.T) {
	src := bytes.Repeat([]byte("0123456789"), 10000)

	snap, err := Snappy.Compress(nil, src)
	wantErr(t, err, nil)
	if !bytes.HasPrefix(snap, xerialMagic) || binary.BigEndian.Uint32(snap[8:]) != 1 || binary.BigEndian.Uint32(snap[12:]) != 1 {
		t.Fatalf("snappy output lacks the xerial header: %x", snap[:16])
	}
	if back, err := xerial.Decode(snap); err != nil || !bytes.Equal(back, src) {
		t.Fatalf("third-party xerial decoder cannot read our snappy: %v", err)
	}

	l, err := LZ4.Compress(nil, src)
	wantErr(t, err, nil)
	// Magic, then FLG 0x60 (version 01, independent blocks, no checksums, no content size)
	// and BD 0x40 (64 KiB blocks): what KafkaLZ4BlockOutputStream writes.
	if binary.LittleEndian.Uint32(l) != 0x184d2204 || l[4] != 0x60 || l[5] != 0x40 {
		t.Fatalf("lz4 frame header % x", l[:7])
	}
}

func TestDecompressCorrupt(t *testing.T) {
	src := bytes.Repeat([]byte("abcdefgh"), 5000)
	for _, codec := range []Codec{Gzip, Snappy, LZ4, Zstd} {
		comp, err := codec.Compress(nil, src)
		wantErr(t, err, nil)
		flipped := clone(comp)
		flipped[len(flipped)/2] ^= 0xff
		tests := []struct {
			name string
			in   []byte
		}{
			{"empty", nil},
			{"truncated", comp[:len(comp)/2]},
			{"last byte missing", comp[:len(comp)-1]},
			{"byte flipped", flipped},
			{"garbage", bytes.Repeat([]byte{0x5a}, 100)},
		}
		for _, tt := range tests {
			t.Run(codec.String()+"/"+tt.name, func(t *testing.T) {
				out, err := codec.Decompress(nil, tt.in, 1<<20)
				if err == nil && bytes.Equal(out, src) {
					return // some flips land where a codec has no check (e.g. a literal byte)
				}
				if err == nil && tt.name == "byte flipped" {
					return
				}
				wantErr(t, err, ErrCorrupt)
			})
		}
	}
	_, err := Codec(7).Decompress(nil, []byte{1}, 10)
	wantErr(t, err, ErrCorrupt)

	block := snappy.Encode(nil, src)
	xhdr := []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}
	xerialCases := []struct {
		name string
		in   []byte
	}{
		{"header cut short", xhdr[:12]},
		{"chunk length cut short", append(clone(xhdr), 0, 0)},
		{"chunk overruns payload", binary.BigEndian.AppendUint32(clone(xhdr), uint32(len(block)+1))},
		{"chunk is not snappy", append(binary.BigEndian.AppendUint32(clone(xhdr), 3), 0xff, 0xff, 0xff)},
	}
	for _, tt := range xerialCases {
		t.Run("xerial/"+tt.name, func(t *testing.T) {
			_, err := Snappy.Decompress(nil, tt.in, 1<<20)
			wantErr(t, err, ErrCorrupt)
		})
	}
}

// Pooled codec state must not leak between concurrent callers.
func TestCodecsConcurrent(t *testing.T) {
	inputs := make([][]byte, 8)
	for i := range inputs {
		inputs[i] = bytes.Repeat([]byte{byte('a' + i)}, 10000+i*1000)
	}
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func() {
			var err error
			for n := 0; n < 20 && err == nil; n++ {
				for _, codec := range allCodecs {
					src := inputs[(g+n)%len(inputs)]
					comp, cerr := codec.Compress(nil, src)
					out, derr := codec.Decompress(nil, comp, len(src))
					switch {
					case cerr != nil:
						err = cerr
					case derr != nil:
						err = derr
					case !bytes.Equal(out, src):
						err = fmt.Errorf("%s: output mixed up between goroutines", codec)
					}
				}
			}
			done <- err
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// allocatedDuring reports the bytes the Go heap handed out while f ran.
func allocatedDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Small inputs that expand far past the bound must fail with ErrTooLarge after allocating
// about the bound, not what they expand to or what they claim.
func TestDecompressionBombs(t *testing.T) {
	const limit = 1 << 20
	zeros := make([]byte, 64<<20)
	bomb := func(c Codec) []byte {
		b, err := c.Compress(nil, zeros)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rawSnappyClaim := binary.AppendUvarint(nil, 1<<31) // claims 2 GiB, holds nothing
	tests := []struct {
		name  string
		codec Codec
		in    []byte
	}{
		{"gzip 64MiB of zeros", Gzip, bomb(Gzip)},
		{"zstd 64MiB of zeros", Zstd, bomb(Zstd)},
		{"lz4 64MiB of zeros", LZ4, bomb(LZ4)},
		{"xerial snappy 64MiB of zeros", Snappy, bomb(Snappy)},
		{"raw snappy claiming 2GiB", Snappy, rawSnappyClaim},
		{"zstd claiming a 512MiB window", Zstd, zstdFrameWithWindow(t, 29)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			used := allocatedDuring(func() { _, err = tt.codec.Decompress(nil, tt.in, limit) })
			// The window claim is refused too: a streaming decoder would need that much
			// memory, and it passes both the limit and the 8 MiB every decoder must accept.
			wantErr(t, err, ErrTooLarge)
			if used > 8*limit {
				t.Fatalf("input of %d bytes made Decompress allocate %d bytes (limit %d)", len(tt.in), used, limit)
			}
		})
	}
}

// zstdFrameWithWindow hand-assembles a zstd frame whose header announces a 2^log-byte window
// and whose one raw block holds a single byte.
func zstdFrameWithWindow(t *testing.T, log int) []byte {
	t.Helper()
	f := []byte{0x28, 0xb5, 0x2f, 0xfd} // magic
	f = append(f, 0x00)                 // descriptor: no content size, window descriptor follows
	f = append(f, byte((log-10)<<3))    // window descriptor: exponent, mantissa 0
	// Block header (3 bytes, little endian): last=1, type=raw(0), size=1.
	bh := uint32(1) | 0<<1 | 1<<3
	f = append(f, byte(bh), byte(bh>>8), byte(bh>>16), 'z')
	return f
}

func TestCompressLevels(t *testing.T) {
	// Words in random order: compressible, but not so trivially that every level finds the
	// same encoding.
	rnd := rand.New(rand.NewPCG(1, 2))
	words := []string{"kafka", "broker", "sluice", "log", "segment", "offset", "record", "batch"}
	var text bytes.Buffer
	for text.Len() < 200_000 {
		text.WriteString(words[rnd.IntN(len(words))])
		text.WriteByte(' ')
	}
	src := text.Bytes()
	for _, tc := range []struct {
		name      string
		codec     Codec
		low, high int
	}{
		{"gzip", Gzip, 1, 9},
		{"lz4", LZ4, 1, 17},
		{"zstd", Zstd, -5, 19},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sizes := map[int]int{}
			for _, level := range []int{0, tc.low, tc.high} {
				out, err := tc.codec.CompressLevel(nil, src, level)
				if err != nil {
					t.Fatal(err)
				}
				back, err := tc.codec.Decompress(nil, out, len(src))
				if err != nil || !bytes.Equal(back, src) {
					t.Fatalf("level %d does not round-trip: %v", level, err)
				}
				sizes[level] = len(out)
			}
			if sizes[tc.high] >= sizes[tc.low] {
				t.Fatalf("level %d gives %d bytes, more than level %d's %d", tc.high, sizes[tc.high], tc.low, sizes[tc.low])
			}
		})
	}
}
