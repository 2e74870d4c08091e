package group

import (
	"slices"
	"sort"
)

// The server-side assignors of KIP-848 consumer groups (group.consumer.assignors). Both are
// pure functions of the members' subscriptions, the topics' partition counts and (uniform)
// the previous target assignment, so every coordinator computes the same answer.

// TopicID is a topic's 16-byte id, the name consumer-group assignments use for topics.
type TopicID = [16]byte

// Assignment maps topic ids to sorted partition lists.
type Assignment map[TopicID][]int32

// assignMember is one member as an assignor sees it.
type assignMember struct {
	id     string
	topics []TopicID // subscribed topics that exist, sorted
}

// assignTopic is one subscribed topic.
type assignTopic struct {
	id         TopicID
	partitions int32
}

// assignor computes a target assignment.
type assignor func(members []assignMember, topics map[TopicID]int32, previous map[string]Assignment) map[string]Assignment

// assignors are the server assignors Sluice implements, by Kafka's names.
var assignors = map[string]assignor{
	"uniform": assignUniform,
	"range":   assignRange,
}

// assignRange gives each member of a topic's subscribers (sorted by member id) a contiguous
// range of its partitions; the first (partitions % subscribers) members get one more. As in
// Kafka's range assignor, members subscribed to the same topics get co-partitioned ranges.
func assignRange(members []assignMember, topics map[TopicID]int32, _ map[string]Assignment) map[string]Assignment {
	out := make(map[string]Assignment, len(members))
	for _, m := range members {
		out[m.id] = Assignment{}
	}
	for _, id := range sortedTopicIDs(topics) {
		var subs []string
		for _, m := range members {
			if slices.Contains(m.topics, id) {
				subs = append(subs, m.id)
			}
		}
		if len(subs) == 0 {
			continue
		}
		slices.Sort(subs)
		n := topics[id]
		per, extra := n/int32(len(subs)), n%int32(len(subs))
		next := int32(0)
		for i, mid := range subs {
			count := per
			if int32(i) < extra {
				count++
			}
			for p := next; p < next+count; p++ {
				out[mid][id] = append(out[mid][id], p)
			}
			next += count
		}
	}
	return out
}

// assignUniform spreads every subscribed partition over the members subscribed to its topic
// so that counts differ by at most one where subscriptions allow, keeping each partition with
// its previous owner whenever balance permits (sticky, which keeps revocations few).
func assignUniform(members []assignMember, topics map[TopicID]int32, previous map[string]Assignment) map[string]Assignment {
	type tp = partitionKey
	subscribed := map[TopicID][]string{} // topic → eligible members, sorted
	for _, m := range members {
		for _, t := range m.topics {
			subscribed[t] = append(subscribed[t], m.id)
		}
	}
	for _, ids := range subscribed {
		slices.Sort(ids)
	}
	owner, count := keepPrevious(members, topics, previous, subscribed)
	var all []tp
	for _, t := range sortedTopicIDs(topics) {
		if len(subscribed[t]) == 0 {
			continue
		}
		for p := range topics[t] {
			all = append(all, tp{topic: t, p: p})
		}
	}
	least := func(cands []string) string {
		best := ""
		for _, c := range cands {
			if best == "" || count[c] < count[best] {
				best = c
			}
		}
		return best
	}
	for _, x := range all {
		if _, ok := owner[x]; !ok {
			m := least(subscribed[x.topic])
			owner[x] = m
			count[m]++
		}
	}
	balanceUniform(all, owner, count, func(x tp) string { return least(subscribed[x.topic]) })
	out := make(map[string]Assignment, len(members))
	for _, m := range members {
		out[m.id] = Assignment{}
	}
	for _, x := range all {
		a := out[owner[x]]
		a[x.topic] = append(a[x.topic], x.p)
	}
	for _, a := range out {
		for _, ps := range a {
			slices.Sort(ps)
		}
	}
	return out
}

// maxBalancePasses caps the uniform assignor's balancing passes. Each pass looks at every
// subscribed partition once (O(partitions x subscribers)) and moves it to a subscriber with at
// least two fewer partitions; sticky placement plus least-loaded placement of the new
// partitions leaves the counts near balance, so the passes needed are few (tests: <= 3 for
// a new member joining owners of 10,000 partitions). The cap bounds a heartbeat's work when
// overlapping subscriptions would need many: the assignment is then valid (every partition
// with a subscriber) but maybe off balance by more than one, and the next group epoch's
// assignment, sticky to this one, carries on balancing.
const maxBalancePasses = 16

// balanceUniform moves partitions from their owner to the least loaded eligible member
// (least) while that member has at least two fewer. Each move lowers the sum of squared
// counts, so it ends; it stops after maxBalancePasses passes in any case. It returns the
// passes made.
func balanceUniform(all []partitionKey, owner map[partitionKey]string, count map[string]int, least func(partitionKey) string) int {
	passes := 0
	for moved := true; moved && passes < maxBalancePasses; {
		moved = false
		passes++
		for _, x := range all {
			o := owner[x]
			m := least(x)
			if count[m] < count[o]-1 {
				owner[x] = m
				count[o]--
				count[m]++
				moved = true
			}
		}
	}
	return passes
}

func sortedTopicIDs(topics map[TopicID]int32) []TopicID {
	ids := make([]TopicID, 0, len(topics))
	for id := range topics {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return string(ids[i][:]) < string(ids[j][:]) })
	return ids
}

// clone returns a deep copy.
func (a Assignment) clone() Assignment {
	out := make(Assignment, len(a))
	for t, ps := range a {
		out[t] = slices.Clone(ps)
	}
	return out
}

// equal reports whether two assignments hold the same partitions (empty topics ignored).
func (a Assignment) equal(b Assignment) bool {
	if a.count() != b.count() {
		return false
	}
	for t, ps := range a {
		for _, p := range ps {
			if !slices.Contains(b[t], p) {
				return false
			}
		}
	}
	return true
}

func (a Assignment) count() int {
	n := 0
	for _, ps := range a {
		n += len(ps)
	}
	return n
}

func (a Assignment) has(t TopicID, p int32) bool { return slices.Contains(a[t], p) }

func (a Assignment) add(t TopicID, p int32) {
	if !a.has(t, p) {
		a[t] = append(a[t], p)
		slices.Sort(a[t])
	}
}

// keepPrevious is the sticky start of the uniform assignor: each partition stays with its
// previous owner if that member still exists and still subscribes to the topic.
func keepPrevious(members []assignMember, topics map[TopicID]int32, previous map[string]Assignment, subscribed map[TopicID][]string) (map[partitionKey]string, map[string]int) {
	owner := map[partitionKey]string{}
	count := map[string]int{}
	for _, m := range members {
		count[m.id] = 0
	}
	prevIDs := make([]string, 0, len(previous))
	for id := range previous {
		prevIDs = append(prevIDs, id)
	}
	slices.Sort(prevIDs)
	for _, mid := range prevIDs {
		if _, ok := count[mid]; !ok {
			continue
		}
		for t, ps := range previous[mid] {
			if !slices.Contains(subscribed[t], mid) {
				continue
			}
			for _, p := range ps {
				if _, taken := owner[partitionKey{t, p}]; p < topics[t] && !taken {
					owner[partitionKey{t, p}] = mid
					count[mid]++
				}
			}
		}
	}
	return owner, count
}
