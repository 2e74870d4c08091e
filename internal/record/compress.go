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

var gzipEncoders = sync.Pool{New: func() any {
	e := new(gzipEncoder)
	// Java's GZIPOutputStream, which Kafka uses, compresses at zlib's default level.
	e.zw, _ = gzip.NewWriterLevel(&e.out, gzip.DefaultCompression)
	return e
}}

func compressGzip(dst, src []byte) ([]byte, error) {
	e := gzipEncoders.Get().(*gzipEncoder)
	defer gzipEncoders.Put(e)
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

var lz4Encoders = sync.Pool{New: func() any {
	e := new(lz4Encoder)
	e.zw = lz4.NewWriter(&e.out)
	// The frame Kafka's KafkaLZ4BlockOutputStream writes: 64 KiB independent blocks, no block
	// or content checksums, no content size. Concurrency 1 keeps compression on the caller's
	// goroutine.
	_ = e.zw.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false),
		lz4.BlockChecksumOption(false), lz4.ConcurrencyOption(1), lz4.CompressionLevelOption(lz4.Fast))
	return e
}}

func compressLZ4(dst, src []byte) ([]byte, error) {
	e := lz4Encoders.Get().(*lz4Encoder)
	defer lz4Encoders.Put(e)
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
// memory; WithDecodeAllCapLimit makes the decoder stop at cap(dst), which is how the caller's
// limit is enforced.
var zstdDecoders sync.Pool // of *zstd.Decoder

func newZstdDecoder() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderMaxWindow(zstd.MaxWindowSize))
}

func decompressZstd(dst, src []byte, limit int) ([]byte, error) {
	d, _ := zstdDecoders.Get().(*zstd.Decoder)
	if d == nil {
		var err error
		if d, err = newZstdDecoder(); err != nil {
			return dst, fmt.Errorf("record: new zstd decoder: %w", err)
		}
	}
	defer zstdDecoders.Put(d)
	start := len(dst)
	// Try with the room dst already has (or a guess from the input size), doubling while the
	// decoder runs out of room, up to limit. A failed attempt costs at most the bytes it
	// decoded, so the total work stays within about twice the final output.
	room := min(max(cap(dst)-start, 4*len(src), 4096), limit)
	for {
		if cap(dst)-start < room {
			dst = append(dst[:cap(dst)], make([]byte, start+room-cap(dst))...)[:start]
		}
		out, err := d.DecodeAll(src, dst[:start:start+room])
		switch {
		case err == nil:
			return out, nil
		case !errors.Is(err, zstd.ErrDecoderSizeExceeded):
			return dst[:start], err
		case room >= limit:
			return dst[:start], fmt.Errorf("%w: output passes %d bytes", ErrTooLarge, limit)
		}
		room = min(2*room, limit)
	}
}

// Kafka's default zstd level is 3, which klauspost's SpeedDefault approximates. WithZeroFrames
// makes empty input a valid (empty) frame rather than no bytes at all.
var zstdEncoders sync.Pool // of *zstd.Encoder

func newZstdEncoder() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil,
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithZeroFrames(true))
}

func compressZstd(dst, src []byte) ([]byte, error) {
	e, _ := zstdEncoders.Get().(*zstd.Encoder)
	if e == nil {
		var err error
		if e, err = newZstdEncoder(); err != nil {
			return dst, fmt.Errorf("record: new zstd encoder: %w", err)
		}
	}
	defer zstdEncoders.Put(e)
	return e.EncodeAll(src, dst), nil
}
