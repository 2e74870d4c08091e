package metadata

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustBroker(t *testing.T, img *Image, id int32) *Broker {
	t.Helper()
	b, ok := img.Broker(id)
	if !ok {
		t.Fatalf("broker %d is not registered", id)
	}
	return b
}

// beat heartbeats brokers, each caught up to the controller's current offset, and fails the
// test on error.
func beat(t *testing.T, ctl *Controller, log *memLog, ids ...int32) {
	t.Helper()
	for _, id := range ids {
		b := mustBroker(t, log.img, id)
		if _, err := ctl.BrokerHeartbeat(context.Background(), Heartbeat{ID: id, Epoch: b.Epoch, MetadataOffset: log.img.Offset()}); err != nil {
			t.Fatalf("heartbeat of broker %d: %v", id, err)
		}
	}
}

func createTopic(t *testing.T, ctl *Controller, ct CreateTopic) {
	t.Helper()
	if res := ctl.CreateTopics(context.Background(), []CreateTopic{ct}, false); res[0].Err != nil {
		t.Fatalf("create %s: %v", ct.Name, res[0].Err)
	}
}

func TestRegisterBroker(t *testing.T) {
	ctl, log, _ := newClockedController(t, nil, nil)
	ctx := context.Background()
	reg := BrokerRegistration{ID: 4, Incarnation: [16]byte{1}, Endpoints: []Endpoint{{Listener: "PLAINTEXT", Host: "h", Port: 1}}, Rack: "r"}
	epoch, err := ctl.RegisterBroker(ctx, reg)
	if err != nil || epoch != log.img.Offset() {
		t.Fatalf("epoch %d err %v; want the registration's offset %d", epoch, err, log.img.Offset())
	}
	if b := mustBroker(t, log.img, 4); !b.Fenced || b.InControlledShutdown || b.Rack != "r" || b.Incarnation != reg.Incarnation {
		t.Fatalf("a new registration must start fenced: %+v", b)
	}
	proposals := log.proposed
	if again, err := ctl.RegisterBroker(ctx, reg); err != nil || again != epoch || log.proposed != proposals {
		t.Fatalf("re-sent registration: epoch %d err %v, %d new proposals", again, err, log.proposed-proposals)
	}
	beat(t, ctl, log, 4)
	if again, err := ctl.RegisterBroker(ctx, reg); err != nil || again != epoch || mustBroker(t, log.img, 4).Fenced {
		t.Fatalf("re-sent registration after unfencing: epoch %d err %v, fenced %v", again, err, mustBroker(t, log.img, 4).Fenced)
	}
	moved := reg
	moved.Endpoints = []Endpoint{{Listener: "PLAINTEXT", Host: "h", Port: 2}}
	if e, err := ctl.RegisterBroker(ctx, moved); err != nil || e <= epoch || !mustBroker(t, log.img, 4).Fenced {
		t.Fatalf("new endpoints: epoch %d err %v; want a new, fenced registration", e, err)
	}
	if _, err := ctl.RegisterBroker(ctx, BrokerRegistration{ID: -1}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("negative id: %v", err)
	}
	log.leader = false
	if _, err := ctl.RegisterBroker(ctx, BrokerRegistration{ID: 5}); !errors.Is(err, ErrNotController) {
		t.Errorf("not controller: %v", err)
	}
}

func TestDuplicateBrokerRegistration(t *testing.T) {
	ctl, _, clock := newClockedController(t, []int32{1}, nil)
	ctx := context.Background()
	other := BrokerRegistration{ID: 1, Incarnation: [16]byte{9}}
	_, err := ctl.RegisterBroker(ctx, other)
	if !errors.Is(err, ErrDuplicateBrokerRegistration) || !strings.Contains(err.Error(), "broker 1 is registered by another process") {
		t.Fatalf("second incarnation while the first heartbeats: %v", err)
	}
	clock.Advance(9 * time.Second)
	if _, err := ctl.RegisterBroker(ctx, other); !errors.Is(err, ErrDuplicateBrokerRegistration) {
		t.Fatalf("at exactly the session timeout the first is still live: %v", err)
	}
	clock.Advance(time.Millisecond)
	if _, err := ctl.RegisterBroker(ctx, other); err != nil {
		t.Fatalf("after the session timeout: %v", err)
	}

	// A controller that took over has heard no heartbeat: a restarted node registers at once.
	_, log2, _ := newClockedController(t, []int32{1}, nil)
	successor := NewController(log2, ControllerOptions{NodeID: 2, Now: clock.Now})
	if _, err := successor.RegisterBroker(ctx, other); err != nil {
		t.Fatalf("new controller: %v", err)
	}

	// A fenced registration is never live.
	ctl3, log3, _ := newClockedController(t, []int32{1}, nil)
	b := mustBroker(t, log3.img, 1)
	if _, err := ctl3.BrokerHeartbeat(ctx, Heartbeat{ID: 1, Epoch: b.Epoch, MetadataOffset: log3.img.Offset(), WantFence: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl3.RegisterBroker(ctx, other); err != nil {
		t.Fatalf("replacing a fenced registration: %v", err)
	}
}

func TestHeartbeatErrors(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1}, nil)
	ctx := context.Background()
	old := mustBroker(t, log.img, 1).Epoch
	if _, err := ctl.BrokerHeartbeat(ctx, Heartbeat{ID: 7, Epoch: old}); !errors.Is(err, ErrBrokerIDNotRegistered) {
		t.Errorf("unknown broker: %v", err)
	}
	if _, err := ctl.BrokerHeartbeat(ctx, Heartbeat{ID: 1, Epoch: old + 1}); !errors.Is(err, ErrStaleBrokerEpoch) {
		t.Errorf("wrong epoch: %v", err)
	}
	ctl.opts.Now = func() time.Time { return time.Unix(1_800_000_000, 0) } // the old incarnation's session is long over
	if _, err := ctl.RegisterBroker(ctx, BrokerRegistration{ID: 1, Incarnation: [16]byte{2}}); err != nil {
		t.Fatal(err)
	}
	_, err := ctl.BrokerHeartbeat(ctx, Heartbeat{ID: 1, Epoch: old, MetadataOffset: log.img.Offset()})
	if !errors.Is(err, ErrStaleBrokerEpoch) || !strings.Contains(err.Error(), "the heartbeat carries") {
		t.Errorf("previous incarnation's heartbeat: %v", err)
	}
	log.leader = false
	if _, err := ctl.BrokerHeartbeat(ctx, Heartbeat{ID: 1, Epoch: mustBroker(t, log.img, 1).Epoch}); !errors.Is(err, ErrNotController) {
		t.Errorf("not controller: %v", err)
	}
}

func TestHeartbeatUnfencesOnceCaughtUp(t *testing.T) {
	ctl, log, _ := newClockedController(t, nil, nil)
	ctx := context.Background()
	epoch, err := ctl.RegisterBroker(ctx, BrokerRegistration{ID: 1})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name       string
		hb         Heartbeat
		want       HeartbeatResult
		wantFenced bool
	}{
		{"behind its registration", Heartbeat{MetadataOffset: epoch - 1}, HeartbeatResult{IsFenced: true}, true},
		{"caught up but wants fence", Heartbeat{MetadataOffset: epoch, WantFence: true}, HeartbeatResult{IsCaughtUp: true, IsFenced: true}, true},
		{"caught up", Heartbeat{MetadataOffset: epoch}, HeartbeatResult{IsCaughtUp: true}, false},
		{"unfenced stays unfenced", Heartbeat{MetadataOffset: epoch + 1}, HeartbeatResult{IsCaughtUp: true}, false},
	}
	for _, s := range steps {
		s.hb.ID, s.hb.Epoch = 1, epoch
		res, err := ctl.BrokerHeartbeat(ctx, s.hb)
		if err != nil || res != s.want || mustBroker(t, log.img, 1).Fenced != s.wantFenced {
			t.Fatalf("%s: %+v %v, want %+v (fenced %v)", s.name, res, err, s.want, s.wantFenced)
		}
	}
	// IsCaughtUp compares with the controller's offset at the previous heartbeat.
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: 1, ReplicationFactor: 1})
	createTopic(t, ctl, CreateTopic{Name: "u", NumPartitions: 1, ReplicationFactor: 1})
	lagging := log.img.Offset() - 1
	if res, _ := ctl.BrokerHeartbeat(ctx, Heartbeat{ID: 1, Epoch: epoch, MetadataOffset: lagging}); !res.IsCaughtUp {
		t.Errorf("offset %d reaches the %d the controller had at the previous heartbeat, yet not caught up", lagging, epoch+1)
	}
	if res, _ := ctl.BrokerHeartbeat(ctx, Heartbeat{ID: 1, Epoch: epoch, MetadataOffset: lagging}); res.IsCaughtUp {
		t.Errorf("offset %d is behind the %d the controller had at the previous heartbeat, yet caught up", lagging, log.img.Offset())
	}
}

// checkLeaderISR asserts one partition's leader and ISR.
func checkLeaderISR(t *testing.T, img *Image, topic string, p int32, leader int32, isr ...int32) {
	t.Helper()
	part, _ := mustTopic(t, img, topic).Partition(p)
	if part.Leader != leader || !slices.Equal(part.ISR, isr) {
		t.Errorf("%s-%d: leader %d ISR %v, want %d %v", topic, p, part.Leader, part.ISR, leader, isr)
	}
}

func TestFenceStaleBrokers(t *testing.T) {
	ctl, log, clock := newClockedController(t, []int32{1, 2, 3}, nil)
	ctx := context.Background()
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{
		{Partition: 0, Replicas: []int32{1, 2, 3}}, {Partition: 1, Replicas: []int32{1, 3, 2}},
		{Partition: 2, Replicas: []int32{2, 1, 3}}, {Partition: 3, Replicas: []int32{3, 2, 1}}}})
	before := mustTopic(t, log.img, "t")
	// Brokers 2 and 3 heartbeat every 3 s; broker 1 has gone silent.
	for i := 0; i < 3; i++ {
		clock.Advance(3 * time.Second)
		beat(t, ctl, log, 2, 3)
		if fenced, err := ctl.FenceStaleBrokers(ctx); err != nil || len(fenced) != 0 {
			t.Fatalf("after %d s: fenced %v err %v", 3*(i+1), fenced, err)
		}
	}
	clock.Advance(time.Millisecond)
	proposals := log.proposed
	fenced, err := ctl.FenceStaleBrokers(ctx)
	if err != nil || !slices.Equal(fenced, []int32{1}) {
		t.Fatalf("after the session timeout: fenced %v err %v", fenced, err)
	}
	if log.proposed != proposals+1 {
		t.Errorf("%d batches, want the fence and its partition changes in one", log.proposed-proposals)
	}
	if !mustBroker(t, log.img, 1).Fenced {
		t.Fatal("broker 1 not fenced")
	}
	checkLeaderISR(t, log.img, "t", 0, 2, 2, 3)
	checkLeaderISR(t, log.img, "t", 1, 3, 3, 2)
	checkLeaderISR(t, log.img, "t", 2, 2, 2, 3)
	checkLeaderISR(t, log.img, "t", 3, 3, 3, 2)
	after := mustTopic(t, log.img, "t")
	for p := range after.Partitions {
		old, now := before.Partitions[p], after.Partitions[p]
		wantLeaderEpoch := old.LeaderEpoch
		if old.Leader != now.Leader {
			wantLeaderEpoch++
		}
		if now.LeaderEpoch != wantLeaderEpoch || now.PartitionEpoch != old.PartitionEpoch+1 {
			t.Errorf("partition %d epochs %d/%d, want %d/%d", p, now.LeaderEpoch, now.PartitionEpoch, wantLeaderEpoch, old.PartitionEpoch+1)
		}
	}
	// Nothing more to do: no proposal.
	proposals = log.proposed
	if fenced, err := ctl.FenceStaleBrokers(ctx); err != nil || len(fenced) != 0 || log.proposed != proposals {
		t.Fatalf("second call: fenced %v err %v, %d proposals", fenced, err, log.proposed-proposals)
	}
	// Placement avoids the fenced broker.
	if res := ctl.CreateTopics(ctx, []CreateTopic{{Name: "u", NumPartitions: 1, ReplicationFactor: 3}}, false); !errors.Is(res[0].Err, ErrInvalidReplicationFactor) {
		t.Errorf("replication 3 with a fenced broker: %v", res[0].Err)
	}
	// The fenced broker comes back: unfenced, but not back in ISRs (that is replication's job)
	// and it takes no leadership from live leaders.
	beat(t, ctl, log, 1)
	if mustBroker(t, log.img, 1).Fenced {
		t.Fatal("caught-up heartbeat did not unfence broker 1")
	}
	checkLeaderISR(t, log.img, "t", 0, 2, 2, 3)
	log.leader = false
	if _, err := ctl.FenceStaleBrokers(ctx); !errors.Is(err, ErrNotController) {
		t.Errorf("not controller: %v", err)
	}
}

func TestFenceKeepsLastISRMemberAndReelects(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2}, nil)
	ctx := context.Background()
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{
		{Partition: 0, Replicas: []int32{1, 2}}}})
	createTopic(t, ctl, CreateTopic{Name: "solo", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{
		{Partition: 0, Replicas: []int32{1}}}})
	fence := func(id int32) {
		t.Helper()
		b := mustBroker(t, log.img, id)
		if res, err := ctl.BrokerHeartbeat(ctx, Heartbeat{ID: id, Epoch: b.Epoch, MetadataOffset: log.img.Offset(), WantFence: true}); err != nil || !res.IsFenced {
			t.Fatalf("fence %d: %+v %v", id, res, err)
		}
	}
	fence(2)
	checkLeaderISR(t, log.img, "t", 0, 1, 1)
	fence(1)
	checkLeaderISR(t, log.img, "t", 0, -1, 1) // the ISR keeps its last member; no leader
	checkLeaderISR(t, log.img, "solo", 0, -1, 1)
	beat(t, ctl, log, 2) // not in the ISR: cannot lead
	checkLeaderISR(t, log.img, "t", 0, -1, 1)
	beat(t, ctl, log, 1) // the last ISR member returns and leads again
	checkLeaderISR(t, log.img, "t", 0, 1, 1)
	checkLeaderISR(t, log.img, "solo", 0, 1, 1)
}

func TestControllerFailoverGrace(t *testing.T) {
	ctl, log, clock := newClockedController(t, []int32{1, 2}, nil)
	ctx := context.Background()
	clock.Advance(8 * time.Second) // broker 1 silent since registration; broker 2 heartbeats
	beat(t, ctl, log, 2)

	// A new controller takes over: every broker gets a full session from the takeover.
	next := NewController(log, ControllerOptions{NodeID: 2, Now: clock.Now})
	for _, step := range []time.Duration{0, 4 * time.Second, 5 * time.Second} {
		clock.Advance(step)
		if fenced, err := next.FenceStaleBrokers(ctx); err != nil || len(fenced) != 0 {
			t.Fatalf("%v after takeover: fenced %v err %v", step, fenced, err)
		}
	}
	beat(t, next, log, 2)
	clock.Advance(time.Millisecond)
	if fenced, err := next.FenceStaleBrokers(ctx); err != nil || !slices.Equal(fenced, []int32{1}) {
		t.Fatalf("a session after takeover: fenced %v err %v", fenced, err)
	}

	// The same controller losing and regaining leadership also restarts every session.
	log.leader = false
	if _, err := next.FenceStaleBrokers(ctx); !errors.Is(err, ErrNotController) {
		t.Fatal(err)
	}
	clock.Advance(20 * time.Second) // broker 2's heartbeats went to another controller
	log.leader = true
	if fenced, err := next.FenceStaleBrokers(ctx); err != nil || len(fenced) != 0 {
		t.Fatalf("after regaining leadership: fenced %v err %v", fenced, err)
	}
	// So does a gap longer than a session between two calls (leadership may have changed unseen).
	clock.Advance(30 * time.Second)
	if fenced, err := next.FenceStaleBrokers(ctx); err != nil || len(fenced) != 0 {
		t.Fatalf("after a long gap: fenced %v err %v", fenced, err)
	}
	clock.Advance(5 * time.Second)
	if fenced, err := next.FenceStaleBrokers(ctx); err != nil || len(fenced) != 0 {
		t.Fatalf("5 s after the gap: fenced %v err %v", fenced, err)
	}
	clock.Advance(4*time.Second + time.Millisecond)
	if fenced, err := next.FenceStaleBrokers(ctx); err != nil || !slices.Equal(fenced, []int32{2}) {
		t.Fatalf("a session after the gap: fenced %v err %v", fenced, err)
	}
}

func TestControlledShutdown(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1, 2, 3}, nil)
	ctx := context.Background()
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: 6, ReplicationFactor: 3})
	createTopic(t, ctl, CreateTopic{Name: "solo", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: []Assignment{{Partition: 0, Replicas: []int32{1}}}})
	b1 := mustBroker(t, log.img, 1)
	shutdown := Heartbeat{ID: 1, Epoch: b1.Epoch, MetadataOffset: log.img.Offset(), WantShutDown: true}
	res, err := ctl.BrokerHeartbeat(ctx, shutdown)
	if err != nil || res.ShouldShutDown || res.IsFenced {
		t.Fatalf("first shutdown heartbeat: %+v %v; the others have not seen the new leaders yet", res, err)
	}
	if b := mustBroker(t, log.img, 1); !b.InControlledShutdown || b.Fenced {
		t.Fatalf("broker 1 %+v, want in controlled shutdown", b)
	}
	if leadsAny(log.img, 1) {
		t.Fatal("broker 1 still leads a partition")
	}
	for _, p := range mustTopic(t, log.img, "t").Partitions {
		if slices.Contains(p.ISR, 1) || p.Leader == -1 {
			t.Errorf("partition %d: leader %d ISR %v", p.Partition, p.Leader, p.ISR)
		}
	}
	checkLeaderISR(t, log.img, "solo", 0, -1, 1) // no one else can take over: offline
	if res := ctl.CreateTopics(ctx, []CreateTopic{{Name: "u", NumPartitions: 1, ReplicationFactor: 3}}, false); !errors.Is(res[0].Err, ErrInvalidReplicationFactor) {
		t.Errorf("a broker in controlled shutdown got a replica: %v", res[0].Err)
	}
	beat(t, ctl, log, 2) // broker 3 has not caught up yet
	if res, _ := ctl.BrokerHeartbeat(ctx, shutdown); res.ShouldShutDown {
		t.Fatal("shut down before broker 3 learned the new leaders")
	}
	beat(t, ctl, log, 3)
	shutdown.WantShutDown = false // the state sticks whatever later heartbeats say
	res, err = ctl.BrokerHeartbeat(ctx, shutdown)
	if err != nil || !res.ShouldShutDown || !res.IsFenced || !mustBroker(t, log.img, 1).Fenced {
		t.Fatalf("after every broker caught up: %+v %v", res, err)
	}
	// Re-registering (the restart) clears the controlled shutdown; unfencing it re-elects solo.
	ctl.opts.Now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	registerUnfenced(t, ctl, log, BrokerRegistration{ID: 1, Incarnation: [16]byte{7}})
	if b := mustBroker(t, log.img, 1); b.InControlledShutdown || b.Fenced {
		t.Fatalf("after restart %+v", b)
	}
	checkLeaderISR(t, log.img, "solo", 0, 1, 1)
}

func TestFencedBrokerShutsDownAtOnce(t *testing.T) {
	ctl, log, _ := newClockedController(t, nil, nil)
	epoch, err := ctl.RegisterBroker(context.Background(), BrokerRegistration{ID: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ctl.BrokerHeartbeat(context.Background(), Heartbeat{ID: 1, Epoch: epoch, MetadataOffset: log.img.Offset(), WantShutDown: true})
	if err != nil || !res.ShouldShutDown || !res.IsFenced || mustBroker(t, log.img, 1).InControlledShutdown {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestNewIncarnationLosesLeaderships(t *testing.T) {
	ctl, log, clock := newClockedController(t, []int32{1, 2}, nil)
	createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{
		{Partition: 0, Replicas: []int32{1, 2}}}})
	clock.Advance(10 * time.Second) // the first incarnation's session is over
	epoch, err := ctl.RegisterBroker(context.Background(), BrokerRegistration{ID: 1, Incarnation: [16]byte{5}})
	if err != nil {
		t.Fatal(err)
	}
	checkLeaderISR(t, log.img, "t", 0, 2, 2)
	if b := mustBroker(t, log.img, 1); b.Epoch != epoch || !b.Fenced {
		t.Fatalf("%+v", b)
	}
}

func TestFailoverOfManyPartitionsIsBatched(t *testing.T) {
	ctl, log, clock := newClockedController(t, []int32{1, 2}, nil)
	ctx := context.Background()
	createTopic(t, ctl, CreateTopic{Name: "big", NumPartitions: MaxPartitionsPerRequest, ReplicationFactor: 2})
	createTopic(t, ctl, CreateTopic{Name: "more", NumPartitions: 5000, ReplicationFactor: 2})
	clock.Advance(5 * time.Second)
	beat(t, ctl, log, 2)
	if _, err := ctl.FenceStaleBrokers(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second)
	beat(t, ctl, log, 2)
	log.sizes = nil
	fenced, err := ctl.FenceStaleBrokers(ctx)
	if err != nil || !slices.Equal(fenced, []int32{1}) {
		t.Fatalf("fenced %v err %v", fenced, err)
	}
	// One fence record and 15,000 ISR changes (broker 1 is in every ISR): two batches.
	if !slices.Equal(log.sizes, []int{MaxRecordsPerBatch, 15001 - MaxRecordsPerBatch}) {
		t.Fatalf("batches of %v records", log.sizes)
	}
	for _, name := range []string{"big", "more"} {
		for _, p := range mustTopic(t, log.img, name).Partitions {
			if p.Leader != 2 || !slices.Equal(p.ISR, []int32{2}) {
				t.Fatalf("%s-%d: leader %d ISR %v", name, p.Partition, p.Leader, p.ISR)
			}
		}
	}
}

// An event cut between two batches (here: leadership lost after the first) is completed by the
// next FenceStaleBrokers, because the rule is applied to the whole Image.
func TestInterruptedFailoverIsCompleted(t *testing.T) {
	ctl, log, clock := newClockedController(t, []int32{1, 2}, nil)
	ctx := context.Background()
	createTopic(t, ctl, CreateTopic{Name: "big", NumPartitions: MaxPartitionsPerRequest, ReplicationFactor: 2})
	clock.Advance(5 * time.Second)
	beat(t, ctl, log, 2)
	if _, err := ctl.FenceStaleBrokers(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second)
	beat(t, ctl, log, 2)
	failing := &failAfter{memLog: log, left: 1}
	ctl.log = failing
	if _, err := ctl.FenceStaleBrokers(ctx); !errors.Is(err, ErrNotController) {
		t.Fatalf("interrupted: %v", err)
	}
	pending := func() int {
		return len(partitionChanges(log.img, func(id int32) bool { return isActive(log.img, id) }, nil, 10))
	}
	if !mustBroker(t, log.img, 1).Fenced || pending() == 0 {
		t.Fatal("the first batch should have fenced broker 1, leaving some partitions to change")
	}
	ctl.log = log
	if fenced, err := ctl.FenceStaleBrokers(ctx); err != nil || len(fenced) != 0 {
		t.Fatalf("completion: fenced %v err %v", fenced, err)
	}
	if leadsAny(log.img, 1) || pending() != 0 {
		t.Fatal("partitions still to change after the completing call")
	}
}

// failAfter lets `left` proposals through, then answers as if leadership was lost.
type failAfter struct {
	*memLog
	left int
}

func (f *failAfter) Propose(ctx context.Context, recs []Record) (*Image, error) {
	if f.left == 0 {
		return nil, errorf(ErrNotController, "leadership lost")
	}
	f.left--
	return f.memLog.Propose(ctx, recs)
}

func TestPlacementIsDeterministicForASeed(t *testing.T) {
	place := func() [][]int32 {
		ctl, log, _ := newClockedController(t, nil, nil)
		for i, rack := range []string{"a", "a", "b", "b", "c"} {
			registerUnfenced(t, ctl, log, BrokerRegistration{ID: int32(i + 1), Rack: rack})
		}
		ctl.mu.rng = rand.New(rand.NewPCG(1, 2))
		createTopic(t, ctl, CreateTopic{Name: "t", NumPartitions: 20, ReplicationFactor: 3})
		var out [][]int32
		for _, p := range mustTopic(t, log.img, "t").Partitions {
			out = append(out, p.Replicas)
		}
		return out
	}
	a, b := place(), place()
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Fatalf("partition %d: %v then %v", i, a[i], b[i])
		}
	}
}

// Heartbeats run concurrently with admin requests and FenceStaleBrokers (run with -race).
func TestHeartbeatsConcurrentWithAdmin(t *testing.T) {
	img, err := Empty().Apply(0, BootstrapRecords("c"))
	if err != nil {
		t.Fatal(err)
	}
	log := &memLog{img: img, leader: true}
	ctl := NewController(log, ControllerOptions{Random: seeded{rand.NewChaCha8([32]byte{3})}})
	ctx := context.Background()
	epochs := map[int32]int64{}
	for _, id := range []int32{1, 2, 3} {
		e, err := ctl.RegisterBroker(ctx, BrokerRegistration{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		epochs[id] = e
	}
	var wg sync.WaitGroup
	for id, epoch := range epochs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				img, _ := log.LeaderImage(ctx)
				if _, err := ctl.BrokerHeartbeat(ctx, Heartbeat{ID: id, Epoch: epoch, MetadataOffset: img.Offset()}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 50; i++ {
			if _, err := ctl.FenceStaleBrokers(ctx); err != nil {
				t.Error(err)
				return
			}
			ctl.CreateTopics(ctx, []CreateTopic{{Name: "t" + strings.Repeat("x", i), NumPartitions: 2, ReplicationFactor: 1}}, false)
		}
	}()
	wg.Wait()
	img, _ = log.LeaderImage(ctx)
	for id := range epochs {
		if b := mustBroker(t, img, id); b.Fenced {
			t.Errorf("broker %d still fenced after caught-up heartbeats", id)
		}
	}
}

// A heartbeat that changes nothing does not wait for the controller's mutex, which admin
// requests hold across their proposals.
func TestHeartbeatDoesNotWaitForAdminRequests(t *testing.T) {
	ctl, log, _ := newClockedController(t, []int32{1}, nil)
	b := mustBroker(t, log.img, 1)
	ctl.mu.Lock() // an admin request in progress
	done := make(chan error, 1)
	go func() {
		_, err := ctl.BrokerHeartbeat(context.Background(), Heartbeat{ID: 1, Epoch: b.Epoch, MetadataOffset: log.img.Offset()})
		done <- err
	}()
	select {
	case err := <-done:
		ctl.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		ctl.mu.Unlock()
		t.Fatal("a plain heartbeat waited for Controller.mu")
	}
}
