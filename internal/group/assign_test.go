package group

import (
	"context"
	"testing"
	"time"
)

func TestAssignors(t *testing.T) {
	t1, t2 := topicIDOf("t1"), topicIDOf("t2")
	topics := map[TopicID]int32{t1: 5, t2: 3}
	both := []TopicID{t1, t2}
	cases := []struct {
		name     string
		assign   assignor
		members  []assignMember
		previous map[string]Assignment
		want     map[string]int // partitions per member
		check    func(t *testing.T, got map[string]Assignment)
	}{
		{name: "range splits each topic in contiguous ranges", assign: assignRange,
			members: []assignMember{{"a", both}, {"b", both}},
			want:    map[string]int{"a": 5, "b": 3},
			check: func(t *testing.T, got map[string]Assignment) {
				if !got["a"].equal(Assignment{t1: {0, 1, 2}, t2: {0, 1}}) {
					t.Fatalf("a: %v", got["a"])
				}
			}},
		{name: "uniform balances homogeneous members", assign: assignUniform,
			members: []assignMember{{"a", both}, {"b", both}, {"c", both}},
			want:    map[string]int{"a": 3, "b": 3, "c": 2}},
		{name: "uniform respects subscriptions", assign: assignUniform,
			members: []assignMember{{"a", []TopicID{t1}}, {"b", both}},
			want:    map[string]int{"a": 4, "b": 4},
			check: func(t *testing.T, got map[string]Assignment) {
				if len(got["a"][t2]) != 0 {
					t.Fatalf("a got t2 without subscribing: %v", got["a"])
				}
			}},
		{name: "uniform is sticky", assign: assignUniform,
			members:  []assignMember{{"a", both}, {"b", both}},
			previous: map[string]Assignment{"a": {t1: {0, 1, 2, 3, 4}, t2: {0, 1, 2}}},
			want:     map[string]int{"a": 4, "b": 4},
			check: func(t *testing.T, got map[string]Assignment) {
				for tp, ps := range got["a"] {
					for _, p := range ps {
						if !(Assignment{t1: {0, 1, 2, 3, 4}, t2: {0, 1, 2}}).has(tp, p) {
							t.Fatalf("a got a partition it did not have: %v", got["a"])
						}
					}
				}
			}},
		{name: "uniform drops departed owners", assign: assignUniform,
			members:  []assignMember{{"b", both}},
			previous: map[string]Assignment{"a": {t1: {0, 1}}},
			want:     map[string]int{"b": 8}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.assign(tc.members, topics, tc.previous)
			total := 0
			for id, n := range tc.want {
				if got[id].count() != n {
					t.Fatalf("%s has %d partitions (%v), want %d", id, got[id].count(), got[id], n)
				}
				total += n
			}
			seen := map[partitionKey]bool{}
			for _, a := range got {
				for tp, ps := range a {
					for _, p := range ps {
						if seen[partitionKey{tp, p}] {
							t.Fatalf("partition %v/%d assigned twice", tp, p)
						}
						seen[partitionKey{tp, p}] = true
					}
				}
			}
			if len(seen) != total {
				t.Fatalf("%d partitions assigned, want %d", len(seen), total)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func BenchmarkAssignUniform(b *testing.B) {
	topics := map[TopicID]int32{}
	var ids []TopicID
	for i := range 20 {
		id := TopicID{byte(i)}
		topics[id] = 50
		ids = append(ids, id)
	}
	var members []assignMember
	for i := range 30 {
		members = append(members, assignMember{id: string(rune('a' + i)), topics: ids})
	}
	prev := assignUniform(members, topics, nil)
	b.ReportAllocs()
	for b.Loop() {
		assignUniform(members[1:], topics, prev)
	}
}

// TestUniformBalanceIsBounded: a new member joins ten members that own all of a
// 10,000-partition topic; the sticky start leaves it with nothing and the balancing passes
// must give it its share within maxBalancePasses. Then balanceUniform alone, with every
// partition on one of two members: it balances within the cap and loses no partition.
func TestUniformBalanceIsBounded(t *testing.T) {
	big := topicIDOf("big")
	topics := map[TopicID]int32{big: 10000}
	var members []assignMember
	previous := map[string]Assignment{}
	for i := range 10 {
		id := string(rune('a' + i))
		members = append(members, assignMember{id, []TopicID{big}})
		var ps []int32
		for p := int32(i); p < 10000; p += 10 {
			ps = append(ps, p)
		}
		previous[id] = Assignment{big: ps}
	}
	members = append(members, assignMember{"z", []TopicID{big}})
	got := assignUniform(members, topics, previous)
	lo, hi := 10000, 0
	for _, m := range members {
		n := got[m.id].count()
		lo, hi = min(lo, n), max(hi, n)
	}
	if hi-lo > 1 {
		t.Fatalf("counts range %d..%d after a join, want within one", lo, hi)
	}

	var all []partitionKey
	owner := map[partitionKey]string{}
	count := map[string]int{"a": 10000, "b": 0}
	for p := range int32(10000) {
		x := partitionKey{big, p}
		all = append(all, x)
		owner[x] = "a"
	}
	passes := balanceUniform(all, owner, count, func(partitionKey) string {
		if count["a"] < count["b"] {
			return "a"
		}
		return "b"
	})
	if passes > maxBalancePasses {
		t.Fatalf("%d passes, cap %d", passes, maxBalancePasses)
	}
	if count["a"]+count["b"] != 10000 || len(owner) != 10000 {
		t.Fatalf("partitions lost: counts %v, %d owned", count, len(owner))
	}
	if d := count["a"] - count["b"]; d > 1 || d < -1 {
		t.Fatalf("two members not balanced: %v", count)
	}
}

// TestAssignorRunsWithoutCoordinatorLock holds a consumer group's assignor mid-run and checks
// that the coordinator answers for other groups meanwhile (its mutex covers every group), then
// that the heartbeat that bumped the epoch is answered from the new target.
func TestAssignorRunsWithoutCoordinatorLock(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	assignors["test-blocking"] = func(members []assignMember, topics map[TopicID]int32, previous map[string]Assignment) map[string]Assignment {
		close(started)
		<-release
		return assignUniform(members, topics, previous)
	}
	t.Cleanup(func() { delete(assignors, "test-blocking") })
	c := newConsumerCoordinator(t, Config{ConsumerAssignors: []string{"test-blocking"},
		ConsumerSessionTimeout: time.Minute, ConsumerHeartbeatInterval: time.Second})
	img := topicsImage(t, map[string]int{"orders": 6})
	a := newConsumerClient(t, c, "a", "orders")
	done := make(chan ConsumerHeartbeatResult, 1)
	go func() { done <- c.ConsumerHeartbeat(context.Background(), a.request(img)) }()
	<-started
	if _, err := c.DescribeConsumerGroup("g"); err != nil {
		t.Fatalf("describe while the assignor runs: %v", err)
	}
	if got := c.FetchAllOffsets("other"); len(got) != 0 {
		t.Fatalf("offsets of an unknown group: %v", got)
	}
	close(release)
	res := <-done
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if n := res.Assignment.count(); n != 6 {
		t.Fatalf("first heartbeat answered with %d partitions, want all 6 from the new target", n)
	}
}
