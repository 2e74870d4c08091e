package group

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/share"
)

// shareClient is a test member of a share group.
type shareClient struct {
	t        testing.TB
	c        *Coordinator
	group    string
	id       string
	epoch    int32
	assigned Assignment
	topics   []string
}

func newShareClient(t testing.TB, c *Coordinator, id string, topics ...string) *shareClient {
	return &shareClient{t: t, c: c, group: "sg", id: id, topics: topics}
}

// beat sends one heartbeat (with the subscription when full) and applies the answer.
func (sc *shareClient) beat(img *metadata.Image, full bool) ShareHeartbeatResult {
	sc.t.Helper()
	req := ShareHeartbeatRequest{Group: sc.group, MemberID: sc.id, MemberEpoch: sc.epoch, Image: img, ClientID: "test", ClientHost: "/127.0.0.1"}
	if full || sc.epoch == 0 {
		req.SubscribedTopicNames = sc.topics
	}
	res := sc.c.ShareHeartbeat(context.Background(), req)
	if res.Err != nil {
		sc.t.Fatalf("share heartbeat of %s: %v", sc.id, res.Err)
	}
	sc.epoch = res.MemberEpoch
	if res.Assignment != nil {
		sc.assigned = res.Assignment
	}
	return res
}

func (sc *shareClient) leave() {
	sc.t.Helper()
	res := sc.c.ShareHeartbeat(context.Background(), ShareHeartbeatRequest{Group: sc.group, MemberID: sc.id, MemberEpoch: -1})
	if res.Err != nil || res.MemberEpoch != -1 {
		sc.t.Fatalf("leave of %s: %+v", sc.id, res)
	}
}

// settleShare heartbeats every client until none of them sees a change.
func settleShare(t *testing.T, img *metadata.Image, clients ...*shareClient) {
	t.Helper()
	for range 10 {
		changed := false
		for _, sc := range clients {
			before, epoch := sc.assigned.clone(), sc.epoch
			sc.beat(img, false)
			changed = changed || epoch != sc.epoch || !before.equal(sc.assigned)
		}
		if !changed {
			return
		}
	}
	t.Fatal("share group did not settle")
}

// partitionHolders counts the members holding each partition of topic.
func partitionHolders(clients []*shareClient, topic TopicID, n int) []int {
	out := make([]int, n)
	for _, sc := range clients {
		for _, p := range sc.assigned[topic] {
			out[p]++
		}
	}
	return out
}

func TestShareGroupSplitsPartitions(t *testing.T) {
	c := newConsumerCoordinator(t, Config{})
	img := topicsImage(t, map[string]int{"jobs": 6})
	a, b, d := newShareClient(t, c, "a", "jobs"), newShareClient(t, c, "b", "jobs"), newShareClient(t, c, "d", "jobs")
	res := a.beat(img, true)
	if res.MemberEpoch != 1 || len(res.Assignment[topicIDOf("jobs")]) != 6 {
		t.Fatalf("first member: %+v", res)
	}
	if res.HeartbeatInterval != 5*time.Second {
		t.Fatalf("heartbeat interval %v, want the 5s default", res.HeartbeatInterval)
	}
	b.beat(img, true)
	d.beat(img, true)
	settleShare(t, img, a, b, d)
	clients := []*shareClient{a, b, d}
	for _, sc := range clients {
		if got := len(sc.assigned[topicIDOf("jobs")]); got != 2 {
			t.Fatalf("member %s has %d partitions, want 2: %v", sc.id, got, sc.assigned)
		}
		if sc.epoch != 3 {
			t.Fatalf("member %s at epoch %d, want the group's 3", sc.id, sc.epoch)
		}
	}
	for p, n := range partitionHolders(clients, topicIDOf("jobs"), 6) {
		if n != 1 {
			t.Fatalf("partition %d held by %d members, want 1", p, n)
		}
	}
	desc, err := c.DescribeShareGroup("sg")
	if err != nil {
		t.Fatal(err)
	}
	if desc.State != ShareStable || desc.Epoch != 3 || desc.AssignmentEpoch != 3 || len(desc.Members) != 3 || desc.Assignor != "simple" {
		t.Fatalf("describe: %+v", desc)
	}
	// A leaving member's partitions go to the others at their next heartbeat.
	d.leave()
	settleShare(t, img, a, b)
	if got := partitionHolders([]*shareClient{a, b}, topicIDOf("jobs"), 6); slices.Contains(got, 0) {
		t.Fatalf("partitions without a member after a leave: %v", got)
	}
}

func TestShareGroupSharesPartitionsAmongMoreMembers(t *testing.T) {
	c := newConsumerCoordinator(t, Config{})
	img := topicsImage(t, map[string]int{"jobs": 1, "logs": 2})
	var clients []*shareClient
	for i := range 5 {
		sc := newShareClient(t, c, fmt.Sprintf("m%d", i), "jobs", "logs")
		sc.beat(img, true)
		clients = append(clients, sc)
	}
	settleShare(t, img, clients...)
	// One partition: every member consumes it.
	if got := partitionHolders(clients, topicIDOf("jobs"), 1); got[0] != 5 {
		t.Fatalf("jobs-0 held by %d members, want all 5", got[0])
	}
	// Two partitions, five members: each member one, each partition shared by 2 or 3.
	for _, sc := range clients {
		if n := len(sc.assigned[topicIDOf("logs")]); n < 1 || n > 2 {
			t.Fatalf("member %s has %d logs partitions", sc.id, n)
		}
	}
	for p, n := range partitionHolders(clients, topicIDOf("logs"), 2) {
		if n < 2 || n > 3 {
			t.Fatalf("logs-%d held by %d members, want 2 or 3", p, n)
		}
	}
}

func TestShareAssignorIsStickyAndBalanced(t *testing.T) {
	tid := topicIDOf("t")
	for _, tc := range []struct{ members, partitions int }{{1, 5}, {3, 7}, {4, 4}, {7, 3}, {10, 1}, {13, 5}} {
		t.Run(fmt.Sprintf("%dm-%dp", tc.members, tc.partitions), func(t *testing.T) {
			var members []assignMember
			for i := range tc.members {
				members = append(members, assignMember{id: fmt.Sprintf("m%02d", i), topics: []TopicID{tid}})
			}
			topics := map[TopicID]int32{tid: int32(tc.partitions)}
			first := assignShare(members, topics, nil)
			holders := make([]int, tc.partitions)
			lo, hi := tc.partitions, 0
			for _, a := range first {
				lo, hi = min(lo, len(a[tid])), max(hi, len(a[tid]))
				for _, p := range a[tid] {
					holders[p]++
				}
			}
			if hi-lo > 1 || lo == 0 {
				t.Fatalf("unbalanced: %v", first)
			}
			for p, n := range holders {
				if n == 0 || (tc.members <= tc.partitions && n != 1) {
					t.Fatalf("partition %d held by %d: %v", p, n, first)
				}
			}
			// The same input gives the same answer, and a member added keeps the others'
			// partitions where the balance allows (at least half the previous pairs stay).
			if again := assignShare(members, topics, first); !sameTargets(again, first) {
				t.Fatalf("not stable: %v then %v", first, again)
			}
			more := append(slices.Clone(members), assignMember{id: "zz", topics: []TopicID{tid}})
			next := assignShare(more, topics, first)
			kept, total := 0, 0
			for id, a := range first {
				for _, p := range a[tid] {
					total++
					if slices.Contains(next[id][tid], p) {
						kept++
					}
				}
			}
			if kept*2 < total {
				t.Fatalf("a new member moved %d of %d assignments: %v → %v", total-kept, total, first, next)
			}
		})
	}
}

func sameTargets(a, b map[string]Assignment) bool {
	if len(a) != len(b) {
		return false
	}
	for id, x := range a {
		if !x.equal(b[id]) {
			return false
		}
	}
	return true
}

func TestShareGroupHeartbeatErrors(t *testing.T) {
	c := newConsumerCoordinator(t, Config{ShareMaxSize: 2})
	img := topicsImage(t, map[string]int{"jobs": 2})
	beat := func(req ShareHeartbeatRequest) error {
		req.Image = img
		return c.ShareHeartbeat(context.Background(), req).Err
	}
	rack := ""
	for name, tc := range map[string]struct {
		req  ShareHeartbeatRequest
		want error
	}{
		"empty group":       {ShareHeartbeatRequest{MemberID: "m", SubscribedTopicNames: []string{"jobs"}}, ErrInvalidRequest},
		"empty member":      {ShareHeartbeatRequest{Group: "sg", SubscribedTopicNames: []string{"jobs"}}, ErrInvalidRequest},
		"long member":       {ShareHeartbeatRequest{Group: "sg", MemberID: "0123456789012345678901234567890123456", SubscribedTopicNames: []string{"jobs"}}, ErrInvalidRequest},
		"empty rack":        {ShareHeartbeatRequest{Group: "sg", MemberID: "m", RackID: &rack, SubscribedTopicNames: []string{"jobs"}}, ErrInvalidRequest},
		"epoch -2":          {ShareHeartbeatRequest{Group: "sg", MemberID: "m", MemberEpoch: -2}, ErrInvalidRequest},
		"join no topics":    {ShareHeartbeatRequest{Group: "sg", MemberID: "m"}, ErrInvalidRequest},
		"unknown group":     {ShareHeartbeatRequest{Group: "nope", MemberID: "m", MemberEpoch: 3}, ErrGroupIDNotFound},
		"leave unknown grp": {ShareHeartbeatRequest{Group: "nope", MemberID: "m", MemberEpoch: -1}, ErrGroupIDNotFound},
	} {
		if err := beat(tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	a, b := newShareClient(t, c, "a", "jobs"), newShareClient(t, c, "b", "jobs")
	a.beat(img, true)
	b.beat(img, true)
	a.beat(img, false)
	// Epochs: ahead is fenced, the previous one is accepted, older ones are fenced.
	if err := beat(ShareHeartbeatRequest{Group: "sg", MemberID: "a", MemberEpoch: a.epoch + 1}); !errors.Is(err, ErrFencedMemberEpoch) {
		t.Fatalf("epoch ahead: %v", err)
	}
	if err := beat(ShareHeartbeatRequest{Group: "sg", MemberID: "a", MemberEpoch: a.epoch - 1}); err != nil {
		t.Fatalf("previous epoch: %v", err)
	}
	if err := beat(ShareHeartbeatRequest{Group: "sg", MemberID: "c", SubscribedTopicNames: []string{"jobs"}}); !errors.Is(err, ErrGroupMaxSizeReached) {
		t.Fatalf("third member of a group of at most 2: %v", err)
	}
	if err := beat(ShareHeartbeatRequest{Group: "sg", MemberID: "zz", MemberEpoch: 1}); !errors.Is(err, ErrUnknownMemberID) {
		t.Fatalf("unknown member: %v", err)
	}
	if err := beat(ShareHeartbeatRequest{Group: "sg", MemberID: "zz", MemberEpoch: -1}); !errors.Is(err, ErrUnknownMemberID) {
		t.Fatalf("unknown member leaving: %v", err)
	}
	// Two epochs behind is fenced.
	b.leave()
	a.beat(img, false)
	if err := beat(ShareHeartbeatRequest{Group: "sg", MemberID: "a", MemberEpoch: a.epoch - 2}); !errors.Is(err, ErrFencedMemberEpoch) {
		t.Fatalf("epoch %d with member at %d: %v", a.epoch-2, a.epoch, err)
	}
}

func TestShareGroupIDConflicts(t *testing.T) {
	c := newConsumerCoordinator(t, Config{})
	img := topicsImage(t, map[string]int{"jobs": 2})
	// A consumer group's id is not a share group's.
	cc := newConsumerClient(t, c, "cm", "jobs")
	cc.group = "cg"
	cc.beat(img)
	sc := newShareClient(t, c, "sm", "jobs")
	sc.group = "cg"
	res := c.ShareHeartbeat(context.Background(), ShareHeartbeatRequest{Group: "cg", MemberID: "sm", SubscribedTopicNames: []string{"jobs"}, Image: img})
	if !errors.Is(res.Err, ErrGroupIDNotFound) {
		t.Fatalf("share heartbeat on a consumer group: %v", res.Err)
	}
	if _, err := c.DescribeShareGroup("cg"); !errors.Is(err, ErrGroupIDNotFound) {
		t.Fatalf("describe share of a consumer group: %v", err)
	}
	// A classic group with offsets only is a group too.
	if err := c.CommitOffsets(context.Background(), "classic", "", "", -1, []OffsetCommit{{Topic: "jobs", Offset: 1}}); err != nil {
		t.Fatal(err)
	}
	res = c.ShareHeartbeat(context.Background(), ShareHeartbeatRequest{Group: "classic", MemberID: "sm", SubscribedTopicNames: []string{"jobs"}, Image: img})
	if !errors.Is(res.Err, ErrGroupIDNotFound) {
		t.Fatalf("share heartbeat on a classic group: %v", res.Err)
	}
	// A share group's id refuses the other protocols.
	s := newShareClient(t, c, "s1", "jobs")
	s.beat(img, true)
	cres := c.ConsumerHeartbeat(context.Background(), ConsumerHeartbeatRequest{Group: "sg", MemberID: "x", SubscribedTopicNames: []string{"jobs"},
		RebalanceTimeout: time.Minute, Owned: []TopicPartitions{}, Image: img})
	if !errors.Is(cres.Err, ErrGroupIDNotFound) {
		t.Fatalf("consumer heartbeat on a share group: %v", cres.Err)
	}
	jres := <-c.Join(JoinRequest{Group: "sg", ProtocolType: "consumer", Protocols: []Protocol{{Name: "range"}},
		SessionTimeout: time.Minute, RebalanceTimeout: time.Minute})
	if !errors.Is(jres.Err, ErrInconsistentProtocol) {
		t.Fatalf("join of a share group: %v", jres.Err)
	}
	if err := c.CommitOffsets(context.Background(), "sg", "", "", -1, []OffsetCommit{{Topic: "jobs", Offset: 1}}); !errors.Is(err, ErrGroupIDNotFound) {
		t.Fatalf("offset commit to a share group: %v", err)
	}
	if err := c.CheckOffsetFetch("sg", "", -1); !errors.Is(err, ErrGroupIDNotFound) {
		t.Fatalf("offset fetch of a share group: %v", err)
	}
	if _, err := c.DeleteOffsets(context.Background(), "sg", []OffsetCommit{{Topic: "jobs"}}, nil); !errors.Is(err, ErrGroupIDNotFound) {
		t.Fatalf("offset delete of a share group: %v", err)
	}
	if d := c.Describe("sg"); d.State != Dead || d.Type != "share" {
		t.Fatalf("DescribeGroups of a share group: %+v", d)
	}
	var listed *Listing
	for _, l := range c.List() {
		if l.Group == "sg" {
			listed = &l
		}
	}
	if listed == nil || listed.Type != "share" || listed.ProtocolType != "share" || listed.StateName != "Stable" {
		t.Fatalf("ListGroups: %+v", listed)
	}
}

func TestShareGroupSessionExpiry(t *testing.T) {
	c := newConsumerCoordinator(t, Config{ShareSessionTimeout: 20 * time.Millisecond})
	img := topicsImage(t, map[string]int{"jobs": 2})
	a := newShareClient(t, c, "a", "jobs")
	a.beat(img, true)
	if err := c.ShareMember("sg", "a"); err != nil {
		t.Fatalf("ShareMember of a member: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := c.DescribeShareGroup("sg")
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Members) == 0 && d.State == ShareEmpty {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("member not removed after its session: %+v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.ShareMember("sg", "a"); !errors.Is(err, kerr.UnknownMemberID) {
		t.Fatalf("ShareMember after expiry: %v", err)
	}
	if err := c.ShareMember("nope", "a"); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("ShareMember of no group: %v", err)
	}
	// The expired member's heartbeat is refused; it rejoins at epoch 0.
	res := c.ShareHeartbeat(context.Background(), ShareHeartbeatRequest{Group: "sg", MemberID: "a", MemberEpoch: a.epoch, Image: img})
	if !errors.Is(res.Err, ErrUnknownMemberID) {
		t.Fatalf("heartbeat after expiry: %v", res.Err)
	}
}

// fakePersister records deletions (the share coordinator is another package's).
type fakePersister struct {
	share.Persister
	mu      sync.Mutex
	deleted []share.Key
}

func (p *fakePersister) Delete(_ context.Context, k share.Key) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deleted = append(p.deleted, k)
	return nil
}

func TestShareGroupSurvivesReloadAndDelete(t *testing.T) {
	log := &memLog{}
	c := newConsumerCoordinator(t, Config{Log: log, NumPartitions: 1})
	img := topicsImage(t, map[string]int{"jobs": 3, "logs": 1})
	a, b := newShareClient(t, c, "a", "jobs"), newShareClient(t, c, "b", "jobs", "logs")
	rack := "r1"
	res := c.ShareHeartbeat(context.Background(), ShareHeartbeatRequest{Group: "sg", MemberID: "a", RackID: &rack,
		SubscribedTopicNames: []string{"jobs"}, Image: img, ClientID: "ca", ClientHost: "/10.0.0.1"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	a.epoch = res.MemberEpoch
	b.beat(img, true)
	settleShare(t, img, a, b)
	want, err := c.DescribeShareGroup("sg")
	if err != nil {
		t.Fatal(err)
	}
	c2 := newConsumerCoordinator(t, Config{Log: log, NumPartitions: 1})
	if err := c2.Load(log.bytes()); err != nil {
		t.Fatal(err)
	}
	got, err := c2.DescribeShareGroup("sg")
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != want.Epoch || got.AssignmentEpoch != want.AssignmentEpoch || got.State != want.State || len(got.Members) != 2 {
		t.Fatalf("reloaded %+v, want %+v", got, want)
	}
	for i, m := range got.Members {
		w := want.Members[i]
		if m.MemberID != w.MemberID || m.MemberEpoch != w.MemberEpoch || !m.Assignment.equal(w.Assignment) || m.RackID != w.RackID ||
			m.ClientID != w.ClientID || m.ClientHost != w.ClientHost || !slices.Equal(m.SubscribedTopicNames, w.SubscribedTopicNames) {
			t.Fatalf("member %d reloaded as %+v, want %+v", i, m, w)
		}
	}
	// The members carry on in their epochs against the reloaded coordinator.
	a.c, b.c = c2, c2
	epoch := a.epoch
	a.beat(img, false)
	if a.epoch != epoch {
		t.Fatalf("epoch moved from %d to %d across a reload", epoch, a.epoch)
	}
	// A non-empty share group is not deleted; an empty one is, with its share-partition state.
	if err := c2.Delete(context.Background(), "sg"); !errors.Is(err, ErrNonEmptyGroup) {
		t.Fatalf("delete of a share group with members: %v", err)
	}
	a.leave()
	b.leave()
	c3 := newConsumerCoordinator(t, Config{Log: log, NumPartitions: 1})
	if err := c3.Load(log.bytes()); err != nil {
		t.Fatal(err)
	}
	if d, err := c3.DescribeShareGroup("sg"); err != nil || d.State != ShareEmpty || len(d.Members) != 0 {
		t.Fatalf("empty share group after reload: %+v %v", d, err)
	}
	p := &fakePersister{}
	c3.cfg.SharePersister = p
	if err := c3.Delete(context.Background(), "sg"); err != nil {
		t.Fatal(err)
	}
	if len(p.deleted) != 4 { // jobs-0..2, logs-0
		t.Fatalf("share state deleted for %v, want the group's 4 share-partitions", p.deleted)
	}
	c4 := newConsumerCoordinator(t, Config{Log: log, NumPartitions: 1})
	if err := c4.Load(log.bytes()); err != nil {
		t.Fatal(err)
	}
	if _, err := c4.DescribeShareGroup("sg"); !errors.Is(err, ErrGroupIDNotFound) {
		t.Fatalf("deleted share group after reload: %v", err)
	}
	for _, l := range c4.List() {
		if l.Group == "sg" {
			t.Fatalf("deleted share group listed: %+v", l)
		}
	}
}

func TestShareGroupNewTopicBumpsEpoch(t *testing.T) {
	c := newConsumerCoordinator(t, Config{})
	a := newShareClient(t, c, "a", "jobs", "later")
	img := topicsImage(t, map[string]int{"jobs": 1})
	a.beat(img, true)
	epoch := a.epoch
	img = topicsImage(t, map[string]int{"jobs": 1, "later": 2})
	res := a.beat(img, false)
	if a.epoch <= epoch || len(res.Assignment[topicIDOf("later")]) != 2 {
		t.Fatalf("topic created: epoch %d → %d, assignment %v", epoch, a.epoch, res.Assignment)
	}
	// Nothing changed: no assignment in the answer.
	if res := a.beat(img, false); res.Assignment != nil {
		t.Fatalf("unchanged heartbeat carried an assignment: %v", res.Assignment)
	}
}

func TestShareGroupConfigsOverrideDefaults(t *testing.T) {
	own := map[string]map[string]string{"sg": {GroupShareHeartbeatIntervalMs: "7000", GroupShareRecordLockDurationMs: "20000",
		GroupShareAutoOffsetReset: "earliest", GroupShareIsolationLevel: "read_committed"},
		"g": {GroupConsumerHeartbeatIntervalMs: "6000"}}
	c := newConsumerCoordinator(t, Config{GroupConfigs: func(g string) map[string]string { return own[g] },
		ShareDefaults: share.GroupConfig{AutoOffsetReset: "latest", RecordLockDuration: 30 * time.Second, DeliveryCountLimit: 5, PartitionMaxRecordLocks: 2000}})
	img := topicsImage(t, map[string]int{"jobs": 1})
	if res := newShareClient(t, c, "a", "jobs").beat(img, true); res.HeartbeatInterval != 7*time.Second {
		t.Fatalf("heartbeat interval %v, want the group's 7s", res.HeartbeatInterval)
	}
	// A consumer group uses its own consumer.heartbeat.interval.ms too.
	if res := newConsumerClient(t, c, "cm", "jobs").beat(img); res.HeartbeatInterval != 6*time.Second {
		t.Fatalf("consumer heartbeat interval %v, want the group's 6s", res.HeartbeatInterval)
	}
	got := c.ShareGroupConfig("sg")
	want := share.GroupConfig{AutoOffsetReset: "earliest", RecordLockDuration: 20 * time.Second, DeliveryCountLimit: 5, PartitionMaxRecordLocks: 2000, ReadCommitted: true}
	if got != want {
		t.Fatalf("ShareGroupConfig = %+v, want %+v", got, want)
	}
	if got := c.ShareGroupConfig("other"); got.AutoOffsetReset != "latest" || got.RecordLockDuration != 30*time.Second || got.ReadCommitted {
		t.Fatalf("defaults: %+v", got)
	}
}

func FuzzDecodeShareRecord(f *testing.F) {
	a := Assignment{topicIDOf("t"): {0, 2}}
	f.Add(appendShareKey(nil, keyShareGroup, "g", ""), AppendShareGroupValue(nil, 3, 99))
	f.Add(appendShareKey(nil, keyShareMember, "g", "m"), AppendShareMemberValue(nil, ShareMemberValue{
		RackID: "r", ClientID: "c", ClientHost: "/1.2.3.4", SubscribedTopicNames: []string{"t"}}))
	f.Add(appendShareKey(nil, keyShareTargetMember, "g", "m"), AppendTargetMemberValue(nil, a))
	f.Add(appendShareKey(nil, keyShareCurrentAssignment, "g", "m"), AppendShareCurrentAssignmentValue(nil, ShareCurrentAssignmentValue{
		MemberEpoch: 4, PreviousMemberEpoch: 3, Assigned: a}))
	f.Add(appendShareKey(nil, keyShareStatePartitions, "g", ""), AppendShareStatePartitionsValue(nil,
		map[TopicID]shareTopicInfo{topicIDOf("t"): {name: "t", partitions: []int32{0, 1}, created: 5}}))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		k, err := DecodeKey(key)
		if err == nil && isShareKind(k.Kind) {
			if k2, err := DecodeKey(appendShareKey(nil, k.Kind, k.Group, k.Member)); err != nil || k2 != k {
				t.Fatalf("key re-encode: %+v %v, want %+v", k2, err, k)
			}
		}
		if e, h, err := DecodeShareGroupValue(value); err == nil {
			if e2, h2, err := DecodeShareGroupValue(AppendShareGroupValue(nil, e, h)); err != nil || e2 != e || h2 != h {
				t.Fatalf("group re-encode: %d %d %v, want %d %d", e2, h2, err, e, h)
			}
		}
		if v, err := DecodeShareMemberValue(value); err == nil {
			v2, err := DecodeShareMemberValue(AppendShareMemberValue(nil, v))
			if err != nil || !slices.Equal(v2.SubscribedTopicNames, v.SubscribedTopicNames) || v2.ClientID != v.ClientID || v2.RackID != v.RackID {
				t.Fatalf("member re-encode: %+v %v, want %+v", v2, err, v)
			}
		}
		if v, err := DecodeShareCurrentAssignmentValue(value); err == nil {
			v2, err := DecodeShareCurrentAssignmentValue(AppendShareCurrentAssignmentValue(nil, v))
			if err != nil || v2.MemberEpoch != v.MemberEpoch || !v2.Assigned.equal(v.Assigned) {
				t.Fatalf("current assignment re-encode: %+v %v, want %+v", v2, err, v)
			}
		}
		if v, err := DecodeShareStatePartitionsValue(value); err == nil {
			v2, err := DecodeShareStatePartitionsValue(AppendShareStatePartitionsValue(nil, v))
			if err != nil || len(v2) != len(v) {
				t.Fatalf("state partitions re-encode: %+v %v, want %+v", v2, err, v)
			}
		}
		// Replaying any record must not panic the coordinator.
		c := New(Config{})
		defer c.Close()
		c.applyRecord(key, value)
	})
}

func TestShareGroupsOffWithTheFeature(t *testing.T) {
	on := false
	c := newConsumerCoordinator(t, Config{ShareEnabled: func() bool { return on }})
	img := topicsImage(t, map[string]int{"jobs": 1})
	req := ShareHeartbeatRequest{Group: "sg", MemberID: "a", SubscribedTopicNames: []string{"jobs"}, Image: img}
	if res := c.ShareHeartbeat(context.Background(), req); !errors.Is(res.Err, ErrUnsupportedVersion) {
		t.Fatalf("share.version=0: %v", res.Err)
	}
	on = true
	if res := c.ShareHeartbeat(context.Background(), req); res.Err != nil {
		t.Fatalf("share.version=1: %v", res.Err)
	}
}

// TestShareGroupMovesWithItsPartition: a share group written by one coordinator is loaded by
// the next leader of its __consumer_offsets partition (members, epochs, assignments, session
// timers) and forgotten when leadership moves away again.
func TestShareGroupMovesWithItsPartition(t *testing.T) {
	parts := offsetsPartition(t)
	log := &PartitionLog{Partitions: parts, NumPartitions: 1}
	cfg := Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 1}
	a := New(cfg)
	t.Cleanup(a.Close)
	img := topicsImage(t, map[string]int{"jobs": 2})
	x, y := newShareClient(t, a, "x", "jobs"), newShareClient(t, a, "y", "jobs")
	x.beat(img, true)
	y.beat(img, true)
	settleShare(t, img, x, y)
	want, err := a.DescribeShareGroup("sg")
	if err != nil {
		t.Fatal(err)
	}

	cfg.FollowLeadership = true
	b := New(cfg)
	t.Cleanup(b.Close)
	if err := b.ShareMember("sg", "x"); err != nil {
		t.Fatalf("ShareMember of a group coordinated elsewhere: %v", err)
	}
	p, _ := parts.Partition(metadata.ConsumerOffsetsTopic, 0)
	b.Elected(p)
	waitStatus(t, b, "sg", nil)
	got, err := b.DescribeShareGroup("sg")
	if err != nil || got.Epoch != want.Epoch || len(got.Members) != 2 {
		t.Fatalf("loaded %+v %v, want %+v", got, err, want)
	}
	for i, m := range got.Members {
		if m.MemberEpoch != want.Members[i].MemberEpoch || !m.Assignment.equal(want.Members[i].Assignment) {
			t.Fatalf("member %+v, want %+v", m, want.Members[i])
		}
	}
	if err := b.ShareMember("sg", "nobody"); !errors.Is(err, kerr.UnknownMemberID) {
		t.Fatalf("ShareMember of an unknown member: %v", err)
	}
	// The members carry on against the new coordinator.
	x.c = b
	if res := x.beat(img, false); res.MemberEpoch != want.Members[0].MemberEpoch {
		t.Fatalf("heartbeat after the move: %+v", res)
	}
	b.Resigned(0)
	if _, err := b.DescribeShareGroup("sg"); !errors.Is(err, ErrGroupIDNotFound) {
		t.Fatalf("share group described after resigning: %v", err)
	}
}

// BenchmarkShareHeartbeat is a steady heartbeat of one member of a 100-member share group
// (nothing changes: no records, no assignment in the answer) on a cluster of 1,000 topics.
func BenchmarkShareHeartbeat(b *testing.B) {
	c := New(Config{})
	defer c.Close()
	topics := map[string]int{}
	for i := range 1000 {
		topics[fmt.Sprintf("t%04d", i)] = 4
	}
	img := topicsImage(b, topics)
	var clients []*shareClient
	for i := range 100 {
		sc := newShareClient(b, c, fmt.Sprintf("m%03d", i), "t0001", "t0002")
		sc.beat(img, true)
		clients = append(clients, sc)
	}
	for _, sc := range clients {
		sc.beat(img, false)
	}
	sc := clients[0]
	req := ShareHeartbeatRequest{Group: sc.group, MemberID: sc.id, MemberEpoch: sc.epoch, Image: img, ClientID: "test", ClientHost: "/127.0.0.1"}
	b.ReportAllocs()
	for b.Loop() {
		if res := c.ShareHeartbeat(context.Background(), req); res.Err != nil || res.Assignment != nil {
			b.Fatalf("%+v", res)
		}
	}
}
