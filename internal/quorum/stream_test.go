package quorum

import (
	"bytes"
	"errors"
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

// TestRaftConnectionsNameTheDirectory: a node with a directory id takes a Raft connection only
// when it names that id; one naming another directory (an RPC for the old voter of a replaced
// disk) or none (an address from before directory ids) is closed unread.
func TestRaftConnectionsNameTheDirectory(t *testing.T) {
	q := open(t, nodeSpec{id: 1, dir: t.TempDir(), addr: "127.0.0.1:0"})
	defer closeQuorum(t, q)
	waitReady(t, q)
	hostport := q.opts.ControllerAddr
	other := NewDirectoryID()
	for _, c := range []struct {
		name string
		head []byte
		take bool
	}{
		{"own directory", append(append([]byte(nil), raftDirMagic...), q.Directory().Bytes()...), true},
		{"another directory", append(append([]byte(nil), raftDirMagic...), other[:]...), false},
		{"no directory", raftMagic, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", hostport)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.Write(c.head)
			// A refused connection is closed: the read ends (wait long for that on a busy
			// machine). A taken one is Raft's, which waits for an RPC: the read times out.
			wait := 10 * time.Second
			if c.take {
				wait = 300 * time.Millisecond
			}
			conn.SetReadDeadline(time.Now().Add(wait))
			_, err = conn.Read(make([]byte, 1))
			var ne net.Error
			taken := errors.As(err, &ne) && ne.Timeout()
			if taken != c.take {
				t.Fatalf("taken = %v (read: %v), want %v", taken, err, c.take)
			}
		})
	}
	// The dialing side names the directory of the address it dials.
	if _, dir, err := splitServerAddress(serverAddress(hostport, q.Directory())); err != nil || dir != q.Directory() {
		t.Fatalf("split: %v %v", dir, err)
	}
}
