package runtime

import (
	"fmt"
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/streams/processor"
)

// ProtocolName is the group protocol of the task assignor. Every instance of an application
// must use it (a member asking for another protocol cannot join the group).
const ProtocolName = "sluice-streams"

// balancer is the kgo.GroupBalancer of a streams application: it assigns tasks, not
// partitions (see Assign), and is eager (every member gives up everything at a rebalance;
// tasks it keeps are suspended and resumed, not closed).
type balancer struct {
	// subTopics are each sub-topology's source topics as read (internal ones prefixed).
	subTopics [][]string
	standbys  int
	// subscription is called at each join for the member's user data.
	subscription func() Subscription
	// assigned receives the member's assignment user data before OnPartitionsAssigned.
	assigned func(AssignmentData)
}

var _ kgo.GroupBalancer = (*balancer)(nil)

func (b *balancer) ProtocolName() string { return ProtocolName }
func (b *balancer) IsCooperative() bool  { return false }

func (b *balancer) JoinGroupMetadata(topics []string, _ map[string][]int32, _ int32) []byte {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = topics
	sub := b.subscription()
	meta.UserData = sub.Encode()
	return meta.AppendTo(nil)
}

func (b *balancer) ParseSyncAssignment(assignment []byte) (map[string][]int32, error) {
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(assignment); err != nil {
		return nil, fmt.Errorf("runtime: assignment: %w", err)
	}
	data, err := DecodeAssignment(a.UserData)
	if err != nil {
		return nil, err
	}
	m := make(map[string][]int32, len(a.Topics))
	for _, t := range a.Topics {
		m[t.Topic] = t.Partitions
	}
	if b.assigned != nil {
		b.assigned(data)
	}
	return m, nil
}

func (b *balancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	mb := &memberBalancer{b: b}
	topics := map[string]struct{}{}
	for _, m := range members {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(m.ProtocolMetadata); err != nil {
			return nil, nil, fmt.Errorf("runtime: member %s: metadata: %w", m.MemberID, err)
		}
		sub, err := DecodeSubscription(meta.UserData)
		if err != nil {
			return nil, nil, fmt.Errorf("runtime: member %s: %w", m.MemberID, err)
		}
		for _, t := range meta.Topics {
			topics[t] = struct{}{}
		}
		mb.members = append(mb.members, Member{ID: m.MemberID, Endpoint: sub.Endpoint, PrevActive: sub.PrevActive, Local: sub.Local})
	}
	for _, ts := range b.subTopics {
		for _, t := range ts {
			topics[t] = struct{}{}
		}
	}
	return mb, topics, nil
}

type memberBalancer struct {
	b       *balancer
	members []Member
}

func (mb *memberBalancer) Balance(map[string]int32) kgo.IntoSyncAssignment {
	panic("runtime: Balance is not called on a GroupMemberBalancerOrError")
}

// BalanceOrError makes the tasks from the topics' partition counts and assigns them.
func (mb *memberBalancer) BalanceOrError(topics map[string]int32) (kgo.IntoSyncAssignment, error) {
	tasks, err := Tasks(mb.b.subTopics, topics)
	if err != nil {
		return nil, err
	}
	plan := Assign(tasks, mb.members, mb.b.standbys)
	var hosts []HostTasks
	for i, m := range mb.members {
		if m.Endpoint != "" {
			hosts = append(hosts, HostTasks{Endpoint: m.Endpoint, Active: plan[i].Active})
		}
	}
	out := make(syncAssignment, len(mb.members))
	for i, m := range mb.members {
		a := kmsg.NewConsumerMemberAssignment()
		parts := map[string][]int32{}
		for _, t := range plan[i].Active {
			for _, topic := range mb.b.subTopics[t.Subtopology] {
				if t.Partition < topics[topic] {
					parts[topic] = append(parts[topic], t.Partition)
				}
			}
		}
		names := make([]string, 0, len(parts))
		for topic := range parts {
			names = append(names, topic)
		}
		sort.Strings(names)
		for _, topic := range names {
			ps := parts[topic]
			slices.Sort(ps)
			a.Topics = append(a.Topics, kmsg.ConsumerMemberAssignmentTopic{Topic: topic, Partitions: ps})
		}
		data := AssignmentData{Standby: plan[i].Standby, Hosts: hosts}
		a.UserData = data.Encode()
		out[i] = kmsg.SyncGroupRequestGroupAssignment{MemberID: m.ID, MemberAssignment: a.AppendTo(nil)}
	}
	return out, nil
}

type syncAssignment []kmsg.SyncGroupRequestGroupAssignment

func (s syncAssignment) IntoSyncAssignment() []kmsg.SyncGroupRequestGroupAssignment { return s }

// Tasks lists the tasks of sub-topologies whose source topics (as read) have the given
// partition counts: one per partition number up to the largest count among a
// sub-topology's topics (a task reads partition p of each of its topics that has one).
func Tasks(subTopics [][]string, partitions map[string]int32) ([]processor.TaskID, error) {
	var tasks []processor.TaskID
	for sub, ts := range subTopics {
		var n int32
		for _, t := range ts {
			c, ok := partitions[t]
			if !ok {
				return nil, fmt.Errorf("runtime: source topic %q of sub-topology %d has no metadata", t, sub)
			}
			n = max(n, c)
		}
		for p := range n {
			tasks = append(tasks, processor.TaskID{Subtopology: int32(sub), Partition: p})
		}
	}
	return tasks, nil
}
