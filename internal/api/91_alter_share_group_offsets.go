package api

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/share"
)

// AlterShareGroupOffsets: v0
//
// Behavior:
//   - Sets the start offset of share-partitions of an empty share group (created empty when it
//     does not exist, as Kafka does): each share-partition's state is initialized anew at the
//     given offset (InitializeShareGroupState at the next state epoch, which fences the
//     previous state's writers: its share-partition leader reloads it), and the group records
//     the share-partitions as its own (__consumer_offsets), so describing and deleting the
//     group find them.
//   - Top level: NON_EMPTY_GROUP (the group has members), GROUP_ID_NOT_FOUND (the id names a
//     classic or consumer group), NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
//     COORDINATOR_NOT_AVAILABLE; every partition carries it too.
//   - Partition level: UNKNOWN_TOPIC_OR_PARTITION, INVALID_REQUEST (a negative start offset),
//     the share coordinator's errors.
//
//   - Authorization: Read on the group, else GROUP_AUTHORIZATION_FAILED (top level and every
//     partition); Read on each topic, else TOPIC_AUTHORIZATION_FAILED for its partitions.

func init() {
	Register(API{Key: 91, MinVersion: 0, MaxVersion: 0, Handle: handleAlterShareGroupOffsets})
}

func handleAlterShareGroupOffsets(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.AlterShareGroupOffsetsRequest)
	resp := r.ResponseKind().(*kmsg.AlterShareGroupOffsetsResponse)
	// The answer mirrors the request; codes[i][j] is topic i's partition j's.
	codes := make([][]int16, len(r.Topics))
	msgs := make([][]*string, len(r.Topics))
	for i, t := range r.Topics {
		codes[i], msgs[i] = make([]int16, len(t.Partitions)), make([]*string, len(t.Partitions))
	}
	answer := func(top int16, topErr error) (Response, error) {
		resp.ErrorCode, resp.ErrorMessage = top, ErrorMessage(topErr)
		img := env.Metadata.Image()
		for i, t := range r.Topics {
			rt := kmsg.NewAlterShareGroupOffsetsResponseTopic()
			rt.Topic = t.Topic
			if tid, _, ok := topicPartitionCount(img, t.Topic); ok {
				rt.TopicID = tid
			}
			for j, p := range t.Partitions {
				rp := kmsg.NewAlterShareGroupOffsetsResponseTopicPartition()
				rp.Partition, rp.ErrorCode, rp.ErrorMessage = p.Partition, codes[i][j], msgs[i][j]
				if top != 0 && rp.ErrorCode == 0 {
					rp.ErrorCode, rp.ErrorMessage = top, resp.ErrorMessage
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return Reply(resp), nil
	}
	if !env.Authorize(req, opRead, resGroup, r.GroupID) {
		return answer(kerr.GroupAuthorizationFailed.Code, nil)
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		sg := shareOffsetGroups(env)
		if sg == nil {
			return answer(kerr.CoordinatorNotAvailable.Code, nil)
		}
		if err := groupStatus(env, r.GroupID); err != nil {
			return answer(groupErrorCode(err), err)
		}
		img := env.Metadata.Image()
		type target struct {
			i, j int
			k    share.Key
			off  int64
		}
		var targets []target
		parts := map[group.TopicID]group.ShareTopicPartitions{}
		for i, t := range r.Topics {
			authorized := env.Authorize(req, opRead, resTopic, t.Topic)
			tid, n, ok := topicPartitionCount(img, t.Topic)
			for j, p := range t.Partitions {
				switch {
				case !authorized:
					codes[i][j] = kerr.TopicAuthorizationFailed.Code
				case !ok || p.Partition < 0 || p.Partition >= n:
					codes[i][j] = kerr.UnknownTopicOrPartition.Code
				case p.StartOffset < 0:
					codes[i][j] = kerr.InvalidRequest.Code
				default:
					targets = append(targets, target{i, j, share.Key{Group: r.GroupID, TopicID: tid, Partition: p.Partition}, p.StartOffset})
					parts[tid] = group.ShareTopicPartitions{Name: t.Topic}
				}
			}
		}
		err := sg.AlterShareOffsets(ctx, r.GroupID, parts, func(ctx context.Context) map[group.TopicID][]int32 {
			var mu sync.Mutex
			var wg sync.WaitGroup
			done := map[group.TopicID][]int32{}
			for _, tg := range targets {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := reinitializeShareState(ctx, env.SharePersister, tg.k, tg.off)
					mu.Lock()
					defer mu.Unlock()
					codes[tg.i][tg.j], msgs[tg.i][tg.j] = ErrorCode(err), ErrorMessage(err)
					if err == nil {
						done[tg.k.TopicID] = append(done[tg.k.TopicID], tg.k.Partition)
					}
				}()
			}
			wg.Wait()
			return done
		})
		if err != nil {
			return answer(groupErrorCode(err), err)
		}
		return answer(0, nil)
	}}, nil
}

// reinitializeShareState initializes k's state at startOffset one state epoch past the stored
// one (0 for a share-partition without state).
func reinitializeShareState(ctx context.Context, p share.Persister, k share.Key, startOffset int64) error {
	epoch := int32(0)
	s, err := p.ReadSummary(ctx, k, -1)
	switch {
	case err == nil:
		epoch = s.StateEpoch + 1
	case !errorIs(err, kerr.UnknownTopicOrPartition):
		return err
	}
	return p.Initialize(ctx, k, epoch, startOffset)
}
