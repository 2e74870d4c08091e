package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/testkit"
)

// TestClientQuotasForwarded: AlterClientQuotas sent to a node that is not the controller is
// forwarded to it (KIP-590), and every node then describes the quota from its own Image.
func TestClientQuotasForwarded(t *testing.T) {
	if testing.Short() {
		t.Skip("three-node cluster")
	}
	c := testkit.StartCluster(t, testkit.Options{Nodes: 3})
	ctl := c.Controller()
	var other int32
	for _, id := range c.IDs() {
		if id != ctl {
			other = id
			break
		}
	}
	cl := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := kmsg.NewPtrAlterClientQuotasRequest()
	entry := kmsg.NewAlterClientQuotasRequestEntry()
	ent := kmsg.NewAlterClientQuotasRequestEntryEntity()
	ent.Type, ent.Name = "user", kmsg.StringPtr("alice")
	entry.Entity = append(entry.Entity, ent)
	op := kmsg.NewAlterClientQuotasRequestEntryOp()
	op.Key, op.Value = "producer_byte_rate", 4096
	entry.Ops = append(entry.Ops, op)
	req.Entries = append(req.Entries, entry)
	resp, err := req.RequestWith(ctx, cl.Broker(int(other)))
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Entries[0].ErrorCode; code != 0 {
		t.Fatalf("alter through node %d (controller %d): code %d %v", other, ctl, code, resp.Entries[0].ErrorMessage)
	}
	for _, id := range c.IDs() {
		for {
			d := kmsg.NewPtrDescribeClientQuotasRequest()
			got, err := d.RequestWith(ctx, cl.Broker(int(id)))
			if err == nil && len(got.Entries) == 1 && len(got.Entries[0].Values) == 1 && got.Entries[0].Values[0].Value == 4096 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("node %d does not describe the quota: %v %+v", id, err, got)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestControllerMutationRateForwarded: CreateTopics sent to a node that is not the controller is
// forwarded, and the controller counts it against the client's controller_mutation_rate: with
// 0.01 partitions/s the second topic is refused with THROTTLING_QUOTA_EXCEEDED.
func TestControllerMutationRateForwarded(t *testing.T) {
	if testing.Short() {
		t.Skip("three-node cluster")
	}
	c := testkit.StartCluster(t, testkit.Options{Nodes: 3})
	ctl := c.Controller()
	var other int32
	for _, id := range c.IDs() {
		if id != ctl {
			other = id
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alter := kmsg.NewPtrAlterClientQuotasRequest()
	entry := kmsg.NewAlterClientQuotasRequestEntry()
	ent := kmsg.NewAlterClientQuotasRequestEntryEntity()
	ent.Type, ent.Name = "client-id", kmsg.StringPtr("mutator")
	entry.Entity = append(entry.Entity, ent)
	op := kmsg.NewAlterClientQuotasRequestEntryOp()
	op.Key, op.Value = "controller_mutation_rate", 0.01
	entry.Ops = append(entry.Ops, op)
	alter.Entries = append(alter.Entries, entry)
	if resp, err := alter.RequestWith(ctx, c.Client()); err != nil || resp.Entries[0].ErrorCode != 0 {
		t.Fatalf("alter: %v %+v", err, resp)
	}
	create := func(topic string) *kmsg.CreateTopicsResponse {
		// A new client each time: a throttled response mutes its connection.
		cl := c.Client(kgo.ClientID("mutator"))
		req := kmsg.NewPtrCreateTopicsRequest()
		req.Version, req.TimeoutMillis = 7, 10000
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 1, 1
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl.Broker(int(other)))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := create("forwarded-a"); resp.Topics[0].ErrorCode != 0 || resp.ThrottleMillis <= 0 {
		t.Fatalf("first topic through node %d: code %d, throttle %d ms", other, resp.Topics[0].ErrorCode, resp.ThrottleMillis)
	}
	if resp := create("forwarded-b"); resp.Topics[0].ErrorCode != kerr.ThrottlingQuotaExceeded.Code {
		t.Fatalf("second topic through node %d: code %d, throttle %d ms", other, resp.Topics[0].ErrorCode, resp.ThrottleMillis)
	}
}
