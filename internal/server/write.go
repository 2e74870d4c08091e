package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"

	"github.com/twmb/franz-go/pkg/kbin"

	"github.com/sluicehq/sluice/internal/api"
)

// ErrBadSplice is returned when a response's splices do not match its
// encoding (a handler bug); the connection is closed rather than sending a
// corrupt stream.
var ErrBadSplice = errors.New("server: splice placeholder not found")

// frameWriter encodes responses into a reusable buffer and writes them to one
// connection. It is owned by the connection's writer goroutine.
type frameWriter struct {
	w   io.Writer // the connection
	buf []byte
	// parts and prefixes are scratch space for spliced responses.
	parts    net.Buffers
	prefixes []byte
}

// writeResponse writes one response frame: size, header, body, with each
// splice's record set written in place of its placeholder.
func (fw *frameWriter) writeResponse(key int16, correlationID int32, resp api.Response) error {
	msg := resp.Msg
	fw.buf = appendResponseHeader(fw.buf[:0], key, correlationID, msg.IsFlexible())
	fw.buf = msg.AppendTo(fw.buf)
	if len(resp.Splices) == 0 {
		if len(fw.buf)-4 > math.MaxInt32 {
			return fmt.Errorf("response of key %d is %d bytes, over the protocol limit", key, len(fw.buf)-4)
		}
		binary.BigEndian.PutUint32(fw.buf, uint32(len(fw.buf)-4))
		_, err := fw.w.Write(fw.buf)
		return err
	}
	return fw.writeSpliced(key, msg.IsFlexible(), resp.Splices)
}

// writeSpliced writes fw.buf with each splice's placeholder replaced by its
// records. The placeholder sits in a nullable-bytes field (compact in
// flexible versions), so the bytes just before it are its length prefix:
// int32 16, or uvarint 17. Both are rewritten for the real length, and the
// frame size is adjusted; no record byte passes through fw.buf.
//
// Output is written as: buffered bytes (writev of header parts and
// prefixes) then each record set through its own WriteTo, which uses
// sendfile when the connection is TCP and the records are in a file.
func (fw *frameWriter) writeSpliced(key int16, flexible bool, splices []api.Splice) error {
	type segment struct {
		before  []byte // encoded bytes up to the record set
		prefix  []byte // the record set's new length prefix
		records api.RecordSet
	}
	segs := make([]segment, 0, len(splices))
	fw.prefixes = fw.prefixes[:0]
	size := int64(len(fw.buf) - 4)
	pos := 4
	for i, sp := range splices {
		at := bytes.Index(fw.buf[pos:], sp.Placeholder)
		if len(sp.Placeholder) != api.PlaceholderLen || at < 0 {
			return fmt.Errorf("%w: key %d splice %d", ErrBadSplice, key, i)
		}
		at += pos
		oldPrefix := placeholderPrefix(flexible)
		if at-pos < len(oldPrefix) || !bytes.Equal(fw.buf[at-len(oldPrefix):at], oldPrefix) {
			return fmt.Errorf("%w: key %d splice %d: length prefix mismatch", ErrBadSplice, key, i)
		}
		n := sp.Records.Len()
		if n < 0 || n > math.MaxInt32-1 {
			return fmt.Errorf("%w: key %d splice %d: record set of %d bytes", ErrBadSplice, key, i, n)
		}
		start := len(fw.prefixes)
		if flexible {
			fw.prefixes = kbin.AppendUvarint(fw.prefixes, uint32(n)+1)
		} else {
			fw.prefixes = kbin.AppendInt32(fw.prefixes, int32(n))
		}
		segs = append(segs, segment{
			before:  fw.buf[pos : at-len(oldPrefix)],
			prefix:  fw.prefixes[start:len(fw.prefixes):len(fw.prefixes)],
			records: sp.Records,
		})
		size += int64(len(fw.prefixes)-start) + n - int64(len(oldPrefix)+api.PlaceholderLen)
		pos = at + api.PlaceholderLen
	}
	if size > math.MaxInt32 {
		return fmt.Errorf("response of key %d is %d bytes, over the protocol limit", key, size)
	}
	binary.BigEndian.PutUint32(fw.buf, uint32(size))
	// prefixes may have grown (reallocated) after earlier segments took
	// sub-slices; those sub-slices still point at valid, unchanged bytes.
	fw.parts = append(fw.parts[:0], fw.buf[:4])
	for _, s := range segs {
		fw.parts = append(fw.parts, s.before, s.prefix)
		if err := fw.flushParts(); err != nil {
			return err
		}
		wrote, err := s.records.WriteTo(fw.w)
		if err != nil {
			return fmt.Errorf("write record set: %w", err)
		}
		if wrote != s.records.Len() {
			return fmt.Errorf("write record set: wrote %d of %d bytes", wrote, s.records.Len())
		}
	}
	fw.parts = append(fw.parts, fw.buf[pos:])
	return fw.flushParts()
}

// flushParts writes fw.parts (writev on a TCP connection) and empties it,
// keeping its capacity: net.Buffers.WriteTo consumes the slice it is called
// on, so it gets a copy of the header.
func (fw *frameWriter) flushParts() error {
	p := fw.parts
	_, err := p.WriteTo(fw.w)
	fw.parts = fw.parts[:0]
	return err
}

var (
	placeholderPrefixClassic  = []byte{0, 0, 0, api.PlaceholderLen}
	placeholderPrefixFlexible = []byte{api.PlaceholderLen + 1}
)

// placeholderPrefix is the length prefix kmsg writes before a placeholder.
func placeholderPrefix(flexible bool) []byte {
	if flexible {
		return placeholderPrefixFlexible
	}
	return placeholderPrefixClassic
}

// writeRawToken writes a SASL token as a size-prefixed frame with no response header (the
// exchange after SaslHandshake v0).
func (fw *frameWriter) writeRawToken(token []byte) error {
	fw.buf = binary.BigEndian.AppendUint32(fw.buf[:0], uint32(len(token)))
	fw.buf = append(fw.buf, token...)
	_, err := fw.w.Write(fw.buf)
	return err
}
