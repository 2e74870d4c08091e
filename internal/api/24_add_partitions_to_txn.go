package api

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/txn"
)

// AddPartitionsToTxn: v0–5
//
// Behavior:
//   - Adds partitions to the producer's transaction (starting it) once the new state is
//     durable in __transaction_state; partitions already in the transaction cost no write.
//   - A partition that does not exist: UNKNOWN_TOPIC_OR_PARTITION, and the request's other
//     partitions OPERATION_NOT_ATTEMPTED, as in Kafka.
//   - Coordinator errors apply to every partition: INVALID_PRODUCER_ID_MAPPING (unknown
//     transactional id or another producer id), PRODUCER_FENCED (an older epoch),
//     CONCURRENT_TRANSACTIONS (the previous transaction is still writing its markers).
//   - v4+ verifyOnly (KIP-890, sent by brokers): nothing is added; each partition answers
//     NONE if it is in the ongoing transaction, INVALID_TXN_STATE otherwise.
//
//   - Authorization: v4+ (broker to coordinator) needs ClusterAction on the cluster (else a
//     top-level CLUSTER_AUTHORIZATION_FAILED); v0–3 Write on the transactional id (else
//     TRANSACTIONAL_ID_AUTHORIZATION_FAILED everywhere) and on each topic, internal topics
//     never: a refused topic's partitions are TOPIC_AUTHORIZATION_FAILED and nothing is added
//     (the others OPERATION_NOT_ATTEMPTED, or UNKNOWN_TOPIC_OR_PARTITION).
//
// Version notes:
//   - v2: PRODUCER_FENCED (older versions get INVALID_PRODUCER_EPOCH). v3: flexible.
//   - v4: batched transactions with a top-level error code. v5: no change here.

func init() { Register(API{Key: 24, MinVersion: 0, MaxVersion: 5, Handle: handleAddPartitionsToTxn}) }

func handleAddPartitionsToTxn(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.AddPartitionsToTxnRequest)
	resp := r.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	if req.Version >= 4 {
		if !env.AuthorizeCluster(req, opClusterAction) { // v4+ comes from brokers only
			resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
			return Reply(resp), nil
		}
		return addPartitionsBatched(env, r, resp), nil
	}
	if codes := authorizeAddPartitions(env, req, r); codes != nil {
		resp.Topics = addPartitionsResult(r.Topics, codes)
		return Reply(resp), nil
	}
	parts := txn.TopicPartitions{}
	for _, t := range r.Topics {
		parts[t.Topic] = append(parts[t.Topic], t.Partitions...)
	}
	version := req.Version
	return Response{Finish: func(ctx context.Context) (Response, error) {
		codes := addPartitions(ctx, env, r.TransactionalID, r.ProducerID, r.ProducerEpoch, parts, version)
		resp.Topics = addPartitionsResult(r.Topics, codes)
		return Reply(resp), nil
	}}, nil
}

// addPartitions adds parts to a transaction and returns each partition's error code.
func addPartitions(ctx context.Context, env *Env, id string, producerID int64, epoch int16, parts txn.TopicPartitions, version int16) map[string]map[int32]int16 {
	codes := map[string]map[int32]int16{}
	img := env.Metadata.Image()
	unknown := false
	for t, ps := range parts {
		codes[t] = map[int32]int16{}
		topic, ok := img.Topic(t)
		for _, p := range ps {
			if _, exists := partitionOf(topic, ok, p); !exists {
				codes[t][p] = kerr.UnknownTopicOrPartition.Code
				unknown = true
			}
		}
	}
	var all int16
	switch {
	case unknown:
		all = kerr.OperationNotAttempted.Code
	case env.Txns == nil:
		all = kerr.CoordinatorNotAvailable.Code
	default:
		all = txnErrorCode(env.Txns.AddPartitions(ctx, id, producerID, epoch, parts), version, 2)
	}
	for t, ps := range parts {
		for _, p := range ps {
			if codes[t][p] == 0 {
				codes[t][p] = all
			}
		}
	}
	return codes
}

func partitionOf(t *metadata.Topic, ok bool, p int32) (*metadata.Partition, bool) {
	if !ok {
		return nil, false
	}
	return t.Partition(p)
}

func addPartitionsResult(topics []kmsg.AddPartitionsToTxnRequestTopic, codes map[string]map[int32]int16) []kmsg.AddPartitionsToTxnResponseTopic {
	var out []kmsg.AddPartitionsToTxnResponseTopic
	for _, t := range topics {
		rt := kmsg.NewAddPartitionsToTxnResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, codes[t.Topic][p]
			rt.Partitions = append(rt.Partitions, rp)
		}
		out = append(out, rt)
	}
	return out
}

// addPartitionsBatched answers v4+: several transactions, some only verified.
func addPartitionsBatched(env *Env, r *kmsg.AddPartitionsToTxnRequest, resp *kmsg.AddPartitionsToTxnResponse) Response {
	if env.Txns == nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return Reply(resp)
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		for _, t := range r.Transactions {
			parts := txn.TopicPartitions{}
			var topics []kmsg.AddPartitionsToTxnRequestTopic
			for _, tt := range t.Topics {
				parts[tt.Topic] = append(parts[tt.Topic], tt.Partitions...)
				topics = append(topics, kmsg.AddPartitionsToTxnRequestTopic{Topic: tt.Topic, Partitions: tt.Partitions})
			}
			var codes map[string]map[int32]int16
			if t.VerifyOnly {
				codes = verifyPartitions(env, t.TransactionalID, t.ProducerID, t.ProducerEpoch, parts)
			} else {
				codes = addPartitions(ctx, env, t.TransactionalID, t.ProducerID, t.ProducerEpoch, parts, r.Version)
			}
			rt := kmsg.NewAddPartitionsToTxnResponseTransaction()
			rt.TransactionalID = t.TransactionalID
			for _, topic := range addPartitionsResult(topics, codes) {
				tr := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
				tr.Topic = topic.Topic
				for _, p := range topic.Partitions {
					tp := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
					tp.Partition, tp.ErrorCode = p.Partition, p.ErrorCode
					tr.Partitions = append(tr.Partitions, tp)
				}
				rt.Topics = append(rt.Topics, tr)
			}
			resp.Transactions = append(resp.Transactions, rt)
		}
		return Reply(resp), nil
	}}
}

func verifyPartitions(env *Env, id string, producerID int64, epoch int16, parts txn.TopicPartitions) map[string]map[int32]int16 {
	res, err := env.Txns.VerifyPartitions(id, producerID, epoch, parts)
	codes := map[string]map[int32]int16{}
	for t, ps := range parts {
		codes[t] = map[int32]int16{}
		for _, p := range ps {
			if err != nil {
				codes[t][p] = ErrorCode(err)
			} else {
				codes[t][p] = ErrorCode(res[t][p])
			}
		}
	}
	return codes
}

// verifyTransactionalBatch checks a produce of transactional records against the transaction
// coordinator (KIP-890 part 1, done in-process on a single node): the partition must be in the
// producer's ongoing transaction. It returns the produce error code, 0 to go on. Epochs are
// left to the partition's own checks (INVALID_PRODUCER_EPOCH); a coordinator that cannot answer
// yet gives the retriable NOT_ENOUGH_REPLICAS, as Kafka maps it.
func verifyTransactionalBatch(env *Env, transactionalID *string, topic string, rp kmsg.ProduceRequestTopicPartition) int16 {
	if env.Txns == nil || transactionalID == nil || len(rp.Records) < record.HeaderSize {
		return 0
	}
	h, err := record.ReadHeader(rp.Records)
	if err != nil || !h.IsTransactional() || h.ProducerID < 0 {
		return 0 // the partition's validation answers bad bytes
	}
	res, err := env.Txns.VerifyPartitions(*transactionalID, h.ProducerID, h.ProducerEpoch, txn.TopicPartitions{topic: {rp.Partition}})
	switch {
	case errors.Is(err, txn.ErrProducerFenced):
		return 0
	case errors.Is(err, txn.ErrNotCoordinator):
		// The id's coordinator is another broker; verification does not yet ask it over the
		// network (Kafka's AddPartitionsToTxn v4 verifyOnly), so the partition's own producer
		// checks stand alone, as before KIP-890.
		return 0
	case errors.Is(err, txn.ErrCoordinatorLoading), errors.Is(err, txn.ErrCoordinatorNotAvailable):
		return kerr.NotEnoughReplicas.Code
	case err != nil:
		return kerr.InvalidTxnState.Code
	case res[topic][rp.Partition] != nil:
		return kerr.InvalidTxnState.Code
	}
	return 0
}

// authorizeAddPartitions checks a client's AddPartitionsToTxn (v0–3): Write on the
// transactional id (else every partition TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and on each
// topic (internal topics never). If a topic is refused, nothing is added: its partitions are
// TOPIC_AUTHORIZATION_FAILED, those of missing topics UNKNOWN_TOPIC_OR_PARTITION, the rest
// OPERATION_NOT_ATTEMPTED. Nil when the request may go on.
func authorizeAddPartitions(env *Env, req *Request, r *kmsg.AddPartitionsToTxnRequest) map[string]map[int32]int16 {
	if env.Authorizer == nil {
		return nil
	}
	all := func(code func(topic string, p int32) int16) map[string]map[int32]int16 {
		out := map[string]map[int32]int16{}
		for _, t := range r.Topics {
			if out[t.Topic] == nil {
				out[t.Topic] = map[int32]int16{}
			}
			for _, p := range t.Partitions {
				out[t.Topic][p] = code(t.Topic, p)
			}
		}
		return out
	}
	if !env.Authorize(req, opWrite, resTransactionID, r.TransactionalID) {
		return all(func(string, int32) int16 { return kerr.TransactionalIDAuthorizationFailed.Code })
	}
	writable := map[string]bool{}
	refused := false
	for _, t := range r.Topics {
		ok := !metadata.IsInternalTopic(t.Topic) && env.Authorize(req, opWrite, resTopic, t.Topic)
		writable[t.Topic] = ok
		refused = refused || !ok
	}
	if !refused {
		return nil
	}
	img := env.Metadata.Image()
	return all(func(topic string, p int32) int16 {
		if !writable[topic] {
			return kerr.TopicAuthorizationFailed.Code
		}
		if t, ok := img.Topic(topic); !ok || p < 0 || int(p) >= len(t.Partitions) {
			return kerr.UnknownTopicOrPartition.Code
		}
		return kerr.OperationNotAttempted.Code
	})
}
