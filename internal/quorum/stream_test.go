package quorum

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestControllerAddressCarriesKafka: a three-voter quorum elects a leader over the shared
// controller addresses while Kafka-protocol connections to the same addresses reach
// ControllerListener with every byte they sent, including ones that look almost like Raft's
// opening.
func TestControllerAddressCarriesKafka(t *testing.T) {
	c := newCluster(t, 3)
	c.leader()
	q := c.nodes[0]
	ln := q.ControllerListener()
	defer ln.Close()
	for _, payload := range [][]byte{
		{0, 0, 0, 8, 0, 18, 0, 3, 0, 0, 0, 1}, // a Kafka frame's opening
		[]byte("SLR0 not raft"),               // close to the magic, but not it
		{1, 2},                                // fewer bytes than the magic, then EOF
	} {
		conn, err := net.Dial("tcp", c.specs[0].addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(payload)
		if len(payload) < len(raftMagic) {
			conn.(*net.TCPConn).CloseWrite()
		}
		got := make(chan []byte, 1)
		go func() {
			s, err := ln.Accept()
			if err != nil {
				got <- nil
				return
			}
			defer s.Close()
			s.SetReadDeadline(time.Now().Add(5 * time.Second))
			b := make([]byte, len(payload))
			n, _ := io.ReadFull(s, b)
			got <- b[:n]
		}()
		select {
		case b := <-got:
			if !bytes.Equal(b, payload) {
				t.Errorf("listener read %q, want %q", b, payload)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("payload %q never reached the controller listener", payload)
		}
		conn.Close()
	}
	// Raft still works across the shared addresses: a proposal commits on every voter.
	leader := c.nodes[c.leader()]
	if id, addr, ok := leader.LeaderAddr(); !ok || id != leader.NodeID() || addr == "" {
		t.Errorf("LeaderAddr = %d %q %v", id, addr, ok)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("Accept after Close succeeded")
	}
}
