package record

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Codec is a compression codec, as numbered in attributes bits 0-2 of a batch header.
type Codec int8

// The codecs Kafka defines. Their names (String) are the values of compression.type.
const (
	None   Codec = 0
	Gzip   Codec = 1
	Snappy Codec = 2
	LZ4    Codec = 3
	Zstd   Codec = 4
)

func (c Codec) valid() bool { return c >= None && c <= Zstd }

// String returns Kafka's name for the codec ("none", "gzip", "snappy", "lz4", "zstd").
func (c Codec) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Snappy:
		return "snappy"
	case LZ4:
		return "lz4"
	case Zstd:
		return "zstd"
	}
	return "codec(" + strconv.Itoa(int(c)) + ")"
}

// Decompress appends the decompressed form of src to dst and returns the extended slice. It
// expands at most limit bytes: input that would yield more returns ErrTooLarge, having
// allocated no more than about limit bytes whatever the input claims about its own size.
// Malformed input returns ErrCorrupt. Decompressor state is pooled; Decompress is safe for
// concurrent use.
//
// Snappy input may be a raw snappy block or the xerial framing Java clients send; see
// docs/format/record-batch.md.
func (c Codec) Decompress(dst, src []byte, limit int) ([]byte, error) {
	if len(src) == 0 && c != None {
		// Every codec's framing has at least a header; no bytes is not a compressed payload.
		return dst, fmt.Errorf("%w: empty %s payload", ErrCorrupt, c)
	}
	var err error
	switch c {
	case None:
		if len(src) > limit {
			return dst, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(src), limit)
		}
		return append(dst, src...), nil
	case Gzip:
		dst, err = decompressGzip(dst, src, limit)
	case Snappy:
		dst, err = decompressSnappy(dst, src, limit)
	case LZ4:
		dst, err = decompressLZ4(dst, src, limit)
	case Zstd:
		dst, err = decompressZstd(dst, src, limit)
	default:
		return dst, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, c)
	}
	if err != nil && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrCorrupt) {
		err = fmt.Errorf("%w: %s: %w", ErrCorrupt, c, err)
	}
	return dst, err
}

// Compress appends the compressed form of src to dst, framed the way Kafka's own broker frames
// it (see docs/format/record-batch.md), so that every client can read it. Compressor state is
// pooled; Compress is safe for concurrent use.
func (c Codec) Compress(dst, src []byte) ([]byte, error) { return c.CompressLevel(dst, src, 0) }

// CompressLevel is Compress at a codec level as Kafka's compression.gzip.level (1-9),
// compression.lz4.level (1-17) and compression.zstd.level (negative to 22) name them; 0 is the
// codec's default, and snappy and none have no levels. Levels outside a codec's range are
// clamped by the codec.
func (c Codec) CompressLevel(dst, src []byte, level int) ([]byte, error) {
	switch c {
	case None:
		return append(dst, src...), nil
	case Gzip:
		if level < -1 || level > 9 {
			level = 0
		}
		return compressGzip(dst, src, level)
	case Snappy:
		return compressSnappy(dst, src), nil
	case LZ4:
		return compressLZ4(dst, src, level)
	case Zstd:
		return compressZstd(dst, src, level)
	}
	return dst, fmt.Errorf("record: compress: unknown compression codec %d", c)
}

// readLimited appends what r yields until EOF to dst, refusing to take more than limit bytes.
// It grows dst as output actually arrives (starting from a guess based on the compressed size
// hint), never from a size the stream announces.
func readLimited(dst []byte, r io.Reader, limit, hint int) ([]byte, error) {
	start := len(dst)
	zeroReads := 0
	for {
		got := len(dst) - start
		if got > limit {
			return dst[:start+limit], fmt.Errorf("%w: output passes %d bytes", ErrTooLarge, limit)
		}
		if len(dst) == cap(dst) {
			// Room for up to limit+1 bytes in total: one byte past the limit is how we learn
			// the stream would exceed it.
			grow := min(max(got, 4*hint, 512), limit+1-got)
			dst = append(dst[:cap(dst)], make([]byte, grow)...)[:len(dst)]
		}
		window := dst[len(dst):min(cap(dst), start+limit+1)]
		n, err := r.Read(window)
		dst = dst[:len(dst)+n]
		switch {
		case err == io.EOF:
			if len(dst)-start > limit {
				return dst[:start+limit], fmt.Errorf("%w: output passes %d bytes", ErrTooLarge, limit)
			}
			return dst, nil
		case err != nil:
			return dst, err
		case n == 0:
			if zeroReads++; zeroReads > 100 {
				return dst, io.ErrNoProgress
			}
		default:
			zeroReads = 0
		}
	}
}

// appendWriter is an io.Writer that appends to a slice, so compressors can write straight into
// the caller's dst.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
