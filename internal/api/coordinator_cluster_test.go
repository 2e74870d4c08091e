package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/txn"
)

// clusterCoordBroker is the test broker (node 1) in a metadata Image of several brokers, with a
// group and a transaction coordinator on its Env: broker 2 is live (rack "r2"), broker 3 is
// fenced, broker 4 was never registered.
type clusterCoordBroker struct {
	*groupBroker
	conn *rawConn
}

func startClusterCoordBroker(t *testing.T, static map[string]string) *clusterCoordBroker {
	t.Helper()
	b := startBroker(t)
	gc := group.New(group.Config{MinSessionTimeout: time.Second, MaxSessionTimeout: time.Hour})
	tc := txn.New(txn.Config{})
	env := *b.env
	env.Groups, env.Txns, env.StaticConfig = gc, tc, static
	gb := &groupBroker{testBroker: b, groupAddr: b.serveAsNode(&env, func() { tc.Close(); gc.Close() })}
	b.apply([]metadata.Record{
		&metadata.RegisterBrokerRecord{BrokerID: 2, Epoch: 10, Rack: "r2",
			Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "broker2.test", Port: 9092}}},
		&metadata.RegisterBrokerRecord{BrokerID: 3, Epoch: 11, Fenced: true,
			Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "broker3.test", Port: 9092}}},
	})
	return &clusterCoordBroker{groupBroker: gb, conn: gb.groupConn()}
}

// internalTopic creates topic with one partition per leader (-1: no leader), each replicated
// on its leader alone, and returns its id.
func (b *clusterCoordBroker) internalTopic(topic string, leaders ...int32) metadata.TopicID {
	b.t.Helper()
	id, err := metadata.NewTopicID(nil)
	if err != nil {
		b.t.Fatal(err)
	}
	recs := []metadata.Record{&metadata.TopicRecord{Name: topic, TopicID: id}}
	for i, l := range leaders {
		replicas := []int32{l}
		if l < 0 {
			replicas = []int32{2}
		}
		recs = append(recs, &metadata.PartitionRecord{TopicID: id, Partition: int32(i), Replicas: replicas, ISR: replicas, Leader: l})
	}
	b.apply(recs)
	return id
}

// keyOf returns a key that hashes to partition p of n (Kafka's abs(String.hashCode) % n).
func keyOf(t *testing.T, prefix string, p, n int32) string {
	t.Helper()
	for i := range 10000 {
		if k := fmt.Sprintf("%s-%d", prefix, i); group.Partition(k, n) == p {
			return k
		}
	}
	t.Fatalf("no key for partition %d of %d", p, n)
	return ""
}

// findCoordinator asks at version v for one key (v0-3) or a batch of them (v4+).
func (b *clusterCoordBroker) findCoordinator(v int16, keyType int8, keys ...string) []kmsg.FindCoordinatorResponseCoordinator {
	b.t.Helper()
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.Version, req.CoordinatorType = v, keyType
	if v < 4 {
		req.CoordinatorKey = keys[0]
		resp := b.conn.send(req).(*kmsg.FindCoordinatorResponse)
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID, c.Host, c.Port, c.ErrorCode, c.ErrorMessage = keys[0], resp.NodeID, resp.Host, resp.Port, resp.ErrorCode, resp.ErrorMessage
		return []kmsg.FindCoordinatorResponseCoordinator{c}
	}
	req.CoordinatorKeys = keys
	return b.conn.send(req).(*kmsg.FindCoordinatorResponse).Coordinators
}

// TestFindCoordinatorNamesThePartitionLeader: the coordinator of a group or transactional id is
// the leader of its partition of __consumer_offsets / __transaction_state, with its endpoint;
// a partition without a leader, led by a fenced broker or by one never registered has no
// coordinator (COORDINATOR_NOT_AVAILABLE, which clients retry). A leadership move moves the
// answer.
func TestFindCoordinatorNamesThePartitionLeader(t *testing.T) {
	b := startClusterCoordBroker(t, nil)
	leaders := []int32{1, 2, 3, -1, 4}
	n := int32(len(leaders))
	for _, tc := range []struct {
		name    string
		topic   string
		keyType int8
	}{
		{"group", metadata.ConsumerOffsetsTopic, 0},
		{"transaction", metadata.TransactionStateTopic, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := b.internalTopic(tc.topic, leaders...)
			keys := make([]string, n)
			for p := range n {
				keys[p] = keyOf(t, tc.name, p, n)
			}
			self := b.findCoordinator(3, tc.keyType, keys[0])[0]
			if self.ErrorCode != 0 || self.NodeID != 1 || fmt.Sprintf("%s:%d", self.Host, self.Port) != b.groupAddr {
				t.Fatalf("key of a partition led here: %+v, want node 1 at %s", self, b.groupAddr)
			}
			for _, v := range []int16{0, 3, 4, 6} {
				if v == 0 && tc.keyType != 0 {
					continue // v0 has no key type: groups only
				}
				var got []kmsg.FindCoordinatorResponseCoordinator
				if v < 4 {
					for _, k := range keys {
						got = append(got, b.findCoordinator(v, tc.keyType, k)...)
					}
				} else {
					got = b.findCoordinator(v, tc.keyType, keys...)
				}
				if len(got) != len(keys) {
					t.Fatalf("v%d: %d coordinators for %d keys", v, len(got), len(keys))
				}
				if c := got[1]; c.ErrorCode != 0 || c.NodeID != 2 || c.Host != "broker2.test" || c.Port != 9092 || c.Key != keys[1] {
					t.Errorf("v%d: key of a partition led by broker 2: %+v", v, c)
				}
				for p := 2; p < len(keys); p++ {
					if c := got[p]; c.ErrorCode != kerr.CoordinatorNotAvailable.Code || c.NodeID != -1 {
						t.Errorf("v%d: key of a partition led by %d: %+v, want COORDINATOR_NOT_AVAILABLE", v, leaders[p], c)
					}
				}
			}
			// Broker 3 is unfenced and broker 2's partition moves to node 1.
			b.apply([]metadata.Record{
				&metadata.BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 11, Fenced: metadata.BrokerUnfence},
				&metadata.PartitionChangeRecord{TopicID: id, Partition: 1, Leader: 1, Replicas: []int32{2, 1}, ISR: []int32{2, 1}},
			})
			got := b.findCoordinator(4, tc.keyType, keys...)
			if got[1].NodeID != 1 || got[2].NodeID != 3 || got[2].Host != "broker3.test" {
				t.Errorf("after the moves: %+v", got)
			}
			b.apply([]metadata.Record{&metadata.BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 11, Fenced: metadata.BrokerFence}})
		})
	}
}

// TestFindCoordinatorTooFewBrokersForInternalTopic: with offsets.topic.replication.factor (or
// the transaction log's) above the live brokers, the internal topic is not created and
// FindCoordinator answers COORDINATOR_NOT_AVAILABLE saying why, as Kafka does.
func TestFindCoordinatorTooFewBrokersForInternalTopic(t *testing.T) {
	b := startClusterCoordBroker(t, map[string]string{
		"offsets.topic.replication.factor":         "3",
		"transaction.state.log.replication.factor": "3",
	})
	for _, tc := range []struct {
		topic   string
		keyType int8
		config  string
	}{
		{metadata.ConsumerOffsetsTopic, 0, "offsets.topic.replication.factor"},
		{metadata.TransactionStateTopic, 1, "transaction.state.log.replication.factor"},
	} {
		for _, v := range []int16{2, 4} {
			c := b.findCoordinator(v, tc.keyType, "k")[0]
			if c.ErrorCode != kerr.CoordinatorNotAvailable.Code || c.ErrorMessage == nil ||
				!strings.Contains(*c.ErrorMessage, tc.config) || !strings.Contains(*c.ErrorMessage, "'2'") {
				t.Errorf("%s v%d: %+v (message %v)", tc.topic, v, c, derefString(c.ErrorMessage))
			}
			if _, ok := b.Image().Topic(tc.topic); ok {
				t.Fatalf("%s created with too few brokers", tc.topic)
			}
		}
	}
	// A third live broker: the topics are created on the next lookup.
	b.apply([]metadata.Record{&metadata.BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 11, Fenced: metadata.BrokerUnfence}})
	for _, tc := range []struct {
		topic   string
		keyType int8
	}{{metadata.ConsumerOffsetsTopic, 0}, {metadata.TransactionStateTopic, 1}} {
		c := b.findCoordinator(4, tc.keyType, "k")[0]
		topic, ok := b.Image().Topic(tc.topic)
		if !ok || len(topic.Partitions[0].Replicas) != 3 {
			t.Fatalf("%s not created with 3 replicas once 3 brokers are live: %+v", tc.topic, topic)
		}
		if c.ErrorCode == 0 && c.NodeID != topic.Partitions[group.Partition("k", int32(len(topic.Partitions)))].Leader {
			t.Errorf("%s: coordinator %+v is not the partition's leader", tc.topic, c)
		}
	}
}

func derefString(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestMetadataAndDescribeClusterOfSeveralBrokers: Metadata and DescribeCluster list the live
// brokers with their racks (DescribeCluster v2 also the fenced ones, marked), partitions led by
// a fenced or unregistered broker answer LEADER_NOT_AVAILABLE with leader -1 and list their
// offline replicas, and the controller reported is a live broker: the active controller while
// it is live, another live broker once it is fenced.
func TestMetadataAndDescribeClusterOfSeveralBrokers(t *testing.T) {
	b := startClusterCoordBroker(t, nil)
	id := b.internalTopic("orders", 1, 2, 3, 4, -1)
	b.apply([]metadata.Record{&metadata.PartitionChangeRecord{TopicID: id, Partition: 1, Leader: metadata.NoLeaderChange,
		Replicas: []int32{2, 3, 4}, ISR: []int32{2, 3, 4}}})

	md := func() *kmsg.MetadataResponse {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = 12
		return b.conn.send(req).(*kmsg.MetadataResponse)
	}
	resp := md()
	var brokers []string
	for _, mb := range resp.Brokers {
		brokers = append(brokers, fmt.Sprintf("%d:%s", mb.NodeID, derefString(mb.Rack)))
	}
	if strings.Join(brokers, ",") != "1:<nil>,2:r2" || resp.ControllerID != 1 {
		t.Fatalf("brokers %v controller %d, want 1 and 2 (rack r2), controller 1", brokers, resp.ControllerID)
	}
	if len(resp.Topics) != 1 {
		t.Fatalf("topics %+v", resp.Topics)
	}
	for _, p := range resp.Topics[0].Partitions {
		wantLeader, wantOffline := []int32{1, 2, -1, -1, -1}[p.Partition], [][]int32{nil, {3, 4}, {3}, {4}, nil}[p.Partition]
		if p.Leader != wantLeader || (wantLeader < 0) != (p.ErrorCode == kerr.LeaderNotAvailable.Code) ||
			fmt.Sprint(p.OfflineReplicas) != fmt.Sprint(wantOffline) {
			t.Errorf("partition %d: leader %d error %d offline %v; want leader %d, offline %v", p.Partition, p.Leader, p.ErrorCode, p.OfflineReplicas, wantLeader, wantOffline)
		}
	}

	dc := kmsg.NewPtrDescribeClusterRequest()
	dc.Version, dc.IncludeFencedBrokers = 2, true
	d := b.conn.send(dc).(*kmsg.DescribeClusterResponse)
	var described []string
	for _, db := range d.Brokers {
		described = append(described, fmt.Sprintf("%d:%v", db.NodeID, db.IsFenced))
	}
	if strings.Join(described, ",") != "1:false,2:false,3:true" || d.ControllerID != 1 {
		t.Fatalf("DescribeCluster brokers %v controller %d", described, d.ControllerID)
	}

	// Broker 2 in controlled shutdown: Sluice's tagged field says so; unknown to kmsg, it
	// arrives among the entry's unknown tags.
	b.apply([]metadata.Record{&metadata.BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 10, InControlledShutdown: 1}})
	d = b.conn.send(dc).(*kmsg.DescribeClusterResponse)
	for _, db := range d.Brokers {
		var tagged []byte
		db.UnknownTags.Each(func(tag uint32, v []byte) {
			if tag == api.InControlledShutdownTag {
				tagged = v
			}
		})
		if want := db.NodeID == 2; (len(tagged) == 1 && tagged[0] == 1) != want {
			t.Errorf("broker %d: controlled-shutdown tag %v, want it: %v", db.NodeID, tagged, want)
		}
	}

	// The active controller's broker (node 1) is fenced: clients are sent to broker 2.
	b.apply([]metadata.Record{&metadata.BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 2, Fenced: metadata.BrokerFence}})
	if got := md(); got.ControllerID != 2 {
		t.Fatalf("controller %d with node 1 fenced, want the live broker 2", got.ControllerID)
	}
	if d := b.conn.send(dc).(*kmsg.DescribeClusterResponse); d.ControllerID != 2 {
		t.Fatalf("DescribeCluster controller %d with node 1 fenced, want 2", d.ControllerID)
	}
}
