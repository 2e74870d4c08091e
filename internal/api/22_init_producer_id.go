package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/txn"
)

// InitProducerId: v0–5
//
// Behavior:
//   - Without a transactional id (idempotent producers): a fresh producer id at epoch 0 from
//     the block this broker holds; blocks of 1000 ids are allocated through the metadata log,
//     so ids are never handed out twice, also across restarts.
//   - With a transactional id: the transaction coordinator's answer (new id, or the id's
//     epoch bumped, fencing older producers; an ongoing transaction is aborted first and
//     the caller retries on CONCURRENT_TRANSACTIONS).
//   - Without a transaction coordinator (Env.Txns nil): COORDINATOR_NOT_AVAILABLE.
//
//   - Authorization: Write on the transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
//     without one, IdempotentWrite on the cluster or Write on any topic (KIP-679; else
//     CLUSTER_AUTHORIZATION_FAILED).
//
// Version notes:
//   - v2: flexible. v3: producer id and epoch in the request (KIP-360: bump after an error).
//   - v4: PRODUCER_FENCED replaces INVALID_PRODUCER_EPOCH. v5: (KIP-890) no change here.

func init() { Register(API{Key: 22, MinVersion: 0, MaxVersion: 5, Handle: handleInitProducerID}) }

func handleInitProducerID(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.InitProducerIDRequest)
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if resp.ErrorCode = authorizeInitProducerID(env, req, r); resp.ErrorCode != 0 {
		return Reply(resp), nil
	}
	if env.Txns == nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return Reply(resp), nil
	}
	ireq := txn.InitRequest{TransactionTimeoutMs: r.TransactionTimeoutMillis, ProducerID: r.ProducerID, ProducerEpoch: r.ProducerEpoch}
	if r.TransactionalID != nil {
		ireq.TransactionalID = *r.TransactionalID
	}
	version := req.Version
	// Allocating ids and writing __transaction_state wait for commits: off the read loop.
	return Response{Finish: func(ctx context.Context) (Response, error) {
		res, err := env.Txns.InitProducerID(ctx, ireq)
		if err != nil {
			resp.ErrorCode = txnErrorCode(err, version, 4)
			return Reply(resp), nil
		}
		resp.ProducerID, resp.ProducerEpoch = res.ProducerID, res.ProducerEpoch
		return Reply(resp), nil
	}}, nil
}

// txnErrorCode maps a transaction coordinator error; request versions below fencedFrom know
// PRODUCER_FENCED only as INVALID_PRODUCER_EPOCH.
func txnErrorCode(err error, version, fencedFrom int16) int16 {
	code := ErrorCode(err)
	if code == kerr.ProducerFenced.Code && version < fencedFrom {
		return kerr.InvalidProducerEpoch.Code
	}
	return code
}

// authorizeInitProducerID: a transactional producer needs Write on its transactional id (else
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED); an idempotent one IdempotentWrite on the cluster or
// Write on some topic (KIP-679; else CLUSTER_AUTHORIZATION_FAILED).
func authorizeInitProducerID(env *Env, req *Request, r *kmsg.InitProducerIDRequest) int16 {
	if r.TransactionalID != nil {
		if !env.Authorize(req, opWrite, resTransactionID, *r.TransactionalID) {
			return kerr.TransactionalIDAuthorizationFailed.Code
		}
		return 0
	}
	if !env.AuthorizeCluster(req, opIdempotentWrite) && !env.AuthorizeByResourceType(req, opWrite, resTopic) {
		return kerr.ClusterAuthorizationFailed.Code
	}
	return 0
}
