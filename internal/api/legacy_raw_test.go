package api_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
)

// Raw-version tests of the request versions Kafka 3.9 served and Kafka 4 removed (KIP-896),
// served while sluice.protocol.legacy.versions.enable is on (legacy_versions_test.go checks
// the switch).

// produceN produces n records of size bytes to topic partition 0, one batch each.
func produceN(t *testing.T, cl *kgo.Client, topic string, n, size int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range n {
		value := make([]byte, size)
		rand.Read(value) // incompressible: the stored batches are this big
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: value}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestListOffsetsV0(t *testing.T) {
	b := startBroker(t)
	// The smallest segments, so that the log has several: 8 batches of 400 KB in 1 MiB
	// segments fill 4.
	b.createTopic("old", 1, map[string]string{"segment.bytes": "1048576"})
	b.createTopic("empty", 1, nil)
	produceN(t, b.client(kgo.DefaultProduceTopic("old"), kgo.RecordPartitioner(kgo.ManualPartitioner())), "old", 8, 400_000)
	leo := int64(8)
	segments := b.parts
	p, ok := segments.Partition("old", 0)
	if !ok {
		t.Fatal("partition old-0 not hosted")
	}
	if n := p.Log().NumSegments(); n < 3 {
		t.Fatalf("%d segments, want several", n)
	}
	c := b.dial()
	list := func(topic string, partition int32, ts int64, max int32) kmsg.ListOffsetsResponseTopicPartition {
		t.Helper()
		req := kmsg.NewPtrListOffsetsRequest()
		req.Version = 0
		req.ReplicaID = -1
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.MaxNumOffsets = partition, ts, max
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := c.send(req).(*kmsg.ListOffsetsResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("response %+v", resp)
		}
		return resp.Topics[0].Partitions[0]
	}
	latest := list("old", 0, -1, 100)
	t.Logf("latest offsets %v", latest.OldStyleOffsets)
	if latest.ErrorCode != 0 || len(latest.OldStyleOffsets) < 4 || latest.OldStyleOffsets[0] != leo {
		t.Fatalf("latest, 100 offsets: %+v, want the log end offset %d then the segments' base offsets", latest, leo)
	}
	if !slices.IsSortedFunc(latest.OldStyleOffsets, func(a, b int64) int { return int(b - a) }) || latest.OldStyleOffsets[len(latest.OldStyleOffsets)-1] != 0 {
		t.Fatalf("latest offsets %v: want descending down to 0", latest.OldStyleOffsets)
	}
	if got := list("old", 0, -1, 2).OldStyleOffsets; len(got) != 2 || got[0] != leo || got[1] != latest.OldStyleOffsets[1] {
		t.Fatalf("latest, 2 offsets: %v", got)
	}
	if got := list("old", 0, -2, 5).OldStyleOffsets; !slices.Equal(got, []int64{0}) {
		t.Fatalf("earliest: %v, want [0]", got)
	}
	// A time before every segment was written: nothing; a time after: as latest.
	if got := list("old", 0, 1, 5); got.ErrorCode != 0 || len(got.OldStyleOffsets) != 0 {
		t.Fatalf("timestamp 1: %+v, want no offsets", got)
	}
	if got := list("old", 0, time.Now().Add(time.Hour).UnixMilli(), 3).OldStyleOffsets; !slices.Equal(got, latest.OldStyleOffsets[:3]) {
		t.Fatalf("timestamp in an hour: %v, want %v", got, latest.OldStyleOffsets[:3])
	}
	// An empty log: its one empty segment.
	if got := list("empty", 0, -1, 5).OldStyleOffsets; !slices.Equal(got, []int64{0}) {
		t.Fatalf("latest of an empty log: %v, want [0]", got)
	}
	for _, c := range []struct {
		name      string
		topic     string
		partition int32
		ts        int64
		max       int32
		code      int16
	}{
		{"max timestamp (-3) is not v0's", "old", 0, -3, 5, kerr.UnsupportedVersion.Code},
		{"unknown topic", "nope", 0, -1, 5, kerr.UnknownTopicOrPartition.Code},
		{"unknown partition", "old", 7, -1, 5, kerr.UnknownTopicOrPartition.Code},
		{"negative max", "old", 0, -1, -1, kerr.UnknownServerError.Code},
	} {
		if got := list(c.topic, c.partition, c.ts, c.max); got.ErrorCode != c.code || len(got.OldStyleOffsets) != 0 {
			t.Errorf("%s: %+v, want error %d", c.name, got, c.code)
		}
	}
}

// TestOffsetCommitFetchLegacy: OffsetCommit v0 is a standalone commit (no generation or
// member) kept with the group, read back by OffsetFetch v0 and v1; refused with
// UNKNOWN_MEMBER_ID while the group has members. OffsetCommit v1's per-partition timestamp
// is the stored commit time. (TestClassicGroupRawVersions runs a member through v0/v1.)
func TestOffsetCommitFetchLegacy(t *testing.T) {
	b := startBroker(t)
	coord := group.New(group.Config{MinSessionTimeout: time.Second, MaxSessionTimeout: time.Hour})
	env := *b.env
	env.Groups = coord
	addr := b.serveAsNode(&env, coord.Close)
	b.createTopic("t", 2, nil)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}

	commit := func(version int16, gid string, offset, timestamp int64) int16 {
		t.Helper()
		oc := kmsg.NewPtrOffsetCommitRequest()
		oc.Version, oc.Group = version, gid
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		p.Partition, p.Offset, p.Timestamp, p.Metadata = 0, offset, timestamp, kmsg.StringPtr("v0")
		oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{p}}}
		r := c.send(oc).(*kmsg.OffsetCommitResponse)
		if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
			t.Fatalf("commit v%d: %+v", version, r.Topics)
		}
		return r.Topics[0].Partitions[0].ErrorCode
	}
	fetch := func(version int16, gid string) []kmsg.OffsetFetchResponseTopicPartition {
		t.Helper()
		of := kmsg.NewPtrOffsetFetchRequest()
		of.Version, of.Group = version, gid
		of.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0, 1}}}
		r := c.send(of).(*kmsg.OffsetFetchResponse)
		if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 2 {
			t.Fatalf("fetch v%d: %+v", version, r.Topics)
		}
		return r.Topics[0].Partitions
	}

	if code := commit(0, "zk-era", 42, -1); code != 0 {
		t.Fatalf("commit v0: error %d", code)
	}
	for _, v := range []int16{0, 1, 7} {
		ps := fetch(v, "zk-era")
		if ps[0].ErrorCode != 0 || ps[0].Offset != 42 || ps[0].Metadata == nil || *ps[0].Metadata != "v0" || ps[1].Offset != -1 {
			t.Fatalf("fetch v%d after commit v0: %+v", v, ps)
		}
	}

	// v1's timestamp is the commit time; -1 is now.
	past := time.Now().Add(-time.Hour).UnixMilli()
	if code := commit(1, "zk-era", 43, past); code != 0 {
		t.Fatalf("commit v1: error %d", code)
	}
	if o, ok := coord.FetchOffset("zk-era", "t", 0); !ok || o.Offset != 43 || o.CommitTime != past {
		t.Fatalf("after commit v1 with a timestamp: %+v, want offset 43 committed at %d", o, past)
	}
	before := time.Now().UnixMilli()
	if code := commit(1, "zk-era", 44, -1); code != 0 {
		t.Fatalf("commit v1: error %d", code)
	}
	if o, _ := coord.FetchOffset("zk-era", "t", 0); o.Offset != 44 || o.CommitTime < before {
		t.Fatalf("after commit v1 without a timestamp: %+v, want offset 44 committed now", o)
	}

	// A group with a member refuses a standalone commit.
	jr := kmsg.NewPtrJoinGroupRequest()
	jr.Version, jr.Group, jr.ProtocolType, jr.SessionTimeoutMillis = 0, "busy", "consumer", 10000
	jr.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte("m")}}
	if r := c.send(jr).(*kmsg.JoinGroupResponse); r.ErrorCode != 0 {
		t.Fatalf("join v0: error %d", r.ErrorCode)
	}
	if code := commit(0, "busy", 1, -1); code != kerr.UnknownMemberID.Code {
		t.Fatalf("commit v0 to a group with a member: error %d, want UNKNOWN_MEMBER_ID", code)
	}
}

// TestMetadataV0UnavailableReplicas: Metadata v0 lists only live replicas and flags a partition
// missing some REPLICA_NOT_AVAILABLE; v1 lists them all (v5+: unavailable ones as offline).
func TestMetadataV0UnavailableReplicas(t *testing.T) {
	b := startBroker(t)
	id, err := metadata.NewTopicID(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Broker 2 is not registered: a replica of the topic that nobody can reach.
	b.apply([]metadata.Record{&metadata.TopicRecord{Name: "half", TopicID: id},
		&metadata.PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1}})
	c := b.dial()
	for _, v := range []int16{0, 1, 5} {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = v
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr("half")
		req.Topics = append(req.Topics, rt)
		resp := c.send(req).(*kmsg.MetadataResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("v%d: %+v", v, resp.Topics)
		}
		p := resp.Topics[0].Partitions[0]
		want := struct {
			code          int16
			replicas, isr []int32
		}{0, []int32{1, 2}, []int32{1, 2}}
		if v == 0 {
			want.code, want.replicas, want.isr = kerr.ReplicaNotAvailable.Code, []int32{1}, []int32{1}
		}
		if p.ErrorCode != want.code || p.Leader != 1 || !slices.Equal(p.Replicas, want.replicas) || !slices.Equal(p.ISR, want.isr) {
			t.Errorf("v%d: partition %+v, want error %d replicas %v isr %v", v, p, want.code, want.replicas, want.isr)
		}
		if v >= 5 && !slices.Equal(p.OfflineReplicas, []int32{2}) {
			t.Errorf("v%d: offline replicas %v, want [2]", v, p.OfflineReplicas)
		}
	}
}
