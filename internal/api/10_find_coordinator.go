package api

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
	sharecoord "github.com/sluicehq/sluice/internal/share/coordinator"
)

// FindCoordinator: v0–6
//
// Behavior:
//   - The coordinator of a group (key type 0) is the leader of its __consumer_offsets
//     partition, that of a transactional id (key type 1) the leader of its
//     __transaction_state partition: abs(Java String.hashCode(key)) modulo the topic's
//     partition count, as in Kafka. The answer is that broker's endpoint on the listener the
//     request arrived on (else its first endpoint).
//   - COORDINATOR_NOT_AVAILABLE (clients retry) when this node runs no such coordinator
//     (Env.Groups / Env.Txns nil), the topic does not exist yet, or the partition has no
//     leader or its leader is fenced or not registered; the error message says which.
//   - The first lookup creates the topic through the controller, as Kafka does:
//     __consumer_offsets compacted with offsets.topic.num.partitions partitions at
//     offsets.topic.replication.factor; __transaction_state compacted with
//     transaction.state.log.num.partitions partitions, its replication factor and
//     min.insync.replicas. With fewer live brokers than the replication factor it is not
//     created, and the message is Kafka's "Number of alive brokers … does not meet the
//     required replication factor …". Commits create __consumer_offsets too if this failed.
//   - Key type 2 (SHARE, v6, KIP-932): the share coordinator of a share-partition, key
//     "group:topicId:partition" (the topic id in base64), is the leader of its
//     __share_group_state partition, hashed the same way; the first lookup creates that topic
//     (share.coordinator.state.topic.* settings). A malformed key or a version below 6:
//     INVALID_REQUEST. Only brokers look it up: ClusterAction on the cluster, else
//     CLUSTER_AUTHORIZATION_FAILED.
//   - Other key types: INVALID_REQUEST.
//
//   - Authorization: Describe on the group (else GROUP_AUTHORIZATION_FAILED) or on the
//     transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED), per key.
//
// Version notes:
//   - v1: key type, error message. v3: flexible. v4: batched keys (Coordinators).

func init() {
	Register(API{Key: 10, MinVersion: 0, MaxVersion: 6, Handle: handleFindCoordinator})
}

func handleFindCoordinator(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.FindCoordinatorRequest)
	if !anyCoordinatorKeyAllowed(env, req, r) {
		return answerFindCoordinator(env, req, r), nil // refused: creates nothing
	}
	if _, ok := env.Metadata.Image().Topic(metadata.ConsumerOffsetsTopic); !ok && r.CoordinatorType == 0 && env.Groups != nil && env.Controller != nil {
		// As Kafka does, the first group lookup creates __consumer_offsets; the controller's
		// commit waits, so it runs off the read loop.
		return Response{Finish: func(ctx context.Context) (Response, error) {
			createOffsetsTopic(ctx, env)
			return answerFindCoordinator(env, req, r), nil
		}}, nil
	}
	if _, ok := env.Metadata.Image().Topic(metadata.ShareGroupStateTopic); !ok && r.CoordinatorType == 2 && env.ShareCoordinator != nil && env.Controller != nil {
		return Response{Finish: func(ctx context.Context) (Response, error) {
			createShareGroupStateTopic(ctx, env)
			return answerFindCoordinator(env, req, r), nil
		}}, nil
	}
	if _, ok := env.Metadata.Image().Topic(metadata.TransactionStateTopic); !ok && r.CoordinatorType == 1 && env.Txns != nil && env.Controller != nil {
		return Response{Finish: func(ctx context.Context) (Response, error) {
			createTransactionStateTopic(ctx, env)
			return answerFindCoordinator(env, req, r), nil
		}}, nil
	}
	return answerFindCoordinator(env, req, r), nil
}

// createTransactionStateTopic creates the compacted __transaction_state topic; a failure is
// left to the coordinator's first write, which retries.
func createTransactionStateTopic(ctx context.Context, env *Env) {
	brokerCfg := env.BrokerConfig(env.Metadata.Image())
	res := env.Controller.CreateTopics(ctx, []metadata.CreateTopic{{Name: metadata.TransactionStateTopic,
		NumPartitions:     brokerCfg.Int(config.TransactionStateLogNumPartitions),
		ReplicationFactor: int16(brokerCfg.Int(config.TransactionStateLogReplication)),
		Configs: map[string]string{string(config.CleanupPolicy): config.CleanupPolicyCompact,
			string(config.MinInsyncReplicas): strconv.Itoa(int(brokerCfg.Int(config.TransactionStateLogMinIsr))),
			string(config.SegmentBytes):      strconv.Itoa(int(brokerCfg.Int(config.TransactionStateLogSegmentBytes)))}}}, false)
	logInternalTopicCreation(env, "__transaction_state", res)
}

// createOffsetsTopic creates the compacted __consumer_offsets topic; a failure (another
// request created it first, or no controller) is left to the commit path, which retries.
func createOffsetsTopic(ctx context.Context, env *Env) {
	brokerCfg := env.BrokerConfig(env.Metadata.Image())
	res := env.Controller.CreateTopics(ctx, []metadata.CreateTopic{{Name: metadata.ConsumerOffsetsTopic,
		NumPartitions:     brokerCfg.Int(config.OffsetsTopicNumPartitions),
		ReplicationFactor: int16(brokerCfg.Int(config.OffsetsTopicReplicationFactor)),
		Configs: map[string]string{string(config.CleanupPolicy): config.CleanupPolicyCompact,
			string(config.SegmentBytes): strconv.Itoa(int(brokerCfg.Int(config.OffsetsTopicSegmentBytes)))}}}, false)
	logInternalTopicCreation(env, "__consumer_offsets", res)
}

func answerFindCoordinator(env *Env, req *Request, r *kmsg.FindCoordinatorRequest) Response {
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	if req.Version < 4 {
		c := findCoordinator(env, req, r.CoordinatorType, r.CoordinatorKey)
		resp.ErrorCode, resp.NodeID, resp.Host, resp.Port, resp.ErrorMessage = c.ErrorCode, c.NodeID, c.Host, c.Port, c.ErrorMessage
		if c.ErrorCode != 0 && c.ErrorMessage == nil {
			resp.ErrorMessage = kmsg.StringPtr(kerr.ErrorForCode(c.ErrorCode).Error())
		}
		return Reply(resp)
	}
	for _, key := range r.CoordinatorKeys {
		resp.Coordinators = append(resp.Coordinators, findCoordinator(env, req, r.CoordinatorType, key))
	}
	return Reply(resp)
}

// coordinatorKeyAllowed reports whether req may look up key's coordinator: Describe on the
// group or the transactional id; it returns the error code otherwise.
func coordinatorKeyAllowed(env *Env, req *Request, keyType int8, key string) int16 {
	switch {
	case keyType == 0 && !env.Authorize(req, opDescribe, resGroup, key):
		return kerr.GroupAuthorizationFailed.Code
	case keyType == 1 && !env.Authorize(req, opDescribe, resTransactionID, key):
		return kerr.TransactionalIDAuthorizationFailed.Code
	case keyType == 2 && !env.AuthorizeCluster(req, opClusterAction):
		return kerr.ClusterAuthorizationFailed.Code
	}
	return 0
}

// anyCoordinatorKeyAllowed reports whether req may look up at least one of its keys.
func anyCoordinatorKeyAllowed(env *Env, req *Request, r *kmsg.FindCoordinatorRequest) bool {
	if env.Authorizer == nil {
		return true
	}
	if req.Version < 4 {
		return coordinatorKeyAllowed(env, req, r.CoordinatorType, r.CoordinatorKey) == 0
	}
	for _, key := range r.CoordinatorKeys {
		if coordinatorKeyAllowed(env, req, r.CoordinatorType, key) == 0 {
			return true
		}
	}
	return false
}

func findCoordinator(env *Env, req *Request, keyType int8, key string) kmsg.FindCoordinatorResponseCoordinator {
	listener := req.Conn.Listener
	c := kmsg.NewFindCoordinatorResponseCoordinator()
	c.Key, c.NodeID, c.Port = key, -1, -1
	if c.ErrorCode = coordinatorKeyAllowed(env, req, keyType, key); c.ErrorCode != 0 {
		return c
	}
	var topic string
	switch keyType {
	case 0:
		if env.Groups == nil {
			c.ErrorCode = kerr.CoordinatorNotAvailable.Code
			return c
		}
		topic = metadata.ConsumerOffsetsTopic
	case 1:
		if env.Txns == nil {
			c.ErrorCode = kerr.CoordinatorNotAvailable.Code
			return c
		}
		topic = metadata.TransactionStateTopic
	case 2:
		if req.Version < 6 || !validShareCoordinatorKey(key) {
			c.ErrorCode = kerr.InvalidRequest.Code
			return c
		}
		if env.ShareCoordinator == nil {
			c.ErrorCode = kerr.CoordinatorNotAvailable.Code
			return c
		}
		topic = metadata.ShareGroupStateTopic
	default:
		c.ErrorCode = kerr.InvalidRequest.Code
		return c
	}
	img := env.Metadata.Image()
	leader, msg := coordinatorNode(env, img, topic, key)
	if leader < 0 {
		c.ErrorCode, c.ErrorMessage = kerr.CoordinatorNotAvailable.Code, &msg
		return c
	}
	host, port, _, ok := brokerAddress(img, leader, listener)
	if !ok {
		msg := fmt.Sprintf("the leader of %s, broker %d, has no endpoint", topic, leader)
		c.ErrorCode, c.ErrorMessage = kerr.CoordinatorNotAvailable.Code, &msg
		return c
	}
	c.NodeID, c.Host, c.Port = leader, host, port
	return c
}

// coordinatorNode is the node coordinating key: the leader of key's partition of topic
// (__consumer_offsets or __transaction_state), abs(Java hashCode) modulo the topic's partition
// count as in Kafka. -1 with the reason when there is none: the topic does not exist (yet), or
// the partition's leader is unknown, fenced or not registered.
func coordinatorNode(env *Env, img *metadata.Image, topic, key string) (int32, string) {
	t, ok := img.Topic(topic)
	if !ok || len(t.Partitions) == 0 {
		return -1, missingInternalTopic(env, img, topic)
	}
	p := &t.Partitions[group.Partition(key, int32(len(t.Partitions)))]
	if leader := liveLeader(img, p); leader >= 0 {
		return leader, ""
	}
	return -1, fmt.Sprintf("%s-%d has no live leader", topic, p.Partition)
}

// missingInternalTopic explains why topic does not exist: as Kafka says, too few live brokers
// for its replication factor (a cluster still starting), or it is being created.
func missingInternalTopic(env *Env, img *metadata.Image, topic string) string {
	name := config.OffsetsTopicReplicationFactor
	switch topic {
	case metadata.TransactionStateTopic:
		name = config.TransactionStateLogReplication
	case metadata.ShareGroupStateTopic:
		name = config.ShareCoordinatorStateTopicReplicationFactor
	}
	rf := int(env.BrokerConfig(img).Int(name))
	live := 0
	for _, b := range img.Brokers() {
		if b.Active() {
			live++
		}
	}
	if live < rf {
		return fmt.Sprintf("Number of alive brokers '%d' does not meet the required replication factor '%d' for %s (configured via '%s'). "+
			"This error can be ignored if the cluster is starting up and not all brokers are up yet.", live, rf, topic, name)
	}
	return fmt.Sprintf("%s does not exist yet; it is being created", topic)
}

// logInternalTopicCreation logs a failed creation of an internal topic on lookup: a warning,
// but only at debug level while too few brokers are live for its replication factor, which is
// expected while a cluster starts (clients look up again every few hundred milliseconds).
func logInternalTopicCreation(env *Env, topic string, res []metadata.CreatedTopic) {
	switch {
	case len(res) != 1 || res[0].Err == nil || errors.Is(res[0].Err, metadata.ErrTopicExists):
	case errors.Is(res[0].Err, metadata.ErrInvalidReplicationFactor):
		env.Logger.Debug("creating "+topic, "err", res[0].Err)
	default:
		env.Logger.Warn("creating "+topic, "err", res[0].Err)
	}
}

// createShareGroupStateTopic creates __share_group_state as the share coordinator does; a
// failure is left to the persister's first write, which retries.
func createShareGroupStateTopic(ctx context.Context, env *Env) {
	brokerCfg := env.BrokerConfig(env.Metadata.Image())
	res := env.Controller.CreateTopics(ctx, []metadata.CreateTopic{sharecoord.CreateTopic(
		brokerCfg.Int(config.ShareCoordinatorStateTopicNumPartitions),
		int16(brokerCfg.Int(config.ShareCoordinatorStateTopicReplicationFactor)),
		int(brokerCfg.Int(config.ShareCoordinatorStateTopicMinIsr)),
		int(brokerCfg.Int(config.ShareCoordinatorStateTopicSegmentBytes)))}, false)
	logInternalTopicCreation(env, metadata.ShareGroupStateTopic, res)
}

// validShareCoordinatorKey reports whether key is a share coordinator key as Kafka parses
// it: "group:topicId:partition" with a non-empty group, a base64 topic id and a partition
// number.
func validShareCoordinatorKey(key string) bool {
	_, err := sharecoord.ParseCoordinatorKey(key)
	return err == nil
}
