package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/share"
)

// ShareAcknowledge: v1–2 (KIP-932; v2 KIP-1222)
//
// Behavior:
//   - Applies a member's acknowledgements (0 gap, 1 accept, 2 release, 3 reject; 4 renew on
//     v2 with IsRenewAck) to the share-partitions led here and writes them through the
//     share coordinator (share.Persister) before answering; per-partition errors:
//     INVALID_RECORD_STATE (records the member does not hold: never acquired, another
//     member's, or its lock timed out), INVALID_REQUEST (malformed batches),
//     UNKNOWN_TOPIC_ID, TOPIC_AUTHORIZATION_FAILED, NOT_LEADER_OR_FOLLOWER with
//     CurrentLeader and NodeEndpoints, the persister's error.
//   - Share session: the epoch must be the member's session's next epoch (an
//     acknowledgement cannot open a session: epoch 0 is INVALID_SHARE_SESSION_EPOCH;
//     SHARE_SESSION_NOT_FOUND without a session); epoch -1 applies the acknowledgements,
//     releases the member's remaining records and closes the session.
//   - Authorization: READ on the group (else GROUP_AUTHORIZATION_FAILED) and READ on each
//     topic.
//
// Version notes:
//   - v0 (Kafka 4.0 early access) is not served. v2: IsRenewAck,
//     AcquisitionLockTimeoutMillis in the response.

func init() {
	Register(API{Key: 79, MinVersion: 1, MaxVersion: 2, Handle: handleShareAcknowledge})
}

func handleShareAcknowledge(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ShareAcknowledgeRequest)
	resp := r.ResponseKind().(*kmsg.ShareAcknowledgeResponse)
	fail := func(code int16) (Response, error) {
		resp.ErrorCode = code
		return Reply(resp), nil
	}
	group, member := derefString(r.GroupID), derefString(r.MemberID)
	cfg, code := env.sharePrelude(req, group, member, &resp.AcquisitionLockTimeoutMillis)
	if code != 0 {
		return fail(code)
	}
	key := shareSessionKey{group, member}
	var sess *shareSession
	switch r.ShareSessionEpoch {
	case shareInitialEpoch:
		code = kerr.InvalidShareSessionEpoch.Code
	case shareFinalEpoch:
		sess, code = env.ShareSessions.remove(key)
	default:
		sess, code = env.ShareSessions.next(key, r.ShareSessionEpoch, nil, nil)
	}
	if code != 0 {
		return fail(code)
	}
	renew := r.Version >= 2 && r.IsRenewAck
	return Response{Finish: func(ctx context.Context) (Response, error) {
		img := env.Metadata.Image()
		readers := env.topicAuthorizer(req, opRead)
		leaders := leaderEndpoints{img: img, listener: req.Conn.Listener}
		now := env.Shares.Now()
		for _, t := range r.Topics {
			rt := kmsg.NewShareAcknowledgeResponseTopic()
			rt.TopicID = t.TopicID
			for _, p := range t.Partitions {
				e := &shareEntry{key: sharePartitionKey{t.TopicID, p.Partition}, leader: -1, epoch: -1}
				batches := make([]share.AckBatch, len(p.AcknowledgementBatches))
				for i, b := range p.AcknowledgementBatches {
					batches[i] = share.AckBatch{FirstOffset: b.FirstOffset, LastOffset: b.LastOffset, Types: b.AcknowledgeTypes}
				}
				rp := kmsg.NewShareAcknowledgeResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = env.shareAcknowledge(ctx, req, &readers, group, member, e, batches, cfg, now, renew)
				if rp.ErrorCode == kerr.NotLeaderForPartition.Code {
					leaders.add(e.leader)
				}
				rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = e.leader, e.epoch
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		if r.ShareSessionEpoch == shareFinalEpoch {
			env.releaseShareSession(ctx, sess, cfg)
		}
		for _, id := range leaders.ids {
			if host, port, rack, ok := brokerAddress(img, id, leaders.listener); ok {
				ne := kmsg.NewShareAcknowledgeResponseNodeEndpoint()
				ne.NodeID, ne.Host, ne.Port, ne.Rack = id, host, port, rack
				resp.NodeEndpoints = append(resp.NodeEndpoints, ne)
			}
		}
		return Reply(resp), nil
	}}, nil
}
