package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/quorum"
)

// RemoveRaftVoter: v0
//
// Behavior:
//   - Removes the voter VoterID with VoterDirectoryID from the metadata quorum
//     (KIP-853); the all-zero directory id names a voter of a configuration
//     from before directory ids. The active controller may remove itself:
//     leadership moves to another voter once the change is committed, and the
//     removed node keeps following the log as an observer.
//   - Errors as Kafka's: VOTER_NOT_FOUND when no voter has that id and
//     directory; REQUEST_TIMED_OUT when another voter change is in progress;
//     INVALID_REQUEST for the last voter; INCONSISTENT_CLUSTER_ID for another
//     ClusterID; NOT_CONTROLLER on a node that is not the active controller
//     (a broker listener forwards it there, KIP-590).
//   - Authorization (on the controller): Alter on the cluster, else CLUSTER_AUTHORIZATION_FAILED.

func init() {
	Register(API{Key: 81, MinVersion: 0, MaxVersion: 0, Handle: handleRemoveRaftVoter, Listeners: BrokerAndController, Forward: true})
}

func handleRemoveRaftVoter(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.RemoveRaftVoterRequest)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		resp := r.ResponseKind().(*kmsg.RemoveRaftVoterResponse)
		err := errNoQuorum
		if !env.AuthorizeCluster(req, opAlter) {
			err = authorizationError(kerr.ClusterAuthorizationFailed)
		} else if env.Quorum != nil {
			if err = checkQuorumCluster(env, r.ClusterID); err == nil {
				err = env.Quorum.RemoveVoter(ctx, r.VoterID, quorum.DirectoryID(r.VoterDirectoryID))
			}
		}
		resp.ErrorCode, resp.ErrorMessage = ErrorCode(err), ErrorMessage(err)
		return Reply(resp), nil
	}}, nil
}
