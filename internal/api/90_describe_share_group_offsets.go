package api

import (
	"context"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/share"
)

// DescribeShareGroupOffsets: v0–1
//
// Behavior:
//   - For each share group (routed like every group request: NOT_COORDINATOR elsewhere),
//     each share-partition's start offset and leader epoch, read with
//     ReadShareGroupStateSummary from the share coordinator. Topics null: every share-partition
//     the group has state for (those it was assigned or had offsets altered for); else the
//     partitions asked for. A share-partition without state has start offset and leader epoch
//     -1.
//   - Group level: GROUP_ID_NOT_FOUND (no share group of that id), NOT_COORDINATOR,
//     COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE.
//   - Partition level: UNKNOWN_TOPIC_OR_PARTITION (no such topic or partition), the share
//     coordinator's errors.
//
//   - Authorization: Describe on the group, else GROUP_AUTHORIZATION_FAILED for it; Describe on
//     each topic, else TOPIC_AUTHORIZATION_FAILED for its partitions (left out when listing
//     all).
//
// Version notes:
//   - v1: Lag (KIP-1226): the partition's high watermark (last stable offset under
//     share.isolation.level=read_committed) less the start offset less the records past it
//     already delivered, the end of a partition led elsewhere asked of its leader; -1 when
//     unknown (no state, the leader unreachable).

func init() {
	Register(API{Key: 90, MinVersion: 0, MaxVersion: 1, Handle: handleDescribeShareGroupOffsets})
}

func handleDescribeShareGroupOffsets(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DescribeShareGroupOffsetsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeShareGroupOffsetsResponse)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		for _, rg := range r.Groups {
			resp.Groups = append(resp.Groups, describeShareGroupOffsets(ctx, env, req, rg))
		}
		return Reply(resp), nil
	}}, nil
}

func describeShareGroupOffsets(ctx context.Context, env *Env, req *Request, rg kmsg.DescribeShareGroupOffsetsRequestGroup) kmsg.DescribeShareGroupOffsetsResponseGroup {
	g := kmsg.NewDescribeShareGroupOffsetsResponseGroup()
	g.GroupID = rg.GroupID
	fail := func(code int16, err error) kmsg.DescribeShareGroupOffsetsResponseGroup {
		g.ErrorCode, g.ErrorMessage = code, ErrorMessage(err)
		return g
	}
	if !env.Authorize(req, opDescribe, resGroup, rg.GroupID) {
		return fail(kerr.GroupAuthorizationFailed.Code, nil)
	}
	sg := shareOffsetGroups(env)
	if sg == nil {
		return fail(kerr.CoordinatorNotAvailable.Code, nil)
	}
	if err := groupStatus(env, rg.GroupID); err != nil {
		return fail(groupErrorCode(err), err)
	}
	have, err := sg.SharePartitions(rg.GroupID)
	if err != nil {
		return fail(groupErrorCode(err), err)
	}
	img := env.Metadata.Image()
	partition := func(k share.Key, topic string) kmsg.DescribeShareGroupOffsetsResponseGroupTopicPartition {
		p := kmsg.NewDescribeShareGroupOffsetsResponseGroupTopicPartition()
		p.Partition = k.Partition
		s := readShareSummary(ctx, env, k, topic)
		p.StartOffset, p.LeaderEpoch, p.Lag = s.StartOffset, s.LeaderEpoch, s.Lag
		p.ErrorCode, p.ErrorMessage = ErrorCode(s.Err), ErrorMessage(s.Err)
		return p
	}
	if rg.Topics == nil {
		// Every share-partition the group has, of topics that still exist and the principal
		// may describe, by topic name.
		type named struct {
			id   group.TopicID
			name string
			ps   []int32
		}
		var list []named
		for tid, tp := range have {
			t, ok := img.TopicByID(metadata.TopicID(tid))
			if !ok || !env.Authorize(req, opDescribe, resTopic, t.Name) {
				continue
			}
			list = append(list, named{tid, t.Name, tp.Partitions})
		}
		slices.SortFunc(list, func(a, b named) int { return strings.Compare(a.name, b.name) })
		for _, n := range list {
			rt := kmsg.NewDescribeShareGroupOffsetsResponseGroupTopic()
			rt.Topic, rt.TopicID = n.name, n.id
			for _, p := range n.ps {
				rt.Partitions = append(rt.Partitions, partition(share.Key{Group: rg.GroupID, TopicID: n.id, Partition: p}, n.name))
			}
			g.Topics = append(g.Topics, rt)
		}
		return g
	}
	for _, t := range rg.Topics {
		rt := kmsg.NewDescribeShareGroupOffsetsResponseGroupTopic()
		rt.Topic = t.Topic
		code := int16(0)
		tid, n, ok := topicPartitionCount(img, t.Topic)
		switch {
		case !env.Authorize(req, opDescribe, resTopic, t.Topic):
			code = kerr.TopicAuthorizationFailed.Code
		case !ok:
			code = kerr.UnknownTopicOrPartition.Code
		default:
			rt.TopicID = tid
		}
		for _, idx := range t.Partitions {
			if code == 0 && idx >= 0 && idx < n {
				rt.Partitions = append(rt.Partitions, partition(share.Key{Group: rg.GroupID, TopicID: tid, Partition: idx}, t.Topic))
				continue
			}
			p := kmsg.NewDescribeShareGroupOffsetsResponseGroupTopicPartition()
			p.Partition, p.StartOffset, p.LeaderEpoch, p.Lag = idx, -1, -1, -1
			p.ErrorCode = code
			if code == 0 {
				p.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
			rt.Partitions = append(rt.Partitions, p)
		}
		g.Topics = append(g.Topics, rt)
	}
	return g
}
