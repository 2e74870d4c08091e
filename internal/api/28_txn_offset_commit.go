package api

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
)

// TxnOffsetCommit: v0–5
//
// Behavior:
//   - A transactional producer commits its group's offsets inside its transaction: they are
//     appended to the group's __consumer_offsets partition as a transactional batch of the
//     producer and stay invisible to OffsetFetch until the transaction's commit marker (an
//     abort drops them). OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT for
//     them meanwhile.
//   - v3+ (KIP-447): a member id and generation are checked as OffsetCommit checks them
//     (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID), so a zombie producer that
//     lost its partitions in a rebalance cannot commit; member "" with generation -1 skips it.
//   - The producer must have added the group with AddOffsetsToTxn first; a request-level
//     error is reported on every partition.
//
//   - Authorization: Write on the transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
//     Read on the group (else GROUP_AUTHORIZATION_FAILED), Read on each topic (else
//     TOPIC_AUTHORIZATION_FAILED for its partitions, not committed).
//
// Version notes:
//   - v2: leader epoch. v3: flexible; member id, generation, group.instance.id.
//   - v4, v5: no change here (KIP-890 error codes).

func init() { Register(API{Key: 28, MinVersion: 0, MaxVersion: 5, Handle: handleTxnOffsetCommit}) }

func handleTxnOffsetCommit(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.TxnOffsetCommitRequest)
	resp := r.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	switch {
	case !env.Authorize(req, opWrite, resTransactionID, r.TransactionalID):
		fillTxnOffsetCommit(resp, r, kerr.TransactionalIDAuthorizationFailed.Code)
		return Reply(resp), nil
	case !env.Authorize(req, opRead, resGroup, r.Group):
		fillTxnOffsetCommit(resp, r, kerr.GroupAuthorizationFailed.Code)
		return Reply(resp), nil
	}
	groups, ok := env.Groups.(TxnGroups)
	if env.Groups == nil || !ok {
		fillTxnOffsetCommit(resp, r, kerr.CoordinatorNotAvailable.Code)
		return Reply(resp), nil
	}
	if err := groupStatus(env, r.Group); err != nil {
		fillTxnOffsetCommit(resp, r, groupErrorCode(err))
		return Reply(resp), nil
	}
	now := time.Now().UnixMilli()
	tc := group.TxnCommit{Group: r.Group, MemberID: r.MemberID, Generation: r.Generation,
		ProducerID: r.ProducerID, ProducerEpoch: r.ProducerEpoch}
	if req.Version < 3 {
		tc.Generation = -1
	}
	if r.InstanceID != nil {
		tc.InstanceID = *r.InstanceID
	}
	readable := make([]bool, len(r.Topics))
	for i, t := range r.Topics {
		if readable[i] = env.Authorize(req, opRead, resTopic, t.Topic); !readable[i] {
			continue
		}
		for _, p := range t.Partitions {
			o := group.OffsetCommit{Topic: t.Topic, Partition: p.Partition, Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, CommitTime: now}
			if req.Version < 2 {
				o.LeaderEpoch = -1
			}
			if p.Metadata != nil {
				o.Metadata = *p.Metadata
			}
			tc.Offsets = append(tc.Offsets, o)
		}
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		code := int16(0)
		if len(tc.Offsets) > 0 {
			code = groupErrorCode(groups.CommitTxnOffsets(ctx, tc))
		}
		fillTxnOffsetCommit(resp, r, code)
		for i := range resp.Topics {
			if !readable[i] {
				for j := range resp.Topics[i].Partitions {
					resp.Topics[i].Partitions[j].ErrorCode = kerr.TopicAuthorizationFailed.Code
				}
			}
		}
		return Reply(resp), nil
	}}, nil
}

func fillTxnOffsetCommit(resp *kmsg.TxnOffsetCommitResponse, r *kmsg.TxnOffsetCommitRequest, code int16) {
	for _, t := range r.Topics {
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
}
