package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// Metadata: v0–13
//
// Behavior:
//   - Brokers: every registered, unfenced broker with its endpoint for the
//     listener the request came in on (else its first endpoint).
//   - ControllerID is the current Raft leader (clients send admin requests
//     there), -1 while unknown; ClusterID from the metadata log.
//   - Topics: all of them (v0 empty list, v1+ null list) or the requested
//     ones, by name or, v12+, by id (unknown id → UNKNOWN_TOPIC_ID with a
//     null name). Partitions carry leader, leader epoch, replicas, ISR and
//     offline replicas (fenced or unregistered brokers); a partition whose
//     leader is not live has leader -1 and LEADER_NOT_AVAILABLE.
//   - A requested topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION,
//     or INVALID_TOPIC_EXCEPTION for an illegal name.
//   - Authorized operations are left at Kafka's "not requested" value
//     (INT32_MIN) until ACLs exist.
//
// Version notes:
//   - v1: null topics = all, controller id, rack, is-internal.
//   - v2: cluster id. v3: throttle. v4: AllowAutoTopicCreation.
//   - v5: offline replicas. v7: leader epoch. v8: authorized operations.
//   - v9: flexible. v10: topic ids. v12: topics by id, nullable names.
//   - v13: top-level error code.

func init() {
	Register(API{Key: 3, MinVersion: 0, MaxVersion: 13, Handle: handleMetadata})
}

func handleMetadata(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.MetadataRequest)
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	img := env.Metadata.Image()
	resp.Brokers = metadataBrokers(img, req.Conn.Listener)
	if id := img.ClusterID(); id != "" {
		resp.ClusterID = &id
	}
	resp.ControllerID = -1
	if id, ok := env.Metadata.Leader(); ok {
		resp.ControllerID = id
	}
	if r.Topics == nil || (r.Version == 0 && len(r.Topics) == 0) {
		for _, t := range img.Topics() {
			resp.Topics = append(resp.Topics, metadataTopic(img, t))
		}
		return Reply(resp), nil
	}
	for _, rt := range r.Topics {
		resp.Topics = append(resp.Topics, requestedTopic(img, r.Version, rt))
	}
	return Reply(resp), nil
}

// requestedTopic answers one requested topic, by name or (v12+) by id.
func requestedTopic(img *metadata.Image, version int16, rt kmsg.MetadataRequestTopic) kmsg.MetadataResponseTopic {
	missing := kmsg.NewMetadataResponseTopic()
	missing.Topic, missing.TopicID = rt.Topic, rt.TopicID
	if rt.Topic == nil {
		if version < 12 || rt.TopicID == ([16]byte{}) {
			missing.ErrorCode = kerr.InvalidRequest.Code
			return missing
		}
		t, ok := img.TopicByID(metadata.TopicID(rt.TopicID))
		if !ok {
			missing.ErrorCode = kerr.UnknownTopicID.Code
			return missing
		}
		return metadataTopic(img, t)
	}
	t, ok := img.Topic(*rt.Topic)
	if !ok {
		missing.ErrorCode = kerr.UnknownTopicOrPartition.Code
		if metadata.ValidateTopicName(*rt.Topic) != nil {
			missing.ErrorCode = kerr.InvalidTopicException.Code
		}
		return missing
	}
	return metadataTopic(img, t)
}

func metadataBrokers(img *metadata.Image, listener string) []kmsg.MetadataResponseBroker {
	var out []kmsg.MetadataResponseBroker
	for _, b := range img.Brokers() {
		host, port, rack, ok := brokerAddress(img, b.ID, listener)
		if !ok {
			continue
		}
		mb := kmsg.NewMetadataResponseBroker()
		mb.NodeID, mb.Host, mb.Port, mb.Rack = b.ID, host, port, rack
		out = append(out, mb)
	}
	return out
}

func metadataTopic(img *metadata.Image, t *metadata.Topic) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	mt.Topic, mt.TopicID, mt.IsInternal = &name, t.ID, t.IsInternal()
	mt.Partitions = make([]kmsg.MetadataResponseTopicPartition, 0, len(t.Partitions))
	for i := range t.Partitions {
		p := &t.Partitions[i]
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition, mp.LeaderEpoch = p.Partition, p.LeaderEpoch
		mp.Replicas, mp.ISR = p.Replicas, p.ISR
		mp.Leader = liveLeader(img, p)
		if mp.Leader < 0 {
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		for _, r := range p.Replicas {
			if b, ok := img.Broker(r); !ok || b.Fenced {
				mp.OfflineReplicas = append(mp.OfflineReplicas, r)
			}
		}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}
