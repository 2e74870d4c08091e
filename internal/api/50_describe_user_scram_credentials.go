package api

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// DescribeUserScramCredentials: v0
//
// Behavior (KIP-554, Kafka's ScramImage.describe):
//   - Answered by any broker from its metadata Image (not forwarded), as Kafka answers from
//     its metadata cache.
//   - Null or empty Users: every user with a credential, each with the mechanisms and
//     iteration counts it has (never salts or keys).
//   - A named user without a credential: RESOURCE_NOT_FOUND; a user named twice:
//     DUPLICATE_RESOURCE (one result for that user).
//   - DESCRIBE on the cluster is required (CLUSTER_AUTHORIZATION_FAILED for the request).
//
// Version notes:
//   - v0: flexible.

func init() {
	Register(API{Key: 50, MinVersion: 0, MaxVersion: 0, Handle: handleDescribeUserScramCredentials})
}

func handleDescribeUserScramCredentials(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DescribeUserSCRAMCredentialsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if !env.Authorize(req, kmsg.ACLOperationDescribe, kmsg.ACLResourceTypeCluster, metadata.ClusterResourceName) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return Reply(resp), nil
	}
	img := env.Metadata.Image()
	var users []string
	count := map[string]int{}
	if len(r.Users) == 0 {
		users = img.ScramUsers()
	} else {
		for _, u := range r.Users {
			if count[u.Name] == 0 {
				users = append(users, u.Name)
			}
			count[u.Name]++
		}
		slices.Sort(users)
	}
	for _, user := range users {
		res := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		res.User = user
		switch creds := img.ScramCredentials(user); {
		case count[user] > 1:
			res.ErrorCode = kerr.DuplicateResource.Code
			res.ErrorMessage = kmsg.StringPtr("Cannot describe SCRAM credentials for the same user twice in a single request: " + user)
		case len(creds) == 0:
			res.ErrorCode = kerr.ResourceNotFound.Code
			res.ErrorMessage = kmsg.StringPtr("Attempt to describe a user credential that does not exist: " + user)
		default:
			for _, c := range creds {
				info := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
				info.Mechanism, info.Iterations = c.Mechanism, c.Iterations
				res.CredentialInfos = append(res.CredentialInfos, info)
			}
		}
		resp.Results = append(resp.Results, res)
	}
	return Reply(resp), nil
}
