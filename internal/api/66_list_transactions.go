package api

import (
	"context"
	"regexp"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/txn"
)

// ListTransactions: v0–2
//
// Behavior:
//   - Every transactional id this coordinator knows, filtered by state names and producer
//     ids (empty filters match all). State names this broker does not know are returned in
//     unknownStateFilters and match nothing.
//
//   - Authorization: only the transactional ids the principal may Describe are listed.
//
// Version notes:
//   - v0: flexible. v1: duration filter (transactions running at least that long).
//   - v2: transactional id pattern (a regular expression; an invalid one is INVALID_REQUEST).

func init() { Register(API{Key: 66, MinVersion: 0, MaxVersion: 2, Handle: handleListTransactions}) }

func handleListTransactions(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ListTransactionsRequest)
	resp := r.ResponseKind().(*kmsg.ListTransactionsResponse)
	if env.Txns == nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return Reply(resp), nil
	}
	var pattern *regexp.Regexp
	if req.Version >= 2 && r.TransactionalIDPattern != nil && *r.TransactionalIDPattern != "" {
		re, err := regexp.Compile(*r.TransactionalIDPattern)
		if err != nil {
			resp.ErrorCode = kerr.InvalidRequest.Code
			return Reply(resp), nil
		}
		pattern = re
	}
	f := txn.ListFilter{ProducerIDs: r.ProducerIDFilters, MinDurationMs: r.DurationFilterMillis}
	for _, name := range r.StateFilters {
		s, ok := txn.ParseState(name)
		if !ok {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, name)
			continue
		}
		f.States = append(f.States, s)
	}
	if len(r.StateFilters) > 0 && len(f.States) == 0 {
		return Reply(resp), nil // only unknown states: nothing matches
	}
	list, err := env.Txns.List(f)
	if err != nil {
		resp.ErrorCode = ErrorCode(err)
		return Reply(resp), nil
	}
	for _, d := range list {
		if pattern != nil && !pattern.MatchString(d.TransactionalID) || !env.Authorize(req, opDescribe, resTransactionID, d.TransactionalID) {
			continue
		}
		st := kmsg.NewListTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.TransactionState = d.TransactionalID, d.ProducerID, d.State.String()
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return Reply(resp), nil
}
