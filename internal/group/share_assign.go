package group

import "slices"

// assignShare is the share groups' assignor, after Kafka's SimpleAssignor (Kafka 4.1+):
// each topic's partitions are spread over the members subscribing to it. With at least as
// many partitions as subscribers, each partition goes to one member and members' counts
// differ by at most one; with more subscribers than partitions, each partition is shared by
// ceil(subscribers/partitions) members (KIP-932 lets several members consume one
// share-partition) and every member gets at least one. It is sticky: a member keeps what it
// had as far as the balance allows. Members and partitions are visited in a fixed order, so
// the answer is a pure function of its input.
func assignShare(members []assignMember, topics map[TopicID]int32, previous map[string]Assignment) map[string]Assignment {
	out := make(map[string]Assignment, len(members))
	for _, m := range members {
		out[m.id] = Assignment{}
	}
	for _, t := range sortedTopicIDs(topics) {
		n := int(topics[t])
		var subs []string
		for _, m := range members {
			if slices.Contains(m.topics, t) {
				subs = append(subs, m.id)
			}
		}
		if n <= 0 || len(subs) == 0 {
			continue
		}
		slices.Sort(subs)
		for id, ps := range assignShareTopic(subs, n, t, previous) {
			for _, p := range ps {
				out[id].add(t, p)
			}
		}
	}
	return out
}

// assignShareTopic assigns partitions 0..n-1 of topic t to subs (sorted).
func assignShareTopic(subs []string, n int, t TopicID, previous map[string]Assignment) map[string][]int32 {
	s := len(subs)
	sharing := (s + n - 1) / n // members per partition
	slots := sharing * n
	if s <= n {
		sharing, slots = 1, n
	}
	// quota[i]: the partitions member i gets; the first slots%s members get one more.
	quota := make([]int, s)
	for i := range subs {
		quota[i] = slots / s
		if i < slots%s {
			quota[i]++
		}
	}
	holders := make([]int, n)
	got := make([][]int32, s)
	held := make([][]bool, s) // held[i][p]: member i has partition p
	for i := range held {
		held[i] = make([]bool, n)
	}
	holds := func(i, p int) bool { return held[i][p] }
	take := func(i, p int) {
		got[i] = append(got[i], int32(p))
		held[i][p] = true
		holders[p]++
	}
	// Sticky: keep previous partitions within quota and sharing.
	for i, id := range subs {
		for _, p := range previous[id][t] {
			if p >= 0 && int(p) < n && len(got[i]) < quota[i] && holders[p] < sharing && !holds(i, int(p)) {
				take(i, int(p))
			}
		}
	}
	// Fill: each member takes the least-held partitions it does not hold yet, scanning from
	// a per-member start so members spread over the partitions.
	for i := range subs {
		for start := i * n / s; len(got[i]) < quota[i]; {
			best := -1
			for k := range n {
				p := (start + k) % n
				if holders[p] < sharing && !holds(i, p) && (best < 0 || holders[p] < holders[best]) {
					best = p
				}
			}
			if best < 0 {
				break
			}
			take(i, best)
		}
	}
	// Every partition has a member: one left without (possible only when the fill got stuck)
	// goes to the member with the fewest partitions.
	for p := range n {
		if holders[p] > 0 {
			continue
		}
		least := 0
		for i := range subs {
			if len(got[i]) < len(got[least]) {
				least = i
			}
		}
		take(least, p)
	}
	out := make(map[string][]int32, s)
	for i, id := range subs {
		slices.Sort(got[i])
		out[id] = got[i]
	}
	return out
}
