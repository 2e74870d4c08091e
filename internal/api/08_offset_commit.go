package api

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
)

// OffsetCommit: v0–10 (v0–1 are legacy: Kafka 4 removed them, KIP-896; API.LegacyBelow)
//
// Behavior:
//   - A member commits with its member id and generation, checked against the group's
//     current generation (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID). While members rejoin,
//     the ending generation may still commit; once the join barrier completed and before the
//     leader's assignment arrives, REBALANCE_IN_PROGRESS. Member id "" with generation -1 is a standalone commit, allowed
//     only while the group has no members.
//   - The commit is answered (through Finish) once its records are durable in
//     __consumer_offsets, which is created on the first commit (compacted,
//     offsets.topic.num.partitions partitions).
//   - Members of a KIP-848 consumer group commit with their member epoch as the generation:
//     another epoch is STALE_MEMBER_EPOCH, an unknown member UNKNOWN_MEMBER_ID; member "" with
//     a negative epoch commits only while the group has no members. Such members must use v9+
//     (UNSUPPORTED_VERSION below), as in Kafka.
//   - A request-level failure is reported on every partition.
//
//   - Authorization: Read on the group (else GROUP_AUTHORIZATION_FAILED everywhere), then
//     Read on each topic (else TOPIC_AUTHORIZATION_FAILED for its partitions, not committed).
//
// Version notes:
//   - v0: no generation or member: a standalone commit (generation -1, member ""). Kafka 3.9
//     wrote v0 commits to ZooKeeper (and refused them in KRaft mode); Sluice, without
//     ZooKeeper, stores them with the group like any other commit, so OffsetFetch v0 and
//     later versions read them back. __consumer_offsets is created first if it does not exist
//     (v0 clients never send FindCoordinator).
//   - v1: generation and member; a commit timestamp per partition, stored as the commit time
//     when not -1 (offsets.retention.minutes counts from it), as Kafka 3.9 did.
//   - v2–4: retention time (ignored: offsets.retention.minutes governs expiry, as for v5+).
//     v6: leader epoch. v7: group.instance.id (FENCED_INSTANCE_ID for a replaced static member). v8: flexible.
//     v10: topics by id (UNKNOWN_TOPIC_ID for an id this cluster does not know).

func init() {
	Register(API{Key: 8, MinVersion: 0, LegacyBelow: 2, MaxVersion: 10, Handle: handleOffsetCommit})
}

func handleOffsetCommit(_ context.Context, env *Env, req *Request) (Response, error) {
	if req.Version == 0 { // legacy: its clients never send FindCoordinator (offsets_legacy.go)
		return withOffsetsTopic(env, func() (Response, error) { return offsetCommit(env, req) })
	}
	return offsetCommit(env, req)
}

func offsetCommit(env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.OffsetCommitRequest)
	resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
	img := env.Metadata.Image()
	now := time.Now().UnixMilli()
	var offsets []group.OffsetCommit
	topicCodes := make([]int16, len(r.Topics))
	if !env.Authorize(req, opRead, resGroup, r.Group) {
		fillOffsetCommit(resp, r, topicCodes, kerr.GroupAuthorizationFailed.Code)
		return Reply(resp), nil
	}
	for i, rt := range r.Topics {
		name := rt.Topic
		if req.Version >= 10 {
			t, ok := img.TopicByID(metadata.TopicID(rt.TopicID))
			if !ok {
				topicCodes[i] = kerr.UnknownTopicID.Code
				continue
			}
			name = t.Name
		}
		if !env.Authorize(req, opRead, resTopic, name) {
			topicCodes[i] = kerr.TopicAuthorizationFailed.Code
			continue
		}
		for _, rp := range rt.Partitions {
			o := group.OffsetCommit{Topic: name, Partition: rp.Partition, Offset: rp.Offset, LeaderEpoch: rp.LeaderEpoch, CommitTime: now}
			if req.Version < 6 {
				o.LeaderEpoch = -1
			}
			if req.Version == 1 && rp.Timestamp != -1 {
				o.CommitTime = rp.Timestamp
			}
			if rp.Metadata != nil {
				o.Metadata = *rp.Metadata
			}
			offsets = append(offsets, o)
		}
	}
	if err := groupStatus(env, r.Group); err != nil {
		fillOffsetCommit(resp, r, topicCodes, groupErrorCode(err))
		return Reply(resp), nil
	}
	if req.Version < 9 && r.MemberID != "" && env.Groups.IsConsumerMember(r.Group, r.MemberID) {
		fillOffsetCommit(resp, r, topicCodes, kerr.UnsupportedVersion.Code)
		return Reply(resp), nil
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		instance := ""
		if r.InstanceID != nil {
			instance = *r.InstanceID
		}
		err := env.Groups.CommitOffsets(ctx, r.Group, r.MemberID, instance, r.Generation, offsets)
		fillOffsetCommit(resp, r, topicCodes, groupErrorCode(err))
		return Reply(resp), nil
	}}, nil
}

func fillOffsetCommit(resp *kmsg.OffsetCommitResponse, r *kmsg.OffsetCommitRequest, topicCodes []int16, code int16) {
	for i, rt := range r.Topics {
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition, sp.ErrorCode = rp.Partition, code
			if topicCodes[i] != 0 {
				sp.ErrorCode = topicCodes[i]
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
}
