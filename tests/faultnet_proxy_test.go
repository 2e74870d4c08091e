package tests

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// apiVersionsOnce sends one ApiVersions v0 request on conn and waits (up to wait) for its
// response frame.
func apiVersionsOnce(conn net.Conn, corr int32, wait time.Duration) error {
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 0
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("faultnet")).AppendRequest(nil, req, corr)
	conn.SetDeadline(time.Now().Add(wait))
	if _, err := conn.Write(frame); err != nil {
		return err
	}
	resp, err := readFrame(conn)
	if err != nil {
		return err
	}
	if got := int32(binary.BigEndian.Uint32(resp[4:])); got != corr {
		return errors.New("wrong correlation id")
	}
	return nil
}

// TestFaultNet proves each of the proxy's rules on a real broker: pass, delay, black-hole,
// reset, hold (of one API's responses, released by removing the rule) and refusal.
func TestFaultNet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	t.Parallel()
	n := startNode(t)
	p := startFaultNet(t, n.kafkaAddr)
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	c := dial()
	if err := apiVersionsOnce(c, 1, 10*time.Second); err != nil {
		t.Fatalf("pass: %v", err)
	}
	if p.Forwarded.Load() != 2 {
		t.Fatalf("pass: forwarded %d frames, want 2", p.Forwarded.Load())
	}

	// Delay responses of ApiVersions (18) by 300 ms.
	id := p.Add(delayRule(toClient, 18, 300*time.Millisecond))
	began := time.Now()
	if err := apiVersionsOnce(c, 2, 10*time.Second); err != nil {
		t.Fatalf("delay: %v", err)
	}
	if took := time.Since(began); took < 300*time.Millisecond || p.Delayed.Load() != 1 {
		t.Fatalf("delay: answered in %v, %d frames delayed", took, p.Delayed.Load())
	}
	p.Remove(id)

	// A rule scoped to another API (Produce) leaves ApiVersions alone.
	id = p.Add(blackHoleRule(anyDir, 0))
	if err := apiVersionsOnce(c, 3, 10*time.Second); err != nil {
		t.Fatalf("black-hole of Produce affected ApiVersions: %v", err)
	}
	p.Remove(id)

	// Black-hole requests: no answer, the connection stays open; after removal it works again.
	id = p.Add(blackHoleRule(toBroker, anyAPI))
	if err := apiVersionsOnce(c, 4, 500*time.Millisecond); !isTimeout(err) {
		t.Fatalf("black-hole: got %v, want a timeout", err)
	}
	if p.Dropped.Load() != 1 || p.Conns() != 1 {
		t.Fatalf("black-hole: dropped %d, %d connections open", p.Dropped.Load(), p.Conns())
	}
	p.Remove(id)
	if err := apiVersionsOnce(c, 5, 10*time.Second); err != nil {
		t.Fatalf("after black-hole: %v", err)
	}

	// Reset on a matching request: the client sees the connection reset.
	id = p.Add(resetRule(toBroker, 18))
	if err := apiVersionsOnce(c, 6, 10*time.Second); err == nil || isTimeout(err) {
		t.Fatalf("reset: got %v, want a connection error", err)
	}
	if p.Resets.Load() != 1 {
		t.Fatalf("reset: %d resets", p.Resets.Load())
	}
	p.Remove(id)

	// ResetAll on an idle connection.
	c = dial()
	if err := apiVersionsOnce(c, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := p.ResetAll(); got != 1 {
		t.Fatalf("ResetAll reset %d connections, want 1", got)
	}
	if err := apiVersionsOnce(c, 2, 10*time.Second); err == nil || isTimeout(err) {
		t.Fatalf("after ResetAll: got %v, want a connection error", err)
	}

	// Refuse new connections.
	p.Refuse(true)
	// The reset may already come back on the connect.
	if rc, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second); err == nil {
		err = apiVersionsOnce(rc, 1, 10*time.Second)
		rc.Close()
		if err == nil || isTimeout(err) {
			t.Fatalf("refuse: got %v, want a connection error", err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); p.Refused.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // the proxy counts once its accept loop has the connection
	}
	if p.Refused.Load() != 1 {
		t.Fatalf("refuse: %d refused", p.Refused.Load())
	}
	p.Refuse(false)

	// Hold Produce responses (matched through the correlation id of their request): the
	// record is appended but not acknowledged until the rule goes.
	n.createTopic("faultnet", 1, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafkaAddr), kgo.Dialer(faultDialer(map[string]*faultNet{n.kafkaAddr: p})),
		kgo.DefaultProduceTopic("faultnet"), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, kgo.StringRecord("warm")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	id = p.Add(holdRule(toClient, 0))
	acked := make(chan error, 1)
	cl.Produce(ctx, kgo.StringRecord("held"), func(_ *kgo.Record, err error) { acked <- err })
	for p.Held.Load() == 0 {
		select {
		case err := <-acked:
			t.Fatalf("produce acknowledged (%v) while its response was held", err)
		case <-ctx.Done():
			t.Fatal("no Produce response was held")
		case <-time.After(10 * time.Millisecond):
		}
	}
	select {
	case err := <-acked:
		t.Fatalf("produce acknowledged (%v) while its response was held", err)
	case <-time.After(300 * time.Millisecond):
	}
	p.Remove(id)
	select {
	case err := <-acked:
		if err != nil {
			t.Fatalf("held produce: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("held produce not acknowledged after release")
	}
	t.Logf("faultnet: %s", p.Stats())
}

// TestFaultNetAdvertised starts a broker whose advertised address is its proxy: a client that
// knows only that address reaches the broker only through the proxy, as another broker
// following metadata would (the way #13 puts broker-to-broker links through faults).
func TestFaultNetAdvertised(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	t.Parallel()
	p := startFaultNet(t, "")
	n := startNode(t, "--advertised-addr", p.Addr())
	p.SetTarget(n.kafkaAddr)
	n.createTopic("advertised", 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Addr()), kgo.DefaultProduceTopic("advertised"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, kgo.StringRecord("via proxy")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	id := p.Add(holdRule(toClient, 0))
	acked := make(chan error, 1)
	cl.Produce(ctx, kgo.StringRecord("held"), func(_ *kgo.Record, err error) { acked <- err })
	for p.Held.Load() == 0 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-acked:
		t.Fatalf("produce acknowledged (%v) while the proxy held its response", err)
	default:
	}
	p.Remove(id)
	if err := <-acked; err != nil {
		t.Fatal(err)
	}
}

// TestFaultNetRaw proves the byte-stream mode (for the Raft quorum's links) on HTTP: pass,
// black-hole and reset.
func TestFaultNetRaw(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	t.Parallel()
	n := startNode(t)
	p := startRawFaultNet(t, n.httpAddr)
	get := func(timeout time.Duration) error {
		c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get("http://" + p.Addr() + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	}
	if err := get(10 * time.Second); err != nil {
		t.Fatalf("pass: %v", err)
	}
	id := p.Add(blackHoleRule(toClient, anyAPI))
	if err := get(500 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("black-hole: got %v, want a timeout", err)
	}
	p.Remove(id)
	id = p.Add(resetRule(toBroker, anyAPI))
	if err := get(10 * time.Second); err == nil || strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("reset: got %v, want a connection error", err)
	}
	p.Remove(id)
	if err := get(10 * time.Second); err != nil {
		t.Fatalf("after heal: %v", err)
	}
	if p.Dropped.Load() == 0 || p.Resets.Load() == 0 {
		t.Fatalf("proxy: %s", p.Stats())
	}
}
