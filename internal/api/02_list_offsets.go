package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/partition"
)

// ListOffsets: v0–11 (v0 is legacy: Kafka 4 removed it, KIP-896; API.LegacyBelow)
//
// Behavior:
//   - Per partition, answered by its leader: -2 earliest (log start offset),
//     -1 latest (high watermark, or last stable offset for read_committed),
//     -3 the record with the largest timestamp (KIP-734), -4 earliest local
//     (the log start offset: every segment is local), -5 latest tiered (none:
//     offset -1), any other timestamp: the first record at or after it, or
//     offset -1 if none. Only committed records are found; with
//     read_committed none at or past the last stable offset (an open
//     transaction's first offset).
//   - The returned leader epoch is the epoch the record at the offset was
//     written in (v4+), so clients can validate positions (KIP-320).
//   - CurrentLeaderEpoch, when given, must be current: FENCED_LEADER_EPOCH /
//     UNKNOWN_LEADER_EPOCH otherwise. A partition listed twice is
//     INVALID_REQUEST, as in Kafka.
//   - ReplicaID as Kafka reads it: consumers (-1) and brokers are answered
//     by the leader only (NOT_LEADER_OR_FOLLOWER elsewhere, also under
//     KIP-392 follower fetching), the debugging id (-2) by any replica;
//     brokers and debugging requests see up to the log end offset.
//   - A new leader whose high watermark is still below the start of its
//     epoch (its followers have not fetched since the election) answers a
//     consumer's latest offset, and lookups finding nothing below the high
//     watermark, with OFFSET_NOT_AVAILABLE: the client retries.
//
//   - Authorization: Describe on each topic, else TOPIC_AUTHORIZATION_FAILED for its
//     partitions.
//
// Version notes:
//   - v0 (handleListOffsetsV0) answers as Kafka 3.9 did: per partition a list of at most
//     MaxNumOffsets offsets (OldStyleOffsets), newest first, chosen from segment base offsets
//     and the log end offset by the segment files' modification times
//     (partition.LegacyOffsetsBefore); timestamps below -2 are UNSUPPORTED_VERSION, a negative
//     MaxNumOffsets UNKNOWN_SERVER_ERROR; no duplicate-partition or leader epoch checks.
//   - v2: isolation level. v4: leader epochs. v6: flexible.
//   - v7: -3 max timestamp. v8: -4 earliest local. v9: -5 latest tiered.
//   - v10: timeout (for tiered storage; nothing here waits).

func init() {
	Register(API{Key: 2, MinVersion: 0, LegacyBelow: 1, MaxVersion: 11, Handle: handleListOffsets})
}

func handleListOffsets(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ListOffsetsRequest)
	if r.Version == 0 {
		return handleListOffsetsV0(env, req, r)
	}
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	img := env.Metadata.Image()
	isolation := partition.Isolation(r.IsolationLevel)
	type key struct {
		topic string
		part  int32
	}
	seen := make(map[key]int)
	for _, rt := range r.Topics {
		for _, rp := range rt.Partitions {
			seen[key{rt.Topic, rp.Partition}]++
		}
	}
	for _, rt := range r.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		t, topicOK := img.Topic(rt.Topic)
		described := env.Authorize(req, opDescribe, resTopic, rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition, sp.Timestamp, sp.Offset, sp.LeaderEpoch = rp.Partition, -1, -1, -1
			switch {
			case !described:
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case seen[key{rt.Topic, rp.Partition}] > 1:
				sp.ErrorCode = kerr.InvalidRequest.Code
			case !topicOK:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				p, code := hostedPartition(env, t, rp.Partition)
				if code != 0 {
					sp.ErrorCode = code
					break
				}
				epoch := rp.CurrentLeaderEpoch
				if r.Version < 4 {
					epoch = partition.NoLeaderEpoch
				}
				res, err := p.ListOffsetAs(rp.Timestamp, isolation, epoch, r.ReplicaID)
				if err != nil {
					sp.ErrorCode = ErrorCode(err)
					break
				}
				sp.Offset, sp.Timestamp, sp.LeaderEpoch = res.Offset, res.Timestamp, res.LeaderEpoch
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return Reply(resp), nil
}

// handleListOffsetsV0 answers ListOffsets v0 (see the version notes above).
func handleListOffsetsV0(env *Env, req *Request, r *kmsg.ListOffsetsRequest) (Response, error) {
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	img := env.Metadata.Image()
	for _, rt := range r.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		t, topicOK := img.Topic(rt.Topic)
		described := env.Authorize(req, opDescribe, resTopic, rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			switch {
			case !described:
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case rp.Timestamp < partition.EarliestTimestamp: // v0 knows only -1 and -2
				sp.ErrorCode = kerr.UnsupportedVersion.Code
			case !topicOK:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				p, code := hostedPartition(env, t, rp.Partition)
				if code != 0 {
					sp.ErrorCode = code
					break
				}
				if rp.MaxNumOffsets < 0 { // Kafka fails allocating the answer
					sp.ErrorCode = kerr.UnknownServerError.Code
					break
				}
				offsets, err := p.LegacyOffsetsBefore(rp.Timestamp, rp.MaxNumOffsets, r.ReplicaID)
				if err != nil {
					sp.ErrorCode = ErrorCode(err)
					break
				}
				sp.OldStyleOffsets = offsets
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return Reply(resp), nil
}
