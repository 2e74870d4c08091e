package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeTransactions: v0
//
// Behavior:
//   - Each transactional id's state (Kafka's state names), producer id and epoch, timeout,
//     start time (-1 without a transaction) and partitions. An unknown id:
//     TRANSACTIONAL_ID_NOT_FOUND.
//
//   - Authorization: Describe on each transactional id, else TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
//     only the partitions of topics the principal may Describe are listed.
//
// Version notes:
//   - v0: flexible.

func init() { Register(API{Key: 65, MinVersion: 0, MaxVersion: 0, Handle: handleDescribeTransactions}) }

func handleDescribeTransactions(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DescribeTransactionsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	for _, id := range r.TransactionalIDs {
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.ProducerEpoch, st.StartTimestamp = id, -1, -1, -1
		if !env.Authorize(req, opDescribe, resTransactionID, id) {
			st.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			resp.TransactionStates = append(resp.TransactionStates, st)
			continue
		}
		if env.Txns == nil {
			st.ErrorCode = kerr.CoordinatorNotAvailable.Code
			resp.TransactionStates = append(resp.TransactionStates, st)
			continue
		}
		d, err := env.Txns.Describe(id)
		if err != nil {
			st.ErrorCode = ErrorCode(err)
			resp.TransactionStates = append(resp.TransactionStates, st)
			continue
		}
		st.State, st.TimeoutMillis, st.StartTimestamp = d.State.String(), d.TimeoutMs, d.StartMs
		st.ProducerID, st.ProducerEpoch = d.ProducerID, d.ProducerEpoch
		for _, t := range d.Partitions.Topics() {
			if !env.Authorize(req, opDescribe, resTopic, t) {
				continue // only the partitions of topics it may Describe
			}
			rt := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
			rt.Topic, rt.Partitions = t, d.Partitions[t]
			st.Topics = append(st.Topics, rt)
		}
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return Reply(resp), nil
}
