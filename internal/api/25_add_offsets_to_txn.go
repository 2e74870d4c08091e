package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AddOffsetsToTxn: v0–4
//
// Behavior:
//   - Adds the group's __consumer_offsets partition to the producer's transaction, so the
//     TxnOffsetCommit that follows ends with the transaction. Errors as AddPartitionsToTxn.
//
//   - Authorization: Write on the transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
//     then Read on the group (else GROUP_AUTHORIZATION_FAILED).
//
// Version notes:
//   - v2: PRODUCER_FENCED (older versions get INVALID_PRODUCER_EPOCH). v3: flexible. v4: no
//     change here (KIP-890 error codes).

func init() { Register(API{Key: 25, MinVersion: 0, MaxVersion: 4, Handle: handleAddOffsetsToTxn}) }

func handleAddOffsetsToTxn(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.AddOffsetsToTxnRequest)
	resp := r.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	switch {
	case !env.Authorize(req, opWrite, resTransactionID, r.TransactionalID):
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return Reply(resp), nil
	case !env.Authorize(req, opRead, resGroup, r.Group):
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return Reply(resp), nil
	}
	if env.Txns == nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return Reply(resp), nil
	}
	version := req.Version
	return Response{Finish: func(ctx context.Context) (Response, error) {
		err := env.Txns.AddOffsets(ctx, r.TransactionalID, r.ProducerID, r.ProducerEpoch, r.Group)
		resp.ErrorCode = txnErrorCode(err, version, 2)
		return Reply(resp), nil
	}}, nil
}
