package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/klauspost/compress/snappy"
)

// Kafka's snappy payloads come in two shapes. Java clients and Kafka's own broker write through
// xerial's SnappyOutputStream, which frames the data:
//
//	magic   8 bytes  0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
//	version int32    1
//	compat  int32    1
//	chunks  [int32 compressed length][raw snappy block] ... (each block holds up to 32 KiB)
//
// Some clients send a bare raw snappy block instead. Every Kafka client's
// decoder (Java's SnappyInputStream, librdkafka, kafka-python, franz-go, sarama) accepts the
// xerial framing, so Compress writes it, as Kafka's broker does when it recompresses.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const (
	xerialHeaderSize = 16
	xerialVersion    = 1
	xerialCompat     = 1
	xerialBlockSize  = 32 << 10 // xerial SnappyOutputStream's default block size
)

func decompressSnappy(dst, src []byte, limit int) ([]byte, error) {
	if !bytes.HasPrefix(src, xerialMagic) {
		return decodeSnappyBlock(dst, src, limit)
	}
	if len(src) < xerialHeaderSize {
		return dst, fmt.Errorf("%w: snappy: xerial header cut short at %d bytes", ErrCorrupt, len(src))
	}
	// version and compat are not checked: every xerial stream Kafka has seen is version 1, and
	// Java's reader accepts any version that is compatible, as the chunks are all that matter.
	start := len(dst)
	p := src[xerialHeaderSize:]
	for len(p) > 0 {
		if len(p) < 4 {
			return dst[:start], fmt.Errorf("%w: snappy: xerial chunk length cut short", ErrCorrupt)
		}
		n := binary.BigEndian.Uint32(p)
		if uint64(n) > uint64(len(p)-4) {
			return dst[:start], fmt.Errorf("%w: snappy: xerial chunk of %d bytes with %d left", ErrCorrupt, n, len(p)-4)
		}
		var err error
		if dst, err = decodeSnappyBlock(dst, p[4:4+n], limit-(len(dst)-start)); err != nil {
			return dst[:start], err
		}
		p = p[4+n:]
	}
	return dst, nil
}

// decodeSnappyBlock appends the decoding of one raw snappy block. The block states its decoded
// length up front; that length is checked against limit before any room is made for it, and the
// decoder fails unless the block decodes to exactly that length.
func decodeSnappyBlock(dst, block []byte, limit int) ([]byte, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return dst, fmt.Errorf("%w: snappy: %w", ErrCorrupt, err)
	}
	if n > limit {
		return dst, fmt.Errorf("%w: snappy block of %d bytes, limit %d", ErrTooLarge, n, limit)
	}
	start := len(dst)
	if start+n > cap(dst) {
		// Double (within the limit) rather than grow to fit: a stream of 32 KiB chunks grown one
		// chunk at a time reallocates its whole output every few chunks (Go grows large slices
		// by a quarter), tens of bytes allocated per byte kept.
		grown := make([]byte, start, min(max(start+n, 2*cap(dst)), start+limit))
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:start+n]
	target := dst[start:]
	// The strict decoder rejects s2's extensions to the snappy format, which no Kafka client
	// could read back.
	out, err := snappy.DecodeStrict(target, block)
	if err != nil {
		return dst[:start], fmt.Errorf("%w: snappy: %w", ErrCorrupt, err)
	}
	if len(out) != n {
		return dst[:start], fmt.Errorf("%w: snappy: block decodes to %d bytes, header says %d", ErrCorrupt, len(out), n)
	}
	if n > 0 && &out[0] != &target[0] {
		copy(target, out)
	}
	return dst, nil
}

// compressSnappy appends src in xerial framing, 32 KiB per chunk, as Kafka's broker writes it.
func compressSnappy(dst, src []byte) []byte {
	dst = append(dst, xerialMagic...)
	dst = binary.BigEndian.AppendUint32(dst, xerialVersion)
	dst = binary.BigEndian.AppendUint32(dst, xerialCompat)
	for len(src) > 0 {
		chunk := src[:min(len(src), xerialBlockSize)]
		src = src[len(chunk):]
		at := len(dst)
		room := snappy.MaxEncodedLen(len(chunk))
		dst = slices.Grow(dst, 4+room)[:at+4+room]
		enc := snappy.Encode(dst[at+4:], chunk)
		if len(enc) > 0 && &enc[0] != &dst[at+4] {
			copy(dst[at+4:], enc)
		}
		binary.BigEndian.PutUint32(dst[at:], uint32(len(enc)))
		dst = dst[:at+4+len(enc)]
	}
	return dst
}
