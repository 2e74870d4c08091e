package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/share"
)

// DeleteShareGroupOffsets: v0
//
// Behavior:
//   - Deletes an empty share group's state for whole topics: DeleteShareGroupState for each of
//     the topic's share-partitions the group has, then the group forgets them
//     (__consumer_offsets). A topic the group has no state for succeeds.
//   - Top level: GROUP_ID_NOT_FOUND (no share group of that id), NON_EMPTY_GROUP (it has
//     members), NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE.
//   - Topic level: UNKNOWN_TOPIC_OR_PARTITION (no such topic), the share coordinator's errors.
//
//   - Authorization: Delete on the group, else GROUP_AUTHORIZATION_FAILED; Read on each topic,
//     else TOPIC_AUTHORIZATION_FAILED for it.

func init() {
	Register(API{Key: 92, MinVersion: 0, MaxVersion: 0, Handle: handleDeleteShareGroupOffsets})
}

func handleDeleteShareGroupOffsets(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DeleteShareGroupOffsetsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteShareGroupOffsetsResponse)
	top := func(code int16, err error) (Response, error) {
		resp.ErrorCode, resp.ErrorMessage = code, ErrorMessage(err)
		return Reply(resp), nil
	}
	if !env.Authorize(req, opDelete, resGroup, r.GroupID) {
		return top(kerr.GroupAuthorizationFailed.Code, nil)
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		sg := shareOffsetGroups(env)
		if sg == nil {
			return top(kerr.CoordinatorNotAvailable.Code, nil)
		}
		if err := groupStatus(env, r.GroupID); err != nil {
			return top(groupErrorCode(err), err)
		}
		img := env.Metadata.Image()
		topics := make([]kmsg.DeleteShareGroupOffsetsResponseTopic, len(r.Topics))
		var ids []group.TopicID
		index := map[group.TopicID][]int{}
		for i, t := range r.Topics {
			rt := kmsg.NewDeleteShareGroupOffsetsResponseTopic()
			rt.Topic = t.Topic
			tid, _, ok := topicPartitionCount(img, t.Topic)
			switch {
			case !env.Authorize(req, opRead, resTopic, t.Topic):
				rt.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case !ok:
				rt.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				rt.TopicID = tid
				if index[tid] == nil {
					ids = append(ids, tid)
				}
				index[tid] = append(index[tid], i)
			}
			topics[i] = rt
		}
		_, err := sg.DeleteShareOffsets(ctx, r.GroupID, ids, func(ctx context.Context, parts map[group.TopicID]group.ShareTopicPartitions) []group.TopicID {
			var deleted []group.TopicID
			for tid, tp := range parts {
				var failed error
				for _, p := range tp.Partitions {
					err := env.SharePersister.Delete(ctx, share.Key{Group: r.GroupID, TopicID: tid, Partition: p})
					if err != nil && !errorIs(err, kerr.UnknownTopicOrPartition) {
						failed = err
						break
					}
				}
				if failed != nil {
					for _, i := range index[tid] {
						topics[i].ErrorCode, topics[i].ErrorMessage = ErrorCode(failed), ErrorMessage(failed)
					}
					continue
				}
				deleted = append(deleted, tid)
			}
			return deleted
		})
		if err != nil {
			return top(groupErrorCode(err), err)
		}
		resp.Topics = topics
		return Reply(resp), nil
	}}, nil
}
