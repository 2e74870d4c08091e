package quorum

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// The membership exchange ("hello") runs on the controller address beside Raft and the Kafka
// protocol: a connection opens with helloMagic, sends one request frame and reads one response
// frame, each a big-endian uint32 length and that many bytes of JSON. It is how nodes learn each
// other's identity before Raft can tell them anything:
//
//   - "hello": who are you (node id, directory id, cluster id, whether you hold Raft state, the
//     latest configuration and the leader you know, your log's last index). A new cluster's
//     nodes use it to learn each other's directory ids and bootstrap the same configuration; a
//     node finds out whether the cluster it was pointed at already exists; the leader polls
//     members for DescribeQuorum; AddVoter checks who answers at an address.
//   - "observe": sent to the leader by a node that is in no configuration (an observer, a node
//     with a replaced disk, a removed voter), asking to be added as a non-voter so that it
//     follows the log.
//
// Frames are bounded by maxHelloFrame; a peer that sends more, or anything that does not decode,
// gets its connection closed.

const maxHelloFrame = 64 << 10

// helloTimeout bounds one exchange, dial to response.
const helloTimeout = 2 * time.Second

type helloRequest struct {
	Op          string `json:"op"` // "hello" or "observe"
	NodeID      int32  `json:"node_id,omitempty"`
	DirectoryID string `json:"directory_id,omitempty"`
	Addr        string `json:"addr,omitempty"` // observe: the host:port the leader replicates to
}

type helloResponse struct {
	NodeID      int32  `json:"node_id"`
	DirectoryID string `json:"directory_id"` // "" for a node named without one
	ClusterID   string `json:"cluster_id,omitempty"`
	// HasState: this node holds Raft state (it bootstrapped, or a leader replicated to it).
	HasState  bool     `json:"has_state"`
	Voters    []string `json:"voters,omitempty"` // ServerIDs of the latest configuration
	NonVoters []string `json:"nonvoters,omitempty"`
	Leader    bool     `json:"leader"`
	// LeaderAddr is the host:port of the leader this node knows, "" if none.
	LeaderAddr string `json:"leader_addr,omitempty"`
	LastIndex  uint64 `json:"last_index"`
	Error      string `json:"error,omitempty"`
}

func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > maxHelloFrame {
		return fmt.Errorf("hello frame of %d bytes exceeds %d", len(b), maxHelloFrame)
	}
	buf := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(b)), uint32(len(b)))
	_, err = w.Write(append(buf, b...))
	return err
}

// readFrame reads one frame into v, refusing frames over maxHelloFrame before allocating.
func readFrame(r io.Reader, v any) error {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > maxHelloFrame {
		return fmt.Errorf("hello frame of %d bytes exceeds %d", n, maxHelloFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return decodeHello(b, v)
}

func decodeHello(b []byte, v any) error { return json.Unmarshal(b, v) }

// serveHello answers one exchange on c (the magic already read). Called by the stream layer on
// the connection's own goroutine.
func (q *Quorum) serveHello(c net.Conn) {
	select {
	case <-q.started:
	case <-q.closing:
		return
	}
	if q.raft == nil {
		return // start failed
	}
	c.SetDeadline(time.Now().Add(helloTimeout))
	var req helloRequest
	if err := readFrame(c, &req); err != nil {
		return
	}
	var resp helloResponse
	switch req.Op {
	case "hello":
		resp = q.helloState()
	case "observe":
		resp = q.helloState()
		dir, err := ParseDirectoryID(req.DirectoryID)
		if req.DirectoryID == "" {
			dir, err = DirectoryID{}, nil // a node named by its node id alone
		}
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), helloTimeout/2)
			err = q.AddObserver(ctx, req.NodeID, dir, req.Addr)
			cancel()
		}
		if err != nil {
			resp.Error = err.Error()
		}
	default:
		resp.Error = fmt.Sprintf("unknown op %q", req.Op)
	}
	writeFrame(c, resp)
}

// helloState describes this node for a hello answer.
func (q *Quorum) helloState() helloResponse {
	_, dir, _ := parseServerID(q.localID)
	resp := helloResponse{NodeID: q.opts.NodeID, ClusterID: q.clusterID(), HasState: q.hasState(),
		Leader: q.raft.State() == raft.Leader, LastIndex: q.raft.LastIndex()}
	if !dir.IsZero() {
		resp.DirectoryID = dir.String()
	}
	if a, _ := q.raft.LeaderWithID(); a != "" {
		resp.LeaderAddr, _, _ = splitServerAddress(a)
	}
	if f := q.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			if s.Suffrage == raft.Voter {
				resp.Voters = append(resp.Voters, string(s.ID))
			} else {
				resp.NonVoters = append(resp.NonVoters, string(s.ID))
			}
		}
	}
	return resp
}

// hello runs one exchange with the node at hostport (over TLS on a TLS controller address).
func (q *Quorum) hello(ctx context.Context, hostport string, req helloRequest) (helloResponse, error) {
	var resp helloResponse
	ctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	c, err := dialController(ctx, q.opts.TLS, hostport, 0)
	if err != nil {
		return resp, err
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	if _, err := c.Write(helloMagic); err != nil {
		return resp, err
	}
	if err := writeFrame(c, req); err != nil {
		return resp, err
	}
	if err := readFrame(c, &resp); err != nil {
		return resp, fmt.Errorf("hello to %s: %w", hostport, err)
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}

func contains(ids []string, id raft.ServerID) bool {
	for _, s := range ids {
		if s == string(id) {
			return true
		}
	}
	return false
}
