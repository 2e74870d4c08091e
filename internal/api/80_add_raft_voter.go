package api

import (
	"context"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/quorum"
)

// AddRaftVoter: v0–1
//
// Behavior:
//   - Makes a node a voter of the metadata quorum (KIP-853): VoterID with
//     VoterDirectoryID (its meta.properties directory.id), reachable at its
//     CONTROLLER listener (else the first listener given).
//   - The active controller checks that the node answers at that address as
//     that node and directory, adds it as an observer if it is not one, waits
//     until it has every entry committed when the change began, then commits
//     it as a voter. It answers once the change is committed.
//   - Errors as Kafka's: DUPLICATE_VOTER when the node id is already a voter
//     (remove the old directory first); REQUEST_TIMED_OUT when another voter
//     change is in progress or the node does not answer or catch up within
//     TimeoutMillis (30 s if not positive); INCONSISTENT_CLUSTER_ID for
//     another ClusterID; INVALID_REQUEST without a directory id or a usable
//     listener;
//     NOT_CONTROLLER on a node that is not the active controller (a broker
//     listener forwards it there, KIP-590).
//
//   - Authorization (on the controller): Alter on the cluster, else CLUSTER_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v1: AckWhenCommitted. Sluice always answers after the commit, which is
//     what both values allow.

func init() {
	Register(API{Key: 80, MinVersion: 0, MaxVersion: 1, Handle: handleAddRaftVoter, Listeners: BrokerAndController, Forward: true})
}

func handleAddRaftVoter(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.AddRaftVoterRequest)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		resp := r.ResponseKind().(*kmsg.AddRaftVoterResponse)
		err := authorizationError(kerr.ClusterAuthorizationFailed)
		if env.AuthorizeCluster(req, opAlter) {
			err = addRaftVoter(ctx, env, r)
		}
		resp.ErrorCode, resp.ErrorMessage = ErrorCode(err), ErrorMessage(err)
		return Reply(resp), nil
	}}, nil
}

func addRaftVoter(ctx context.Context, env *Env, r *kmsg.AddRaftVoterRequest) error {
	if env.Quorum == nil {
		return errNoQuorum
	}
	if err := checkQuorumCluster(env, r.ClusterID); err != nil {
		return err
	}
	var addr string
	for _, l := range r.Listeners {
		if addr == "" || l.Name == ControllerListenerName {
			addr = net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port)))
		}
	}
	if addr == "" {
		return requestErrorf(kerr.InvalidRequest, "the new voter's listeners are missing")
	}
	timeout := r.TimeoutMillis
	if timeout <= 0 {
		timeout = 30000 // the change waits for the new voter to catch up: never unbounded
	}
	ctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	return env.Quorum.AddVoter(ctx, r.VoterID, quorum.DirectoryID(r.VoterDirectoryID), addr)
}

// checkQuorumCluster answers INCONSISTENT_CLUSTER_ID when a request names another cluster.
func checkQuorumCluster(env *Env, clusterID *string) error {
	if clusterID == nil {
		return nil
	}
	if have := env.Metadata.Image().ClusterID(); *clusterID != have {
		return requestErrorf(kerr.InconsistentClusterID, "this is cluster %s, not %s", have, *clusterID)
	}
	return nil
}
