package record

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Pooled codec state: the only package-level mutable state. Each pooled value is used by one
// goroutine at a time (between Get and Put), so none needs a lock of its own.

type gzipDecoder struct {
	src bytes.Reader
	zr  gzip.Reader
}

var gzipDecoders = sync.Pool{New: func() any { return new(gzipDecoder) }}

func decompressGzip(dst, src []byte, limit int) ([]byte, error) {
	d := gzipDecoders.Get().(*gzipDecoder)
	defer gzipDecoders.Put(d)
	d.src.Reset(src)
	if err := d.zr.Reset(&d.src); err != nil {
		return dst, err
	}
	dst, err := readLimited(dst, &d.zr, limit, len(src))
	d.src.Reset(nil)
	return dst, err
}

type gzipEncoder struct {
	out appendWriter
	zw  *gzip.Writer
}

// Java's GZIPOutputStream, which Kafka uses, compresses at zlib's default level; a topic's
// compression.gzip.level picks another (1-9).
func newGzipEncoder(level int) any {
	if level == 0 {
		level = gzip.DefaultCompression
	}
	e := new(gzipEncoder)
	e.zw, _ = gzip.NewWriterLevel(&e.out, level)
	return e
}

func compressGzip(dst, src []byte, level int) ([]byte, error) {
	pool := encoderPool(Gzip, level)
	e := pool.Get().(*gzipEncoder)
	defer pool.Put(e)
	e.out.b = dst
	e.zw.Reset(&e.out)
	_, err := e.zw.Write(src)
	if err == nil {
		err = e.zw.Close()
	}
	dst, e.out.b = e.out.b, nil
	if err != nil {
		return dst, fmt.Errorf("record: gzip: %w", err)
	}
	return dst, nil
}

type lz4Decoder struct {
	src bytes.Reader
	zr  *lz4.Reader
}

var lz4Decoders = sync.Pool{New: func() any {
	d := new(lz4Decoder)
	d.zr = lz4.NewReader(nil)
	return d
}}

func decompressLZ4(dst, src []byte, limit int) ([]byte, error) {
	d := lz4Decoders.Get().(*lz4Decoder)
	defer lz4Decoders.Put(d)
	d.src.Reset(src)
	d.zr.Reset(&d.src)
	dst, err := readLimited(dst, d.zr, limit, len(src))
	d.zr.Reset(nil)
	d.src.Reset(nil)
	return dst, err
}

type lz4Encoder struct {
	out appendWriter
	zw  *lz4.Writer
}

// newLZ4Encoder maps Kafka's compression.lz4.level (1-17, where 1 is LZ4's fast compressor
// and higher levels its high-compression one) onto pierrec's levels, which stop at 9.
func newLZ4Encoder(level int) any {
	lz4Level := lz4.Fast
	if level > 1 {
		lz4Level = lz4Levels[min(level, len(lz4Levels))-1]
	}
	e := new(lz4Encoder)
	e.zw = lz4.NewWriter(&e.out)
	// The frame Kafka's KafkaLZ4BlockOutputStream writes: 64 KiB independent blocks, no block
	// or content checksums, no content size. Concurrency 1 keeps compression on the caller's
	// goroutine.
	_ = e.zw.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false),
		lz4.BlockChecksumOption(false), lz4.ConcurrencyOption(1), lz4.CompressionLevelOption(lz4Level))
	return e
}

var lz4Levels = [...]lz4.CompressionLevel{lz4.Level1, lz4.Level2, lz4.Level3, lz4.Level4,
	lz4.Level5, lz4.Level6, lz4.Level7, lz4.Level8, lz4.Level9}

func compressLZ4(dst, src []byte, level int) ([]byte, error) {
	pool := encoderPool(LZ4, level)
	e := pool.Get().(*lz4Encoder)
	defer pool.Put(e)
	e.out.b = dst
	e.zw.Reset(&e.out)
	_, err := e.zw.Write(src)
	if err == nil {
		err = e.zw.Close()
	}
	dst, e.out.b = e.out.b, nil
	if err != nil {
		return dst, fmt.Errorf("record: lz4: %w", err)
	}
	return dst, nil
}

// zstd decoders are expensive to build (tables, buffers), hence the pool. DecodeAll keeps the
// frame's history in the output slice itself, so a frame announcing a huge window costs no
// memory of its own; the decoder's max-memory option bounds the output (checked before
// trusting a content size, and after every block of at most 128 KiB).
var zstdDecoders sync.Pool // of *zstdDecoder

type zstdDecoder struct {
	d          *zstd.Decoder
	maxDecoded int // the decoder's current WithDecoderMaxMemory
}

// zstdMinWindow is the window every decoder should accept whatever its memory limit: RFC 8878
// recommends supporting windows up to 8 MiB, and zstd streams (Java clients compress through
// one) routinely announce a window larger than a small batch's content.
const zstdMinWindow = 8 << 20

// zstdFirstRoom is the least output room a decompression starts with; zstdMaxBlock is the
// most one zstd block decodes to.
// zstdSlack is the capacity kept past the room: a block and the decoder's over-allocation.
const (
	zstdFirstRoom = 64 << 10
	zstdMaxBlock  = 128 << 10
	zstdSlack     = zstdMaxBlock + 1<<10
)

// setMaxDecoded changes the output bound; only a change costs anything, so callers with one
// constant limit pay nothing per batch.
func (z *zstdDecoder) setMaxDecoded(n int) error {
	if z.maxDecoded == n {
		return nil
	}
	if err := z.d.ResetWithOptions(nil, zstd.WithDecoderMaxMemory(uint64(n))); err != nil {
		return err
	}
	z.maxDecoded = n
	return nil
}

// decompressZstd decodes into room it sizes itself: the decoder may use only dst's spare
// capacity (WithDecodeAllCapLimit), and when a frame needs more the room doubles and the frame
// is decoded again, up to limit. Left to grow its output, the decoder appends in small steps
// (about 40 bytes allocated per byte kept for a frame without a content size), which is what
// let a few concurrent 1 MB bombs cost hundreds of MiB; doubling costs at most twice the
// output in allocation and twice the decoding work, and a pooled dst of enough capacity
// costs nothing.
func decompressZstd(dst, src []byte, limit int) ([]byte, error) {
	z, _ := zstdDecoders.Get().(*zstdDecoder)
	if z == nil {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecodeAllCapLimit(true))
		if err != nil {
			return dst, fmt.Errorf("record: new zstd decoder: %w", err)
		}
		z = &zstdDecoder{d: d}
	}
	defer zstdDecoders.Put(z)
	start := len(dst)
	room := min(max(cap(dst)-start-zstdSlack, 4*len(src), zstdFirstRoom), limit)
	var frame zstd.Header
	if frame.Decode(src) == nil && frame.HasFCS {
		// A content size (what EncodeAll writes) sizes the first frame's room at once; one
		// past the limit fails in the loop without decoding anything.
		room = max(room, int(min(frame.FrameContentSize, uint64(limit))))
	}
	for {
		// The decoder's bound is the room (at least the standard window, which it also
		// bounds), checked after each block; the slack past the room holds the block that
		// crosses it, so the decoder never reallocates the output to find out.
		if err := z.setMaxDecoded(max(room, zstd.MinWindowSize)); err != nil {
			return dst, err
		}
		if cap(dst)-start < room+zstdSlack {
			grown := make([]byte, start, start+room+zstdSlack)
			copy(grown, dst)
			dst = grown
		}
		// DecodeAll is handed an empty slice over dst's spare capacity: the decoder measures
		// its bounds from the start of the slice it is given, not from the bytes it appends.
		out, err := z.d.DecodeAll(src, dst[start:start:start+room+zstdSlack])
		if errors.Is(err, zstd.ErrWindowSizeExceeded) && z.maxDecoded < zstdMinWindow {
			// The decoder refuses windows larger than its output bound, but a large window
			// says nothing about the content size. Allow the standard minimum and judge the
			// output.
			if err := z.setMaxDecoded(zstdMinWindow); err != nil {
				return dst, err
			}
			out, err = z.d.DecodeAll(src, dst[start:start:start+room+zstdSlack])
		}
		if err == nil && len(out) > room {
			err = zstd.ErrDecoderSizeExceeded
		}
		// Out of room: the decoder says so, or a compressed block that would overflow fails
		// with a plain error once the output is within a block of the room. Corruption
		// elsewhere is not retried.
		full := errors.Is(err, zstd.ErrDecoderSizeExceeded) ||
			err != nil && !errors.Is(err, zstd.ErrWindowSizeExceeded) && len(out)+zstdMaxBlock >= room
		switch {
		case full && room < limit:
			room = min(2*room, limit)
			continue
		case full || errors.Is(err, zstd.ErrWindowSizeExceeded):
			return dst, fmt.Errorf("%w: zstd output or window passes %d bytes: %w", ErrTooLarge, limit, err)
		case err != nil:
			return dst, err
		}
		if len(out) > 0 && &out[0] != &dst[:start+1][start] {
			return append(dst, out...), nil // not decoded in place (the cap limit should prevent this)
		}
		return dst[:start+len(out)], nil
	}
}

// Kafka's default zstd level is 3, which klauspost's SpeedDefault approximates; other levels
// of compression.zstd.level map through EncoderLevelFromZstd (negative ones are its fastest).
// WithZeroFrames makes empty input a valid (empty) frame rather than no bytes at all.
func newZstdEncoder(level int) any {
	speed := zstd.SpeedDefault
	if level != 0 {
		speed = zstd.EncoderLevelFromZstd(level)
	}
	e, err := zstd.NewWriter(nil,
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderLevel(speed),
		zstd.WithZeroFrames(true))
	if err != nil {
		return err
	}
	return e
}

func compressZstd(dst, src []byte, level int) ([]byte, error) {
	pool := encoderPool(Zstd, level)
	e, ok := pool.Get().(*zstd.Encoder)
	if !ok {
		return dst, fmt.Errorf("record: new zstd encoder: %v", pool.New())
	}
	defer pool.Put(e)
	return e.EncodeAll(src, dst), nil
}

// encoderKey names one pool of compressors: a codec at one level (0: the codec's default).
type encoderKey struct {
	codec Codec
	level int
}

// encoderPools holds a sync.Pool per (codec, level) in use; levels come from topic configs,
// so only a handful ever exist.
var encoderPools sync.Map // encoderKey → *sync.Pool

func encoderPool(c Codec, level int) *sync.Pool {
	key := encoderKey{c, level}
	if p, ok := encoderPools.Load(key); ok {
		return p.(*sync.Pool)
	}
	var build func(int) any
	switch c {
	case Gzip:
		build = newGzipEncoder
	case LZ4:
		build = newLZ4Encoder
	default:
		build = newZstdEncoder
	}
	p, _ := encoderPools.LoadOrStore(key, &sync.Pool{New: func() any { return build(level) }})
	return p.(*sync.Pool)
}
