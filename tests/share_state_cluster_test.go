package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/share"
	sharecoord "github.com/sluicehq/sluice/internal/share/coordinator"
)

// TestClusterShareStateCoordinatorKilled: three `sluice serve` processes, __share_group_state
// and the consumed topic at RF 3. A share consumer accepts the first records of share group
// sg; the broker coordinating that share-partition's state (FindCoordinator key type SHARE) is
// SIGKILLed. Another broker becomes the state partition's leader and loads it: `sluice group
// describe` through a survivor shows the same start offset, and a new share consumer gets
// exactly the records not accepted before the kill.
func TestClusterShareStateCoordinatorKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	c := startProcCluster(t, 3, "--override", "broker.session.timeout.ms=3000", "--override", "broker.heartbeat.interval.ms=500")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cl := c.node(1).client(kgo.DefaultProduceTopic("sf"))
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 3, nil, "sf"); err != nil {
		t.Fatal(err)
	}
	const total = 30
	for i := range total {
		if err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("v%02d", i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	offs := kadm.Offsets{}
	offs.AddOffset("sf", 0, 0, -1)
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := adm.AlterShareGroupOffsets(ctx, "sg", offs)
		if err == nil && res.Error() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alter share group offsets: %v %v", err, res.Error())
		}
		time.Sleep(200 * time.Millisecond)
	}
	topics, err := adm.ListTopics(ctx, "sf")
	if err != nil {
		t.Fatal(err)
	}
	key := sharecoord.CoordinatorKey(share.Key{Group: "sg", TopicID: topics["sf"].ID, Partition: 0})
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorType, fc.CoordinatorKeys = 2, []string{key}
	fr, err := fc.RequestWith(ctx, cl)
	if err != nil || len(fr.Coordinators) != 1 || fr.Coordinators[0].ErrorCode != 0 {
		t.Fatalf("find share coordinator of %s: %v %+v", key, err, fr)
	}
	coord := fr.Coordinators[0].NodeID

	// Accept the first records (at most 5 per fetch) through the cluster.
	cons := c.node(c.other(coord)).client(kgo.ConsumeTopics("sf"), kgo.ShareGroup("sg"), kgo.ShareMaxRecords(5))
	var accepted []*kgo.Record
	for len(accepted) == 0 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("no records: %v", fs.Errors())
		}
		accepted = fs.Records()
	}
	a := int64(len(accepted))
	cons.MarkAcks(kgo.AckAccept, accepted...)
	if err := cons.FlushAcks(ctx); err != nil {
		t.Fatal(err)
	}
	cons.Close()
	survivor := c.node(c.other(coord)).asNode()
	describeUntil := func(what string, ok func(map[string]any) bool) {
		t.Helper()
		deadline := time.Now().Add(45 * time.Second)
		for {
			res := runSluice(t, survivor, "", "group", "describe", "sg", "--format", "json")
			if res.code == 0 && strings.Contains(res.stdout, `"type": "share"`) {
				if row := shareRow(t, res.stdout); row != nil && ok(row) {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s %s", what, res.stdout, res.stderr)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	describeUntil("the accepted records", func(row map[string]any) bool { return num(row, "start_offset") == a })

	c.node(coord).kill()
	describeUntil("the state after the coordinator was killed", func(row map[string]any) bool {
		return num(row, "start_offset") == a && num(row, "lag") == total-a
	})
	cons = c.node(c.other(coord)).client(kgo.ConsumeTopics("sf"), kgo.ShareGroup("sg"))
	seen := map[int64]bool{}
	for int64(len(seen)) < total-a {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("after the kill got %d of %d records: %v", len(seen), total-a, fs.Errors())
		}
		for _, r := range fs.Records() {
			if r.Offset < a {
				t.Fatalf("offset %d delivered again after the coordinator was killed (accepted below %d)", r.Offset, a)
			}
			seen[r.Offset] = true
		}
	}
}
