package api

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
)

// Metadata: v0–13
//
// Behavior:
//   - Brokers: every registered, unfenced broker with its endpoint for the
//     listener the request came in on (else its first endpoint).
//   - ControllerID is a live broker clients may send admin requests to
//     (reportedController): the active controller when it is a live broker,
//     else a random live broker, which forwards them (KIP-590); -1 when no
//     broker is live. ClusterID from the metadata log.
//   - Topics: all of them (v0 empty list, v1+ null list) or the requested
//     ones, by name or, v12+, by id (unknown id → UNKNOWN_TOPIC_ID with a
//     null name). Partitions carry leader, leader epoch, replicas, ISR and
//     offline replicas (fenced or unregistered brokers); a partition whose
//     leader is not live has leader -1 and LEADER_NOT_AVAILABLE.
//   - A requested topic that does not exist is created through the
//     controller when auto.create.topics.enable is set and the request
//     allows it (v4+ AllowAutoTopicCreation; always before v4), with the
//     broker's num.partitions and default.replication.factor; the answer
//     waits (off the read loop) for the creation to commit and then
//     describes the new topic. Internal topics are never auto-created.
//     When the controller cannot create it now, LEADER_NOT_AVAILABLE (retry);
//     otherwise UNKNOWN_TOPIC_OR_PARTITION, or INVALID_TOPIC_EXCEPTION for an
//     illegal name.
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
	img := env.Metadata.Image()
	toCreate := autoCreateCandidates(env, img, r)
	if len(toCreate) == 0 {
		return Reply(metadataResponse(env, img, req, nil)), nil
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		failed := make(map[string]int16)
		for _, res := range env.Controller.CreateTopics(ctx, toCreate, false) {
			switch {
			case res.Err == nil, errors.Is(res.Err, metadata.ErrTopicExists):
			case errors.Is(res.Err, metadata.ErrNotController), ctx.Err() != nil:
				failed[res.Name] = kerr.LeaderNotAvailable.Code
			default:
				failed[res.Name] = ErrorCode(res.Err)
			}
		}
		return Reply(metadataResponse(env, env.Metadata.Image(), req, failed)), nil
	}}, nil
}

// metadataResponse describes img; failed holds the codes of topics whose
// auto-creation failed.
func metadataResponse(env *Env, img *metadata.Image, req *Request, failed map[string]int16) *kmsg.MetadataResponse {
	r := req.Msg.(*kmsg.MetadataRequest)
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	resp.Brokers = metadataBrokers(img, req.Conn.Listener)
	if id := img.ClusterID(); id != "" {
		resp.ClusterID = &id
	}
	resp.ControllerID = reportedController(env, img)
	if allTopics(r) {
		for _, t := range img.Topics() {
			resp.Topics = append(resp.Topics, metadataTopic(img, t))
		}
		return resp
	}
	for _, rt := range r.Topics {
		mt := requestedTopic(img, r.Version, rt)
		if rt.Topic != nil && failed[*rt.Topic] != 0 {
			mt.ErrorCode = failed[*rt.Topic]
		}
		resp.Topics = append(resp.Topics, mt)
	}
	return resp
}

// allTopics reports whether the request asks for every topic: a null list
// (v1+) or an empty one (v0).
func allTopics(r *kmsg.MetadataRequest) bool {
	return r.Topics == nil || (r.Version == 0 && len(r.Topics) == 0)
}

// autoCreateCandidates lists the requested topics to create: missing,
// validly named, not internal, and allowed by the request and the broker.
func autoCreateCandidates(env *Env, img *metadata.Image, r *kmsg.MetadataRequest) []metadata.CreateTopic {
	if env.Controller == nil || allTopics(r) || (r.Version >= 4 && !r.AllowAutoTopicCreation) {
		return nil
	}
	var out []metadata.CreateTopic
	for _, rt := range r.Topics {
		if rt.Topic == nil {
			continue
		}
		name := *rt.Topic
		if _, ok := img.Topic(name); ok || metadata.IsInternalTopic(name) || metadata.ValidateTopicName(name) != nil {
			continue
		}
		if slices.ContainsFunc(out, func(c metadata.CreateTopic) bool { return c.Name == name }) {
			continue
		}
		out = append(out, metadata.CreateTopic{Name: name, NumPartitions: -1, ReplicationFactor: -1})
	}
	if len(out) > 0 && !env.BrokerConfig(img).Bool(config.AutoCreateTopicsEnable) {
		return nil
	}
	return out
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

// reportedController is the ControllerID of Metadata and DescribeCluster answers. Clients send
// admin requests to it, so it must be a live broker in the answer's broker list. KRaft's Kafka
// reports a random live broker (KIP-590: clients cannot reach the controllers, and any broker
// forwards to the active one); Sluice reports the active controller itself when it is a live
// broker (combined mode, the default: no forwarding hop, and `sluice cluster info` names the
// real controller) and a random live broker otherwise (dedicated controllers, or a controller
// whose broker is fenced). -1 when no broker is live.
func reportedController(env *Env, img *metadata.Image) int32 {
	if id, ok := env.Metadata.Leader(); ok {
		if b, found := img.Broker(id); found && !b.Fenced {
			return id
		}
	}
	live := 0
	for _, b := range img.Brokers() {
		if !b.Fenced {
			live++
		}
	}
	if live == 0 {
		return -1
	}
	pick := rand.IntN(live)
	for _, b := range img.Brokers() {
		if !b.Fenced {
			if pick == 0 {
				return b.ID
			}
			pick--
		}
	}
	return -1
}
