package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/txn"
)

// EndTxn: v0–5
//
// Behavior:
//   - Commits or aborts the producer's transaction: answered once PrepareCommit or
//     PrepareAbort is durable in __transaction_state (the outcome is then decided and
//     survives a restart); the markers are written into every partition of the transaction
//     afterwards, and until they are, the next transaction of the id gets
//     CONCURRENT_TRANSACTIONS (clients retry).
//   - A retry of a completed EndTxn succeeds; EndTxn without a transaction, or commit after
//     abort, is INVALID_TXN_STATE.
//
//   - Authorization: Write on the transactional id, else TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v2: PRODUCER_FENCED (older versions get INVALID_PRODUCER_EPOCH). v3: flexible.
//   - v5 (KIP-890 transactions v2): every transaction ends under a bumped epoch (a new
//     producer id when the epoch is exhausted), returned in the response.

func init() { Register(API{Key: 26, MinVersion: 0, MaxVersion: 5, Handle: handleEndTxn}) }

func handleEndTxn(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.EndTxnRequest)
	resp := r.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if !env.Authorize(req, opWrite, resTransactionID, r.TransactionalID) {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return Reply(resp), nil
	}
	if env.Txns == nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return Reply(resp), nil
	}
	version := req.Version
	ereq := txn.EndRequest{TransactionalID: r.TransactionalID, ProducerID: r.ProducerID, ProducerEpoch: r.ProducerEpoch,
		Commit: r.Commit, BumpEpoch: version >= 5}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		res, err := env.Txns.EndTxn(ctx, ereq)
		resp.ErrorCode = txnErrorCode(err, version, 2)
		if err == nil {
			resp.ProducerID, resp.ProducerEpoch = res.ProducerID, res.ProducerEpoch
		}
		return Reply(resp), nil
	}}, nil
}
