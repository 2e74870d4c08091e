package group

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/metadata"
)

// topicsImage returns an Image holding the named topics with the given partition counts; the
// topic id is the name's first byte repeated, so ids are stable across calls.
func topicsImage(t testing.TB, topics map[string]int) *metadata.Image {
	t.Helper()
	var recs []metadata.Record
	names := make([]string, 0, len(topics))
	for name := range topics {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		id := topicIDOf(name)
		recs = append(recs, &metadata.TopicRecord{Name: name, TopicID: metadata.TopicID(id)})
		for p := range topics[name] {
			recs = append(recs, &metadata.PartitionRecord{TopicID: metadata.TopicID(id), Partition: int32(p),
				Replicas: []int32{1}, ISR: []int32{1}, Leader: 1})
		}
	}
	img, err := metadata.Empty().Apply(1, recs)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func topicIDOf(name string) TopicID {
	var id TopicID
	copy(id[:], name)
	id[15] = byte(len(name))
	return id
}

// consumerClient is a test member of a consumer group: it tracks what it owns as a real
// client would, revoking at once what the coordinator takes away.
type consumerClient struct {
	t      testing.TB
	c      *Coordinator
	group  string
	id     string
	epoch  int32
	owned  Assignment
	topics []string
	regex  *string
}

func newConsumerClient(t testing.TB, c *Coordinator, id string, topics ...string) *consumerClient {
	return &consumerClient{t: t, c: c, group: "g", id: id, owned: Assignment{}, topics: topics}
}

func (cc *consumerClient) request(img *metadata.Image) ConsumerHeartbeatRequest {
	req := ConsumerHeartbeatRequest{Group: cc.group, MemberID: cc.id, MemberEpoch: cc.epoch, RebalanceTimeout: time.Minute,
		SubscribedTopicRegex: cc.regex, Image: img, ClientID: "test"}
	if cc.regex == nil {
		req.SubscribedTopicNames = cc.topics
	}
	req.Owned = []TopicPartitions{}
	for t, ps := range cc.owned {
		req.Owned = append(req.Owned, TopicPartitions{Topic: t, Partitions: slices.Clone(ps)})
	}
	return req
}

// beat sends one full heartbeat and applies the answer.
func (cc *consumerClient) beat(img *metadata.Image) ConsumerHeartbeatResult {
	cc.t.Helper()
	res := cc.c.ConsumerHeartbeat(context.Background(), cc.request(img))
	if res.Err != nil {
		cc.t.Fatalf("heartbeat of %s: %v", cc.id, res.Err)
	}
	cc.epoch = res.MemberEpoch
	if res.Assignment != nil {
		cc.owned = res.Assignment
	}
	return res
}

func (cc *consumerClient) leave() {
	cc.t.Helper()
	res := cc.c.ConsumerHeartbeat(context.Background(), ConsumerHeartbeatRequest{Group: cc.group, MemberID: cc.id, MemberEpoch: -1})
	if res.Err != nil || res.MemberEpoch != -1 {
		cc.t.Fatalf("leave of %s: epoch %d, %v", cc.id, res.MemberEpoch, res.Err)
	}
}

// settle heartbeats every client in turn until a full round changes nothing, checking after
// every heartbeat that no partition is owned by two clients.
func settle(t *testing.T, img *metadata.Image, clients ...*consumerClient) {
	t.Helper()
	for round := 0; round < 20; round++ {
		changed := false
		for _, cc := range clients {
			before, epoch := cc.owned.clone(), cc.epoch
			cc.beat(img)
			changed = changed || !before.equal(cc.owned) || epoch != cc.epoch
			checkDisjoint(t, clients)
		}
		if !changed {
			return
		}
	}
	t.Fatal("group did not settle in 20 rounds")
}

func checkDisjoint(t *testing.T, clients []*consumerClient) {
	t.Helper()
	seen := map[partitionKey]string{}
	for _, cc := range clients {
		for tp, ps := range cc.owned {
			for _, p := range ps {
				if o, ok := seen[partitionKey{tp, p}]; ok {
					t.Fatalf("partition %d owned by %s and %s", p, o, cc.id)
				}
				seen[partitionKey{tp, p}] = cc.id
			}
		}
	}
}

func newConsumerCoordinator(t *testing.T, cfg Config) *Coordinator {
	t.Helper()
	if cfg.MaxSessionTimeout == 0 {
		cfg.MinSessionTimeout, cfg.MaxSessionTimeout = time.Millisecond, time.Hour
	}
	c := New(cfg)
	t.Cleanup(c.Close)
	return c
}

func TestConsumerGroupThreeMembersSharePartitions(t *testing.T) {
	for _, assignor := range []string{"uniform", "range"} {
		t.Run(assignor, func(t *testing.T) {
			c := newConsumerCoordinator(t, Config{ConsumerAssignors: []string{assignor}})
			img := topicsImage(t, map[string]int{"orders": 6})
			a, b, d := newConsumerClient(t, c, "a", "orders"), newConsumerClient(t, c, "b", "orders"), newConsumerClient(t, c, "c", "orders")
			a.beat(img)
			if a.owned.count() != 6 {
				t.Fatalf("single member owns %d partitions, want 6", a.owned.count())
			}
			settle(t, img, a, b, d)
			for _, cc := range []*consumerClient{a, b, d} {
				if cc.owned.count() != 2 {
					t.Fatalf("%s owns %v, want 2 partitions", cc.id, cc.owned)
				}
			}
			desc, err := c.DescribeConsumerGroup("g")
			if err != nil || desc.State != ConsumerStable || desc.Epoch != desc.AssignmentEpoch || desc.Assignor != assignor {
				t.Fatalf("describe: %+v %v", desc, err)
			}
			for _, m := range desc.Members {
				if m.MemberEpoch != desc.Epoch {
					t.Fatalf("member %s at epoch %d, group at %d", m.MemberID, m.MemberEpoch, desc.Epoch)
				}
			}
		})
	}
}

func TestConsumerGroupRevokesBeforeAssigning(t *testing.T) {
	c := newConsumerCoordinator(t, Config{})
	img := topicsImage(t, map[string]int{"orders": 4})
	a, b := newConsumerClient(t, c, "a", "orders"), newConsumerClient(t, c, "b", "orders")
	a.beat(img)
	first := a.epoch
	b.beat(img) // b joins: the target gives it 2 partitions a still owns
	if b.owned.count() != 0 {
		t.Fatalf("b got %v before a revoked", b.owned)
	}
	// a learns that it must give up 2 partitions; it keeps its epoch until it revokes.
	req := a.request(img)
	res := c.ConsumerHeartbeat(context.Background(), req)
	if res.Err != nil || res.MemberEpoch != first || res.Assignment.count() != 2 {
		t.Fatalf("a's heartbeat: epoch %d (want %d), assignment %v, %v", res.MemberEpoch, first, res.Assignment, res.Err)
	}
	// Before a acknowledges the revocation, b still gets nothing.
	b.beat(img)
	if b.owned.count() != 0 {
		t.Fatalf("b got %v before a acknowledged the revocation", b.owned)
	}
	a.owned = res.Assignment
	a.beat(img) // acknowledges: now at the new epoch
	if a.epoch <= first {
		t.Fatalf("a's epoch %d did not advance past %d", a.epoch, first)
	}
	b.beat(img)
	if b.owned.count() != 2 {
		t.Fatalf("b owns %v after the revocation, want 2 partitions", b.owned)
	}
	checkDisjoint(t, []*consumerClient{a, b})
}

func TestConsumerGroupEpochValidation(t *testing.T) {
	c := newConsumerCoordinator(t, Config{})
	img := topicsImage(t, map[string]int{"orders": 2})
	a := newConsumerClient(t, c, "a", "orders")
	a.beat(img)
	cases := []struct {
		name  string
		edit  func(*ConsumerHeartbeatRequest)
		want  error
		epoch int32
	}{
		{"newer epoch is fenced", func(r *ConsumerHeartbeatRequest) { r.MemberEpoch = a.epoch + 1 }, ErrFencedMemberEpoch, 0},
		{"unknown member", func(r *ConsumerHeartbeatRequest) { r.MemberID = "nobody" }, ErrUnknownMemberID, 0},
		{"join with owned partitions", func(r *ConsumerHeartbeatRequest) { r.MemberID, r.MemberEpoch = "new", 0 }, ErrInvalidRequest, 0},
		{"unsupported assignor", func(r *ConsumerHeartbeatRequest) { s := "sticky"; r.ServerAssignor = &s }, ErrUnsupportedAssignor, 0},
		{"bad regex", func(r *ConsumerHeartbeatRequest) { s := "(("; r.SubscribedTopicRegex = &s }, ErrInvalidRegex, 0},
		{"epoch below -2", func(r *ConsumerHeartbeatRequest) { r.MemberEpoch = -3 }, ErrInvalidRequest, 0},
		{"current epoch", func(r *ConsumerHeartbeatRequest) {}, nil, a.epoch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := a.request(img)
			tc.edit(&req)
			res := c.ConsumerHeartbeat(context.Background(), req)
			if !errors.Is(res.Err, tc.want) {
				t.Fatalf("err %v, want %v", res.Err, tc.want)
			}
			if tc.want == nil && res.MemberEpoch != tc.epoch {
				t.Fatalf("epoch %d, want %d", res.MemberEpoch, tc.epoch)
			}
		})
	}
}

func TestConsumerGroupLeaveHandsPartitionsOver(t *testing.T) {
	c := newConsumerCoordinator(t, Config{})
	img := topicsImage(t, map[string]int{"orders": 4})
	a, b := newConsumerClient(t, c, "a", "orders"), newConsumerClient(t, c, "b", "orders")
	settle(t, img, a, b)
	a.leave()
	b.beat(img)
	if b.owned.count() != 4 {
		t.Fatalf("b owns %v after a left, want all 4", b.owned)
	}
	if res := c.ConsumerHeartbeat(context.Background(), a.request(img)); !errors.Is(res.Err, ErrUnknownMemberID) {
		t.Fatalf("heartbeat after leaving: %v, want ErrUnknownMemberID", res.Err)
	}
}

func TestConsumerGroupSessionExpiry(t *testing.T) {
	c := newConsumerCoordinator(t, Config{ConsumerSessionTimeout: 20 * time.Millisecond})
	img := topicsImage(t, map[string]int{"orders": 2})
	a := newConsumerClient(t, c, "a", "orders")
	a.beat(img)
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := c.DescribeConsumerGroup("g")
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Members) == 0 && d.State == ConsumerEmpty {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("member not removed after its session: %+v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConsumerGroupRegexPicksUpNewTopics(t *testing.T) {
	c := newConsumerCoordinator(t, Config{})
	re := "logs-.*"
	a := newConsumerClient(t, c, "a")
	a.regex = &re
	img := topicsImage(t, map[string]int{"logs-a": 1, "metrics": 1})
	a.beat(img)
	if a.owned.count() != 1 || len(a.owned[topicIDOf("logs-a")]) != 1 {
		t.Fatalf("owned %v, want logs-a's partition only", a.owned)
	}
	before := a.epoch
	a.beat(topicsImage(t, map[string]int{"logs-a": 1, "logs-b": 2, "metrics": 1, "xlogs-c": 1}))
	if a.epoch <= before || a.owned.count() != 3 || len(a.owned[topicIDOf("logs-b")]) != 2 {
		t.Fatalf("after logs-b was created: epoch %d (was %d), owned %v", a.epoch, before, a.owned)
	}
}

// TestConsumerGroupRegexMatchesInternalTopics: a broker-side regex resolves against every
// topic, internal ones included, as Kafka 4's coordinator does; a regex that does not match
// them leaves them out.
func TestConsumerGroupRegexMatchesInternalTopics(t *testing.T) {
	img := topicsImage(t, map[string]int{"__consumer_offsets": 3, "__transaction_state": 2, "logs-a": 1})
	for _, tc := range []struct {
		regex string
		want  map[string]int
	}{
		{"__consumer.*", map[string]int{"__consumer_offsets": 3}},
		{".*", map[string]int{"__consumer_offsets": 3, "__transaction_state": 2, "logs-a": 1}},
		{"logs-.*", map[string]int{"logs-a": 1}},
	} {
		t.Run(tc.regex, func(t *testing.T) {
			c := newConsumerCoordinator(t, Config{})
			re := tc.regex
			a := newConsumerClient(t, c, "a")
			a.regex = &re
			a.beat(img)
			total := 0
			for name, n := range tc.want {
				if got := len(a.owned[topicIDOf(name)]); got != n {
					t.Fatalf("owns %d partitions of %s, want %d (owned %v)", got, name, n, a.owned)
				}
				total += n
			}
			if a.owned.count() != total {
				t.Fatalf("owns %d partitions, want %d: %v", a.owned.count(), total, a.owned)
			}
		})
	}
}

func TestConsumerGroupCommitsUseMemberEpoch(t *testing.T) {
	c := newConsumerCoordinator(t, Config{})
	img := topicsImage(t, map[string]int{"orders": 1})
	a := newConsumerClient(t, c, "a", "orders")
	a.beat(img)
	o := []OffsetCommit{{Topic: "orders", Partition: 0, Offset: 5, LeaderEpoch: -1}}
	cases := []struct {
		name   string
		member string
		epoch  int32
		want   error
	}{
		{"stale epoch", "a", a.epoch - 1, ErrStaleMemberEpoch},
		{"unknown member", "b", a.epoch, ErrUnknownMemberID},
		{"admin commit while members exist", "", -1, ErrUnknownMemberID},
		{"current epoch", "a", a.epoch, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.CommitOffsets(context.Background(), "g", tc.member, "", tc.epoch, o); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	if got, ok := c.FetchOffset("g", "orders", 0); !ok || got.Offset != 5 {
		t.Fatalf("committed offset %+v %v", got, ok)
	}
}

func TestConsumerGroupSurvivesReload(t *testing.T) {
	log := &memLog{}
	c := newConsumerCoordinator(t, Config{Log: log, NumPartitions: 1})
	img := topicsImage(t, map[string]int{"orders": 4})
	a, b := newConsumerClient(t, c, "a", "orders"), newConsumerClient(t, c, "b", "orders")
	settle(t, img, a, b)
	want, err := c.DescribeConsumerGroup("g")
	if err != nil {
		t.Fatal(err)
	}
	c2 := newConsumerCoordinator(t, Config{Log: log, NumPartitions: 1})
	if err := c2.Load(log.bytes()); err != nil {
		t.Fatal(err)
	}
	got, err := c2.DescribeConsumerGroup("g")
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != want.Epoch || got.AssignmentEpoch != want.AssignmentEpoch || len(got.Members) != 2 {
		t.Fatalf("reloaded %+v, want %+v", got, want)
	}
	for i, m := range got.Members {
		w := want.Members[i]
		if m.MemberID != w.MemberID || m.MemberEpoch != w.MemberEpoch || !m.Assignment.equal(w.Assignment) || !m.Target.equal(w.Target) ||
			!slices.Equal(m.SubscribedTopicNames, w.SubscribedTopicNames) {
			t.Fatalf("member %d reloaded as %+v, want %+v", i, m, w)
		}
	}
	// The members carry on in their epochs against the reloaded coordinator.
	a.c, b.c = c2, c2
	epoch := a.epoch
	a.beat(img)
	if a.epoch != epoch {
		t.Fatalf("epoch moved from %d to %d across a reload", epoch, a.epoch)
	}
	// A member that leaves is gone after another reload; so is the group once deleted.
	a.leave()
	b.leave()
	if err := c2.Delete(context.Background(), "g"); err != nil {
		t.Fatal(err)
	}
	c3 := newConsumerCoordinator(t, Config{Log: log, NumPartitions: 1})
	if err := c3.Load(log.bytes()); err != nil {
		t.Fatal(err)
	}
	if _, err := c3.DescribeConsumerGroup("g"); !errors.Is(err, ErrGroupIDNotFound) {
		t.Fatalf("deleted group after reload: %v", err)
	}
}

func TestGroupConversion(t *testing.T) {
	c := newConsumerCoordinator(t, Config{})
	img := topicsImage(t, map[string]int{"orders": 1})
	// An empty classic group (offsets only) becomes a consumer group and keeps its offsets.
	if err := c.CommitOffsets(context.Background(), "g", "", "", -1, []OffsetCommit{{Topic: "orders", Offset: 7, LeaderEpoch: -1}}); err != nil {
		t.Fatal(err)
	}
	a := newConsumerClient(t, c, "a", "orders")
	a.beat(img)
	if o, ok := c.FetchOffset("g", "orders", 0); !ok || o.Offset != 7 {
		t.Fatalf("offset after conversion: %+v %v", o, ok)
	}
	// A classic join to a consumer group with members is refused.
	if res := recvJoin(t, c.Join(joinReq("", "range"))); !errors.Is(res.Err, ErrInconsistentProtocol) {
		t.Fatalf("classic join to a consumer group: %v", res.Err)
	}
	if l := c.List(); len(l) != 1 || l[0].Type != "consumer" || l[0].StateName != "Stable" {
		t.Fatalf("list: %+v", l)
	}
	if d := c.Describe("g"); d.State != Dead || d.Type != "consumer" {
		t.Fatalf("classic describe of a consumer group: %+v", d)
	}
	a.leave()
	// Empty again: a classic join converts it back.
	req := joinReq("", "range")
	req.RequireKnownMemberID = false
	if res := recvJoin(t, c.Join(req)); res.Err != nil {
		t.Fatalf("classic join to an empty consumer group: %v", res.Err)
	}
	if l := c.List(); len(l) != 1 || l[0].Type != "classic" {
		t.Fatalf("list after conversion back: %+v", l)
	}
	if res := c.ConsumerHeartbeat(context.Background(), a.request(img)); !errors.Is(res.Err, ErrGroupIDNotFound) {
		t.Fatalf("consumer heartbeat to a classic group with members: %v", res.Err)
	}
}

func FuzzDecodeConsumerRecord(f *testing.F) {
	a := Assignment{topicIDOf("t"): {0, 2}}
	f.Add(appendConsumerKey(nil, keyConsumerGroup, "g", ""), AppendConsumerEpochValue(nil, 3))
	f.Add(appendConsumerKey(nil, keyConsumerMember, "g", "m"), AppendConsumerMemberValue(nil, ConsumerMemberValue{
		InstanceID: "i", ClientID: "c", ClientHost: "/1.2.3.4", SubscribedTopicNames: []string{"t"}, SubscribedTopicRegex: "t.*",
		RebalanceTimeoutMs: 1000, ServerAssignor: "uniform"}))
	f.Add(appendConsumerKey(nil, keyTargetMember, "g", "m"), AppendTargetMemberValue(nil, a))
	f.Add(appendConsumerKey(nil, keyCurrentAssignment, "g", "m"), AppendCurrentAssignmentValue(nil, CurrentAssignmentValue{
		MemberEpoch: 4, PreviousMemberEpoch: 3, State: 1, Assigned: a, PendingRevocation: Assignment{topicIDOf("u"): {1}}}))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		k, err := DecodeKey(key)
		if err == nil && k.Kind >= keyConsumerGroup && !isShareKind(k.Kind) {
			if k2, err := DecodeKey(appendConsumerKey(nil, k.Kind, k.Group, k.Member)); err != nil || k2 != k {
				t.Fatalf("key re-encode: %+v %v, want %+v", k2, err, k)
			}
		}
		if e, err := DecodeConsumerEpochValue(value); err == nil {
			if e2, err := DecodeConsumerEpochValue(AppendConsumerEpochValue(nil, e)); err != nil || e2 != e {
				t.Fatalf("epoch re-encode: %d %v, want %d", e2, err, e)
			}
		}
		if v, err := DecodeConsumerMemberValue(value); err == nil {
			v2, err := DecodeConsumerMemberValue(AppendConsumerMemberValue(nil, v))
			if err != nil || !slices.Equal(v2.SubscribedTopicNames, v.SubscribedTopicNames) || v2.ClientID != v.ClientID || v2.SubscribedTopicRegex != v.SubscribedTopicRegex {
				t.Fatalf("member re-encode: %+v %v, want %+v", v2, err, v)
			}
		}
		if a, err := DecodeTargetMemberValue(value); err == nil {
			if a2, err := DecodeTargetMemberValue(AppendTargetMemberValue(nil, a)); err != nil || !a2.equal(a) {
				t.Fatalf("target re-encode: %v %v, want %v", a2, err, a)
			}
		}
		if v, err := DecodeCurrentAssignmentValue(value); err == nil {
			if v2, err := DecodeCurrentAssignmentValue(AppendCurrentAssignmentValue(nil, v)); err != nil || !v2.equal(v) {
				t.Fatalf("current assignment re-encode: %+v %v, want %+v", v2, err, v)
			}
		}
		// Replaying any record must not panic the coordinator.
		c := New(Config{})
		defer c.Close()
		c.applyRecord(key, value)
	})
}

func TestConsumerGroupStaticMemberRejoinsWithoutRebalance(t *testing.T) {
	log := &memLog{}
	c := newConsumerCoordinator(t, Config{Log: log, NumPartitions: 1})
	img := topicsImage(t, map[string]int{"orders": 4})
	inst := "instance-1"
	a, b := newConsumerClient(t, c, "a", "orders"), newConsumerClient(t, c, "b", "orders")
	settle(t, img, a, b)
	d0, _ := c.DescribeConsumerGroup("g")
	leave := func(id string, instance *string) ConsumerHeartbeatResult {
		return c.ConsumerHeartbeat(context.Background(), ConsumerHeartbeatRequest{Group: "g", MemberID: id, MemberEpoch: -2, InstanceID: instance})
	}
	// b is dynamic: a static leave of it is refused as a fenced instance.
	if res := leave("b", &inst); !errors.Is(res.Err, ErrFencedInstanceID) {
		t.Fatalf("static leave of a dynamic member: %v", res.Err)
	}
	// A static member: s joins with an instance id and gets a share.
	s := newConsumerClient(t, c, "s1", "orders")
	req := s.request(img)
	req.InstanceID = &inst
	res := c.ConsumerHeartbeat(context.Background(), req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	s.epoch, s.owned = res.MemberEpoch, res.Assignment
	settle(t, img, a, b, s)
	owned := s.owned.clone()
	d1, _ := c.DescribeConsumerGroup("g")
	if d1.Epoch <= d0.Epoch || owned.count() == 0 {
		t.Fatalf("static member joined: epoch %d → %d, owns %v", d0.Epoch, d1.Epoch, owned)
	}
	// While s holds the instance, another member cannot take it.
	other := newConsumerClient(t, c, "s2", "orders")
	req = other.request(img)
	req.InstanceID = &inst
	if res := c.ConsumerHeartbeat(context.Background(), req); !errors.Is(res.Err, ErrUnreleasedInstanceID) {
		t.Fatalf("second member with a held instance id: %v", res.Err)
	}
	// s leaves temporarily (-2) and comes back as s2: same partitions, no new group epoch.
	if res := leave("s1", &inst); res.Err != nil || res.MemberEpoch != -2 {
		t.Fatalf("static leave: %+v", res)
	}
	if res := c.ConsumerHeartbeat(context.Background(), req); res.Err != nil || !res.Assignment.equal(owned) {
		t.Fatalf("static rejoin: %+v, want assignment %v", res, owned)
	}
	d2, _ := c.DescribeConsumerGroup("g")
	if d2.Epoch != d1.Epoch || len(d2.Members) != 3 {
		t.Fatalf("after the static rejoin: epoch %d (was %d), %d members", d2.Epoch, d1.Epoch, len(d2.Members))
	}
	if res := c.ConsumerHeartbeat(context.Background(), s.request(img)); !errors.Is(res.Err, ErrUnknownMemberID) {
		t.Fatalf("heartbeat of the replaced member id: %v", res.Err)
	}
	// The replacement survives a reload.
	c2 := newConsumerCoordinator(t, Config{Log: log, NumPartitions: 1})
	if err := c2.Load(log.bytes()); err != nil {
		t.Fatal(err)
	}
	d3, _ := c2.DescribeConsumerGroup("g")
	if len(d3.Members) != 3 || d3.Epoch != d2.Epoch {
		t.Fatalf("reloaded: %+v", d3)
	}
	for _, m := range d3.Members {
		if m.MemberID == "s1" || (m.MemberID == "s2" && (m.InstanceID != inst || !m.Assignment.equal(owned))) {
			t.Fatalf("reloaded member %+v", m)
		}
	}
}

func TestConsumerGroupMaxSize(t *testing.T) {
	c := newConsumerCoordinator(t, Config{ConsumerMaxSize: 2})
	img := topicsImage(t, map[string]int{"orders": 3})
	a, b := newConsumerClient(t, c, "a", "orders"), newConsumerClient(t, c, "b", "orders")
	settle(t, img, a, b)
	third := newConsumerClient(t, c, "c", "orders")
	if res := c.ConsumerHeartbeat(context.Background(), third.request(img)); !errors.Is(res.Err, ErrGroupMaxSizeReached) {
		t.Fatalf("third member of a group capped at 2: %v", res.Err)
	}
	a.beat(img) // members already in the group carry on
}

// BenchmarkConsumerHeartbeat is the steady state of a 30-member group: a member's keepalive
// heartbeat (nothing changed, nothing written).
func BenchmarkConsumerHeartbeat(b *testing.B) {
	c := New(Config{})
	defer c.Close()
	topics := map[string]int{}
	for i := range 20 {
		topics["topic-"+string(rune('a'+i))] = 30
	}
	img := topicsImage(b, topics)
	names := make([]string, 0, len(topics))
	for name := range topics {
		names = append(names, name)
	}
	var clients []*consumerClient
	for i := range 30 {
		clients = append(clients, newConsumerClient(b, c, "m"+string(rune('a'+i)), names...))
	}
	for range 5 {
		for _, cc := range clients {
			cc.beat(img)
		}
	}
	req := clients[0].request(img)
	req.Owned, req.SubscribedTopicNames, req.RebalanceTimeout = nil, nil, -1
	b.ReportAllocs()
	for b.Loop() {
		if res := c.ConsumerHeartbeat(context.Background(), req); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
}
