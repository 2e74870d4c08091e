package api_test

import (
	"context"
	"testing"
	"time"

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
