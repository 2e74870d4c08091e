package api

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// BrokerRegistration: v0–4, BrokerHeartbeat: v0–1, AllocateProducerIds: v0 (controller
// listener only)
//
// Behavior (KIP-631, KIP-841, KIP-903):
//   - BrokerRegistration records a broker's listeners, rack and incarnation id and answers its
//     broker epoch. A registration starts fenced; heartbeats unfence it once the broker has
//     caught up on metadata. The same registration sent again gets the same epoch.
//     INCONSISTENT_CLUSTER_ID when the broker's cluster id is not this cluster's;
//     DUPLICATE_BROKER_REGISTRATION while another live process holds the id;
//     NOT_CONTROLLER elsewhere than on the active controller.
//   - BrokerHeartbeat carries the broker's applied metadata offset and its wishes (fence,
//     controlled shutdown) and answers IsCaughtUp, IsFenced and ShouldShutdown.
//     STALE_BROKER_EPOCH for a heartbeat of an earlier registration; BROKER_ID_NOT_REGISTERED
//     for an unknown broker (it registers again). The controller also watches the
//     connection a heartbeat came on: once every such connection of a broker has closed
//     (a dead process's sockets close at once), it fences the broker after
//     sluice.broker.connection.loss.fence.ms unless it heartbeats again.
//   - AllocateProducerIds hands the broker a block of ProducerIDBlockSize producer ids,
//     committed to the metadata log before the answer. The broker epoch is checked as Kafka
//     checks it (STALE_BROKER_EPOCH, BROKER_ID_NOT_REGISTERED).
//
//   - Authorization: ClusterAction on the cluster (brokers only), else
//     CLUSTER_AUTHORIZATION_FAILED, for all three APIs.
//
// Version notes:
//   - BrokerRegistration v1: IsMigratingZkBroker (refused: there is no ZooKeeper to migrate
//     from). v2: LogDirs. v3: PreviousBrokerEpoch. v4: no change in the request (Kafka's v4
//     marks the broker's support of metadata.version ranges).
//   - BrokerHeartbeat v1: OfflineLogDirs (tagged; ignored: one log dir per node).

func init() {
	Register(API{Key: 62, MinVersion: 0, MaxVersion: 4, Handle: handleBrokerRegistration, Listeners: ControllerListener})
	Register(API{Key: 63, MinVersion: 0, MaxVersion: 1, Handle: handleBrokerHeartbeat, Listeners: ControllerListener})
	Register(API{Key: 67, MinVersion: 0, MaxVersion: 0, Handle: handleAllocateProducerIDs, Listeners: ControllerListener})
}

// ProducerIDBlockSize is the size of the producer id blocks AllocateProducerIds hands out
// (Kafka's 1000).
const ProducerIDBlockSize = 1000

// Lifecycle is what the controller listener's broker APIs ask of the active controller
// (*metadata.Controller).
type Lifecycle interface {
	RegisterBroker(ctx context.Context, r metadata.BrokerRegistration) (int64, error)
	BrokerHeartbeat(ctx context.Context, hb metadata.Heartbeat) (metadata.HeartbeatResult, error)
	AllocateProducerIDs(ctx context.Context, brokerID int32, size int64) (int64, error)
	// AlterPartition is AlterPartition's (56_alter_partition.go).
	AlterPartition(ctx context.Context, brokerID int32, brokerEpoch int64, changes []metadata.ISRChange, v2 bool) ([]metadata.ISRChangeResult, error)
}

func handleBrokerRegistration(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.BrokerRegistrationRequest)
	resp := r.ResponseKind().(*kmsg.BrokerRegistrationResponse)
	resp.BrokerEpoch = -1
	if !env.AuthorizeCluster(req, opClusterAction) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return Reply(resp), nil
	}
	if env.Lifecycle == nil {
		resp.ErrorCode = kerr.NotController.Code
		return Reply(resp), nil
	}
	if id := env.Metadata.Image().ClusterID(); id != "" && r.ClusterID != id {
		resp.ErrorCode = kerr.InconsistentClusterID.Code
		env.Logger.Warn("broker registration from another cluster refused", "broker", r.BrokerID, "its_cluster", r.ClusterID, "cluster", id)
		return Reply(resp), nil
	}
	if r.IsMigratingZkBroker {
		resp.ErrorCode = kerr.InvalidRegistration.Code
		return Reply(resp), nil
	}
	reg := metadata.BrokerRegistration{ID: r.BrokerID, Incarnation: r.IncarnationID, PreviousBrokerEpoch: r.PreviousBrokerEpoch}
	if r.Rack != nil {
		reg.Rack = *r.Rack
	}
	for _, l := range r.Listeners {
		reg.Endpoints = append(reg.Endpoints, metadata.Endpoint{Listener: l.Name, Host: l.Host, Port: int32(l.Port), SecurityProtocol: l.SecurityProtocol})
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		epoch, err := env.Lifecycle.RegisterBroker(ctx, reg)
		if err != nil {
			resp.ErrorCode = ErrorCode(err)
			env.Logger.Debug("broker registration refused", "broker", r.BrokerID, "err", err)
			return Reply(resp), nil
		}
		resp.BrokerEpoch = epoch
		return Reply(resp), nil
	}}, nil
}

func handleBrokerHeartbeat(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.BrokerHeartbeatRequest)
	resp := r.ResponseKind().(*kmsg.BrokerHeartbeatResponse)
	resp.IsFenced = true
	if !env.AuthorizeCluster(req, opClusterAction) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return Reply(resp), nil
	}
	if env.Lifecycle == nil {
		resp.ErrorCode = kerr.NotController.Code
		return Reply(resp), nil
	}
	hb := metadata.Heartbeat{ID: r.BrokerID, Epoch: r.BrokerEpoch, MetadataOffset: r.CurrentMetadataOffset,
		WantFence: r.WantFence, WantShutDown: r.WantShutdown, Conn: req.Conn.Closed}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		res, err := env.Lifecycle.BrokerHeartbeat(ctx, hb)
		if err != nil {
			resp.ErrorCode = ErrorCode(err)
			return Reply(resp), nil
		}
		resp.IsCaughtUp, resp.IsFenced, resp.ShouldShutdown = res.IsCaughtUp, res.IsFenced, res.ShouldShutDown
		return Reply(resp), nil
	}}, nil
}

func handleAllocateProducerIDs(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.AllocateProducerIDsRequest)
	resp := r.ResponseKind().(*kmsg.AllocateProducerIDsResponse)
	if !env.AuthorizeCluster(req, opClusterAction) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return Reply(resp), nil
	}
	if env.Lifecycle == nil {
		resp.ErrorCode = kerr.NotController.Code
		return Reply(resp), nil
	}
	switch b, ok := env.Metadata.Image().Broker(r.BrokerID); {
	case !ok:
		resp.ErrorCode = kerr.BrokerIDNotRegistered.Code
		return Reply(resp), nil
	case b.Epoch != r.BrokerEpoch:
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return Reply(resp), nil
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		first, err := env.Lifecycle.AllocateProducerIDs(ctx, r.BrokerID, ProducerIDBlockSize)
		if err != nil {
			resp.ErrorCode = ErrorCode(err)
			if errors.Is(err, context.Canceled) {
				resp.ErrorCode = kerr.RequestTimedOut.Code
			}
			return Reply(resp), nil
		}
		resp.ProducerIDStart, resp.ProducerIDLen = first, ProducerIDBlockSize
		return Reply(resp), nil
	}}, nil
}
