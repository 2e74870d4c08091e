package api

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/txn"
)

// WriteTxnMarkers: v0–2 (v0 is legacy: Kafka 4 removed it, KIP-896; API.LegacyBelow)
//
// Behavior:
//   - A transaction coordinator (on another broker; a single node writes its own markers
//     directly) ends a producer's transaction in partitions led here: each partition gets a
//     commit or abort control batch, its last stable offset moves, and the answer waits until
//     the marker is committed (acks=all). Markers in __consumer_offsets also make the
//     transaction's offset commits visible or drop them.
//   - Per partition: UNKNOWN_TOPIC_OR_PARTITION (not hosted here), NOT_LEADER_OR_FOLLOWER,
//     INVALID_PRODUCER_EPOCH (an older epoch than the partition has seen),
//     TRANSACTION_COORDINATOR_FENCED (an older coordinator epoch).
//
//   - Authorization: ClusterAction (or Alter) on the cluster: only brokers write markers;
//     else CLUSTER_AUTHORIZATION_FAILED for every partition.
//
// Version notes:
//   - v0: the same request, not flexible. v1: flexible. v2: transaction version
//     (KIP-890), informational here.

func init() {
	Register(API{Key: 27, MinVersion: 0, LegacyBelow: 1, MaxVersion: 2, Handle: handleWriteTxnMarkers})
}

func handleWriteTxnMarkers(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.WriteTxnMarkersRequest)
	resp := r.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	if !env.AuthorizeCluster(req, opAlter) && !env.AuthorizeCluster(req, opClusterAction) {
		failWriteTxnMarkers(r, resp, kerr.ClusterAuthorizationFailed.Code)
		return Reply(resp), nil
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		for _, m := range r.Markers {
			rm := kmsg.NewWriteTxnMarkersResponseMarker()
			rm.ProducerID = m.ProducerID
			marker := txn.Marker{ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, Commit: m.Committed, CoordinatorEpoch: m.CoordinatorEpoch}
			for _, t := range m.Topics {
				rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
					rp.Partition = p
					if env.Txns == nil {
						rp.ErrorCode = kerr.CoordinatorNotAvailable.Code
					} else {
						rp.ErrorCode = markerErrorCode(env.Txns.WriteMarker(ctx, t.Topic, p, marker))
					}
					rt.Partitions = append(rt.Partitions, rp)
				}
				rm.Topics = append(rm.Topics, rt)
			}
			resp.Markers = append(resp.Markers, rm)
		}
		return Reply(resp), nil
	}}, nil
}

// markerErrorCode maps a marker error: the partition's own error when it has one.
func markerErrorCode(err error) int16 {
	if err == nil {
		return 0
	}
	code := ErrorCode(err)
	if code == kerr.UnknownServerError.Code || code == kerr.InvalidTxnState.Code {
		switch {
		case errors.Is(err, txn.ErrUnknownPartition):
			return kerr.UnknownTopicOrPartition.Code
		case errors.Is(err, txn.ErrMarkerRejected):
			return kerr.InvalidProducerEpoch.Code
		}
	}
	return code
}

// failWriteTxnMarkers answers every partition of every marker with code.
func failWriteTxnMarkers(r *kmsg.WriteTxnMarkersRequest, resp *kmsg.WriteTxnMarkersResponse, code int16) {
	for _, m := range r.Markers {
		rm := kmsg.NewWriteTxnMarkersResponseMarker()
		rm.ProducerID = m.ProducerID
		for _, t := range m.Topics {
			rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				rp.Partition, rp.ErrorCode = p, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			rm.Topics = append(rm.Topics, rt)
		}
		resp.Markers = append(resp.Markers, rm)
	}
}
