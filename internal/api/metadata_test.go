package api_test

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestMetadataVersions(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic("orders", 3, nil)
	c := b.dial()
	for v := int16(0); v <= 13; v++ {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = v
		if v > 0 {
			req.Topics = nil // null: all topics
		}
		resp := c.send(req).(*kmsg.MetadataResponse)
		if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 1 {
			t.Fatalf("v%d: brokers %+v", v, resp.Brokers)
		}
		if len(resp.Topics) != 1 || *resp.Topics[0].Topic != "orders" || len(resp.Topics[0].Partitions) != 3 {
			t.Fatalf("v%d: topics %+v", v, resp.Topics)
		}
		if v >= 10 && resp.Topics[0].TopicID != id {
			t.Fatalf("v%d: topic id %x, want %x", v, resp.Topics[0].TopicID, id)
		}
		if v >= 1 && resp.ControllerID != 1 {
			t.Fatalf("v%d: controller %d", v, resp.ControllerID)
		}
		if v >= 2 && (resp.ClusterID == nil || *resp.ClusterID != "test-cluster-id-000001") {
			t.Fatalf("v%d: cluster id %v", v, resp.ClusterID)
		}
		for _, p := range resp.Topics[0].Partitions {
			if p.Leader != 1 || len(p.ISR) != 1 || p.ErrorCode != 0 {
				t.Fatalf("v%d: partition %+v", v, p)
			}
		}
	}
}

func TestMetadataByIDAndUnknown(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic("orders", 1, nil)
	c := b.dial()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	byID := kmsg.NewMetadataRequestTopic()
	byID.TopicID = id
	unknownID := kmsg.NewMetadataRequestTopic()
	unknownID.TopicID = [16]byte{9}
	bad := kmsg.NewMetadataRequestTopic()
	bad.Topic = kmsg.StringPtr("bad name!")
	req.Topics = append(req.Topics, byID, unknownID, bad)
	resp := c.send(req).(*kmsg.MetadataResponse)
	codes := []int16{0, kerr.UnknownTopicID.Code, kerr.InvalidTopicException.Code}
	for i, want := range codes {
		if got := resp.Topics[i].ErrorCode; got != want {
			t.Fatalf("topic %d: error %d, want %d", i, got, want)
		}
	}
	if *resp.Topics[0].Topic != "orders" {
		t.Fatalf("topic by id named %q", *resp.Topics[0].Topic)
	}
}

// metadataOf asks for one topic at version, allowing auto-creation (v4+; always before).
func metadataOf(c *rawConn, version int16, topic string, allow bool) kmsg.MetadataResponseTopic {
	req := kmsg.NewPtrMetadataRequest()
	req.Version, req.AllowAutoTopicCreation = version, allow
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	return c.send(req).(*kmsg.MetadataResponse).Topics[0]
}

// TestMetadataAutoCreate: a Metadata request that auto-creates a topic answers it as Kafka
// does, an error code with no partitions and a zero topic id — UNKNOWN_TOPIC_OR_PARTITION
// from v4, LEADER_NOT_AVAILABLE before — and the next request describes it; a topic deleted
// a moment ago is re-created (a new id, an empty log) and likewise not described in the
// response that re-created it.
func TestMetadataAutoCreate(t *testing.T) {
	b := startBroker(t)
	c := b.dial()
	if mt := metadataOf(c, 12, "made-on-demand", false); mt.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("without AllowAutoTopicCreation: error %d", mt.ErrorCode)
	}
	if _, ok := b.img.Load().Topic("made-on-demand"); ok {
		t.Fatal("created without AllowAutoTopicCreation")
	}
	described := func(topic string) kmsg.MetadataResponseTopic {
		t.Helper()
		var mt kmsg.MetadataResponseTopic
		waitFor(t, func() bool {
			mt = metadataOf(c, 12, topic, false)
			return mt.ErrorCode == 0
		})
		if len(mt.Partitions) != 1 || mt.Partitions[0].Leader != 1 || mt.TopicID == ([16]byte{}) {
			t.Fatalf("%s once created: %+v", topic, mt)
		}
		if _, ok := b.parts.Partition(topic, 0); !ok {
			t.Fatalf("%s: auto-created partition is not hosted", topic)
		}
		return mt
	}
	for _, tc := range []struct {
		version int16
		code    *kerr.Error
	}{{0, kerr.LeaderNotAvailable}, {3, kerr.LeaderNotAvailable}, {4, kerr.UnknownTopicOrPartition}, {9, kerr.UnknownTopicOrPartition}, {13, kerr.UnknownTopicOrPartition}} {
		topic := fmt.Sprintf("made-on-demand-v%d", tc.version)
		mt := metadataOf(c, tc.version, topic, true)
		if mt.ErrorCode != tc.code.Code || len(mt.Partitions) != 0 || mt.TopicID != ([16]byte{}) || mt.Topic == nil || *mt.Topic != topic {
			t.Fatalf("v%d: the creating response answered %+v, want %s without partitions", tc.version, mt, tc.code)
		}
		described(topic)
	}

	// Deleted a moment ago, asked for again with auto-creation: re-created, not described
	// in that response; the next one describes the new topic, whose log is empty.
	old := described("made-on-demand-v4")
	produceAt(t, c, "made-on-demand-v4", 1, 2, 3)
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.Version, del.TimeoutMillis = 6, 10000
	del.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("made-on-demand-v4")}}
	if code := c.send(del).(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode; code != 0 {
		t.Fatalf("delete: %v", kerr.ErrorForCode(code))
	}
	if mt := metadataOf(c, 12, "made-on-demand-v4", true); mt.ErrorCode != kerr.UnknownTopicOrPartition.Code || len(mt.Partitions) != 0 {
		t.Fatalf("re-creating response answered %+v", mt)
	}
	renewed := described("made-on-demand-v4")
	if renewed.TopicID == old.TopicID {
		t.Fatal("re-created topic kept the deleted topic's id")
	}
	if p := listOffset(c, 1, "made-on-demand-v4", -1); p.ErrorCode != 0 || p.Offset != 0 {
		t.Fatalf("re-created topic's log end: error %d offset %d, want an empty log", p.ErrorCode, p.Offset)
	}

	// A producer to a missing topic gets it created and succeeds.
	cl := b.client(kgo.DefaultProduceTopic("produced-on-demand"), kgo.AllowAutoTopicCreation())
	if err := cl.ProduceSync(ctxT(t), &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func TestDescribeTopicPartitionsPaging(t *testing.T) {
	b := startBroker(t)
	b.createTopic("a", 3, nil)
	b.createTopic("b", 2, nil)
	c := b.dial()
	req := kmsg.NewPtrDescribeTopicPartitionsRequest()
	req.ResponsePartitionLimit = 2
	var seen []string
	for page := 0; page < 10; page++ {
		resp := c.send(req).(*kmsg.DescribeTopicPartitionsResponse)
		for _, tp := range resp.Topics {
			for _, p := range tp.Partitions {
				seen = append(seen, *tp.Topic+"-"+string(rune('0'+p.Partition)))
			}
		}
		if resp.NextCursor == nil {
			break
		}
		req.Cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: resp.NextCursor.Topic, Partition: resp.NextCursor.Partition}
	}
	want := []string{"a-0", "a-1", "a-2", "b-0", "b-1"}
	if len(seen) != len(want) {
		t.Fatalf("paged through %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("paged through %v, want %v", seen, want)
		}
	}
}
