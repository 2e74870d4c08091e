package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/record"
)

// Produce: v0–13
//
// Behavior:
//   - Each partition's records are validated and appended by its leader
//     (partition.Append); errors are per partition and reject all of that
//     partition's records: UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID by
//     id in v13), NOT_LEADER_OR_FOLLOWER (with the current leader and its
//     endpoint, KIP-951), CORRUPT_MESSAGE (bad CRC or framing),
//     INVALID_RECORD (with per-record errors, KIP-467), MESSAGE_TOO_LARGE,
//     NOT_ENOUGH_REPLICAS.
//   - Validation stops at the first bad batch, as Kafka's; per-record errors
//     list at most partition.MaxRecordErrors (100) records per partition and
//     partition.MaxRequestRecordErrors (1000) per request (past that, one per
//     rejected partition). Kafka lists every bad record of the batch.
//   - A request may decompress at most 16 times its record bytes (at least
//     8 MiB) across all its partitions (partition.DecompressBudget; Kafka
//     has no such bound): the partition whose batch passes it, and every
//     later compressed one, gets INVALID_RECORD.
//   - Idempotent and transactional producers (partition.Append): a retry of
//     one of the producer's last five batches is answered with the offsets
//     the original got (and, with acks=-1, once those are committed);
//     OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH (an older epoch;
//     Kafka answers this rather than PRODUCER_FENCED since 2.7, at every
//     version) and INVALID_TXN_STATE (a plain batch inside an open
//     transaction) reject the partition's records. Duplicates are not
//     counted in the topic metrics.
//   - Schema id validation (sluice.{key,value}.schema.id.validation, schema_ids.go): with it
//     on, a key or value without the magic byte and a schema id registered under the topic's
//     subject refuses the partition's records with INVALID_RECORD and per-record errors.
//   - Transactional batches are verified with the transaction coordinator first (KIP-890
//     part 1): a partition not in the producer's ongoing transaction is INVALID_TXN_STATE,
//     so a late write of an ended transaction cannot open a hanging one.
//   - Every partition of the request is appended first; then one wait, off
//     the read loop (Response.Finish), covers them all, so a connection's
//     pipelined requests keep being read while earlier ones wait.
//   - acks=1 answers once appended (with sluice.group.commit: once durable,
//     i.e. the log's durable offset passes the records; so an acknowledged
//     record is never one a power loss takes back); acks=-1 answers once the
//     high watermark passes the records (NOT_ENOUGH_REPLICAS_AFTER_APPEND if
//     the ISR shrinks; REQUEST_TIMED_OUT after TimeoutMillis); a failed
//     fsync is KAFKA_STORAGE_ERROR. A retried duplicate is answered under
//     the same wait, so never before its original is durable. Any other acks
//     value is INVALID_REQUIRED_ACKS.
//   - acks=0 sends no response; if any partition failed the connection is
//     closed instead, as Kafka does, so the producer notices.
//   - Partitions of one connection are appended in request order.
//   - The request's size counts against the client's producer_byte_rate (client quotas,
//     KIP-13): over it, throttle_time_ms says for how long, and the connection is muted for
//     that long after the response (KIP-219; with acks=0 at once).
//   - Authorization (with an authorizer): transactional records need Write on the
//     transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition);
//     each topic needs Write (else TOPIC_AUTHORIZATION_FAILED for its partitions, before
//     its existence is checked). Idempotence needs nothing here: InitProducerId checks it
//     (KIP-679).
//
// Version notes:
//   - v0–v2 carry legacy message sets (magic 0/1; magic 2 batches are
//     accepted too, as Kafka did): each partition's set is converted into
//     one v2 batch after the leader check (partition.ConvertLegacy: every
//     CRC checked, CORRUPT_MESSAGE; a compressed wrapper must be the set's
//     only message and holds no compressed or other-magic messages,
//     INVALID_RECORD; producer LogAppendTime, INVALID_TIMESTAMP; zstd,
//     UNSUPPORTED_COMPRESSION_TYPE; decompression within the request's
//     budget) and appended as any batch (no producer id: no idempotence at
//     these versions). v3+ with a legacy set: INVALID_RECORD, as Kafka's
//     ProduceRequest.validateRecords.
//   - v2: LogAppendTime. v3: transactional id. v5: LogStartOffset.
//   - v8: per-record errors and error message (KIP-467).
//   - v9: flexible. v10: current leader and node endpoints (KIP-951).
//   - v13: topics by id (KIP-516).

func init() {
	Register(API{Key: 0, MinVersion: 0, MaxVersion: 13, Handle: handleProduce})
}

// errProduceFailedAcks0 closes an acks=0 connection whose produce failed.
var errProduceFailedAcks0 = errors.New("api: produce with acks=0 failed")

// awaitingCommit is a partition whose records are appended but not yet
// acknowledged: committed (acks=-1) or durable (acks=1).
type awaitingCommit struct {
	p           *partition.Partition
	end         int64 // done once the high watermark (acks=-1) or durable offset (acks=1) reaches it
	acks        int16
	topic, part int // index into the response
}

// check reports whether a's records can be acknowledged.
func (a awaitingCommit) check() (bool, error) {
	if a.acks == 1 {
		return a.p.Durable(a.end)
	}
	return a.p.Committed(a.end)
}

func handleProduce(ctx context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ProduceRequest)
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	img := env.Metadata.Image()
	leaders := leaderEndpoints{img: img, listener: req.Conn.Listener}
	if r.Version < 3 && !env.Versions.Legacy() {
		// As Kafka 4: v0–v2 stay advertised (librdkafka needs v0 listed, KAFKA-18659) but
		// are answered UNSUPPORTED_VERSION.
		return produceFailAll(r, resp, kerr.UnsupportedVersion.Code)
	}
	if code := authorizeTransactionalProduce(env, req, r); code != 0 {
		return produceFailAll(r, resp, code)
	}
	var waiting []awaitingCommit
	failed := false
	budget := partition.NewDecompressBudget(produceRecordBytes(r))
	for ti, rt := range r.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		t, topicCode := produceTopic(img, r.Version, rt)
		if name := rt.Topic; (r.Version < 13 || t != nil) && !env.Authorize(req, opWrite, resTopic, topicName(t, name)) {
			topicCode = kerr.TopicAuthorizationFailed.Code // before existence: nothing is disclosed
		}
		for pi, rp := range rt.Partitions {
			sp, p, last := producePartition(ctx, env, t, topicCode, r, rp, &leaders, budget)
			if sp.ErrorCode != 0 {
				failed = true
			} else if r.Acks != 0 && last >= 0 {
				waiting = append(waiting, awaitingCommit{p: p, end: last + 1, acks: r.Acks, topic: ti, part: pi})
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	throttle := produceThrottle(env, req, img)
	if r.Acks == 0 {
		if failed {
			return Response{}, errProduceFailedAcks0
		}
		return Response{Throttle: throttle}, nil
	}
	resp.ThrottleMillis = throttleMillis(throttle)
	resp.Brokers = leaders.produceEndpoints()
	if allCommitted(resp, waiting) {
		return Reply(resp), nil
	}
	timeout := time.Duration(r.TimeoutMillis) * time.Millisecond
	return Response{Finish: func(ctx context.Context) (Response, error) {
		awaitCommit(ctx, resp, waiting, timeout)
		return Reply(resp), nil
	}}, nil
}

// produceThrottle records the request against the client's producer_byte_rate (the whole
// request's size, as Kafka counts it) and returns the throttle time.
func produceThrottle(env *Env, req *Request, img *metadata.Image) time.Duration {
	if env.Quotas == nil {
		return 0
	}
	size := req.Size
	if size == 0 {
		size = produceRecordBytes(req.Msg.(*kmsg.ProduceRequest))
	}
	return env.Quotas.RecordProduce(QuotaClient(req, img), int64(size))
}

// topicName is t's name, or name when t is nil (a topic requested by a name that does not
// exist).
func topicName(t *metadata.Topic, name string) string {
	if t != nil {
		return t.Name
	}
	return name
}

// authorizeTransactionalProduce: a request whose records are transactional (the first batch
// of some partition has the transactional flag, as Kafka's RequestUtils checks) needs Write
// on its transactional id; else the whole request fails TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
func authorizeTransactionalProduce(env *Env, req *Request, r *kmsg.ProduceRequest) int16 {
	if env.Authorizer == nil {
		return 0
	}
	for _, rt := range r.Topics {
		for _, rp := range rt.Partitions {
			h, err := record.ReadHeader(rp.Records)
			if err != nil || !h.IsTransactional() {
				continue
			}
			if r.TransactionID == nil || !env.Authorize(req, opWrite, resTransactionID, *r.TransactionID) {
				return kerr.TransactionalIDAuthorizationFailed.Code
			}
			return 0
		}
	}
	return 0
}

// produceFailAll answers every partition of r with code (no response for acks=0: the
// connection is closed, as for any failed acks=0 produce).
func produceFailAll(r *kmsg.ProduceRequest, resp *kmsg.ProduceResponse, code int16) (Response, error) {
	if r.Acks == 0 {
		return Response{}, errProduceFailedAcks0
	}
	for _, rt := range r.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition, sp.ErrorCode, sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = rp.Partition, code, -1, -1, -1
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return Reply(resp), nil
}

// produceRecordBytes is the size of every record set in a produce request,
// which its decompression budget is proportional to.
func produceRecordBytes(r *kmsg.ProduceRequest) int {
	n := 0
	for _, rt := range r.Topics {
		for _, rp := range rt.Partitions {
			n += len(rp.Records)
		}
	}
	return n
}

// produceTopic resolves a produce topic by name, or by id in v13.
func produceTopic(img *metadata.Image, version int16, rt kmsg.ProduceRequestTopic) (*metadata.Topic, int16) {
	if version >= 13 {
		if t, ok := img.TopicByID(metadata.TopicID(rt.TopicID)); ok {
			return t, 0
		}
		return nil, kerr.UnknownTopicID.Code
	}
	if t, ok := img.Topic(rt.Topic); ok {
		return t, 0
	}
	return nil, kerr.UnknownTopicOrPartition.Code
}

// producePartition appends one partition's records and fills its answer;
// on success it also returns the partition and the last offset appended
// (-1 when nothing was).
func producePartition(ctx context.Context, env *Env, t *metadata.Topic, topicCode int16, r *kmsg.ProduceRequest, rp kmsg.ProduceRequestTopicPartition,
	leaders *leaderEndpoints, budget *partition.DecompressBudget) (kmsg.ProduceResponseTopicPartition, *partition.Partition, int64) {
	acks, version, transactionalID := r.Acks, r.Version, r.TransactionID
	sp := kmsg.NewProduceResponseTopicPartition()
	sp.Partition, sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = rp.Partition, -1, -1, -1
	if acks != 0 && acks != 1 && acks != -1 {
		sp.ErrorCode = kerr.InvalidRequiredAcks.Code
		return sp, nil, -1
	}
	if topicCode != 0 {
		sp.ErrorCode = topicCode
		return sp, nil, -1
	}
	p, code := hostedPartition(env, t, rp.Partition)
	if code != 0 {
		sp.ErrorCode = code
		if code == kerr.NotLeaderForPartition.Code {
			sp.CurrentLeader.LeaderID, sp.CurrentLeader.LeaderEpoch = leaders.currentLeader(t, rp.Partition)
		}
		return sp, nil, -1
	}
	if code := verifyTransactionalBatch(env, transactionalID, t.Name, rp); code != 0 {
		sp.ErrorCode = code // KIP-890: the partition is not in the producer's ongoing transaction
		return sp, nil, -1
	}
	records, converted := rp.Records, false
	if record.IsLegacy(records) {
		if version >= 3 {
			sp.ErrorCode = kerr.InvalidRecord.Code
			sp.ErrorMessage = ErrorMessage(fmt.Errorf("produce requests with version %d are only allowed to contain record batches with magic version 2", version))
			return sp, nil, -1
		}
		batch, release, err := partition.ConvertLegacy(records, budget)
		if err != nil {
			setProduceError(&sp, err)
			return sp, nil, -1
		}
		defer release()
		records, converted = batch, true
	}
	if schemaIDValidationOn(t) {
		if cfg := p.Config().SchemaIDs; cfg.On() {
			if err := checkSchemaIDs(ctx, env.SchemaIDs, t.Name, rp.Partition, cfg, records, budget); err != nil {
				setProduceError(&sp, err)
				return sp, nil, -1
			}
		}
	}
	res, err := p.AppendWithin(records, acks, budget)
	if err != nil {
		setProduceError(&sp, err)
		if sp.ErrorCode == kerr.NotLeaderForPartition.Code {
			sp.CurrentLeader.LeaderID, sp.CurrentLeader.LeaderEpoch = leaders.currentLeader(t, rp.Partition)
		}
		return sp, nil, -1
	}
	sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = res.BaseOffset, res.LogAppendTime, res.LogStartOffset
	if env.TopicMetrics != nil && res.BaseOffset >= 0 && !res.Duplicate {
		env.TopicMetrics.ProducedTo(t.Name, int64(len(rp.Records)), res.LastOffset-res.BaseOffset+1)
		if m, ok := env.TopicMetrics.(ConversionMetrics); ok && converted {
			m.ProduceConverted(t.Name, res.LastOffset-res.BaseOffset+1) // Kafka's ProduceMessageConversionsPerSec
		}
	}
	return sp, p, res.LastOffset
}

// setProduceError fills a partition's error code, message and, for
// invalid records, the per-record errors (KIP-467).
func setProduceError(sp *kmsg.ProduceResponseTopicPartition, err error) {
	sp.ErrorCode = ErrorCode(err)
	sp.ErrorMessage = ErrorMessage(err)
	var recErrs *partition.RecordErrors
	if errors.As(err, &recErrs) {
		for _, re := range recErrs.Records {
			er := kmsg.NewProduceResponseTopicPartitionErrorRecord()
			msg := re.Message
			er.RelativeOffset, er.ErrorMessage = re.BatchIndex, &msg
			sp.ErrorRecords = append(sp.ErrorRecords, er)
		}
	}
}

// allCommitted reports whether every awaited partition can already be
// acknowledged, recording errors for those that cannot be.
func allCommitted(resp *kmsg.ProduceResponse, waiting []awaitingCommit) bool {
	all := true
	for _, w := range waiting {
		ok, err := w.check()
		if err != nil {
			setProduceError(&resp.Topics[w.topic].Partitions[w.part], err)
			continue
		}
		all = all && ok
	}
	return all
}

// awaitCommit waits until every awaited partition is committed, failed, or
// the timeout (or ctx) ends the wait; partitions still waiting then get
// REQUEST_TIMED_OUT.
func awaitCommit(ctx context.Context, resp *kmsg.ProduceResponse, waiting []awaitingCommit, timeout time.Duration) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	w := partition.NewWaiter()
	done := make([]bool, len(waiting))
	for {
		remaining := 0
		for i, a := range waiting {
			if done[i] {
				continue
			}
			a.p.Watch(w)
			ok, err := a.check()
			switch {
			case err != nil:
				setProduceError(&resp.Topics[a.topic].Partitions[a.part], err)
				done[i] = true
			case ok:
				done[i] = true
			default:
				remaining++
			}
		}
		if remaining == 0 {
			break
		}
		select {
		case <-w.C():
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		for i, a := range waiting {
			if !done[i] {
				sp := &resp.Topics[a.topic].Partitions[a.part]
				sp.ErrorCode = kerr.RequestTimedOut.Code
				sp.ErrorMessage = ErrorMessage(fmt.Errorf("records appended at %d not committed in time", sp.BaseOffset))
			}
		}
		break
	}
	for _, a := range waiting {
		a.p.Unwatch(w)
	}
}
