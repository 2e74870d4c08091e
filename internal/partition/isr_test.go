package partition

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/storage"
)

// isrClock is a fake clock for the ISR tests.
type isrClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *isrClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *isrClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const testMaxLag = 30 * time.Second

// newISRPartition leads t-0 on node 1 with replicas 1, 2, 3 all in the ISR, on a fake clock.
func newISRPartition(t *testing.T, cfg Config) (*Partition, *isrClock) {
	t.Helper()
	store, err := storage.Open(storage.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Error(err)
		}
	})
	clock := &isrClock{now: time.Now()} // records(t, n) stamps the wall clock
	m := NewManager(ManagerOptions{NodeID: 1, Storage: store, Now: clock.Now})
	p, err := m.Create(TopicPartition{Topic: "t", Partition: 0}, [16]byte{1}, storage.DefaultLogConfig(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetState(State{Leader: 1, LeaderEpoch: 4, PartitionEpoch: 7, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	return p, clock
}

// fetched records a follower's fetch from offset with broker epoch 100+id.
func fetched(t *testing.T, p *Partition, id int32, offset int64) {
	t.Helper()
	if err := p.UpdateFollowerFetch(id, 100+int64(id), offset); err != nil {
		t.Fatal(err)
	}
}

func appendN(t *testing.T, p *Partition, n int) {
	t.Helper()
	if _, err := p.Append(records(t, n), 1); err != nil {
		t.Fatal(err)
	}
}

func anyEligible(int32, int64) bool { return true }

func checkISR(t *testing.T, p *Partition, now time.Time, eligible func(int32, int64) bool) (ISRRequest, bool) {
	t.Helper()
	if eligible == nil {
		eligible = anyEligible
	}
	return p.CheckISR(now, testMaxLag, eligible)
}

// complete answers req as the controller would accept it.
func complete(p *Partition, req ISRRequest) ISRChangeOutcome {
	return p.CompleteISRChange(req, nil, 1, req.LeaderEpoch, req.PartitionEpoch+1, req.NewISR)
}

func TestISRShrinksAfterMaxLagAndCountsTheLeavingFollowerUntilCommitted(t *testing.T) {
	p, clock := newISRPartition(t, DefaultConfig())
	appendN(t, p, 5)
	fetched(t, p, 2, 5)
	clock.Advance(testMaxLag - time.Second)
	fetched(t, p, 2, 5)
	if req, ok := checkISR(t, p, clock.Now(), nil); ok {
		t.Fatalf("shrink before replica.lag.time.max.ms: %+v", req)
	}
	clock.Advance(2 * time.Second)
	req, ok := checkISR(t, p, clock.Now(), nil)
	if !ok || req.Expand || !slices.Equal(req.NewISR, []int32{1, 2}) || req.LeaderEpoch != 4 || req.PartitionEpoch != 7 {
		t.Fatalf("shrink: %+v %v", req, ok)
	}
	if !slices.Equal(req.BrokerEpochs, []int64{-1, 102}) {
		t.Errorf("broker epochs %v", req.BrokerEpochs)
	}
	if _, ok := checkISR(t, p, clock.Now(), nil); ok {
		t.Fatal("a second change while one is in flight")
	}
	// Until the controller commits the shrink, follower 3 (which never fetched) holds the HW.
	if hw := p.HighWatermark(); hw != 0 {
		t.Fatalf("hw %d while the shrink is pending", hw)
	}
	if out := complete(p, req); out != ISRChangeApplied {
		t.Fatalf("outcome %v", out)
	}
	if s := p.State(); !slices.Equal(s.ISR, []int32{1, 2}) || s.PartitionEpoch != 8 {
		t.Fatalf("state after the shrink: %+v", s)
	}
	if hw := p.HighWatermark(); hw != 5 {
		t.Fatalf("hw %d after the shrink", hw)
	}
	// The same answer again (a duplicate) changes nothing.
	if out := complete(p, req); out != ISRChangeIgnored {
		t.Fatalf("a second answer: %v", out)
	}
}

func TestISRExpandsWhenCaughtUpAndCountsTheJoiningFollowerAtOnce(t *testing.T) {
	p, clock := newISRPartition(t, DefaultConfig())
	appendN(t, p, 5)
	fetched(t, p, 2, 5)
	clock.Advance(testMaxLag + time.Second)
	fetched(t, p, 2, 5)
	req, _ := checkISR(t, p, clock.Now(), nil)
	complete(p, req) // ISR 1, 2
	if hw := p.HighWatermark(); hw != 5 {
		t.Fatalf("hw %d", hw)
	}
	fetched(t, p, 3, 3) // behind the HW: not yet
	if req, ok := checkISR(t, p, clock.Now(), nil); ok {
		t.Fatalf("expansion of a follower behind the HW: %+v", req)
	}
	fetched(t, p, 3, 5)
	if _, ok := checkISR(t, p, clock.Now(), func(int32, int64) bool { return false }); ok {
		t.Fatal("expansion of an ineligible follower")
	}
	var asked []int64
	req, ok := checkISR(t, p, clock.Now(), func(id int32, epoch int64) bool { asked = append(asked, int64(id), epoch); return true })
	if !ok || !req.Expand || !slices.Equal(req.NewISR, []int32{1, 2, 3}) || !slices.Equal(req.BrokerEpochs, []int64{-1, 102, 103}) {
		t.Fatalf("expansion: %+v %v", req, ok)
	}
	if !slices.Equal(asked, []int64{3, 103}) {
		t.Errorf("eligibility asked for %v", asked)
	}
	// The joining follower counts at once: new records wait for it.
	appendN(t, p, 3)
	fetched(t, p, 2, 8)
	if hw := p.HighWatermark(); hw != 5 {
		t.Fatalf("hw %d with follower 3 at 5 pending to join", hw)
	}
	if complete(p, req) != ISRChangeApplied || !slices.Equal(p.State().ISR, []int32{1, 2, 3}) {
		t.Fatalf("state after the expansion: %+v", p.State())
	}
	fetched(t, p, 3, 8)
	if hw := p.HighWatermark(); hw != 8 {
		t.Fatalf("hw %d", hw)
	}
}

// A follower that has not fetched from this leader yet is not expanded on the guess that it is
// at the HW.
func TestISRDoesNotExpandBeforeTheFirstFetch(t *testing.T) {
	p, _ := newISRPartition(t, DefaultConfig())
	if err := p.SetState(State{Leader: 1, LeaderEpoch: 5, PartitionEpoch: 8, Replicas: []int32{1, 2, 3}, ISR: []int32{1}}); err != nil {
		t.Fatal(err)
	}
	if req, ok := checkISR(t, p, p.now(), nil); ok {
		t.Fatalf("expansion without a fetch: %+v", req)
	}
}

func TestISRRefusedChangeIsDroppedAndRetriedAfterBackoff(t *testing.T) {
	p, clock := newISRPartition(t, DefaultConfig())
	appendN(t, p, 5)
	clock.Advance(testMaxLag + time.Second)
	fetched(t, p, 2, 5)
	req, ok := checkISR(t, p, clock.Now(), nil)
	if !ok || !slices.Equal(req.NewISR, []int32{1, 2}) {
		t.Fatalf("shrink %+v %v", req, ok)
	}
	if out := p.CompleteISRChange(req, errors.New("INVALID_UPDATE_VERSION"), -1, 0, 0, nil); out != ISRChangeFailed {
		t.Fatalf("outcome %v", out)
	}
	if s := p.State(); !slices.Equal(s.ISR, []int32{1, 2, 3}) || s.PartitionEpoch != 7 {
		t.Fatalf("a refused change changed the state: %+v", s)
	}
	if _, ok := checkISR(t, p, clock.Now(), nil); ok {
		t.Fatal("retried at once")
	}
	clock.Advance(isrRetryBackoff)
	if req, ok = checkISR(t, p, clock.Now(), nil); !ok || !slices.Equal(req.NewISR, []int32{1, 2}) {
		t.Fatalf("retry: %+v %v", req, ok)
	}
	// New metadata moves the partition epoch while the change is in flight: the answer to the
	// old change is not applied, and a change on the new state may go at once.
	if err := p.SetState(State{Leader: 1, LeaderEpoch: 4, PartitionEpoch: 9, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 3}}); err != nil {
		t.Fatal(err)
	}
	if out := complete(p, req); out != ISRChangeIgnored {
		t.Fatalf("answer for an old state: %v", out)
	}
	if s := p.State(); !slices.Equal(s.ISR, []int32{1, 3}) || s.PartitionEpoch != 9 {
		t.Fatalf("state %+v", s)
	}
	next, ok := checkISR(t, p, clock.Now(), nil)
	if !ok || next.PartitionEpoch != 9 {
		t.Fatalf("change on the new state: %+v %v", next, ok)
	}
	// An answer from a newer leader epoch than ours (the controller moved leadership) is ignored.
	if out := p.CompleteISRChange(next, nil, 2, 5, 10, []int32{2}); out != ISRChangeIgnored {
		t.Fatalf("answer with another leader: %v", out)
	}
}

// Kafka's caught-up rule: a follower that keeps fetching from where the leader's log ended at
// its previous fetch stays in the ISR under a steady stream of appends, although it never
// fetches from the very end.
func TestISRFollowerKeepingUpWithAppendsStaysInSync(t *testing.T) {
	p, clock := newISRPartition(t, DefaultConfig())
	prev2, prev3 := int64(0), int64(0)
	for range 100 {
		appendN(t, p, 1)
		fetched(t, p, 2, prev2)
		fetched(t, p, 3, prev3)
		prev2 = p.LogEndOffset() - 1 // it will have what the leader had at this fetch, minus one
		prev3 = p.LogEndOffset()
		clock.Advance(time.Second)
	}
	req, ok := checkISR(t, p, clock.Now(), nil)
	if !ok || !slices.Equal(req.NewISR, []int32{1, 3}) {
		t.Fatalf("want follower 2 (always one behind its previous fetch) out and 3 in: %+v %v", req, ok)
	}
}

// acks=all: the records appended while the ISR shrinks below min.insync.replicas complete
// with NOT_ENOUGH_REPLICAS_AFTER_APPEND once the shrink is committed, not before.
func TestISRShrinkBelowMinInsyncFailsWaitingAcksAll(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinInsyncReplicas = 3
	p, clock := newISRPartition(t, cfg)
	res, err := p.Append(records(t, 2), -1)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(testMaxLag + time.Second)
	fetched(t, p, 2, 2)
	req, ok := checkISR(t, p, clock.Now(), nil)
	if !ok {
		t.Fatal("no shrink")
	}
	if done, err := p.Committed(res.LastOffset + 1); done || err != nil {
		t.Fatalf("while the shrink is pending: %v %v", done, err)
	}
	complete(p, req)
	if _, err := p.Committed(res.LastOffset + 1); !errors.Is(err, ErrNotEnoughReplicasAfterAppend) {
		t.Fatalf("after the shrink: %v", err)
	}
	if _, err := p.Append(records(t, 1), -1); !errors.Is(err, ErrNotEnoughReplicas) {
		t.Fatalf("acks=all after the shrink: %v", err)
	}
}

func TestFollowerLags(t *testing.T) {
	p, _ := newISRPartition(t, DefaultConfig())
	appendN(t, p, 10)
	fetched(t, p, 2, 10)
	fetched(t, p, 3, 4)
	lags := p.FollowerLags()
	want := []FollowerLag{{Replica: 2, Offsets: 0, InISR: true}, {Replica: 3, Offsets: 6, InISR: true}}
	if !slices.Equal(lags, want) {
		t.Fatalf("lags %+v", lags)
	}
}

// A reassignment that adds a replica under the same leader: the new replica's fetches count and
// it joins the ISR once caught up; a removed replica is forgotten.
func TestISRReassignedReplicaIsTracked(t *testing.T) {
	p, clock := newISRPartition(t, DefaultConfig())
	if err := p.SetState(State{Leader: 1, LeaderEpoch: 4, PartitionEpoch: 8, Replicas: []int32{1, 2, 4}, ISR: []int32{1, 2}}); err != nil {
		t.Fatal(err)
	}
	appendN(t, p, 3)
	fetched(t, p, 2, 3)
	fetched(t, p, 4, 3)
	req, ok := checkISR(t, p, clock.Now(), nil)
	if !ok || !req.Expand || !slices.Equal(req.NewISR, []int32{1, 2, 4}) {
		t.Fatalf("expansion by the added replica: %+v %v", req, ok)
	}
	if err := p.UpdateFollowerFetch(3, 103, 3); err == nil {
		t.Fatal("a fetch of the removed replica 3 was accepted")
	}
}

// The metadata carrying an accepted change can arrive before the controller's answer (always
// so when this node is the controller): the answer then counts as applied and changes nothing.
func TestISRAnswerAfterItsMetadata(t *testing.T) {
	p, clock := newISRPartition(t, DefaultConfig())
	appendN(t, p, 5)
	clock.Advance(testMaxLag + time.Second)
	fetched(t, p, 2, 5)
	req, ok := checkISR(t, p, clock.Now(), nil)
	if !ok {
		t.Fatal("no shrink")
	}
	if err := p.SetState(State{Leader: 1, LeaderEpoch: 4, PartitionEpoch: 8, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if out := complete(p, req); out != ISRChangeApplied {
		t.Fatalf("answer after its metadata: %v", out)
	}
	if s := p.State(); !slices.Equal(s.ISR, []int32{1, 2}) || s.PartitionEpoch != 8 {
		t.Fatalf("state %+v", s)
	}
}
