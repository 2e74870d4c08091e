package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteGroups: v0–2
//
// Behavior:
//   - Deletes each named group with its committed offsets, if it has no members
//     (NON_EMPTY_GROUP otherwise); unknown groups are GROUP_ID_NOT_FOUND. The offsets'
//     tombstones are written to __consumer_offsets first (answered through Finish).
//
//   - Authorization: Delete on each group, else GROUP_AUTHORIZATION_FAILED for it.
//
// Version notes:
//   - v2: flexible.

func init() {
	Register(API{Key: 42, MinVersion: 0, MaxVersion: 2, Handle: handleDeleteGroups})
}

func handleDeleteGroups(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DeleteGroupsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteGroupsResponse)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		for _, id := range r.Groups {
			g := kmsg.NewDeleteGroupsResponseGroup()
			g.Group = id
			err := groupStatus(env, id)
			if !env.Authorize(req, opDelete, resGroup, id) {
				err = errGroupAuthorization
			} else if err == nil {
				err = env.Groups.Delete(ctx, id)
			}
			g.ErrorCode = groupErrorCode(err)
			resp.Groups = append(resp.Groups, g)
		}
		return Reply(resp), nil
	}}, nil
}
