package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
)

// ConsumerGroupDescribe: v0–1
//
// Behavior:
//   - Each consumer group's state (Empty, Assigning, Reconciling, Stable), group epoch,
//     assignment epoch, assignor, and members with their epoch, subscription, current
//     assignment and target assignment; topics are named by id and by name (from the current
//     metadata; "" for a topic deleted since).
//   - A group that does not exist, or is a classic group: GROUP_ID_NOT_FOUND.
//   - Authorized operations are all group operations when asked for: there is no authorizer.
//
//   - Authorization: Describe on each group, else GROUP_AUTHORIZATION_FAILED; Describe on every
//     topic its members subscribe to or are assigned, else TOPIC_AUTHORIZATION_FAILED and no
//     description (KAFKA-18813, Kafka 4.0).
//
// Version notes:
//   - v1: member type (1: the member uses the consumer protocol; Sluice has no classic
//     members in consumer groups).

func init() {
	Register(API{Key: 69, MinVersion: 0, MaxVersion: 1, Handle: handleConsumerGroupDescribe})
}

func handleConsumerGroupDescribe(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ConsumerGroupDescribeRequest)
	resp := r.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
	img := env.Metadata.Image()
	assignment := func(a group.Assignment) kmsg.Assignment {
		out := kmsg.NewAssignment()
		out.TopicPartitions = []kmsg.AssignmentTopicPartition{}
		for _, id := range sortedAssignmentTopics(a) {
			tp := kmsg.NewAssignmentTopicPartition()
			tp.TopicID, tp.Partitions = id, a[id]
			if t, ok := img.TopicByID(id); ok {
				tp.Topic = t.Name
			}
			out.TopicPartitions = append(out.TopicPartitions, tp)
		}
		return out
	}
	for _, id := range r.Groups {
		g := kmsg.NewConsumerGroupDescribeResponseGroup()
		g.Group = id
		if r.IncludeAuthorizedOperations {
			g.AuthorizedOperations = env.authorizedOperations(req, resGroup, id)
		}
		if !env.Authorize(req, opDescribe, resGroup, id) {
			g.ErrorCode = kerr.GroupAuthorizationFailed.Code
			resp.Groups = append(resp.Groups, g)
			continue
		}
		if err := groupStatus(env, id); err != nil {
			g.ErrorCode = groupErrorCode(err)
			resp.Groups = append(resp.Groups, g)
			continue
		}
		d, err := env.Groups.DescribeConsumerGroup(id)
		if err != nil {
			g.ErrorCode, g.ErrorMessage = groupErrorCode(err), ErrorMessage(err)
			resp.Groups = append(resp.Groups, g)
			continue
		}
		g.State, g.Epoch, g.AssignmentEpoch, g.AssignorName = d.State.String(), d.Epoch, d.AssignmentEpoch, d.Assignor
		for _, m := range d.Members {
			gm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
			gm.MemberID, gm.MemberEpoch, gm.ClientID, gm.ClientHost = m.MemberID, m.MemberEpoch, m.ClientID, m.ClientHost
			if m.InstanceID != "" {
				gm.InstanceID = kmsg.StringPtr(m.InstanceID)
			}
			if m.RackID != "" {
				gm.RackID = kmsg.StringPtr(m.RackID)
			}
			gm.SubscribedTopics = m.SubscribedTopicNames
			if gm.SubscribedTopics == nil {
				gm.SubscribedTopics = []string{}
			}
			if m.SubscribedTopicRegex != "" {
				gm.SubscribedTopicRegex = kmsg.StringPtr(m.SubscribedTopicRegex)
			}
			gm.Assignment, gm.TargetAssignment = assignment(m.Assignment), assignment(m.Target)
			gm.MemberType = 1
			g.Members = append(g.Members, gm)
		}
		if !describesGroupTopics(env, req, &g) {
			g = kmsg.NewConsumerGroupDescribeResponseGroup()
			g.Group, g.ErrorCode = id, kerr.TopicAuthorizationFailed.Code
			g.ErrorMessage = kmsg.StringPtr("The group has subscribed or assigned topics the principal may not describe.")
		}
		resp.Groups = append(resp.Groups, g)
	}
	return Reply(resp), nil
}

// describesGroupTopics reports whether req may Describe every topic g's members subscribe to
// or are (to be) assigned (KAFKA-18813): otherwise the group is answered
// TOPIC_AUTHORIZATION_FAILED without its description.
func describesGroupTopics(env *Env, req *Request, g *kmsg.ConsumerGroupDescribeResponseGroup) bool {
	if env.Authorizer == nil {
		return true
	}
	topics := env.topicAuthorizer(req, opDescribe)
	for _, m := range g.Members {
		for _, name := range m.SubscribedTopics {
			if !topics.allowed(name) {
				return false
			}
		}
		for _, a := range []kmsg.Assignment{m.Assignment, m.TargetAssignment} {
			for _, tp := range a.TopicPartitions {
				if tp.Topic != "" && !topics.allowed(tp.Topic) {
					return false
				}
			}
		}
	}
	return true
}
