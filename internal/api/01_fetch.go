package api

import (
	"context"
	"io"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/replica"
	"github.com/sluicehq/sluice/internal/security/quota"
	"github.com/sluicehq/sluice/internal/storage"
)

// Fetch: v0–18
//
// Behavior:
//   - Partitions are read in request (or session) order from their leader,
//     as file regions spliced into the response with sendfile, never copied.
//     Each partition gets at most PartitionMaxBytes and the response at most
//     MaxBytes (capped by the broker's fetch.max.bytes), except that the first batch of the first partition with data
//     is returned whole however large (KIP-74), so consumers always progress.
//   - Consumers (replica id -1) read up to the high watermark
//     (read_uncommitted) or the last stable offset (read_committed);
//     followers (replica id >= 0) up to the log end offset, which also
//     records their progress for the high watermark. A replica fetch is
//     taken only from a registered broker (else BROKER_ID_NOT_REGISTERED)
//     and, v15+, only in its current broker epoch (else STALE_BROKER_EPOCH,
//     KIP-903).
//   - Long poll: with less than MinBytes available and MaxWaitMillis > 0, the
//     request waits off the read loop until appends to its partitions bring
//     MinBytes, the wait ends, or the connection closes — woken by the
//     partitions' notifications, never by polling. Any partition error
//     answers at once.
//   - Fetch sessions (KIP-227): epoch 0 opens a session (full fetch), later
//     epochs are incremental — only changed partitions are sent, only
//     partitions whose fetch state changed are in the request, forgotten
//     topics leave it — and epoch -1 closes it. Unknown session:
//     FETCH_SESSION_ID_NOT_FOUND; wrong epoch: INVALID_FETCH_SESSION_EPOCH;
//     switching between names and topic ids: FETCH_SESSION_TOPIC_ID_ERROR.
//     The cache is bounded (FetchSessions); without room the fetch is
//     answered sessionless (session id 0).
//   - Each topic is answered in one entry holding all its partitions (full and
//     incremental), even when its partitions are not adjacent in the request or
//     the session's order: sarama-based clients (Burrow) decode topics into a
//     map by name and keep only the last entry of a repeated topic.
//   - Per-partition errors: OFFSET_OUT_OF_RANGE (below the log start or
//     above the log end offset; clients reset through ListOffsets),
//     NOT_LEADER_OR_FOLLOWER (with the current leader, KIP-951),
//     FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH (KIP-320),
//     UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID (v13+). Offsets in an
//     errored partition are -1, as Kafka sends them.
//   - v12+ LastFetchedEpoch: a fetcher whose log diverged gets DivergingEpoch
//     (the epoch and its end offset) instead of records.
//   - read_committed: records stop at the last stable offset (the first
//     offset of the earliest open transaction, or the high watermark) and
//     AbortedTransactions lists the aborted transactions overlapping the
//     records sent (producer id, first offset), from the .txnindex, so the
//     consumer drops them; read_uncommitted sends none.
//   - Follower fetching (KIP-392): consumers from v11 on may fetch from a
//     follower, which serves them up to its own high watermark (the
//     leader's as of its last fetch) or last stable offset, with the same
//     leader-epoch checks; older consumers get NOT_LEADER_OR_FOLLOWER
//     there. Offsets past the follower's log end are OFFSET_OUT_OF_RANGE
//     (the consumer goes back to the leader), offsets between its high
//     watermark and log end get no records yet. With
//     replica.selector.class set to Kafka's RackAwareReplicaSelector the
//     leader answers a consumer whose Rack (client.rack) matches the
//     broker.rack of an in-sync follower holding its fetch offset — and
//     not the leader's own rack — with that follower as
//     PreferredReadReplica and no records, at once; otherwise
//     PreferredReadReplica is -1.
//   - Consumer fetches count against consumer_byte_rate (client quotas): the
//     response is bounded by what the quota allows in quota.window.num-1
//     windows, and a response that would take the client over its quota is
//     not sent: Kafka's throttled answer (no partitions, throttle_time_ms set)
//     goes instead, its bytes are not counted, and the connection is muted
//     for the throttle time.
//   - Authorization (with an authorizer): a consumer needs Read on each topic (else
//     TOPIC_AUTHORIZATION_FAILED for its partitions, decided once per request); a replica
//     fetch (replica id >= 0) needs ClusterAction on the cluster, else every partition is
//     TOPIC_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v0–v3 (message formats v0/v1): what is read is copied out of the log
//     and down-converted (fetch_legacy.go, record.DownConvert): magic 0 for
//     v0–v1, magic 1 for v2–v3; control batches dropped; read_uncommitted
//     (no isolation level, no aborted transactions); zstd batches are
//     UNSUPPORTED_COMPRESSION_TYPE; message.downconversion.enable=false:
//     UNSUPPORTED_VERSION. v0–v2 have no response limit and a hard partition
//     limit (no first-batch exception, as Kafka 3); v3 adds MaxBytes.
//   - v4: RecordBatch v2, spliced with sendfile; isolation level, LSO.
//   - v5: log start offset. v7: sessions. v9: current leader epoch.
//   - v11: rack. v12: flexible, last fetched epoch, diverging epoch.
//   - v13: topic ids. v15: replica state replaces replica id.
//   - v16: node endpoints for leaders (KIP-951). v17–18: directory ids and
//     follower high watermarks (ignored).

func init() {
	Register(API{Key: 1, MinVersion: 0, LegacyBelow: 4, MaxVersion: 18, Handle: handleFetch})
}

// fetchTarget is one partition a fetch reads.
type fetchTarget struct {
	key                sessionKey
	fetchOffset        int64
	maxBytes           int32
	currentLeaderEpoch int32
	lastFetchedEpoch   int32
	logStartOffset     int64             // a follower's own log start offset, -1 if not given
	session            *sessionPartition // nil for sessionless fetches
	preferred          int32             // PreferredReadReplica, -1 for none

	// Filled by each read pass.
	topic *metadata.Topic
	part  *partition.Partition
	code  int16
	res   partition.ReadResult
}

func (t *fetchTarget) release() {
	t.res.Records.Release()
	t.res = partition.ReadResult{}
}

// fetch is one Fetch request in progress.
type fetch struct {
	env         *Env
	req         *kmsg.FetchRequest
	img         *metadata.Image
	leaders     leaderEndpoints
	targets     []*fetchTarget
	session     *fetchSession // the session answered for, nil if none
	incremental bool
	replica     int32
	replicaEp   int64 // the follower's broker epoch (v15+), -1 if not given
	maxBytes    int32
	// quota is the consumer this fetch is accounted to (consumer_byte_rate); quotaOn is false
	// for replica fetches and when no quota manager runs.
	quota   quota.Client
	quotaOn bool
	// readers caches the consumer's Read decision per topic (asked once per request, not per
	// pass of a long poll); replicaDenied: a replica fetch without ClusterAction, answered
	// TOPIC_AUTHORIZATION_FAILED for every partition.
	readers       authorizedTopics
	replicaDenied bool
}

func handleFetch(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.FetchRequest)
	img := env.Metadata.Image()
	// The broker's fetch.max.bytes caps what the client asks for, as in Kafka.
	maxBytes := r.MaxBytes
	if env.FetchMaxBytes > 0 {
		maxBytes = min(maxBytes, env.FetchMaxBytes)
	}
	f := &fetch{env: env, req: r, img: img, leaders: leaderEndpoints{img: img, listener: req.Conn.Listener},
		replica: r.ReplicaID, replicaEp: -1, maxBytes: maxBytes}
	if r.Version >= 15 {
		f.replica, f.replicaEp = r.ReplicaState.ID, r.ReplicaState.Epoch
	}
	if env.Quotas != nil && f.replica < 0 {
		f.quota, f.quotaOn = QuotaClient(req, img), true
		// Kafka bounds a consumer's response by what its quota allows in a quota window.
		if limit := env.Quotas.FetchMaxBytes(f.quota); limit >= 0 {
			f.maxBytes = int32(min(int64(f.maxBytes), max(limit, 1)))
		}
	}
	f.readers = env.topicAuthorizer(req, opRead)
	f.replicaDenied = f.replica >= 0 && !env.AuthorizeCluster(req, opClusterAction)
	if code := checkReplicaFetcher(img, f.replica, f.replicaEp, r.Version >= 15); code != 0 && !f.replicaDenied {
		resp := r.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = code
		return Reply(resp), nil
	}
	if code := f.resolveSession(); code != 0 {
		resp := r.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode, resp.SessionID = code, 0
		return Reply(resp), nil
	}
	if f.readAll() || r.MaxWaitMillis <= 0 {
		return f.respond(), nil
	}
	for _, t := range f.targets {
		t.release()
	}
	maxWait := time.Duration(r.MaxWaitMillis) * time.Millisecond
	return Response{Finish: func(ctx context.Context) (Response, error) {
		f.longPoll(ctx, maxWait)
		return f.respond(), nil
	}}, nil
}

// checkReplicaFetcher admits a replica fetch (replica id >= 0, reading past the high
// watermark and moving it) only from a registered broker, and, when the fetch carries its
// broker epoch (v15+, KIP-903), only from that broker's current registration: a process from
// before a restart, or one whose disk was replaced, or one not registered yet, is not the
// replica the ISR means. Consumers (replica id < 0) pass.
func checkReplicaFetcher(img *metadata.Image, replica int32, epoch int64, hasEpoch bool) int16 {
	if replica < 0 {
		return 0
	}
	b, ok := img.Broker(replica)
	switch {
	case !ok:
		return kerr.BrokerIDNotRegistered.Code
	case hasEpoch && epoch != b.Epoch:
		return kerr.StaleBrokerEpoch.Code
	}
	return 0
}

// keyOf is a requested topic's session key (partition unset).
func (f *fetch) keyOf(rt kmsg.FetchRequestTopic) sessionKey {
	if f.req.Version >= 13 {
		return sessionKey{topicID: rt.TopicID}
	}
	return sessionKey{topic: rt.Topic}
}

// resolveSession sets up the fetch's targets from the request and its
// session (KIP-227), returning a top-level error code for session errors.
func (f *fetch) resolveSession() int16 {
	r, sessions := f.req, f.env.FetchSessions
	full := r.Version < 7 || r.SessionEpoch == initialSessionEpoch || r.SessionEpoch == finalSessionEpoch
	if !full {
		fs, code := sessions.incremental(r, f.keyOf)
		if fs == nil {
			return code // 0: the session emptied and closed; nothing to fetch
		}
		f.session, f.incremental = fs, true
		fs.mu.Lock()
		for _, sp := range fs.order {
			f.targets = append(f.targets, &fetchTarget{key: sp.key, fetchOffset: sp.fetchOffset, maxBytes: sp.maxBytes,
				currentLeaderEpoch: sp.currentLeaderEpoch, lastFetchedEpoch: sp.lastFetchedEpoch, logStartOffset: sp.logStartOffset, session: sp})
		}
		fs.mu.Unlock()
		return 0
	}
	if r.Version >= 7 && r.SessionID != 0 {
		sessions.remove(r.SessionID) // a full fetch closes the session it names
	}
	var parts []*sessionPartition
	for _, rt := range r.Topics {
		base := f.keyOf(rt)
		for i := range rt.Partitions {
			k := base
			k.partition = rt.Partitions[i].Partition
			sp := newSessionPartition(k, &rt.Partitions[i])
			parts = append(parts, sp)
			f.targets = append(f.targets, &fetchTarget{key: k, fetchOffset: sp.fetchOffset, maxBytes: sp.maxBytes,
				currentLeaderEpoch: sp.currentLeaderEpoch, lastFetchedEpoch: sp.lastFetchedEpoch, logStartOffset: sp.logStartOffset, session: sp})
		}
	}
	if r.Version >= 7 && r.SessionEpoch == initialSessionEpoch && len(parts) > 0 {
		f.session = sessions.create(parts, r.Version >= 13)
	}
	if f.session == nil {
		for _, t := range f.targets {
			t.session = nil
		}
	}
	return 0
}

// readAll reads every target once, in order, within the byte limits. It
// reports whether the fetch should be answered now: MinBytes are there, or
// a partition has an error or a diverging epoch.
func (f *fetch) readAll() bool {
	var total int64
	remaining := int64(f.maxBytes)
	answerNow := len(f.targets) == 0
	for _, t := range f.targets {
		n, stop := f.readTarget(t, total == 0, remaining)
		total += n
		remaining -= n
		answerNow = answerNow || stop
	}
	return answerNow || total >= int64(f.req.MinBytes)
}

// readTarget reads one partition; it returns the bytes read and whether
// the partition must be answered at once (an error or a divergence).
func (f *fetch) readTarget(t *fetchTarget, first bool, remaining int64) (int64, bool) {
	t.release()
	t.code, t.topic, t.part, t.preferred = 0, nil, nil, -1
	if f.req.Version >= 13 {
		t.topic, _ = f.img.TopicByID(metadata.TopicID(t.key.topicID))
		if t.topic == nil {
			t.code = kerr.UnknownTopicID.Code
		}
	} else if t.topic, _ = f.img.Topic(t.key.topic); t.topic == nil {
		t.code = kerr.UnknownTopicOrPartition.Code
	}
	if f.replicaDenied || (f.replica < 0 && t.code != kerr.UnknownTopicID.Code && !f.readers.allowed(topicName(t.topic, t.key.topic))) {
		t.code = kerr.TopicAuthorizationFailed.Code // before existence, as Kafka: nothing is disclosed
	}
	if t.code == 0 {
		t.part, t.code = hostedPartition(f.env, t.topic, t.key.partition)
	}
	if t.code == 0 && f.req.Version <= 3 {
		t.code = f.downConversionAllowed(t)
		first = first && f.req.Version >= 3 // v0–v2: a hard per-partition limit, no KIP-74
	}
	if t.code != 0 {
		return 0, true
	}
	if id := f.preferredReplica(t); id >= 0 {
		// Sent elsewhere: the offsets, no records, answered at once.
		res, err := t.part.LeaderOffsets(epochOrNone(t.currentLeaderEpoch))
		if err != nil {
			t.code = ErrorCode(err)
			return 0, true
		}
		t.res, t.preferred = res, id
		return 0, true
	}
	limit := min(int64(max(t.maxBytes, 0)), max(remaining, 0))
	throttled := f.leaderThrottled(t)
	if throttled && !f.env.LeaderThrottle.Allow() {
		limit, first = 0, false // the follower's progress is still recorded
	}
	res, err := t.part.Read(t.fetchOffset, partition.ReadOptions{
		MaxBytes:           int32(limit),
		MinOneBatch:        first,
		Isolation:          partition.Isolation(f.req.IsolationLevel),
		CurrentLeaderEpoch: epochOrNone(t.currentLeaderEpoch),
		LastFetchedEpoch:   epochOrNone(t.lastFetchedEpoch),
		Replica:            f.replica,
		ReplicaEpoch:       f.replicaEp,
		ReplicaLogStart:    t.logStartOffset,
		AnyReplica:         f.replica < 0 && f.req.Version >= 11,
	})
	if err != nil {
		t.code = ErrorCode(err)
		return 0, true
	}
	t.res = res
	if throttled {
		f.env.LeaderThrottle.Record(int(res.Records.Bytes()))
	}
	return res.Records.Bytes(), res.Diverging
}

// leaderThrottled reports whether a replica fetch of t counts against the leader throttle: the
// topic's leader.replication.throttled.replicas names the partition on this broker and the
// follower is not in its ISR (in-sync followers are never throttled, as in Kafka).
func (f *fetch) leaderThrottled(t *fetchTarget) bool {
	if f.replica < 0 || !f.env.LeaderThrottle.Limited() {
		return false
	}
	if !replica.ThrottledOn(config.Override(t.topic.Configs, config.LeaderReplicationThrottledReplicas), t.key.partition, f.env.NodeID) {
		return false
	}
	return !slices.Contains(t.part.State().ISR, f.replica)
}

// preferredReplica is the follower a consumer's fetch of t should go to
// (KIP-392's replica selector on the leader), or -1 to read here.
func (f *fetch) preferredReplica(t *fetchTarget) int32 {
	if f.env.ReplicaSelector != config.RackAwareReplicaSelector || f.replica >= 0 || f.req.Version < 11 || f.req.Rack == "" {
		return -1
	}
	return t.part.PreferredReadReplica(t.fetchOffset, f.req.Rack, f.rackOf)
}

// rackOf is a broker's rack, and whether the fetching client can reach it
// on its listener.
func (f *fetch) rackOf(id int32) (string, bool) {
	b, ok := f.img.Broker(id)
	if !ok || b.Fenced {
		return "", false
	}
	if _, ok := b.Endpoint(f.leaders.listener); !ok {
		return "", false
	}
	return b.Rack, true
}

func epochOrNone(e int32) int32 {
	if e < 0 {
		return partition.NoLeaderEpoch
	}
	return e
}

// longPoll waits until a read finds enough to answer, maxWait passes or
// ctx ends; the targets then hold the last read.
func (f *fetch) longPoll(ctx context.Context, maxWait time.Duration) {
	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	w := partition.NewWaiter()
	defer func() {
		for _, t := range f.targets {
			if t.part != nil {
				t.part.Unwatch(w)
			}
		}
	}()
	for {
		// Watch before reading so an append between the read and the
		// wait still wakes us.
		for _, t := range f.targets {
			if t.part != nil {
				t.part.Watch(w)
			}
		}
		if f.readAll() {
			return
		}
		for _, t := range f.targets {
			if t.part != nil {
				t.part.Watch(w) // partitions resolved only now
			}
		}
		select {
		case <-w.C():
		case <-timer.C:
			f.readAll()
			return
		case <-ctx.Done():
			return
		}
	}
}

// respond builds the response from the targets' last reads: every target
// for full fetches, the changed ones for incremental fetches.
func (f *fetch) respond() Response {
	if f.quotaOn {
		var bytes int64
		for _, t := range f.targets {
			bytes += t.res.Records.Bytes()
		}
		if d := f.env.Quotas.RecordFetch(f.quota, bytes); d > 0 {
			return f.throttled(d)
		}
	}
	resp := f.req.ResponseKind().(*kmsg.FetchResponse)
	var out Response
	var included []*fetchTarget
	if f.session != nil {
		resp.SessionID = f.session.id
		f.session.mu.Lock()
		defer f.session.mu.Unlock()
	}
	var topics responseTopics
	for _, t := range f.targets {
		rp, ok := f.partitionResponse(t)
		if !ok {
			t.release()
			continue
		}
		if n := t.res.Records.Bytes(); n > 0 {
			if m := f.env.TopicMetrics; m != nil && t.topic != nil {
				m.FetchedFrom(t.topic.Name, n, t.res.Records.NextOffset-t.res.Records.FirstOffset)
			}
			if f.req.Version <= 3 {
				f.downConvert(t, &rp)
			} else {
				sp := NewSplice(regionSet(t.res.Records.Regions))
				rp.RecordBatches = sp.Placeholder
				out.Splices = append(out.Splices, sp)
			}
		}
		entry := topics.entry(resp, t)
		entry.Partitions = append(entry.Partitions, rp)
		included = append(included, t)
	}
	if f.session != nil {
		f.session.rotateLocked(included)
	}
	if topics.regrouped && len(out.Splices) > 1 {
		out.Splices = splicesInOrder(resp, out.Splices)
	}
	if f.req.Version >= 16 {
		resp.Brokers = f.leaders.fetchEndpoints()
	}
	out.Msg = resp
	out.Release = func() {
		for _, t := range included {
			t.release()
		}
	}
	return out
}

// responseTopics finds a fetch response's entry for a topic. Kafka answers one entry per topic
// holding all its partitions; sarama-based clients (Burrow among them) decode the topics into
// a map by name, so a topic repeated in a second entry loses the first entry's partitions.
// The targets of one topic are not always adjacent — a session moves partitions that returned
// records to the end of its order, and a request may name a topic twice — so entries are
// found by topic (the name before v13, the id from v13, as the session key holds it), not
// only by looking at the last one.
type responseTopics struct {
	keys  []sessionKey       // each entry's topic key (partition 0), as resp.Topics
	last  int                // index of the entry used last
	index map[sessionKey]int // key to entry index, built once a second topic appears
	// regrouped: a partition joined an entry before the last one, so the response's
	// encoding no longer follows the targets' order (nor do the splices).
	regrouped bool
}

// splicesInOrder orders splices as their placeholders appear in resp's encoding (topic
// entries in order, partitions in order), as the server writes them. Record sets that are not
// splices (v0–v3's down-converted sets, in place) are passed over.
func splicesInOrder(resp *kmsg.FetchResponse, splices []Splice) []Splice {
	byPlaceholder := make(map[string]Splice, len(splices))
	for _, sp := range splices {
		byPlaceholder[string(sp.Placeholder)] = sp
	}
	ordered := splices[:0]
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			if sp, ok := byPlaceholder[string(resp.Topics[i].Partitions[j].RecordBatches)]; ok {
				ordered = append(ordered, sp)
			}
		}
	}
	return ordered
}

func (rt *responseTopics) entry(resp *kmsg.FetchResponse, t *fetchTarget) *kmsg.FetchResponseTopic {
	k := sessionKey{topicID: t.key.topicID, topic: t.key.topic}
	if len(rt.keys) > 0 {
		if rt.keys[rt.last] == k {
			return &resp.Topics[rt.last]
		}
		if rt.index == nil {
			rt.index = make(map[sessionKey]int, 4)
			for i, key := range rt.keys {
				rt.index[key] = i
			}
		}
		if i, ok := rt.index[k]; ok {
			rt.last, rt.regrouped = i, true
			return &resp.Topics[i]
		}
	}
	e := kmsg.NewFetchResponseTopic()
	e.Topic, e.TopicID = t.key.topic, t.key.topicID
	if t.topic != nil {
		e.Topic, e.TopicID = t.topic.Name, t.topic.ID
	}
	resp.Topics = append(resp.Topics, e)
	rt.keys = append(rt.keys, k)
	rt.last = len(rt.keys) - 1
	if rt.index != nil {
		rt.index[k] = rt.last
	}
	return &resp.Topics[rt.last]
}

// throttled is the answer to a consumer over its consumer_byte_rate, as Kafka's: no
// partitions, throttle_time_ms set. An incremental session keeps its id; a full fetch that
// would have created one gets none (its session is dropped), as Kafka creates no session for
// a throttled full fetch.
func (f *fetch) throttled(d time.Duration) Response {
	for _, t := range f.targets {
		t.release()
	}
	resp := f.req.ResponseKind().(*kmsg.FetchResponse)
	resp.ThrottleMillis = throttleMillis(d)
	if f.session != nil {
		if f.incremental {
			resp.SessionID = f.session.id
		} else {
			f.env.FetchSessions.remove(f.session.id)
		}
	}
	return Reply(resp)
}

// partitionResponse builds one partition's answer and reports whether it
// goes into the response (incremental fetches skip unchanged partitions).
// It records what was sent in the session.
func (f *fetch) partitionResponse(t *fetchTarget) (kmsg.FetchResponseTopicPartition, bool) {
	rp := kmsg.NewFetchResponseTopicPartition()
	rp.Partition, rp.ErrorCode = t.key.partition, t.code
	rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
	if t.code == 0 {
		rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = t.res.HighWatermark, t.res.LastStableOffset, t.res.LogStartOffset
		if t.res.Diverging {
			rp.DivergingEpoch.Epoch, rp.DivergingEpoch.EndOffset = t.res.DivergingEpoch, t.res.DivergingEndOffset
		}
		rp.PreferredReadReplica = t.preferred
	}
	if t.code == kerr.NotLeaderForPartition.Code || t.code == kerr.FencedLeaderEpoch.Code {
		rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = f.leaders.currentLeader(t.topic, t.key.partition)
	}
	if f.req.IsolationLevel == 1 {
		rp.AbortedTransactions = make([]kmsg.FetchResponseTopicPartitionAbortedTransaction, 0, len(t.res.AbortedTxns))
		if t.code == 0 {
			for _, a := range t.res.AbortedTxns {
				at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
				at.ProducerID, at.FirstOffset = a.ProducerID, a.FirstOffset
				rp.AbortedTransactions = append(rp.AbortedTransactions, at)
			}
		}
	}
	rp.RecordBatches = []byte{}
	sp := t.session
	if sp == nil {
		return rp, true
	}
	changed := t.code != 0 || t.res.Diverging || t.res.Records.Bytes() > 0 || t.preferred >= 0 ||
		rp.HighWatermark != sp.sentHighWatermark || rp.LastStableOffset != sp.sentLastStableOffset ||
		rp.LogStartOffset != sp.sentLogStartOffset
	if f.incremental && !changed {
		return rp, false
	}
	sp.sentHighWatermark, sp.sentLastStableOffset, sp.sentLogStartOffset = rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset
	return rp, true
}

// rotateLocked moves partitions that returned records to the end of the
// session's order, so the next fetch's byte budget goes to the others first.
func (fs *fetchSession) rotateLocked(included []*fetchTarget) {
	var moved []*sessionPartition
	for _, t := range included {
		if t.session != nil && t.res.Records.Bytes() > 0 {
			if _, ok := fs.byKey[t.session.key]; ok {
				moved = append(moved, t.session)
			}
		}
	}
	if len(moved) == 0 {
		return
	}
	kept := fs.order[:0]
	for _, sp := range fs.order {
		isMoved := false
		for _, m := range moved {
			if m == sp {
				isMoved = true
				break
			}
		}
		if !isMoved {
			kept = append(kept, sp)
		}
	}
	fs.order = append(kept, moved...)
}

// regionSet is one partition's record regions, written one after another.
type regionSet []storage.Region

func (rs regionSet) Len() int64 {
	var n int64
	for _, r := range rs {
		n += r.Len()
	}
	return n
}

func (rs regionSet) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for _, r := range rs {
		n, err := r.WriteTo(w)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
