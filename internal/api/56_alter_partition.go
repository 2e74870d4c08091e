package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// AlterPartition: v0–3 (controller listener only; v0–1 are legacy: Kafka 4 removed them,
// KIP-896; API.LegacyBelow)
//
// Behavior (KIP-497, KIP-841, KIP-903):
//   - A partition leader asks the active controller to change the ISRs of the partitions it
//     leads; the controller commits the accepted changes (one PartitionChangeRecord each,
//     bumping the partition epoch) and answers each partition's new leader, leader epoch,
//     partition epoch and ISR. Asking for the ISR a partition already has answers its state.
//   - The sender's broker epoch is checked for the whole request (STALE_BROKER_EPOCH, also for
//     an unregistered sender); NOT_CONTROLLER anywhere but on the active controller.
//   - Per partition, in Kafka's order: UNKNOWN_TOPIC_ID, UNKNOWN_TOPIC_OR_PARTITION;
//     NOT_CONTROLLER when the request's leader or partition epoch is ahead of the controller's;
//     FENCED_LEADER_EPOCH for an older leader epoch; INVALID_REQUEST when the sender is not the
//     leader; INVALID_UPDATE_VERSION for an older partition epoch; INVALID_REQUEST for a new ISR
//     that is not distinct replicas, lacks the leader, or asks leader recovery (Sluice never
//     elects into KIP-704's recovering state); INELIGIBLE_REPLICA for a member that is not
//     registered, fenced, in controlled shutdown or of another broker epoch than the leader saw
//     (KIP-841, KIP-903).
//
//   - Authorization: ClusterAction on the cluster (brokers only), else a top-level
//     CLUSTER_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v0–1: topics by name (an unknown one is UNKNOWN_TOPIC_OR_PARTITION), as Kafka 3.9's
//     controller answered brokers of older releases; an ineligible ISR member is
//     OPERATION_NOT_ATTEMPTED, which predates INELIGIBLE_REPLICA. v1: LeaderRecoveryState.
//     v2: topic ids. v3: each new ISR member
//     with the broker epoch of its fetches (NewIsrWithEpochs); v2's members are checked
//     without one.

func init() {
	Register(API{Key: 56, MinVersion: 0, LegacyBelow: 2, MaxVersion: 3, Handle: handleAlterPartition, Listeners: ControllerListener})
}

func handleAlterPartition(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.AlterPartitionRequest)
	resp := r.ResponseKind().(*kmsg.AlterPartitionResponse)
	if !env.AuthorizeCluster(req, opClusterAction) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return Reply(resp), nil
	}
	if env.Lifecycle == nil {
		resp.ErrorCode = kerr.NotController.Code
		return Reply(resp), nil
	}
	var changes []metadata.ISRChange
	var img *metadata.Image
	if r.Version < 2 && env.Metadata != nil {
		img = env.Metadata.Image()
	}
	for _, t := range r.Topics {
		id := metadata.TopicID(t.TopicID)
		if img != nil { // v0–1 name topics; an unknown name keeps the zero id: UNKNOWN_TOPIC_ID
			if topic, ok := img.Topic(t.Topic); ok {
				id = topic.ID
			}
		}
		for _, p := range t.Partitions {
			ch := metadata.ISRChange{TopicID: id, Partition: p.Partition,
				LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, LeaderRecoveryState: p.LeaderRecoveryState}
			if r.Version >= 3 {
				ch.NewISR = make([]metadata.ISRMember, len(p.NewEpochISR))
				for i, m := range p.NewEpochISR {
					ch.NewISR[i] = metadata.ISRMember{ID: m.BrokerID, BrokerEpoch: m.BrokerEpoch}
				}
			} else {
				ch.NewISR = make([]metadata.ISRMember, len(p.NewISR))
				for i, id := range p.NewISR {
					ch.NewISR[i] = metadata.ISRMember{ID: id, BrokerEpoch: -1}
				}
			}
			changes = append(changes, ch)
		}
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		results, err := env.Lifecycle.AlterPartition(ctx, r.BrokerID, r.BrokerEpoch, changes, r.Version >= 2)
		if err != nil {
			resp.ErrorCode = ErrorCode(err)
			env.Logger.Debug("alter partition refused", "broker", r.BrokerID, "err", err)
			return Reply(resp), nil
		}
		i := 0
		for _, t := range r.Topics {
			rt := kmsg.NewAlterPartitionResponseTopic()
			rt.TopidID, rt.Topic = t.TopicID, t.Topic
			for _, p := range t.Partitions {
				res := results[i]
				i++
				rp := kmsg.NewAlterPartitionResponseTopicPartition()
				rp.Partition = p.Partition
				if res.Err != nil {
					rp.ErrorCode = ErrorCode(res.Err)
					rp.LeaderID = -1
					if r.Version < 2 {
						if rp.ErrorCode == kerr.UnknownTopicID.Code {
							rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
						}
					}
					env.Logger.Debug("alter partition: change refused", "broker", r.BrokerID, "err", res.Err)
				} else {
					rp.LeaderID, rp.LeaderEpoch, rp.PartitionEpoch, rp.ISR = res.Leader, res.LeaderEpoch, res.PartitionEpoch, res.ISR
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return Reply(resp), nil
	}}, nil
}
