package api

import (
	"bytes"
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// AlterUserScramCredentials: v0
//
// Behavior (KIP-554, Kafka's ScramControlManager):
//   - Upsertions carry the salt and the salted password (the client salts; the password never
//     travels); the controller stores the salt, StoredKey, ServerKey and iterations.
//   - One result per user: a user in more than one deletion or upsertion gets
//     DUPLICATE_RESOURCE and nothing of it changes; an empty name, an empty salt or salted
//     password, or iterations outside 4096..16384 UNACCEPTABLE_CREDENTIAL; an unknown
//     mechanism UNSUPPORTED_SASL_MECHANISM; deleting a credential that does not exist
//     RESOURCE_NOT_FOUND. The valid changes are committed together.
//   - Only the active controller commits: other nodes forward the request (Envelope,
//     KIP-590). ALTER on the cluster is required (CLUSTER_AUTHORIZATION_FAILED for every user).
//
// Version notes:
//   - v0: flexible.

func init() {
	Register(API{Key: 51, MinVersion: 0, MaxVersion: 0, Handle: handleAlterUserScramCredentials, Listeners: BrokerAndController, Forward: true})
}

func handleAlterUserScramCredentials(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.AlterUserSCRAMCredentialsRequest)
	resp := r.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	if !env.Authorize(req, kmsg.ACLOperationAlter, kmsg.ACLResourceTypeCluster, metadata.ClusterResourceName) {
		seen := map[string]bool{}
		add := func(user string) {
			if !seen[user] {
				seen[user] = true
				res := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
				res.User, res.ErrorCode = user, kerr.ClusterAuthorizationFailed.Code
				resp.Results = append(resp.Results, res)
			}
		}
		for _, d := range r.Deletions {
			add(d.Name)
		}
		for _, u := range r.Upsertions {
			add(u.Name)
		}
		return Reply(resp), nil
	}
	deletions := make([]metadata.ScramDeletion, len(r.Deletions))
	for i, d := range r.Deletions {
		deletions[i] = metadata.ScramDeletion{Name: d.Name, Mechanism: d.Mechanism}
	}
	// The byte fields may share the connection's read buffer: copy them before Finish runs.
	upsertions := make([]metadata.ScramUpsertion, len(r.Upsertions))
	for i, u := range r.Upsertions {
		upsertions[i] = metadata.ScramUpsertion{Name: u.Name, Mechanism: u.Mechanism, Iterations: u.Iterations,
			Salt: bytes.Clone(u.Salt), SaltedPassword: bytes.Clone(u.SaltedPassword)}
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		for _, res := range env.Controller.AlterUserScramCredentials(ctx, deletions, upsertions) {
			out := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
			out.User, out.ErrorCode, out.ErrorMessage = res.User, ErrorCode(res.Err), ErrorMessage(res.Err)
			resp.Results = append(resp.Results, out)
		}
		return Reply(resp), nil
	}}, nil
}
