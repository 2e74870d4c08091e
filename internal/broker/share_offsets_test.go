package broker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/share"
)

// TestShareGroupOffsetsAdmin: AlterShareGroupOffsets, DescribeShareGroupOffsets and
// DeleteShareGroupOffsets through kadm on one broker: an alter creates the share group and
// initializes its share-partitions' state (the next alter one state epoch later), describe
// reports start offsets and lag (high watermark − start offset − delivered), a member makes
// the group NON_EMPTY for alter and delete, and after a restart the group's share-partitions
// and their state are found again; delete forgets them.
func TestShareGroupOffsetsAdmin(t *testing.T) {
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddr(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { b.Close() }()
	client := func() (*kgo.Client, *kadm.Client) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr()), kgo.DefaultProduceTopic("st"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		return cl, kadm.NewClient(cl)
	}
	cl, adm := client()
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "st"); err != nil {
		t.Fatal(err)
	}
	for i := range 14 {
		p := int32(0)
		if i >= 10 {
			p = 1
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	offs := kadm.Offsets{}
	offs.AddOffset("st", 0, 3, -1)
	offs.AddOffset("st", 1, 0, -1)
	// The first alter waits for __consumer_offsets (created by its FindCoordinator) to load, as
	// an admin client retries COORDINATOR_LOAD_IN_PROGRESS.
	waitUntil(t, "the first alter", 20*time.Second, func() bool {
		res, err := adm.AlterShareGroupOffsets(ctx, "sg", offs)
		if err == nil && res.Error() == nil {
			return true
		}
		if !errors.Is(err, kerr.CoordinatorLoadInProgress) && !errors.Is(res.Error(), kerr.CoordinatorLoadInProgress) {
			t.Fatalf("alter: %v %v", err, res.Error())
		}
		return false
	})
	offs = kadm.Offsets{}
	offs.AddOffset("st", 0, 4, -1)
	if res, err := adm.AlterShareGroupOffsets(ctx, "sg", offs); err != nil || res.Error() != nil {
		t.Fatalf("alter again: %v %v", err, res.Error())
	}
	describe := func(adm *kadm.Client) kadm.ShareOffsets {
		t.Helper()
		d, err := adm.DescribeShareGroupOffsets(ctx, "sg")
		if err != nil || d.Error() != nil {
			t.Fatalf("describe: %v %v", err, d.Error())
		}
		return d["sg"].Offsets
	}
	check := func(adm *kadm.Client) {
		t.Helper()
		got := describe(adm)
		p0, ok0 := got.Lookup("st", 0)
		p1, ok1 := got.Lookup("st", 1)
		if !ok0 || !ok1 || p0.StartOffset != 4 || p0.Lag != 6 || p1.StartOffset != 0 || p1.Lag != 4 || p0.Err != nil || p1.Err != nil {
			t.Fatalf("describe: %+v", got)
		}
	}
	check(adm)
	tid := b.quorum.Image()
	topic, _ := tid.Topic("st")
	if s, err := b.env.SharePersister.ReadSummary(ctx, share.Key{Group: "sg", TopicID: [16]byte(topic.ID), Partition: 0}, -1); err != nil || s.StateEpoch != 1 {
		t.Fatalf("state epoch after two alters: %+v %v", s, err)
	}

	// A member: the group is not empty.
	hb := kmsg.NewPtrShareGroupHeartbeatRequest()
	hb.GroupID, hb.MemberID, hb.MemberEpoch, hb.SubscribedTopicNames = "sg", "0123456789abcdefghijkl", 0, []string{"st"}
	resp, err := hb.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("join: %v %+v", err, resp)
	}
	if res, err := adm.AlterShareGroupOffsets(ctx, "sg", offs); !errors.Is(err, kerr.NonEmptyGroup) {
		e, _ := res.Lookup("st", 0)
		t.Fatalf("alter of a group with a member: %v %v", err, e)
	}
	if dres, err := adm.DeleteShareGroupOffsets(ctx, "sg", "st"); err == nil && dres.Error() == nil {
		t.Fatalf("delete of a group with a member succeeded")
	} else if !errors.Is(err, kerr.NonEmptyGroup) && !errors.Is(dres.Error(), kerr.NonEmptyGroup) {
		t.Fatalf("delete of a group with a member: %v %v", err, dres.Error())
	}
	hb.MemberEpoch = -1
	if resp, err := hb.RequestWith(ctx, cl); err != nil || resp.ErrorCode != 0 {
		t.Fatalf("leave: %v %+v", err, resp)
	}
	cl.Close()

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err = Start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	cl, adm = client()
	defer cl.Close()
	check(adm)
	if dres, err := adm.DeleteShareGroupOffsets(ctx, "sg", "st"); err != nil || dres.Error() != nil {
		t.Fatalf("delete: %v %v", err, dres.Error())
	}
	if got := describe(adm); len(got) != 0 {
		t.Fatalf("describe after delete: %+v", got)
	}
	if _, err := b.env.SharePersister.ReadSummary(ctx, share.Key{Group: "sg", TopicID: [16]byte(topic.ID), Partition: 0}, -1); !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("state after delete: %v", err)
	}
}

// TestShareGroupOffsetsLagAcrossBrokers: three nodes, a topic whose partitions are led by
// different brokers; DescribeShareGroupOffsets v1 reports every partition's lag, also of
// partitions another broker than the group's coordinator leads (their end asked of their
// leader with ListOffsets).
func TestShareGroupOffsetsLagAcrossBrokers(t *testing.T) {
	if testing.Short() {
		t.Skip("three nodes")
	}
	nodes, _ := threeNodes(t, map[string]string{"broker.heartbeat.interval.ms": "200", "broker.session.timeout.ms": "2000"})
	for _, n := range nodes {
		waitUntil(t, "three active brokers", 30*time.Second, func() bool { return activeBrokers(n) == 3 })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(nodes[0].KafkaAddr()), kgo.DefaultProduceTopic("lt"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "lt"); err != nil {
		t.Fatal(err)
	}
	leaders := map[int32]bool{}
	waitUntil(t, "lt's leaders", 10*time.Second, func() bool {
		t, ok := nodes[0].quorum.Image().Topic("lt")
		if !ok {
			return false
		}
		for _, p := range t.Partitions {
			leaders[p.Leader] = true
		}
		return len(leaders) > 1
	})
	offs := kadm.Offsets{}
	for p := range int32(3) {
		for range 5 {
			if err := cl.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte("v")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		offs.AddOffset("lt", p, 1, -1)
	}
	waitUntil(t, "the alter", 30*time.Second, func() bool {
		res, err := adm.AlterShareGroupOffsets(ctx, "lg", offs)
		return err == nil && res.Error() == nil
	})
	d, err := adm.DescribeShareGroupOffsets(ctx, "lg")
	if err != nil || d.Error() != nil {
		t.Fatalf("describe: %v %v", err, d.Error())
	}
	for p := range int32(3) {
		o, ok := d["lg"].Offsets.Lookup("lt", p)
		if !ok || o.Err != nil || o.StartOffset != 1 || o.Lag != 4 {
			t.Fatalf("lt-%d: %+v (%v)", p, o, ok)
		}
	}
}
