package api_test

import (
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

func TestMetadataAutoCreate(t *testing.T) {
	b := startBroker(t)
	c := b.dial()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("made-on-demand")
	req.Topics = append(req.Topics, rt)

	req.AllowAutoTopicCreation = false
	if code := c.send(req).(*kmsg.MetadataResponse).Topics[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("without AllowAutoTopicCreation: error %d", code)
	}
	req.AllowAutoTopicCreation = true
	resp := c.send(req).(*kmsg.MetadataResponse)
	mt := resp.Topics[0]
	if mt.ErrorCode != 0 || len(mt.Partitions) != 1 || mt.Partitions[0].Leader != 1 {
		t.Fatalf("auto-created topic: %+v", mt)
	}
	if _, ok := b.parts.Partition("made-on-demand", 0); !ok {
		t.Fatal("auto-created partition is not hosted")
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
