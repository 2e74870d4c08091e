package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/security/tlsconf/tlstest"
)

func tlsServerConfig(t *testing.T) (*TLS, *tlstest.CA) {
	t.Helper()
	ca := tlstest.NewCA(t)
	cert := ca.Issue("server", pkix.Name{CommonName: "server"})
	return &TLS{Config: &tls.Config{Certificates: []tls.Certificate{cert.TLSCertificate()}}, HandshakeTimeout: 300 * time.Millisecond}, ca
}

func dialTLS(t *testing.T, addr string, ca *tlstest.CA) *client {
	t.Helper()
	nc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, br: bufio.NewReader(nc), f: kmsg.NewRequestFormatter(kmsg.FormatterClientID("test"))}
}

// TestSplicedOverTLS: a Fetch whose records come from a file is written correctly over TLS,
// where the record sets cannot use sendfile: they are handed the connection's buffered writer
// (which copies into TLS records), and the bytes the client decrypts are kmsg's encoding.
func TestSplicedOverTLS(t *testing.T) {
	records := [][]byte{pattern(5000, 9), pattern(70000, 4), pattern(300, 1)}
	sets := recordFile(t, records...)
	var mu sync.Mutex
	var copiedResp *kmsg.FetchResponse
	lookup := func(key int16) (api.API, bool) {
		if key != 1 {
			return api.Lookup(key)
		}
		return api.API{Key: 1, MinVersion: 4, MaxVersion: 18, Handle: func(_ context.Context, _ *api.Env, req *api.Request) (api.Response, error) {
			copied, spliced := fetchResponses(req.Version, records, sets)
			mu.Lock()
			copiedResp = copied
			mu.Unlock()
			return spliced, nil
		}}, true
	}
	cfg, ca := tlsServerConfig(t)
	_, addr := startServer(t, Config{Lookup: lookup, TLS: cfg})
	c := dialTLS(t, addr, ca)
	for corr, version := range []int16{4, 12, 18} {
		req := kmsg.NewPtrFetchRequest()
		req.Version = version
		c.send(req, int32(corr))
		got, err := c.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		want := expectedFrame(1, int32(corr), copiedResp)
		mu.Unlock()
		if !bytes.Equal(got, want[4:]) {
			t.Fatalf("v%d: decrypted bytes differ from kmsg's encoding", version)
		}
	}
	for i, s := range sets {
		for _, w := range s.writerTo {
			if _, ok := w.(*pooledWriter); !ok {
				t.Fatalf("record set %d written to %T, not the TLS connection's buffer", i, w)
			}
		}
	}
}

// TestTLSHandshakeOffAcceptLoop: a client that connects and never starts its handshake is
// closed after the handshake timeout, and meanwhile other clients are served (the handshake
// runs on the connection's goroutine, not the accept loop).
func TestTLSHandshakeOffAcceptLoop(t *testing.T) {
	cfg, ca := tlsServerConfig(t)
	_, addr := startServer(t, Config{TLS: cfg})
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c := dialTLS(t, addr, ca)
	resp, _ := c.recvOK(apiVersionsRequest(3))
	if resp.(*kmsg.ApiVersionsResponse).ErrorCode != 0 {
		t.Fatal("ApiVersions over TLS failed")
	}
	silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil {
		t.Fatal("the silent connection got bytes")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the silent connection was not closed after the handshake timeout")
	}
	// A plaintext Kafka request on the TLS listener is not served either: the connection
	// closes (after at most a TLS alert).
	plain := dial(t, addr)
	plain.send(apiVersionsRequest(3), 1)
	plain.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(plain.nc); err != nil {
		t.Fatalf("plaintext client: %v", err)
	} else if len(b) > 7 || len(b) > 0 && b[0] != 0x15 {
		t.Fatalf("plaintext client got %x, want at most a TLS alert", b)
	}
}

func (c *client) recvOK(req kmsg.Request) (kmsg.Response, int32) {
	c.t.Helper()
	c.send(req, 7)
	return c.recv(req)
}
