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
//     broker's num.partitions and default.replication.factor. The answer
//     waits (off the read loop) for the controller to take or refuse the
//     creation, then answers that topic as Kafka does, with an error code, no
//     partitions and a zero topic id, even when it exists already (the next
//     Metadata request describes it): UNKNOWN_TOPIC_OR_PARTITION from v4 (Kafka 4),
//     LEADER_NOT_AVAILABLE before v4 (what ZooKeeper-era Kafka answered the
//     clients that send those versions). A topic deleted a moment ago is
//     re-created the same way. Internal topics are never auto-created.
//     When the controller cannot create it now, LEADER_NOT_AVAILABLE (retry);
//     when it refuses, its error (e.g. INVALID_REPLICATION_FACTOR).
//     A missing topic not auto-created is UNKNOWN_TOPIC_OR_PARTITION, or
//     INVALID_TOPIC_EXCEPTION for an illegal name.
//   - Authorization: listing every topic lists only those the principal may Describe; a
//     topic named without Describe is TOPIC_AUTHORIZATION_FAILED (by name: zero topic id;
//     by id: null name), whether it exists or not. Auto-creation needs Create on the
//     cluster or on the topic, else TOPIC_AUTHORIZATION_FAILED.
//   - Authorized operations (v8+, when asked): each described topic's operations the
//     principal may perform; the cluster's (v8–10) when it may Describe the cluster, else
//     0. Without an authorizer every operation Kafka defines on the resource.
//
// Version notes:
//   - v0: an empty topic list means all topics; replicas and ISR list only live brokers with
//     the request's listener, and a partition missing some is REPLICA_NOT_AVAILABLE
//     (metadata_legacy.go), as in Kafka.
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
	denied := metadataDenied(env, req, img, r)
	toCreate := autoCreateCandidates(env, img, r, denied)
	if len(toCreate) == 0 {
		return Reply(metadataResponse(env, img, req, nil, denied)), nil
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		pending := make(map[string]int16)
		for _, res := range env.Controller.CreateTopics(ctx, toCreate, false) {
			switch {
			case res.Err == nil, errors.Is(res.Err, metadata.ErrTopicExists):
				pending[res.Name] = autoCreatedCode(r.Version)
			case errors.Is(res.Err, metadata.ErrNotController), ctx.Err() != nil:
				pending[res.Name] = kerr.LeaderNotAvailable.Code
			default:
				pending[res.Name] = ErrorCode(res.Err)
			}
		}
		return Reply(metadataResponse(env, env.Metadata.Image(), req, pending, denied)), nil
	}}, nil
}

// autoCreatedCode is the error a Metadata request of version gets for a topic it just had
// created. Kafka 4 (KRaft) answers UNKNOWN_TOPIC_OR_PARTITION without partitions: the topic is
// described once it exists in the broker's metadata, by the client's next Metadata request.
// Requests before v4 (no AllowAutoTopicCreation field; Kafka 4 no longer serves them) come
// from clients written against ZooKeeper-era Kafka, which answered a topic it had just created
// LEADER_NOT_AVAILABLE; both are retriable in every client.
func autoCreatedCode(version int16) int16 {
	if version < 4 {
		return kerr.LeaderNotAvailable.Code
	}
	return kerr.UnknownTopicOrPartition.Code
}

// metadataResponse describes img; pending holds the codes of topics this request tried to
// auto-create (created, being created, or failed), answered with that code and no
// partitions; denied the requested names answered TOPIC_AUTHORIZATION_FAILED.
func metadataResponse(env *Env, img *metadata.Image, req *Request, pending map[string]int16, denied map[string]bool) *kmsg.MetadataResponse {
	r := req.Msg.(*kmsg.MetadataRequest)
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	resp.Brokers = metadataBrokers(img, req.Conn.Listener)
	if id := img.ClusterID(); id != "" {
		resp.ClusterID = &id
	}
	resp.ControllerID = reportedController(env, img)
	if r.Version >= 8 && r.Version <= 10 && r.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = 0
		if env.AuthorizeCluster(req, opDescribe) {
			resp.AuthorizedOperations = env.authorizedOperations(req, resCluster, ClusterName)
		}
	}
	if allTopics(r) {
		for _, t := range img.Topics() {
			if env.Authorize(req, opDescribe, resTopic, t.Name) {
				resp.Topics = append(resp.Topics, metadataTopic(img, t))
			}
		}
	} else {
		for _, rt := range r.Topics {
			resp.Topics = append(resp.Topics, authorizedRequestedTopic(env, req, img, rt, pending, denied))
		}
	}
	if r.Version >= 8 && r.IncludeTopicAuthorizedOperations {
		for i := range resp.Topics {
			mt := &resp.Topics[i]
			if mt.Topic != nil && mt.ErrorCode != kerr.TopicAuthorizationFailed.Code {
				mt.AuthorizedOperations = env.authorizedOperations(req, resTopic, *mt.Topic)
			}
		}
	}
	if r.Version == 0 {
		metadataV0Unavailable(img, req.Conn.Listener, resp)
	}
	return resp
}

// authorizedRequestedTopic answers one requested topic as requestedTopic does, unless the
// principal may not see it: TOPIC_AUTHORIZATION_FAILED without partitions, with the zero
// topic id when requested by name and a null name when requested by id.
func authorizedRequestedTopic(env *Env, req *Request, img *metadata.Image, rt kmsg.MetadataRequestTopic,
	pending map[string]int16, denied map[string]bool) kmsg.MetadataResponseTopic {
	r := req.Msg.(*kmsg.MetadataRequest)
	if rt.Topic != nil && pending[*rt.Topic] != 0 {
		// Auto-created by this request: the code alone, even when the new topic is already
		// in img (as Kafka: no partitions, zero topic id, in the response that created it).
		mt := kmsg.NewMetadataResponseTopic()
		mt.Topic, mt.ErrorCode = rt.Topic, pending[*rt.Topic]
		mt.IsInternal = metadata.IsInternalTopic(*rt.Topic)
		return mt
	}
	if rt.Topic != nil && denied[*rt.Topic] {
		mt := kmsg.NewMetadataResponseTopic()
		mt.Topic, mt.ErrorCode = rt.Topic, kerr.TopicAuthorizationFailed.Code
		mt.IsInternal = metadata.IsInternalTopic(*rt.Topic)
		return mt
	}
	mt := requestedTopic(img, r.Version, rt)
	if rt.Topic == nil && mt.Topic != nil && !env.Authorize(req, opDescribe, resTopic, *mt.Topic) {
		id := mt.TopicID
		mt = kmsg.NewMetadataResponseTopic()
		mt.TopicID, mt.ErrorCode = id, kerr.TopicAuthorizationFailed.Code // ids are not secret
	}
	return mt
}

// metadataDenied is the set of requested topic names answered TOPIC_AUTHORIZATION_FAILED:
// those without Describe, and those missing, to be auto-created, without Create on the
// cluster or the topic (as Kafka's handleTopicMetadataRequest). Nil without an authorizer.
func metadataDenied(env *Env, req *Request, img *metadata.Image, r *kmsg.MetadataRequest) map[string]bool {
	if env.Authorizer == nil || allTopics(r) {
		return nil
	}
	var denied map[string]bool
	creating, clusterCreate := -1, false // creating: unknown until a missing topic is met
	for _, rt := range r.Topics {
		if rt.Topic == nil {
			continue
		}
		name := *rt.Topic
		deny := !env.Authorize(req, opDescribe, resTopic, name)
		if _, exists := img.Topic(name); !deny && !exists {
			if creating < 0 {
				creating = 0
				if autoCreateEnabled(env, img, r) {
					creating, clusterCreate = 1, env.AuthorizeCluster(req, opCreate)
				}
			}
			deny = creating == 1 && !clusterCreate && !env.Authorize(req, opCreate, resTopic, name)
		}
		if deny {
			if denied == nil {
				denied = make(map[string]bool)
			}
			denied[name] = true
		}
	}
	return denied
}

// autoCreateEnabled reports whether the request's missing topics would be created.
func autoCreateEnabled(env *Env, img *metadata.Image, r *kmsg.MetadataRequest) bool {
	return env.Controller != nil && !allTopics(r) && (r.Version < 4 || r.AllowAutoTopicCreation) &&
		env.BrokerConfig(img).Bool(config.AutoCreateTopicsEnable)
}

// allTopics reports whether the request asks for every topic: a null list
// (v1+) or an empty one (v0).
func allTopics(r *kmsg.MetadataRequest) bool {
	return r.Topics == nil || (r.Version == 0 && len(r.Topics) == 0)
}

// autoCreateCandidates lists the requested topics to create: missing,
// validly named, not internal, not denied, and allowed by the request and the broker.
func autoCreateCandidates(env *Env, img *metadata.Image, r *kmsg.MetadataRequest, denied map[string]bool) []metadata.CreateTopic {
	if env.Controller == nil || allTopics(r) || (r.Version >= 4 && !r.AllowAutoTopicCreation) {
		return nil
	}
	var out []metadata.CreateTopic
	for _, rt := range r.Topics {
		if rt.Topic == nil {
			continue
		}
		name := *rt.Topic
		if _, ok := img.Topic(name); ok || denied[name] || metadata.IsInternalTopic(name) || metadata.ValidateTopicName(name) != nil {
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
