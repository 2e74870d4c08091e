package tests

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawConn is a plain TCP connection that speaks Kafka frames encoded by kmsg.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	corr int32
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// roundTrip sends req at its set version and decodes the response.
func (c *rawConn) roundTrip(req kmsg.Request) kmsg.Response {
	c.t.Helper()
	c.corr++
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw-test")).AppendRequest(nil, req, c.corr)
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(frame); err != nil {
		c.t.Fatal(err)
	}
	body := c.readFrame()
	if got := int32(binary.BigEndian.Uint32(body)); got != c.corr {
		c.t.Fatalf("correlation id %d, want %d", got, c.corr)
	}
	body = body[4:]
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && req.Key() != 18 { // ApiVersions responses keep header v0
		if body[0] != 0 {
			c.t.Fatalf("response header tagged fields %d, want none", body[0])
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		c.t.Fatalf("decode %T: %v", resp, err)
	}
	return resp
}

func (c *rawConn) readFrame() []byte {
	c.t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(c.r, size[:]); err != nil {
		c.t.Fatalf("read response size: %v", err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.r, body); err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	return body
}

// expectClosed asserts that the broker closes the connection (EOF) soon.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	for {
		_, err := c.r.Read(buf)
		if err == io.EOF {
			return
		}
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.t.Fatal("connection still open 10s after a malformed frame")
			}
			return // reset by peer also counts as closed
		}
	}
}

func apiVersionsWorks(t *testing.T, addr string) {
	t.Helper()
	c := dialRaw(t, addr)
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(3)
	req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1"
	resp := c.roundTrip(req).(*kmsg.ApiVersionsResponse)
	if resp.ErrorCode != 0 || len(resp.ApiKeys) == 0 {
		t.Fatalf("ApiVersions: error %d with %d keys", resp.ErrorCode, len(resp.ApiKeys))
	}
}

// TestMalformedFrames sends broken frames on one connection each and checks that the broker
// closes just that connection while a bystander connection keeps working.
func TestMalformedFrames(t *testing.T) {
	n := startNode(t)
	bystander := dialRaw(t, n.kafkaAddr)
	tests := []struct {
		name  string
		bytes []byte
	}{
		{name: "huge size prefix", bytes: []byte{0x7f, 0xff, 0xff, 0xff, 0, 18, 0, 0}},
		{name: "negative size", bytes: []byte{0xff, 0xff, 0xff, 0xf0}},
		{name: "size smaller than a header", bytes: []byte{0, 0, 0, 2, 0, 18}},
		{name: "garbage header fields", bytes: []byte{0, 0, 0, 10, 0, 3, 0, 9, 0, 0, 0, 1, 0x7f, 0x7f}},
		{name: "truncated body then close", bytes: []byte{0, 0, 0, 100, 0, 18, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, n.kafkaAddr)
			if _, err := c.conn.Write(tc.bytes); err != nil {
				t.Fatal(err)
			}
			if tc.name == "truncated body then close" {
				c.conn.(*net.TCPConn).CloseWrite()
			}
			c.expectClosed()
			req := kmsg.NewPtrMetadataRequest()
			req.SetVersion(9)
			if resp := bystander.roundTrip(req).(*kmsg.MetadataResponse); len(resp.Brokers) != 1 {
				t.Fatalf("bystander metadata lists %d brokers", len(resp.Brokers))
			}
		})
	}
	apiVersionsWorks(t, n.kafkaAddr)
}

// TestUnsupportedVersions: an ApiVersions request at a version the broker does not know gets
// UNSUPPORTED_VERSION and its own supported range in a v0 body, so clients can downgrade; an
// unknown API key closes the connection as Kafka does.
func TestUnsupportedVersions(t *testing.T) {
	n := startNode(t)
	c := dialRaw(t, n.kafkaAddr)
	// ApiVersions v99 as a newer client sends it: request header v2 (client id, then an empty
	// tagged-field section), then a body in a format this broker cannot know.
	frame := []byte{0, 0, 0, 0, 0, 18, 0, 99, 0, 0, 0, 7, 0, 3, 'r', 'a', 'w', 0, 0xde, 0xad, 0xbe, 0xef}
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	c.conn.Write(frame)
	body := c.readFrame()
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	if err := resp.ReadFrom(body[4:]); err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != kerr.UnsupportedVersion {
		t.Fatalf("ApiVersions v99: %v, want UNSUPPORTED_VERSION", err)
	}
	// As Kafka does, the fallback lists ApiVersions' own range so the client can retry at a
	// version both sides know.
	if len(resp.ApiKeys) != 1 || resp.ApiKeys[0].ApiKey != 18 || resp.ApiKeys[0].MaxVersion < 3 {
		t.Fatalf("fallback ApiVersions lists %+v, want ApiVersions up to at least v3", resp.ApiKeys)
	}

	u := dialRaw(t, n.kafkaAddr)
	unknown := []byte{0, 0, 0, 0, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff}
	binary.BigEndian.PutUint32(unknown, uint32(len(unknown)-4))
	u.conn.Write(unknown)
	u.expectClosed()
	apiVersionsWorks(t, n.kafkaAddr)
}

// TestPipelinedOrder sends many requests without waiting and reads responses in order.
func TestPipelinedOrder(t *testing.T) {
	n := startNode(t)
	c := dialRaw(t, n.kafkaAddr)
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("pipeline"))
	var frames []byte
	const count = 50
	for i := int32(1); i <= count; i++ {
		var req kmsg.Request
		if i%2 == 0 {
			r := kmsg.NewPtrMetadataRequest()
			r.SetVersion(12)
			req = r
		} else {
			r := kmsg.NewPtrApiVersionsRequest()
			r.SetVersion(3)
			r.ClientSoftwareName, r.ClientSoftwareVersion = "p", "1"
			req = r
		}
		// AppendRequest writes the size at dst[0:4], so each frame is built on its own.
		frames = append(frames, f.AppendRequest(nil, req, i)...)
	}
	if _, err := c.conn.Write(frames); err != nil {
		t.Fatal(err)
	}
	for i := int32(1); i <= count; i++ {
		body := c.readFrame()
		if got := int32(binary.BigEndian.Uint32(body)); got != i {
			t.Fatalf("response %d has correlation id %d: out of order", i, got)
		}
	}
}
