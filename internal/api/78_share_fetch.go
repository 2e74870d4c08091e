package api

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/share"
)

// ShareFetch: v1–2 (KIP-932; v2 KIP-1206, KIP-1222)
//
// Behavior:
//   - Acquires records of a share group's partitions for a member (the share-partition
//     leader, internal/share): whole batches from the first Available offset, up to
//     MaxRecords (a batch may overshoot it, as Kafka's batch-optimized acquisition does) and
//     MaxBytes, at most share.partition.max.record.locks in flight per share-partition.
//     AcquiredRecords lists the offsets handed out with their delivery counts; Records holds
//     the batches containing them (spliced from the log, never copied), which may include
//     records acquired by others: the client keeps only its acquired offsets. Control
//     batches, and for share.isolation.level=read_committed aborted transactions' batches,
//     are archived, never delivered; read_committed stops at the last stable offset.
//   - Acquired records are locked to the member for share.record.lock.duration.ms
//     (AcquisitionLockTimeoutMillis); a timed-out lock makes them Available again with
//     their delivery count, or Archived at share.delivery.count.limit.
//   - Piggybacked AcknowledgementBatches (0 gap, 1 accept, 2 release, 3 reject; 4 renew on
//     v2 with IsRenewAck) are applied first and written through the share coordinator
//     (share.Persister) before the answer; failures are AcknowledgeErrorCode
//     (INVALID_RECORD_STATE for records the member does not hold).
//   - Share sessions (KIP-932): epoch 0 opens a member's session (replacing its old one;
//     acknowledgements are INVALID_REQUEST there; SHARE_SESSION_LIMIT_REACHED past
//     group.share.max.share.sessions), later epochs must be the session's next epoch
//     (INVALID_SHARE_SESSION_EPOCH; SHARE_SESSION_NOT_FOUND without a session) and add
//     Topics and drop ForgottenTopicsData, epoch -1 applies the acknowledgements, releases
//     the member's remaining records and closes the session. A session closes, releasing
//     its records, when the connection that opened it closes.
//   - Long poll: with nothing to acquire and MaxWaitMillis > 0 the request waits, off the
//     read loop, for appends to the session's partitions or records released, up to
//     MaxWaitMillis.
//   - Per-partition errors: UNKNOWN_TOPIC_ID, TOPIC_AUTHORIZATION_FAILED,
//     NOT_LEADER_OR_FOLLOWER with CurrentLeader and NodeEndpoints (KIP-951),
//     UNKNOWN_TOPIC_OR_PARTITION; persister failures with their Kafka code.
//   - Authorization: READ on the group (else GROUP_AUTHORIZATION_FAILED) and READ on each
//     topic.
//
// Version notes:
//   - v0 (Kafka 4.0 early access) is not served, as Kafka 4.1 on.
//   - v1: MaxRecords, BatchSize. v2: ShareAcquireMode, IsRenewAck (renew acknowledgements
//     only: no fetch parameters, every partition with acknowledgements).

func init() {
	Register(API{Key: 78, MinVersion: 1, MaxVersion: 2, Handle: handleShareFetch})
}

// ShareAcquireMode values (KIP-1206).
const (
	shareAcquireBatchOptimized int8 = 0
	shareAcquireRecordLimit    int8 = 1
)

// splitAcquired cuts acquired ranges into pieces of at most batchSize offsets
// (batch_optimized with BatchSize: the client acknowledges in those pieces).
func splitAcquired(in []share.Acquired, batchSize int64) []share.Acquired {
	var out []share.Acquired
	for _, a := range in {
		for first := a.FirstOffset; first <= a.LastOffset; first += batchSize {
			out = append(out, share.Acquired{FirstOffset: first, LastOffset: min(first+batchSize-1, a.LastOffset), DeliveryCount: a.DeliveryCount})
		}
	}
	return out
}

// defaultShareMaxRecords is what a fetch without MaxRecords acquires at most (Kafka's
// share.max.fetch.records default for clients).
const defaultShareMaxRecords = 500

// shareEntry is one partition of a ShareFetch or ShareAcknowledge answer.
type shareEntry struct {
	key      sharePartitionKey
	topic    *metadata.Topic
	code     int16
	ackCode  int16
	leader   int32
	epoch    int32
	fetched  share.FetchResult
	log      *partition.Partition
	sp       *share.Partition
	acked    bool
	included bool
}

// shareFetch is one ShareFetch in progress.
type shareFetch struct {
	env     *Env
	req     *Request
	r       *kmsg.ShareFetchRequest
	img     *metadata.Image
	group   string
	member  string
	cfg     share.GroupConfig
	session *shareSession
	final   bool
	renew   bool
	readers authorizedTopics
	leaders leaderEndpoints
	entries []*shareEntry
}

func handleShareFetch(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ShareFetchRequest)
	resp := r.ResponseKind().(*kmsg.ShareFetchResponse)
	fail := func(code int16) (Response, error) {
		resp.ErrorCode = code
		return Reply(resp), nil
	}
	group, member := derefString(r.GroupID), derefString(r.MemberID)
	cfg, code := env.sharePrelude(req, group, member, &resp.AcquisitionLockTimeoutMillis)
	if code != 0 {
		return fail(code)
	}
	renew := r.Version >= 2 && r.IsRenewAck
	if renew && !validRenewFetch(r) {
		return fail(kerr.InvalidRequest.Code)
	}
	var requested, forgotten []sharePartitionKey
	hasAcks := false
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			requested = append(requested, sharePartitionKey{t.TopicID, p.Partition})
			hasAcks = hasAcks || len(p.AcknowledgementBatches) > 0
		}
	}
	for _, t := range r.ForgottenTopicsData {
		for _, p := range t.Partitions {
			forgotten = append(forgotten, sharePartitionKey{t.TopicID, p})
		}
	}
	key := shareSessionKey{group, member}
	var sess *shareSession
	switch r.ShareSessionEpoch {
	case shareInitialEpoch:
		if hasAcks {
			return fail(kerr.InvalidRequest.Code)
		}
		if sess, code = env.ShareSessions.open(key, requested); code == 0 {
			env.watchShareConnection(req.Conn.Closed, sess)
		}
	case shareFinalEpoch:
		sess, code = env.ShareSessions.remove(key)
	default:
		sess, code = env.ShareSessions.next(key, r.ShareSessionEpoch, requested, forgotten)
	}
	if code != 0 {
		return fail(code)
	}
	img := env.Metadata.Image()
	sf := &shareFetch{env: env, req: req, r: r, img: img, group: group, member: member, cfg: cfg, session: sess,
		final: r.ShareSessionEpoch == shareFinalEpoch, renew: renew,
		readers: env.topicAuthorizer(req, opRead), leaders: leaderEndpoints{img: img, listener: req.Conn.Listener}}
	return Response{Finish: sf.run}, nil
}

// sharePrelude is what ShareFetch and ShareAcknowledge check first: share groups are served,
// the group's config (its record lock duration is answered in *lockTimeout whatever the
// outcome), READ on the group, and a member id Kafka accepts. It returns a non-zero error code
// for the whole request.
func (env *Env) sharePrelude(req *Request, group, member string, lockTimeout *int32) (share.GroupConfig, int16) {
	if env.Shares == nil || env.ShareSessions == nil {
		return share.GroupConfig{}, kerr.UnsupportedVersion.Code
	}
	cfg := env.Shares.Config(group)
	*lockTimeout = int32(cfg.RecordLockDuration.Milliseconds())
	if !env.Authorize(req, opRead, kmsg.ACLResourceTypeGroup, group) {
		return cfg, kerr.GroupAuthorizationFailed.Code
	}
	if member == "" || len(member) > 36 {
		return cfg, kerr.InvalidRequest.Code
	}
	return cfg, 0
}

// validRenewFetch: a renew-only ShareFetch (KIP-1222) asks for nothing and acknowledges
// every partition it names.
func validRenewFetch(r *kmsg.ShareFetchRequest) bool {
	if r.MaxBytes != 0 || r.MinBytes != 0 || r.MaxRecords != 0 || r.MaxWaitMillis != 0 {
		return false
	}
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			if len(p.AcknowledgementBatches) == 0 {
				return false
			}
		}
	}
	return true
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// run completes the fetch off the read loop: acknowledgements, then acquisition with the
// long poll.
func (sf *shareFetch) run(ctx context.Context) (Response, error) {
	now := sf.env.Shares.Now()
	for _, t := range sf.r.Topics {
		for _, p := range t.Partitions {
			if len(p.AcknowledgementBatches) == 0 {
				continue
			}
			e := sf.entry(sharePartitionKey{t.TopicID, p.Partition})
			e.acked = true
			e.ackCode = sf.env.shareAcknowledge(ctx, sf.req, &sf.readers, sf.group, sf.member, e, ackBatchesOf(p.AcknowledgementBatches), sf.cfg, now, sf.renew)
			sf.leaders.add(e.leader)
		}
	}
	if sf.final {
		sf.env.releaseShareSession(ctx, sf.session, sf.cfg)
		return sf.respond(), nil
	}
	if sf.renew {
		return sf.respond(), nil
	}
	parts, fresh := sf.env.ShareSessions.partitions(sf.session)
	var targets []*shareEntry
	for _, k := range parts {
		e := sf.entry(k)
		for _, f := range fresh {
			e.included = e.included || f == k
		}
		if sf.resolve(e) {
			targets = append(targets, e)
		}
	}
	if sf.acquire(ctx, targets) || sf.r.MaxWaitMillis <= 0 || len(targets) == 0 {
		return sf.respond(), nil
	}
	sf.longPoll(ctx, targets, time.Duration(sf.r.MaxWaitMillis)*time.Millisecond)
	return sf.respond(), nil
}

// entry returns k's answer entry, adding it.
func (sf *shareFetch) entry(k sharePartitionKey) *shareEntry {
	for _, e := range sf.entries {
		if e.key == k {
			return e
		}
	}
	e := &shareEntry{key: k, leader: -1, epoch: -1}
	sf.entries = append(sf.entries, e)
	return e
}

// resolve finds e's topic, checks READ and leadership; false when e is answered with an
// error.
func (sf *shareFetch) resolve(e *shareEntry) bool {
	e.code = sf.env.resolveSharePartition(sf.img, &sf.readers, &sf.leaders, e)
	if e.code != 0 {
		e.included = true
		return false
	}
	e.sp = sf.env.Shares.Partition(share.Key{Group: sf.group, TopicID: e.key.topicID, Partition: e.key.partition})
	return true
}

// resolveSharePartition sets e's topic and local partition: UNKNOWN_TOPIC_ID,
// TOPIC_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_OR_FOLLOWER (with
// the current leader) otherwise.
func (env *Env) resolveSharePartition(img *metadata.Image, readers *authorizedTopics, leaders *leaderEndpoints, e *shareEntry) int16 {
	t, _ := img.TopicByID(metadata.TopicID(e.key.topicID))
	if t == nil {
		return kerr.UnknownTopicID.Code
	}
	e.topic = t
	if !readers.allowed(t.Name) {
		return kerr.TopicAuthorizationFailed.Code
	}
	p, code := hostedPartition(env, t, e.key.partition)
	if code == 0 && !p.IsLeader() {
		code = kerr.NotLeaderForPartition.Code
	}
	if code == kerr.NotLeaderForPartition.Code {
		e.leader, e.epoch = leaders.currentLeader(t, e.key.partition)
	}
	e.log = p
	return code
}

// acquire acquires records from the targets in order within MaxRecords and MaxBytes; it
// reports whether the fetch should be answered now (records acquired or an error).
func (sf *shareFetch) acquire(ctx context.Context, targets []*shareEntry) bool {
	remaining := int(sf.r.MaxRecords)
	if remaining <= 0 {
		remaining = defaultShareMaxRecords
	}
	bytes := int64(sf.r.MaxBytes)
	answer := false
	now := sf.env.Shares.Now()
	for _, e := range targets {
		if remaining <= 0 || bytes <= 0 {
			break
		}
		first := !answer
		res, err := e.sp.Fetch(ctx, e.log, share.FetchParams{Member: sf.member, MaxRecords: remaining,
			MaxBytes: int32(min(bytes, 1<<31-1)), MinOneBatch: first, Config: sf.cfg, Now: now,
			Strict: sf.r.Version >= 2 && sf.r.ShareAcquireMode == shareAcquireRecordLimit})
		if err != nil {
			e.code, e.included, answer = ErrorCode(err), true, true
			if e.code == kerr.NotLeaderForPartition.Code || e.code == kerr.FencedLeaderEpoch.Code {
				e.code = kerr.NotLeaderForPartition.Code
				e.leader, e.epoch = sf.leaders.currentLeader(e.topic, e.key.partition)
			}
			continue
		}
		if len(res.Acquired) == 0 {
			continue
		}
		if sf.r.BatchSize > 0 && !(sf.r.Version >= 2 && sf.r.ShareAcquireMode == shareAcquireRecordLimit) {
			res.Acquired = splitAcquired(res.Acquired, int64(sf.r.BatchSize))
		}
		e.fetched, e.included, answer = res, true, true
		for _, a := range res.Acquired {
			remaining -= int(a.LastOffset - a.FirstOffset + 1)
		}
		bytes -= res.Records.Bytes()
	}
	return answer
}

// longPoll waits for appends to the targets' logs or records released in their
// share-partitions, acquiring again after each, until something is acquired, maxWait passes
// or ctx ends.
func (sf *shareFetch) longPoll(ctx context.Context, targets []*shareEntry, maxWait time.Duration) {
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	w := partition.NewWaiter()
	defer func() {
		for _, e := range targets {
			e.log.Unwatch(w)
			e.sp.Unwatch(w)
		}
	}()
	for {
		for _, e := range targets {
			e.log.Watch(w)
			e.sp.Watch(w)
		}
		if sf.acquire(ctx, targets) {
			return
		}
		select {
		case <-w.C():
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		case <-sf.session.closed:
			return
		}
	}
}

// respond builds the answer: every entry with acquired records, an error, an
// acknowledgement, or new to the session.
func (sf *shareFetch) respond() Response {
	resp := sf.r.ResponseKind().(*kmsg.ShareFetchResponse)
	resp.AcquisitionLockTimeoutMillis = int32(sf.cfg.RecordLockDuration.Milliseconds())
	var out Response
	var sent []*shareEntry
	for _, e := range sf.entries {
		if !e.included && !e.acked {
			continue
		}
		rp := kmsg.NewShareFetchResponseTopicPartition()
		rp.Partition, rp.ErrorCode, rp.AcknowledgeErrorCode = e.key.partition, e.code, e.ackCode
		rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = e.leader, e.epoch
		rp.Records = []byte{}
		if len(e.fetched.Acquired) > 0 {
			sp := NewSplice(regionSet(e.fetched.Records.Regions))
			rp.Records = sp.Placeholder
			out.Splices = append(out.Splices, sp)
			rp.AcquiredRecords = make([]kmsg.ShareFetchResponseTopicPartitionAcquiredRecord, 0, len(e.fetched.Acquired))
			for _, a := range e.fetched.Acquired {
				ar := kmsg.NewShareFetchResponseTopicPartitionAcquiredRecord()
				ar.FirstOffset, ar.LastOffset, ar.DeliveryCount = a.FirstOffset, a.LastOffset, a.DeliveryCount
				rp.AcquiredRecords = append(rp.AcquiredRecords, ar)
			}
			if m := sf.env.TopicMetrics; m != nil && e.topic != nil {
				m.FetchedFrom(e.topic.Name, e.fetched.Records.Bytes(), e.fetched.Records.NextOffset-e.fetched.Records.FirstOffset)
			}
			sent = append(sent, e)
		}
		var topic *kmsg.ShareFetchResponseTopic
		for i := range resp.Topics {
			if resp.Topics[i].TopicID == e.key.topicID {
				topic = &resp.Topics[i]
			}
		}
		if topic == nil {
			resp.Topics = append(resp.Topics, kmsg.NewShareFetchResponseTopic())
			topic = &resp.Topics[len(resp.Topics)-1]
			topic.TopicID = e.key.topicID
		}
		topic.Partitions = append(topic.Partitions, rp)
	}
	// Splices must follow the placeholders' order in the encoding: topic by topic.
	out.Splices = orderSplices(resp, out.Splices)
	for _, id := range sf.leaders.ids {
		if host, port, rack, ok := brokerAddress(sf.img, id, sf.leaders.listener); ok {
			ne := kmsg.NewShareFetchResponseNodeEndpoint()
			ne.NodeID, ne.Host, ne.Port, ne.Rack = id, host, port, rack
			resp.NodeEndpoints = append(resp.NodeEndpoints, ne)
		}
	}
	out.Msg = resp
	out.Release = func() {
		for _, e := range sent {
			e.fetched.Records.Release()
		}
	}
	return out
}

// orderSplices puts splices in the order their placeholders appear in resp.
func orderSplices(resp *kmsg.ShareFetchResponse, splices []Splice) []Splice {
	if len(splices) < 2 {
		return splices
	}
	ordered := make([]Splice, 0, len(splices))
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			for _, sp := range splices {
				if len(p.Records) == PlaceholderLen && string(p.Records) == string(sp.Placeholder) {
					ordered = append(ordered, sp)
				}
			}
		}
	}
	return ordered
}

// ackBatchesOf converts ShareFetch's acknowledgement batches.
func ackBatchesOf(in []kmsg.ShareFetchRequestTopicPartitionAcknowledgementBatch) []share.AckBatch {
	out := make([]share.AckBatch, len(in))
	for i, b := range in {
		out[i] = share.AckBatch{FirstOffset: b.FirstOffset, LastOffset: b.LastOffset, Types: b.AcknowledgeTypes}
	}
	return out
}

// shareAcknowledge applies one partition's acknowledgements and returns the error code.
func (env *Env) shareAcknowledge(ctx context.Context, req *Request, readers *authorizedTopics, group, member string, e *shareEntry,
	batches []share.AckBatch, cfg share.GroupConfig, now time.Time, renew bool) int16 {
	img := env.Metadata.Image()
	leaders := leaderEndpoints{img: img, listener: req.Conn.Listener}
	if code := env.resolveSharePartition(img, readers, &leaders, e); code != 0 {
		return code
	}
	sp, ok := env.Shares.Lookup(share.Key{Group: group, TopicID: e.key.topicID, Partition: e.key.partition})
	if !ok {
		return kerr.InvalidRecordState.Code
	}
	return ErrorCode(sp.Acknowledge(ctx, member, batches, cfg, now, renew))
}

// releaseShareSession releases the records the session's member holds in its partitions
// (the session closed: final epoch, or its connection closed).
func (env *Env) releaseShareSession(ctx context.Context, s *shareSession, cfg share.GroupConfig) {
	env.ShareSessions.mu.Lock()
	parts := append([]sharePartitionKey(nil), s.parts...)
	env.ShareSessions.mu.Unlock()
	now := env.Shares.Now()
	for _, k := range parts {
		sp, ok := env.Shares.Lookup(share.Key{Group: s.key.group, TopicID: k.topicID, Partition: k.partition})
		if !ok {
			continue
		}
		if err := sp.ReleaseMember(ctx, s.key.member, cfg, now); err != nil {
			env.Logger.Warn("share: releasing a closed session's records", "group", s.key.group, "member", s.key.member, "err", err)
		}
	}
}

// watchShareConnection closes s and releases its records when the connection that opened
// it closes (Kafka's ConnectionDisconnectListener); one goroutine per session, ending when
// either closes.
func (env *Env) watchShareConnection(connClosed <-chan struct{}, s *shareSession) {
	if connClosed == nil {
		return
	}
	go func() {
		select {
		case <-s.closed:
		case <-connClosed:
			if env.ShareSessions.removeIf(s) {
				env.releaseShareSession(context.Background(), s, env.Shares.Config(s.key.group))
			}
		}
	}()
}
