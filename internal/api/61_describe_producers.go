package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeProducers: v0
//
// Behavior:
//   - Per partition, answered by its leader: the active idempotent and
//     transactional producers (id, epoch, last sequence, last timestamp,
//     coordinator epoch, first offset of the open transaction or -1), from
//     the partition's producer table (partition.Producers). Producers idle
//     past producer.id.expiration.ms without an open transaction are gone.
//   - Unknown topics or partitions: UNKNOWN_TOPIC_OR_PARTITION; a partition
//     this node does not lead: NOT_LEADER_OR_FOLLOWER.
//
//   - Authorization: Read on each topic, else TOPIC_AUTHORIZATION_FAILED for its partitions.
//
// Version notes:
//   - v0 is the only version (KIP-664); it is flexible.

func init() {
	Register(API{Key: 61, MinVersion: 0, MaxVersion: 0, Handle: handleDescribeProducers})
}

func handleDescribeProducers(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DescribeProducersRequest)
	resp := r.ResponseKind().(*kmsg.DescribeProducersResponse)
	img := env.Metadata.Image()
	for _, rt := range r.Topics {
		st := kmsg.NewDescribeProducersResponseTopic()
		st.Topic = rt.Topic
		t, known := img.Topic(rt.Topic)
		readable := env.Authorize(req, opRead, resTopic, rt.Topic)
		for _, index := range rt.Partitions {
			sp := kmsg.NewDescribeProducersResponseTopicPartition()
			sp.Partition = index
			if !readable {
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			if !known {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			p, code := hostedPartition(env, t, index)
			if code == 0 && !p.IsLeader() {
				code = kerr.NotLeaderForPartition.Code
			}
			if sp.ErrorCode = code; code == 0 {
				for _, ps := range p.Producers() {
					ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
					ap.ProducerID, ap.ProducerEpoch, ap.LastSequence = ps.ProducerID, int32(ps.ProducerEpoch), ps.LastSequence
					ap.LastTimestamp, ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = ps.LastTimestamp, ps.CoordinatorEpoch, ps.CurrentTxnStartOffset
					sp.ActiveProducers = append(sp.ActiveProducers, ap)
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return Reply(resp), nil
}
