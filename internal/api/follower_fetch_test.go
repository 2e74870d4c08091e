package api_test

import (
	"bufio"
	"net"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
)

// rackBroker is a testBroker whose node 1 sits in rack "a" and serves an Env with
// replica.selector.class set to Kafka's RackAwareReplicaSelector, beside brokers 2 (rack "b")
// and 3 (rack "c") known from metadata only. Topic "ff" has replicas 1, 2, 3 led by node 1.
type rackBroker struct {
	*testBroker
	selectorAddr string
	id           metadata.TopicID
}

func startRackBroker(t *testing.T) *rackBroker {
	t.Helper()
	b := startBroker(t)
	env := *b.env
	env.ReplicaSelector = config.RackAwareReplicaSelector
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, &env, ln, func() {})
	addr := ln.Addr().String()
	host, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	b.apply([]metadata.Record{
		&metadata.RegisterBrokerRecord{BrokerID: 1, Epoch: 2, Rack: "a",
			Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: host, Port: int32(port)}}},
		&metadata.RegisterBrokerRecord{BrokerID: 2, Epoch: 3, Rack: "b",
			Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "127.0.0.1", Port: 1}}},
		&metadata.RegisterBrokerRecord{BrokerID: 3, Epoch: 4, Rack: "c",
			Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "127.0.0.1", Port: 2}}},
	})
	id, err := metadata.NewTopicID(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Led by 2 first, so node 1 leads at epoch 1 (an older epoch exists); ISR {1} while
	// producing, so acks=all completes here alone.
	b.apply([]metadata.Record{&metadata.TopicRecord{Name: "ff", TopicID: id},
		&metadata.PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Leader: 2}})
	b.apply([]metadata.Record{&metadata.PartitionChangeRecord{TopicID: id, Partition: 0, Leader: 1, ISR: []int32{1}}})
	return &rackBroker{testBroker: b, selectorAddr: addr, id: id}
}

func (b *rackBroker) dialAddr(addr string) *rawConn {
	b.t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { nc.Close() })
	return &rawConn{t: b.t, nc: nc, br: bufio.NewReader(nc)}
}

func rackFetch(c *rawConn, version int16, id metadata.TopicID, rack string, leaderEpoch int32) kmsg.FetchResponseTopicPartition {
	c.t.Helper()
	return rackFetchAt(c, version, id, rack, leaderEpoch, 0)
}

func rackFetchAt(c *rawConn, version int16, id metadata.TopicID, rack string, leaderEpoch int32, offset int64) kmsg.FetchResponseTopicPartition {
	c.t.Helper()
	req := fetchReq(version, "ff", id, map[int32]int64{0: offset})
	req.Rack = rack
	req.Topics[0].Partitions[0].CurrentLeaderEpoch = leaderEpoch
	resp := c.send(req).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		c.t.Fatalf("fetch v%d: error %d, %d topics", version, resp.ErrorCode, len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}

// TestFetchPreferredReadReplica: the leader sends a consumer in a follower's rack to that
// follower (KIP-392) — only with the selector configured, from Fetch v11, for an in-sync
// follower that holds the offset — and a follower serves v11+ consumers up to its high
// watermark while leader-only requests get NOT_LEADER_OR_FOLLOWER there.
func TestFetchPreferredReadReplica(t *testing.T) {
	b := startRackBroker(t)
	sel, plain := b.dialAddr(b.selectorAddr), b.dial()
	produceAt(t, sel, "ff", 1, 2, 3)
	b.apply([]metadata.Record{&metadata.PartitionChangeRecord{TopicID: b.id, Partition: 0, Leader: metadata.NoLeaderChange, ISR: []int32{1, 2, 3}}})
	p, ok := b.parts.Partition("ff", 0)
	if !ok {
		t.Fatal("partition not hosted")
	}
	epoch := p.State().LeaderEpoch
	if epoch < 1 {
		t.Fatalf("leader epoch %d, want at least 1", epoch)
	}

	// Follower 2 has fetched nothing yet (log end 0): not offered for offset 1.
	if rp := rackFetchAt(sel, 11, b.id, "b", epoch, 1); rp.PreferredReadReplica != -1 || len(rp.RecordBatches) == 0 {
		t.Fatalf("follower behind: preferred %d, %d bytes", rp.PreferredReadReplica, len(rp.RecordBatches))
	}
	if err := p.UpdateFollowerFetch(2, -1, 3); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		conn    *rawConn
		version int16
		rack    string
		want    int32
	}{
		{"same rack as follower 2", sel, 11, "b", 2},
		{"same rack, flexible version", sel, 18, "b", 2},
		{"before v11 (no rack)", sel, 10, "b", -1},
		{"the leader's rack", sel, 11, "a", -1},
		{"no client rack", sel, 11, "", -1},
		{"follower 3 not caught up", sel, 11, "c", -1},
		{"no selector configured", plain, 11, "b", -1},
	}
	for _, c := range cases {
		rp := rackFetchAt(c.conn, c.version, b.id, c.rack, epoch, 1)
		if rp.ErrorCode != 0 {
			t.Fatalf("%s: %v", c.name, kerr.ErrorForCode(rp.ErrorCode))
		}
		if c.version >= 11 && rp.PreferredReadReplica != c.want {
			t.Errorf("%s: preferred %d, want %d", c.name, rp.PreferredReadReplica, c.want)
		}
		if sent := c.want >= 0; sent == (len(rp.RecordBatches) > 0) {
			t.Errorf("%s: preferred %d with %d record bytes", c.name, rp.PreferredReadReplica, len(rp.RecordBatches))
		}
		if rp.HighWatermark != 3 {
			t.Errorf("%s: high watermark %d, want 3", c.name, rp.HighWatermark)
		}
	}
	// A stale epoch is refused before any replica is chosen.
	if rp := rackFetch(sel, 12, b.id, "b", epoch-1); rp.ErrorCode != kerr.FencedLeaderEpoch.Code || rp.PreferredReadReplica != -1 {
		t.Errorf("stale epoch: %v, preferred %d", kerr.ErrorForCode(rp.ErrorCode), rp.PreferredReadReplica)
	}

	// Node 2 takes over: node 1 follows with high watermark 3 and serves v11+ consumers.
	b.apply([]metadata.Record{&metadata.PartitionChangeRecord{TopicID: b.id, Partition: 0, Leader: 2}})
	newEpoch := p.State().LeaderEpoch
	if p.IsLeader() || newEpoch <= epoch {
		t.Fatalf("after the leader change: leader %v, epoch %d", p.IsLeader(), newEpoch)
	}
	for _, v := range []int16{11, 12, 18} {
		rp := rackFetch(plain, v, b.id, "b", newEpoch)
		if rp.ErrorCode != 0 || len(rp.RecordBatches) == 0 || rp.HighWatermark != 3 || rp.PreferredReadReplica != -1 {
			t.Errorf("follower fetch v%d: %v, %d bytes, hw %d, preferred %d", v, kerr.ErrorForCode(rp.ErrorCode),
				len(rp.RecordBatches), rp.HighWatermark, rp.PreferredReadReplica)
		}
	}
	if rp := rackFetch(plain, 10, b.id, "", -1); rp.ErrorCode != kerr.NotLeaderForPartition.Code {
		t.Errorf("follower fetch v10: %v, want NOT_LEADER_OR_FOLLOWER", kerr.ErrorForCode(rp.ErrorCode))
	}
	rp := rackFetch(plain, 16, b.id, "", epoch)
	if rp.ErrorCode != kerr.FencedLeaderEpoch.Code || rp.CurrentLeader.LeaderID != 2 || rp.CurrentLeader.LeaderEpoch != newEpoch {
		t.Errorf("follower fetch with the old epoch: %v, current leader %d epoch %d", kerr.ErrorForCode(rp.ErrorCode),
			rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch)
	}

	// ListOffsets on the follower: consumers and brokers NOT_LEADER_OR_FOLLOWER, the
	// debugging replica id answered up to the log end.
	for _, replica := range []int32{-1, 3, -2} {
		req := kmsg.NewPtrListOffsetsRequest()
		req.Version, req.ReplicaID = 7, replica
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "ff"
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Timestamp, lp.CurrentLeaderEpoch = -1, newEpoch
		rt.Partitions = append(rt.Partitions, lp)
		req.Topics = append(req.Topics, rt)
		got := plain.send(req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
		want := kerr.NotLeaderForPartition.Code
		if replica == -2 {
			want = 0
		}
		if got.ErrorCode != want || (want == 0 && got.Offset != 3) {
			t.Errorf("ListOffsets replica %d on a follower: %v offset %d", replica, kerr.ErrorForCode(got.ErrorCode), got.Offset)
		}
	}
	// OffsetForLeaderEpoch is the leader's alone, for consumers and followers.
	for _, replica := range []int32{-1, 3} {
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.Version, req.ReplicaID = 4, replica
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = "ff"
		op := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		op.CurrentLeaderEpoch, op.LeaderEpoch = newEpoch, epoch
		rt.Partitions = append(rt.Partitions, op)
		req.Topics = append(req.Topics, rt)
		got := plain.send(req).(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0]
		if got.ErrorCode != kerr.NotLeaderForPartition.Code {
			t.Errorf("OffsetForLeaderEpoch replica %d on a follower: %v", replica, kerr.ErrorForCode(got.ErrorCode))
		}
	}
}

// TestLeaderEpochChecks (KIP-320): Fetch, ListOffsets and OffsetForLeaderEpoch on the leader
// answer an older current leader epoch with FENCED_LEADER_EPOCH, a newer one with
// UNKNOWN_LEADER_EPOCH, and the current one (or none, -1) normally.
func TestLeaderEpochChecks(t *testing.T) {
	b := startRackBroker(t)
	c := b.dial()
	produceAt(t, c, "ff", 1, 2, 3)
	p, _ := b.parts.Partition("ff", 0)
	epoch := p.State().LeaderEpoch
	cases := []struct {
		epoch int32
		want  int16
	}{{epoch - 1, kerr.FencedLeaderEpoch.Code}, {epoch + 1, kerr.UnknownLeaderEpoch.Code}, {epoch, 0}, {-1, 0}}
	for _, tc := range cases {
		if got := rackFetch(c, 12, b.id, "", tc.epoch).ErrorCode; got != tc.want {
			t.Errorf("Fetch at epoch %d (current %d): %v", tc.epoch, epoch, kerr.ErrorForCode(got))
		}
		lo := kmsg.NewPtrListOffsetsRequest()
		lo.Version = 7
		lt := kmsg.NewListOffsetsRequestTopic()
		lt.Topic = "ff"
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Timestamp, lp.CurrentLeaderEpoch = -1, tc.epoch
		lt.Partitions = append(lt.Partitions, lp)
		lo.Topics = append(lo.Topics, lt)
		lr := c.send(lo).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
		if lr.ErrorCode != tc.want || (tc.want == 0 && (lr.Offset != 3 || lr.LeaderEpoch != epoch)) {
			t.Errorf("ListOffsets at epoch %d (current %d): %v, offset %d epoch %d", tc.epoch, epoch, kerr.ErrorForCode(lr.ErrorCode), lr.Offset, lr.LeaderEpoch)
		}
		oe := kmsg.NewPtrOffsetForLeaderEpochRequest()
		oe.Version = 4
		ot := kmsg.NewOffsetForLeaderEpochRequestTopic()
		ot.Topic = "ff"
		op := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		op.CurrentLeaderEpoch, op.LeaderEpoch = tc.epoch, epoch
		ot.Partitions = append(ot.Partitions, op)
		oe.Topics = append(oe.Topics, ot)
		or := c.send(oe).(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0]
		if or.ErrorCode != tc.want || (tc.want == 0 && (or.LeaderEpoch != epoch || or.EndOffset != 3)) {
			t.Errorf("OffsetForLeaderEpoch at epoch %d (current %d): %v, epoch %d end %d", tc.epoch, epoch, kerr.ErrorForCode(or.ErrorCode), or.LeaderEpoch, or.EndOffset)
		}
	}
}
