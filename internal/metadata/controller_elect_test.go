package metadata

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// setISR commits an ISR change the way AlterPartition would, leaving the leader as it is.
func setISR(t *testing.T, log *memLog, topic string, p int32, isr ...int32) {
	t.Helper()
	if _, err := log.Propose(context.Background(), []Record{&PartitionChangeRecord{TopicID: mustTopic(t, log.img, topic).ID,
		Partition: p, Leader: NoLeaderChange, ISR: isr}}); err != nil {
		t.Fatal(err)
	}
}

func fenceBroker(t *testing.T, ctl *Controller, log *memLog, id int32) {
	t.Helper()
	b := mustBroker(t, log.img, id)
	if res, err := ctl.BrokerHeartbeat(context.Background(), Heartbeat{ID: id, Epoch: b.Epoch, MetadataOffset: log.img.Offset(), WantFence: true}); err != nil || !res.IsFenced {
		t.Fatalf("fence %d: %+v %v", id, res, err)
	}
}

func alterConfig(t *testing.T, ctl *Controller, typ ConfigResourceType, name, key, value string) {
	t.Helper()
	r := ctl.IncrementalAlterConfigs(context.Background(), []IncrementalAlterConfigs{{Resource: ConfigResource{Type: typ, Name: name},
		Changes: []ConfigChange{{Name: key, Op: OpSet, Value: value}}}}, false)
	if r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
}

// When the last ISR member is fenced, a topic that allows unclean elections gets the first
// active replica as leader (ISR just itself) as soon as one is active; a topic that does not
// stays offline until its ISR member returns.
func TestUncleanElectionOnBrokerEvents(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2}, nil)
	createTopic(t, ctl, CreateTopic{Name: "clean", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{{Partition: 0, Replicas: []int32{1, 2}}}})
	createTopic(t, ctl, CreateTopic{Name: "unclean", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{{Partition: 0, Replicas: []int32{1, 2}}},
		Configs: map[string]string{"unclean.leader.election.enable": "true"}})
	fenceBroker(t, ctl, log, 2)
	checkLeaderISR(t, log.img, "unclean", 0, 1, 1)
	fenceBroker(t, ctl, log, 1)
	checkLeaderISR(t, log.img, "clean", 0, -1, 1)
	checkLeaderISR(t, log.img, "unclean", 0, -1, 1) // nobody active
	beat(t, ctl, log, 2)                            // unfenced: out of sync, but the topic allows it
	checkLeaderISR(t, log.img, "clean", 0, -1, 1)
	checkLeaderISR(t, log.img, "unclean", 0, 2, 2)
	if p, _ := mustTopic(t, log.img, "unclean").Partition(0); p.LeaderEpoch < 1 {
		t.Errorf("leader epoch %d not bumped", p.LeaderEpoch)
	}
}

// Turning unclean.leader.election.enable on (for a topic, or as the cluster default) elects the
// offline partitions on the next maintenance pass.
func TestUncleanElectionEnabledDynamically(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2}, nil)
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		createTopic(t, ctl, CreateTopic{Name: name, NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{{Partition: 0, Replicas: []int32{1, 2}}}})
	}
	fenceBroker(t, ctl, log, 2)
	fenceBroker(t, ctl, log, 1)
	beat(t, ctl, log, 2)
	if err := ctl.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	checkLeaderISR(t, log.img, "a", 0, -1, 1)
	alterConfig(t, ctl, ConfigResourceTopic, "a", "unclean.leader.election.enable", "true")
	if err := ctl.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	checkLeaderISR(t, log.img, "a", 0, 2, 2)
	checkLeaderISR(t, log.img, "b", 0, -1, 1)
	alterConfig(t, ctl, ConfigResourceBroker, "", "unclean.leader.election.enable", "true")
	if err := ctl.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	checkLeaderISR(t, log.img, "b", 0, 2, 2)
	// A topic override of false wins over the cluster default.
	createTopic(t, ctl, CreateTopic{Name: "c", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{{Partition: 0, Replicas: []int32{2, 1}}},
		Configs: map[string]string{"unclean.leader.election.enable": "false"}})
	setISR(t, log, "c", 0, 2)
	fenceBroker(t, ctl, log, 2)
	beat(t, ctl, log, 1)
	if err := ctl.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	checkLeaderISR(t, log.img, "c", 0, -1, 2)
	log.leader = false
	if err := ctl.Maintain(ctx); !errors.Is(err, ErrNotController) {
		t.Errorf("not controller: %v", err)
	}
}

func TestElectLeadersPreferred(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2, 3}, nil)
	ctx := context.Background()
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{
		{Partition: 0, Replicas: []int32{1, 2}}, {Partition: 1, Replicas: []int32{1, 3}},
		{Partition: 2, Replicas: []int32{2, 3}}, {Partition: 3, Replicas: []int32{1, 2}}}})
	fenceBroker(t, ctl, log, 1)
	beat(t, ctl, log, 1)
	// Partitions 0 and 1 are back in sync on broker 1; partition 3 is not.
	setISR(t, log, "t", 0, 2, 1)
	setISR(t, log, "t", 1, 3, 1)
	checkLeaderISR(t, log.img, "t", 0, 2, 2, 1)
	log.sizes = nil
	res, err := ctl.ElectLeaders(ctx, ElectPreferred, []TopicPartition{{"t", 0}, {"t", 1}, {"t", 2}, {"t", 3}, {"t", 0}, {"t", 9}, {"nope", 0}})
	if err != nil {
		t.Fatal(err)
	}
	want := []error{nil, nil, ErrElectionNotNeeded, ErrPreferredLeaderNotAvailable, ErrUnknownTopic, ErrUnknownTopic}
	if len(res) != len(want) {
		t.Fatalf("%d results, want %d (duplicates dropped): %+v", len(res), len(want), res)
	}
	for i, w := range want {
		if (w == nil) != (res[i].Err == nil) || (w != nil && !errors.Is(res[i].Err, w)) {
			t.Errorf("%v: %v, want %v", res[i].TopicPartition, res[i].Err, w)
		}
	}
	if !slices.Equal(log.sizes, []int{2}) {
		t.Errorf("proposals %v, want both elections in one batch", log.sizes)
	}
	checkLeaderISR(t, log.img, "t", 0, 1, 2, 1)
	checkLeaderISR(t, log.img, "t", 1, 1, 3, 1)

	// All partitions: those that need nothing are not reported.
	res, err = ctl.ElectLeaders(ctx, ElectPreferred, nil)
	if err != nil || len(res) != 1 || res[0].TopicPartition != (TopicPartition{"t", 3}) || !errors.Is(res[0].Err, ErrPreferredLeaderNotAvailable) {
		t.Fatalf("all partitions: %+v %v", res, err)
	}
	// A fenced preferred replica is not available either.
	setISR(t, log, "t", 3, 2, 1)
	fenceBroker(t, ctl, log, 1)
	setISR(t, log, "t", 3, 2, 1) // as if it were still in the ISR
	if res, _ := ctl.ElectLeaders(ctx, ElectPreferred, []TopicPartition{{"t", 3}}); !errors.Is(res[0].Err, ErrPreferredLeaderNotAvailable) {
		t.Errorf("fenced preferred: %v", res[0].Err)
	}
	if _, err := ctl.ElectLeaders(ctx, 7, nil); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("election type 7: %v", err)
	}
	log.leader = false
	if _, err := ctl.ElectLeaders(ctx, ElectPreferred, nil); !errors.Is(err, ErrNotController) {
		t.Errorf("not controller: %v", err)
	}
}

func TestElectLeadersUnclean(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2, 3}, nil)
	ctx := context.Background()
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{
		{Partition: 0, Replicas: []int32{1, 2}}, {Partition: 1, Replicas: []int32{2, 3}}}})
	createTopic(t, ctl, CreateTopic{Name: "u", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{{Partition: 0, Replicas: []int32{1}}}})
	fenceBroker(t, ctl, log, 2)
	fenceBroker(t, ctl, log, 1) // partition 0: ISR [1], no leader; partition 2 too
	checkLeaderISR(t, log.img, "t", 0, -1, 1)
	res, err := ctl.ElectLeaders(ctx, ElectUnclean, []TopicPartition{{"t", 0}, {"t", 1}, {"u", 0}})
	if err != nil {
		t.Fatal(err)
	}
	// t-0: broker 2 is fenced too, nobody to elect; t-1: led by 3; u-0: its only replica is fenced.
	for i, w := range []error{ErrEligibleLeadersNotAvailable, ErrElectionNotNeeded, ErrEligibleLeadersNotAvailable} {
		if !errors.Is(res[i].Err, w) {
			t.Errorf("%v: %v, want %v", res[i].TopicPartition, res[i].Err, w)
		}
	}
	// Broker 2 returns, out of sync: an explicit unclean election takes it whatever the config.
	b := mustBroker(t, log.img, 2)
	if _, err := ctl.BrokerHeartbeat(ctx, Heartbeat{ID: 2, Epoch: b.Epoch, MetadataOffset: log.img.Offset()}); err != nil {
		t.Fatal(err)
	}
	checkLeaderISR(t, log.img, "t", 0, -1, 1)
	res, err = ctl.ElectLeaders(ctx, ElectUnclean, nil)
	if err != nil || len(res) != 2 || res[0].Err != nil || !errors.Is(res[1].Err, ErrEligibleLeadersNotAvailable) {
		t.Fatalf("all partitions: %+v %v", res, err)
	}
	checkLeaderISR(t, log.img, "t", 0, 2, 2)
}

// Many elections of one request go in batches of MaxRecordsPerBatch.
func TestElectLeadersBatched(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2}, nil)
	ctx := context.Background()
	n := MaxRecordsPerBatch + 500
	as := make([]Assignment, n)
	for i := range as {
		as[i] = Assignment{Partition: int32(i), Replicas: []int32{1, 2}}
	}
	createTopic(t, ctl, CreateTopic{Name: "big", NumPartitions: -1, ReplicationFactor: -1, Assignments: as[:MaxPartitionsPerRequest]})
	if r := ctl.CreatePartitions(ctx, []CreatePartitions{{Topic: "big", Count: int32(n)}}, false); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	fenceBroker(t, ctl, log, 1)
	beat(t, ctl, log, 1)
	var back []Record
	for i := 0; i < n; i++ {
		back = append(back, &PartitionChangeRecord{TopicID: mustTopic(t, log.img, "big").ID, Partition: int32(i), Leader: NoLeaderChange, ISR: []int32{2, 1}})
	}
	if _, err := ctl.proposeInBatches(ctx, back); err != nil {
		t.Fatal(err)
	}
	log.sizes = nil
	res, err := ctl.ElectLeaders(ctx, ElectPreferred, nil)
	if err != nil {
		t.Fatal(err)
	}
	preferredOne := 0
	for _, r := range res {
		if r.Err == nil {
			preferredOne++
		}
	}
	// CreatePartitions placed the extra partitions itself; count those preferred by broker 1.
	if len(log.sizes) != 2 || log.sizes[0] != MaxRecordsPerBatch || log.sizes[0]+log.sizes[1] != preferredOne {
		t.Fatalf("batches %v for %d elections", log.sizes, preferredOne)
	}
}

// Auto rebalance: every leader.imbalance.check.interval.seconds, a broker leading less than
// (100 - leader.imbalance.per.broker.percentage)% of the partitions it is preferred for gets
// them back.
func TestAutoLeaderRebalance(t *testing.T) {
	setup := func(static map[string]string) (*Controller, *memLog, *fakeClock) {
		ctl, log, clock := newClockedController(t, []int32{1, 2}, static)
		as := make([]Assignment, 10)
		for i := range as {
			as[i] = Assignment{Partition: int32(i), Replicas: []int32{1, 2}}
		}
		createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: as})
		fenceBroker(t, ctl, log, 1)
		beat(t, ctl, log, 1)
		for i := int32(0); i < 10; i++ {
			setISR(t, log, "t", i, 2, 1)
		}
		// Broker 1 took one leadership back already: imbalance 9/10.
		if res, _ := ctl.ElectLeaders(context.Background(), ElectPreferred, []TopicPartition{{"t", 0}}); res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
		return ctl, log, clock
	}
	leaders := func(log *memLog) (n int) {
		for _, p := range mustTopic(t, log.img, "t").Partitions {
			if p.Leader == 1 {
				n++
			}
		}
		return n
	}
	ctx := context.Background()
	ctl, log, clock := setup(nil)
	if err := ctl.Maintain(ctx); err != nil { // starts the interval
		t.Fatal(err)
	}
	clock.Advance(299 * time.Second)
	if err := ctl.Maintain(ctx); err != nil || leaders(log) != 1 {
		t.Fatalf("before the interval: %v, broker 1 leads %d", err, leaders(log))
	}
	clock.Advance(time.Second)
	log.sizes = nil
	if err := ctl.Maintain(ctx); err != nil || leaders(log) != 10 {
		t.Fatalf("after the interval: %v, broker 1 leads %d", err, leaders(log))
	}
	if !slices.Equal(log.sizes, []int{9}) {
		t.Errorf("proposals %v, want one batch of 9", log.sizes)
	}

	// Below the percentage: nothing moves. 9/10 = 90% imbalance against 95%.
	ctl, log, clock = setup(map[string]string{"leader.imbalance.per.broker.percentage": "95", "leader.imbalance.check.interval.seconds": "5"})
	_ = ctl.Maintain(ctx)
	clock.Advance(5 * time.Second)
	if err := ctl.Maintain(ctx); err != nil || leaders(log) != 1 {
		t.Fatalf("below the percentage: %v, broker 1 leads %d", err, leaders(log))
	}
	// Disabled: nothing moves.
	ctl, log, clock = setup(map[string]string{"auto.leader.rebalance.enable": "false"})
	_ = ctl.Maintain(ctx)
	clock.Advance(time.Hour)
	if err := ctl.Maintain(ctx); err != nil || leaders(log) != 1 {
		t.Fatalf("disabled: %v, broker 1 leads %d", err, leaders(log))
	}
}
