package api

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
)

// CreateTopics: v0–7 (v0–1 are legacy: Kafka 4 removed them, KIP-896; API.LegacyBelow)
//
// Behavior:
//   - Only the active controller (Raft leader) creates topics: the request is
//     forwarded to it in an Envelope (KIP-590) from any other node's broker
//     listener; NOT_CONTROLLER only when no controller can be reached.
//   - Each topic is validated on its own with Kafka's rules (metadata.Controller):
//     a legal name (INVALID_TOPIC_EXCEPTION, also for a '.'/'_' collision),
//     not existing (TOPIC_ALREADY_EXISTS), partitions > 0 or -1 for
//     num.partitions (INVALID_PARTITIONS), a replication factor in 1..live
//     brokers or -1 for default.replication.factor (INVALID_REPLICATION_FACTOR),
//     manual assignments numbered 0..n-1 with distinct registered brokers and
//     counts of -1 (INVALID_REPLICA_ASSIGNMENT / INVALID_REQUEST), configs
//     known and valid (INVALID_CONFIG, also for a null value). A topic named
//     twice in the request, or with a config named twice, gets INVALID_REQUEST.
//   - The valid topics are committed together; the response is written once
//     they are in this node's metadata (off the read loop). ValidateOnly
//     validates and answers as if created, creating nothing.
//   - TimeoutMillis > 0 bounds the wait to enter the metadata log
//     (REQUEST_TIMED_OUT).
//
//   - controller_mutation_rate (client quotas, KIP-599): each topic's partitions count against
//     the client's rate; from v6 a topic is refused with THROTTLING_QUOTA_EXCEEDED while the
//     client is over it (older versions are only throttled); throttle_time_ms says how long
//     until it is not. Topics the controller refuses, and validate_only, count nothing.
//
//   - Authorization (on the controller, as the forwarded principal): Create on the cluster or
//     on the topic, else TOPIC_AUTHORIZATION_FAILED; v5+ configs are returned only with
//     DescribeConfigs on the topic (else ConfigErrorCode TOPIC_AUTHORIZATION_FAILED).
//
// Version notes:
//   - v0: no ValidateOnly (topics are created). v1: ValidateOnly and error messages.
//     v2: throttle time. Every version accepts -1 counts (KIP-464's defaults): Kafka's broker
//     does not check the version, only its Java client refuses to send them below v4.
//   - v5: flexible; NumPartitions, ReplicationFactor and every config of the
//     topic (value, source, sensitivity) in the response; on error the counts
//     are -1 and no configs are listed.
//   - v6: same as v5 (quota errors). v7: the new topic's id.

func init() {
	Register(API{Key: 19, MinVersion: 0, LegacyBelow: 2, MaxVersion: 7, Handle: handleCreateTopics, Listeners: BrokerAndController, Forward: true})
}

func handleCreateTopics(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.CreateTopicsRequest)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		ctx, cancel := withTimeout(ctx, r.TimeoutMillis)
		defer cancel()
		errs := make([]error, len(r.Topics))
		var topics []metadata.CreateTopic
		var index []int // index[j] is the request position of topics[j]
		clusterCreate := env.AuthorizeCluster(req, opCreate)
		mutations := newMutationQuota(env, req, env.Metadata.Image(), 6)
		partitions := make([]int, len(r.Topics)) // admitted against controller_mutation_rate
		for i, rt := range r.Topics {
			t, err := createTopicInput(r, rt)
			if err == nil && !clusterCreate && !env.Authorize(req, opCreate, resTopic, rt.Topic) {
				err = requestErrorf(kerr.TopicAuthorizationFailed, "Authorization failed.")
			}
			if err == nil {
				n := createdPartitions(env, t)
				if err = mutations.admit(n); err == nil {
					partitions[i] = n
				}
			}
			if err != nil {
				errs[i] = err
				continue
			}
			topics, index = append(topics, t), append(index, i)
		}
		results := make([]metadata.CreatedTopic, len(r.Topics))
		if len(topics) > 0 {
			for j, res := range env.Controller.CreateTopics(ctx, topics, r.ValidateOnly) {
				results[index[j]] = res
			}
		}
		for i := range r.Topics {
			if results[i].Err != nil || r.ValidateOnly {
				mutations.refund(partitions[i])
			}
		}
		resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
		resp.ThrottleMillis = mutations.throttleMillis()
		img := env.Metadata.Image()
		for i, rt := range r.Topics {
			if errs[i] != nil {
				results[i].Err = errs[i]
			}
			out := createTopicsResult(env, img, r.Version, rt, results[i])
			if out.ErrorCode == 0 && r.Version >= 5 && !env.Authorize(req, opDescribeConfigs, resTopic, rt.Topic) {
				out.Configs, out.ConfigErrorCode = nil, kerr.TopicAuthorizationFailed.Code
			}
			resp.Topics = append(resp.Topics, out)
		}
		return Reply(resp), nil
	}}, nil
}

// createdPartitions is how many partitions t creates: its count, its assignments, or
// num.partitions (what controller_mutation_rate counts).
func createdPartitions(env *Env, t metadata.CreateTopic) int {
	switch {
	case t.NumPartitions > 0:
		return int(t.NumPartitions)
	case len(t.Assignments) > 0:
		return len(t.Assignments)
	}
	return int(env.BrokerConfig(env.Metadata.Image()).Int(config.NumPartitions))
}

// createTopicInput converts one requested topic, or returns the error that settles it before
// the controller sees it: a name given twice in the request, a null or repeated config.
func createTopicInput(r *kmsg.CreateTopicsRequest, rt kmsg.CreateTopicsRequestTopic) (metadata.CreateTopic, error) {
	n := 0
	for _, other := range r.Topics {
		if other.Topic == rt.Topic {
			n++
		}
	}
	if n > 1 {
		return metadata.CreateTopic{}, requestErrorf(kerr.InvalidRequest, "topic %s appears more than once in the request", rt.Topic)
	}
	t := metadata.CreateTopic{Name: rt.Topic, NumPartitions: rt.NumPartitions, ReplicationFactor: rt.ReplicationFactor}
	for _, a := range rt.ReplicaAssignment {
		t.Assignments = append(t.Assignments, metadata.Assignment{Partition: a.Partition, Replicas: a.Replicas})
	}
	// Clients send assignments keyed by partition, in any order; the controller wants them in
	// partition order and reports gaps and repeats.
	slices.SortStableFunc(t.Assignments, func(a, b metadata.Assignment) int { return int(a.Partition) - int(b.Partition) })
	if len(rt.Configs) > 0 {
		t.Configs = make(map[string]string, len(rt.Configs))
	}
	for _, c := range rt.Configs {
		if c.Value == nil {
			return metadata.CreateTopic{}, requestErrorf(kerr.InvalidConfig, "null value for config %s", c.Name)
		}
		if _, dup := t.Configs[c.Name]; dup {
			return metadata.CreateTopic{}, requestErrorf(kerr.InvalidRequest, "config %s is given more than once", c.Name)
		}
		t.Configs[c.Name] = *c.Value
	}
	return t, nil
}

func createTopicsResult(env *Env, img *metadata.Image, version int16, rt kmsg.CreateTopicsRequestTopic, res metadata.CreatedTopic) kmsg.CreateTopicsResponseTopic {
	out := kmsg.NewCreateTopicsResponseTopic()
	out.Topic = rt.Topic
	if err := res.Err; err != nil {
		out.ErrorCode, out.ErrorMessage = ErrorCode(err), ErrorMessage(err)
		out.NumPartitions, out.ReplicationFactor = -1, -1
		return out
	}
	out.TopicID = res.ID
	out.NumPartitions, out.ReplicationFactor = res.NumPartitions, res.ReplicationFactor
	if version >= 5 {
		perBroker, clusterDefault := img.DynamicConfigsFor(env.NodeID)
		resolved := config.ResolveTopic(config.Layers{Topic: res.Configs, DynamicBroker: perBroker,
			DynamicDefault: clusterDefault, Static: env.StaticConfig})
		for _, e := range resolved.Entries() {
			c := kmsg.NewCreateTopicsResponseTopicConfig()
			c.Name, c.Value, c.Source, c.IsSensitive = string(e.Def.Name), configValue(e), int8(e.Source), e.Def.Sensitive()
			out.Configs = append(out.Configs, c)
		}
	}
	return out
}
