package server

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrMalformedRequest is returned for a frame whose header or body cannot be
// parsed. The connection it came on is closed; no other is affected.
var ErrMalformedRequest = errors.New("server: malformed request")

// errDecodePanic marks a malformed request whose decoding panicked (counted as a recovered
// panic, "decode").
var errDecodePanic = errors.New("decoder panicked")

// minFrameSize is the smallest request frame: api key, api version and
// correlation id (request header v0).
const minFrameSize = 8

// requestHeader is a parsed Kafka request header (v0, v1 or v2).
type requestHeader struct {
	key           int16
	version       int16
	correlationID int32
	clientID      *string
	// flexible reports whether the request at this version uses the
	// flexible (KIP-482) encoding: header v2 and tagged fields.
	flexible bool
}

// parseRequestHeader parses the request header at the start of frame and
// returns it with the body that follows. The header version follows from key
// and version: v0 only for ControlledShutdown v0, v2 for flexible versions,
// v1 otherwise. The client id stays a non-compact string even in header v2.
//
// For a key kmsg does not know, only key, version and correlation id are
// parsed (flexible is false) and body is nil: the caller answers or closes
// without looking further.
func parseRequestHeader(frame []byte) (requestHeader, []byte, error) {
	var h requestHeader
	if len(frame) < minFrameSize {
		return h, nil, fmt.Errorf("%w: frame of %d bytes is shorter than a header", ErrMalformedRequest, len(frame))
	}
	r := kbin.Reader{Src: frame}
	h.key, h.version, h.correlationID = r.Int16(), r.Int16(), r.Int32()
	msg := kmsg.RequestForKey(h.key)
	if msg == nil {
		return h, nil, nil
	}
	if h.key == 7 && h.version == 0 {
		return h, r.Src, nil // header v0: no client id
	}
	h.clientID = r.NullableString()
	msg.SetVersion(h.version)
	h.flexible = msg.IsFlexible()
	if h.flexible {
		kmsg.SkipTags(&r)
	}
	if err := r.Complete(); err != nil {
		return h, nil, fmt.Errorf("%w: header of key %d v%d: %v", ErrMalformedRequest, h.key, h.version, err)
	}
	return h, r.Src, nil
}

// decodeRequest decodes body as the request for key at version.
func decodeRequest(key, version int16, body []byte) (msg kmsg.Request, err error) {
	// kmsg's decoders use a sticky error and bound array lengths by the
	// bytes left, and FuzzDecodeRequest exercises them without this
	// recover; it is a last line of defense so that a decoder bug costs one
	// connection, not the process.
	defer func() {
		if p := recover(); p != nil {
			msg, err = nil, fmt.Errorf("%w: %w: key %d v%d: %v", ErrMalformedRequest, errDecodePanic, key, version, p)
		}
	}()
	return decodeBody(key, version, body)
}

// decodeBody decodes body with kmsg, without decodeRequest's recover.
func decodeBody(key, version int16, body []byte) (kmsg.Request, error) {
	msg := kmsg.RequestForKey(key)
	if msg == nil {
		return nil, fmt.Errorf("%w: unknown api key %d", ErrMalformedRequest, key)
	}
	msg.SetVersion(version)
	if err := msg.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("%w: key %d v%d: %v", ErrMalformedRequest, key, version, err)
	}
	return msg, nil
}

// appendResponseHeader appends the frame's size placeholder and the response
// header to dst. Response header v1 (tagged fields) goes with flexible
// versions, except for ApiVersions, whose response header is always v0 so a
// client that does not yet know the broker's versions can read it.
func appendResponseHeader(dst []byte, key int16, correlationID int32, flexible bool) []byte {
	dst = append(dst, 0, 0, 0, 0)
	dst = kbin.AppendInt32(dst, correlationID)
	if flexible && key != 18 {
		dst = append(dst, 0) // no tagged fields
	}
	return dst
}
