package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ShareGroupDescribe: v0–1
//
// Behavior:
//   - Each share group's state (Empty, Stable), group epoch, assignment epoch, assignor
//     ("simple"), and members with their epoch, rack, client, subscribed topic names and
//     assignment; topics are named by id and by name (from the current metadata; "" for a
//     topic deleted since).
//   - A group that does not exist, or is a classic or consumer group: GROUP_ID_NOT_FOUND
//     with a message saying which.
//
//   - Authorization: Describe on each group, else GROUP_AUTHORIZATION_FAILED; Describe on
//     every topic its members subscribe to or are assigned, else TOPIC_AUTHORIZATION_FAILED
//     and no description (as Kafka answers). AuthorizedOperations are the group operations
//     the principal may perform.
//
// Version notes:
//   - v0 (Kafka 4.0's early access) and v1 (Kafka 4.1+) have the same fields.

func init() {
	Register(API{Key: 77, MinVersion: 0, MaxVersion: 1, Handle: handleShareGroupDescribe})
}

func handleShareGroupDescribe(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ShareGroupDescribeRequest)
	resp := r.ResponseKind().(*kmsg.ShareGroupDescribeResponse)
	img := env.Metadata.Image()
	for _, id := range r.GroupIDs {
		g := kmsg.NewShareGroupDescribeResponseGroup()
		g.GroupID = id
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
		d, err := env.Groups.DescribeShareGroup(id)
		if err != nil {
			g.ErrorCode, g.ErrorMessage = groupErrorCode(err), ErrorMessage(err)
			resp.Groups = append(resp.Groups, g)
			continue
		}
		g.GroupState, g.GroupEpoch, g.AssignmentEpoch, g.Assignor = d.State.String(), d.Epoch, d.AssignmentEpoch, d.Assignor
		topics := env.topicAuthorizer(req, opDescribe)
		allowed := true
		for _, m := range d.Members {
			gm := kmsg.NewShareGroupDescribeResponseGroupMember()
			gm.MemberID, gm.MemberEpoch, gm.ClientID, gm.ClientHost = m.MemberID, m.MemberEpoch, m.ClientID, m.ClientHost
			if m.RackID != "" {
				gm.RackID = kmsg.StringPtr(m.RackID)
			}
			gm.SubscribedTopicNames = m.SubscribedTopicNames
			if gm.SubscribedTopicNames == nil {
				gm.SubscribedTopicNames = []string{}
			}
			for _, name := range gm.SubscribedTopicNames {
				allowed = allowed && (env.Authorizer == nil || topics.allowed(name))
			}
			gm.Assignment.TopicPartitions = []kmsg.ShareGroupDescribeResponseGroupMemberAssignmentTopicPartition{}
			for _, tid := range sortedAssignmentTopics(m.Assignment) {
				tp := kmsg.NewShareGroupDescribeResponseGroupMemberAssignmentTopicPartition()
				tp.TopicID, tp.Partitions = tid, m.Assignment[tid]
				if t, ok := img.TopicByID(tid); ok {
					tp.Topic = t.Name
				}
				if tp.Topic != "" && env.Authorizer != nil && !topics.allowed(tp.Topic) {
					allowed = false
				}
				gm.Assignment.TopicPartitions = append(gm.Assignment.TopicPartitions, tp)
			}
			g.Members = append(g.Members, gm)
		}
		if !allowed {
			g = kmsg.NewShareGroupDescribeResponseGroup()
			g.GroupID, g.ErrorCode = id, kerr.TopicAuthorizationFailed.Code
			g.ErrorMessage = kmsg.StringPtr("The group has subscribed or assigned topics the principal may not describe.")
		}
		resp.Groups = append(resp.Groups, g)
	}
	return Reply(resp), nil
}
