package api

import (
	"context"
	"errors"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
)

// FindCoordinator: v0–6
//
// Behavior:
//   - Group keys (type 0): this node is the coordinator of every group, since a Sluice
//     cluster is one node today; its endpoint on the listener the request arrived on is
//     returned. Without a group coordinator (Env.Groups nil) or before this node is
//     registered: COORDINATOR_NOT_AVAILABLE.
//   - The first group lookup creates __consumer_offsets through the controller (compacted,
//     offsets.topic.num.partitions partitions), as Kafka does; commits create it too if this
//     failed.
//   - Transaction keys (type 1): this node, when it runs a transaction coordinator
//     (Env.Txns); the first lookup creates __transaction_state through the controller
//     (compacted, transaction.state.log.num.partitions partitions, its replication factor and
//     min.insync.replicas), as Kafka does. Other key types: INVALID_REQUEST.
//
// Version notes:
//   - v1: key type, error message. v3: flexible. v4: batched keys (Coordinators).

func init() {
	Register(API{Key: 10, MinVersion: 0, MaxVersion: 6, Handle: handleFindCoordinator})
}

func handleFindCoordinator(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.FindCoordinatorRequest)
	if _, ok := env.Metadata.Image().Topic(metadata.ConsumerOffsetsTopic); !ok && r.CoordinatorType == 0 && env.Groups != nil && env.Controller != nil {
		// As Kafka does, the first group lookup creates __consumer_offsets; the controller's
		// commit waits, so it runs off the read loop.
		return Response{Finish: func(ctx context.Context) (Response, error) {
			createOffsetsTopic(ctx, env)
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
	if len(res) == 1 && res[0].Err != nil && !errors.Is(res[0].Err, metadata.ErrTopicExists) {
		env.Logger.Warn("creating __transaction_state", "err", res[0].Err)
	}
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
	if len(res) == 1 && res[0].Err != nil && !errors.Is(res[0].Err, metadata.ErrTopicExists) {
		env.Logger.Warn("creating __consumer_offsets", "err", res[0].Err)
	}
}

func answerFindCoordinator(env *Env, req *Request, r *kmsg.FindCoordinatorRequest) Response {
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	if req.Version < 4 {
		c := findCoordinator(env, req.Conn.Listener, r.CoordinatorType, r.CoordinatorKey)
		resp.ErrorCode, resp.NodeID, resp.Host, resp.Port = c.ErrorCode, c.NodeID, c.Host, c.Port
		if c.ErrorCode != 0 {
			resp.ErrorMessage = kmsg.StringPtr(kerr.ErrorForCode(c.ErrorCode).Error())
		}
		return Reply(resp)
	}
	for _, key := range r.CoordinatorKeys {
		resp.Coordinators = append(resp.Coordinators, findCoordinator(env, req.Conn.Listener, r.CoordinatorType, key))
	}
	return Reply(resp)
}

func findCoordinator(env *Env, listener string, keyType int8, key string) kmsg.FindCoordinatorResponseCoordinator {
	c := kmsg.NewFindCoordinatorResponseCoordinator()
	c.Key, c.NodeID, c.Port = key, -1, -1
	switch keyType {
	case 0:
		if env.Groups == nil {
			c.ErrorCode = kerr.CoordinatorNotAvailable.Code
			return c
		}
	case 1:
		if env.Txns == nil {
			c.ErrorCode = kerr.CoordinatorNotAvailable.Code
			return c
		}
	default:
		c.ErrorCode = kerr.InvalidRequest.Code
		return c
	}
	host, port, _, ok := brokerAddress(env.Metadata.Image(), env.NodeID, listener)
	if !ok {
		c.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return c
	}
	c.NodeID, c.Host, c.Port = env.NodeID, host, port
	return c
}
