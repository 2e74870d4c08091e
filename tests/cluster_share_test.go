package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testkit"
)

// TestClusterShareGroupCoordinatorMoves: a share group's coordinator is SIGKILLed in a
// three-process cluster; the new leader of its __consumer_offsets partition loads the group
// (Kafka's share group records, replicated at factor 3) with its member, epochs and
// assignment, and the franz-go share consumer carries on as the same member.
func TestClusterShareGroupCoordinatorMoves(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	c := startProcCluster(t, 3, "--override", "broker.session.timeout.ms=3000", "--override", "broker.heartbeat.interval.ms=500")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	seeds := kgo.SeedBrokers(strings.Split(c.bootstrap(), ",")...)
	ctrl := c.controller()
	adm := kadm.NewClient(c.node(ctrl).client(seeds))
	if resp, err := adm.CreateTopic(ctx, 2, 3, nil, "jobs"); err != nil || resp.Err != nil {
		t.Fatalf("create jobs: %v %v", err, resp.Err)
	}
	x := c.other(ctrl)
	var keys []string
	for i := range 60 {
		keys = append(keys, fmt.Sprintf("sg-%d", i))
	}
	gid := ""
	for k, coord := range coordinatorsFrom(t, c.node(ctrl), 0, keys) {
		if coord == x {
			gid = k
			break
		}
	}
	if gid == "" {
		t.Fatalf("no group coordinated by node %d", x)
	}

	consumer := c.node(ctrl).client(seeds, kgo.ShareGroup(gid), kgo.ConsumeTopics("jobs"))
	pollCtx, stopPolling := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for pollCtx.Err() == nil {
			consumer.PollFetches(pollCtx)
		}
	}()
	defer func() { stopPolling(); <-polled }()

	describe := func(adm *kadm.Client) kadm.DescribedShareGroup {
		dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
		defer dcancel()
		d, err := adm.DescribeShareGroups(dctx, gid)
		if err != nil {
			return kadm.DescribedShareGroup{Err: err}
		}
		return d[gid]
	}
	waitShare := func(adm *kadm.Client, what string, ok func(kadm.DescribedShareGroup) bool) kadm.DescribedShareGroup {
		deadline := time.Now().Add(60 * time.Second)
		for {
			d := describe(adm)
			if d.Err == nil && ok(d) {
				return d
			}
			if time.Now().After(deadline) {
				t.Fatalf("share group %s: %s: %+v\n%s", gid, what, d, c.logTails(30))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	before := waitShare(adm, "one member with both partitions", func(d kadm.DescribedShareGroup) bool {
		return d.GroupState == "Stable" && len(d.Members) == 1 && len(d.Members[0].Assignment["jobs"]) == 2
	})
	if before.Coordinator.NodeID != x {
		t.Fatalf("coordinated by %d, want %d", before.Coordinator.NodeID, x)
	}

	c.node(x).kill()
	c.waitFor(fmt.Sprintf("node %d fenced", x), 30*time.Second, func(v testkit.View) bool { return len(v.Active) == 2 })
	survivors := kadm.NewClient(c.node(ctrl).client(kgo.SeedBrokers(c.node(ctrl).advertised(), c.node(c.other(x, ctrl)).advertised())))
	after := waitShare(survivors, "loaded by a new coordinator", func(d kadm.DescribedShareGroup) bool {
		return d.Coordinator.NodeID != x && len(d.Members) == 1
	})
	if after.Members[0].MemberID != before.Members[0].MemberID || after.GroupEpoch != before.GroupEpoch ||
		after.AssignmentEpoch != before.AssignmentEpoch || len(after.Members[0].Assignment["jobs"]) != 2 {
		t.Fatalf("after the move: %+v, before: %+v", after, before)
	}
	// The consumer keeps heartbeating to the new coordinator as the same member, past a few
	// heartbeat intervals.
	time.Sleep(6 * time.Second)
	still := describe(survivors)
	if still.Err != nil || len(still.Members) != 1 || still.Members[0].MemberID != before.Members[0].MemberID || still.GroupEpoch != before.GroupEpoch {
		t.Fatalf("after heartbeats to the new coordinator: %+v, before: %+v", still, before)
	}
	t.Logf("share group %s moved from node %d to %d with member %s at epoch %d", gid, x, after.Coordinator.NodeID,
		after.Members[0].MemberID, after.Members[0].MemberEpoch)
}
