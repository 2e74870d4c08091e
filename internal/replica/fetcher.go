package replica

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
)

// partitionKey names a partition a fetcher follows.
type partitionKey struct {
	topic     string
	partition int32
}

// assignment is what Update wants of one followed partition.
type assignment struct {
	p       *partition.Partition
	topicID metadata.TopicID
	epoch   int32 // the leader epoch the partition is followed in
}

// followed is a fetcher's state of one partition.
type followed struct {
	assignment
	delayedUntil time.Time // after an error: not fetched before then
}

// fetcher fetches, as a replica, every partition this node follows at one leader.
type fetcher struct {
	m      *Manager
	leader int32
	wake   chan struct{} // an assignment changed
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once
	body   []byte // the fetch responses' buffer (run's goroutine only)

	mu struct {
		sync.Mutex
		parts map[partitionKey]*followed
		// cancelFetch ends the fetch in flight, nil when there is none.
		cancelFetch context.CancelFunc
	}
}

func newFetcher(m *Manager, leader int32) *fetcher {
	f := &fetcher{m: m, leader: leader, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	f.mu.parts = make(map[partitionKey]*followed)
	return f
}

// assign replaces the followed partitions; a partition whose epoch changed is fetched again at
// once (its delay dropped).
func (f *fetcher) assign(parts map[partitionKey]assignment) {
	f.mu.Lock()
	changed, added := len(parts) != len(f.mu.parts), false
	next := make(map[partitionKey]*followed, len(parts))
	for k, a := range parts {
		if cur, ok := f.mu.parts[k]; ok && cur.p == a.p && cur.epoch == a.epoch {
			next[k] = cur
			continue
		}
		next[k] = &followed{assignment: a}
		changed, added = true, true
	}
	f.mu.parts = next
	if added && f.mu.cancelFetch != nil {
		// The fetch in flight (a long poll of up to replica.fetch.wait.max.ms) does not name
		// the new partitions; end it, so that a new leader's or a new topic's followers start
		// at once (their acks=all writes wait for them).
		f.mu.cancelFetch()
		f.mu.cancelFetch = nil
	}
	f.mu.Unlock()
	if changed {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

func (f *fetcher) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.mu.parts)
}

func (f *fetcher) stop() { f.once.Do(func() { close(f.quit) }) }

// current returns the followed partitions that are due now, and when the next delayed one is.
func (f *fetcher) current(now time.Time) (due []*followed, next time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, st := range f.mu.parts {
		if now.Before(st.delayedUntil) {
			if next.IsZero() || st.delayedUntil.Before(next) {
				next = st.delayedUntil
			}
			continue
		}
		due = append(due, st)
	}
	return due, next
}

// delay keeps a partition out of fetches for d, unless its assignment changed meanwhile.
func (f *fetcher) delay(st *followed, d time.Duration) {
	f.mu.Lock()
	st.delayedUntil = time.Now().Add(d)
	f.mu.Unlock()
}

// still reports whether st is still the fetcher's assignment for its partition.
func (f *fetcher) still(k partitionKey, st *followed) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.parts[k] == st
}

// run is the fetcher's goroutine: fetch, apply, repeat, until stopped.
func (f *fetcher) run() {
	defer close(f.done)
	o := &f.m.opts
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-f.quit:
			cancel()
		case <-f.done:
		}
	}()
	for {
		select {
		case <-f.quit:
			return
		default:
		}
		due, next := f.current(time.Now())
		if len(due) == 0 {
			var timer <-chan time.Time
			if !next.IsZero() {
				timer = time.After(time.Until(next))
			}
			select {
			case <-f.quit:
				return
			case <-f.wake:
			case <-timer:
			}
			continue
		}
		if err := f.fetchOnce(ctx, due); err != nil {
			if ctx.Err() != nil {
				return
			}
			o.Logger.Debug("replica fetch failed", "leader", f.leader, "err", err)
			wait := o.Backoff
			if errors.Is(err, kerr.StaleBrokerEpoch) || errors.Is(err, kerr.BrokerIDNotRegistered) {
				// This broker just registered again and the leader has not applied it yet.
				wait = min(wait, 100*time.Millisecond)
			}
			select {
			case <-f.quit:
				return
			case <-f.wake:
			case <-time.After(wait):
			}
		}
	}
}

// fetchOnce sends one Fetch for due and applies the answer.
func (f *fetcher) fetchOnce(ctx context.Context, due []*followed) error {
	o := &f.m.opts
	brokerEpoch := o.BrokerEpoch()
	if brokerEpoch < 0 {
		// Not registered yet: a leader takes replica fetches only from a registered broker.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		return nil
	}
	img := o.Image()
	b, ok := img.Broker(f.leader)
	if !ok {
		return fmt.Errorf("leader %d is not registered", f.leader)
	}
	ep, ok := b.Endpoint(o.Listener)
	if !ok {
		return fmt.Errorf("leader %d has no endpoint for listener %q", f.leader, o.Listener)
	}
	addr := fmt.Sprintf("%s:%d", ep.Host, ep.Port)
	throttled := o.FollowerThrottle.Limited() && !o.FollowerThrottle.Allow()
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = o.NodeID
	req.ReplicaState.ID, req.ReplicaState.Epoch = o.NodeID, brokerEpoch
	req.MaxWaitMillis = int32(o.MaxWait / time.Millisecond)
	req.MinBytes, req.MaxBytes = o.MinBytes, o.MaxBytes
	req.SessionID, req.SessionEpoch = 0, -1 // sessionless full fetches
	byKey := make(map[partitionKey]*followed, len(due))
	topicIdx := make(map[string]int)
	for _, st := range due {
		t := st.p.Topic()
		if throttled && f.throttled(img, st.p) {
			continue
		}
		i, ok := topicIdx[t]
		if !ok {
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = t, st.topicID
			req.Topics = append(req.Topics, rt)
			i = len(req.Topics) - 1
			topicIdx[t] = i
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = st.p.Index()
		rp.CurrentLeaderEpoch = st.epoch
		rp.FetchOffset = st.p.LogEndOffset()
		rp.LastFetchedEpoch = st.p.LatestEpoch()
		rp.LogStartOffset = st.p.LogStartOffset()
		rp.PartitionMaxBytes = o.PartitionMaxBytes
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
		byKey[partitionKey{topic: t, partition: rp.Partition}] = st
	}
	if len(req.Topics) == 0 {
		// Everything due is throttled and the budget is spent: wait for it to refill.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, o.MaxWait+30*time.Second)
	defer cancel()
	reassigned, stop := context.WithCancel(rctx)
	defer stop()
	f.mu.Lock()
	f.mu.cancelFetch = stop
	f.mu.Unlock()
	// The answer is read into f.body, reused by every fetch: its records are appended (copied
	// into the log) before the next fetch is sent.
	raw, err := o.Sender.SendInto(reassigned, addr, req, &f.body)
	f.mu.Lock()
	f.mu.cancelFetch = nil
	f.mu.Unlock()
	if err != nil {
		if reassigned.Err() != nil && rctx.Err() == nil {
			return nil // ended by assign for new partitions: fetch again at once
		}
		return fmt.Errorf("fetch from %d at %s: %w", f.leader, addr, err)
	}
	resp := raw.(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 {
		return fmt.Errorf("fetch from %d: %w", f.leader, kerr.ErrorForCode(resp.ErrorCode))
	}
	for ti := range resp.Topics {
		rt := &resp.Topics[ti]
		name := rt.Topic
		if name == "" {
			if t, ok := img.TopicByID(metadata.TopicID(rt.TopicID)); ok {
				name = t.Name
			}
		}
		for pi := range rt.Partitions {
			rp := &rt.Partitions[pi]
			k := partitionKey{topic: name, partition: rp.Partition}
			st := byKey[k]
			if st == nil || !f.still(k, st) {
				continue
			}
			f.apply(ctx, addr, k, st, rp)
		}
	}
	return nil
}

// apply takes one partition's answer: records to append, a divergence to truncate, or an
// error to wait out.
func (f *fetcher) apply(ctx context.Context, addr string, k partitionKey, st *followed, rp *kmsg.FetchResponseTopicPartition) {
	o := &f.m.opts
	p := st.p
	switch err := kerr.ErrorForCode(rp.ErrorCode); {
	case err == nil:
	case errors.Is(err, kerr.OffsetOutOfRange):
		if err := f.resolveOutOfRange(ctx, addr, st); err != nil {
			o.Logger.Warn("replica fetch offset out of range and not resolved", "topic", k.topic, "partition", k.partition, "leader", f.leader, "err", err)
			f.delay(st, o.Backoff)
		}
		return
	case errors.Is(err, kerr.UnknownLeaderEpoch):
		// The leader has not applied the metadata this node has (a leadership move reached
		// this node first): it will within milliseconds.
		f.delay(st, min(o.Backoff, 25*time.Millisecond))
		return
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID), errors.Is(err, kerr.NotLeaderForPartition):
		// The leader has not created the partition, or not applied its leadership, yet (a
		// topic just created, a leader just elected): milliseconds away, as is an Update that
		// moves the partition if this node is the one behind.
		f.delay(st, min(o.Backoff, 100*time.Millisecond))
		return
	default:
		// FENCED_LEADER_EPOCH and the rest: the metadata this node has is behind the leader's
		// (an Update will move the partition), or the leader failed; wait replica.fetch.backoff.ms.
		o.Logger.Debug("replica fetch partition error", "topic", k.topic, "partition", k.partition, "leader", f.leader, "err", err)
		f.delay(st, o.Backoff)
		return
	}
	if rp.DivergingEpoch.Epoch >= 0 && rp.DivergingEpoch.EndOffset >= 0 {
		if err := f.truncateToLeader(st, rp.DivergingEpoch.Epoch, rp.DivergingEpoch.EndOffset); err != nil {
			o.Logger.Warn("truncate diverging log", "topic", k.topic, "partition", k.partition, "err", err)
			f.delay(st, o.Backoff)
		}
		return
	}
	if len(rp.RecordBatches) > 0 {
		res, err := p.AppendAsFollower(rp.RecordBatches, st.epoch)
		if err != nil {
			if !errors.Is(err, partition.ErrNotFollower) {
				o.Logger.Warn("append fetched records", "topic", k.topic, "partition", k.partition, "leader", f.leader, "err", err)
			}
			f.delay(st, o.Backoff)
			return
		}
		if res.Bytes > 0 {
			if o.FetchedBytes != nil {
				o.FetchedBytes(f.leader, res.Bytes)
			}
			if o.FollowerThrottle.Limited() && f.throttled(o.Image(), p) {
				o.FollowerThrottle.Record(res.Bytes)
			}
		}
	}
	if err := p.SetFollowerHighWatermark(rp.HighWatermark, rp.LogStartOffset); err != nil {
		o.Logger.Warn("follow the leader's high watermark", "topic", k.topic, "partition", k.partition, "err", err)
	}
}

// throttled reports whether fetching p counts against the follower throttle: the topic's
// follower.replication.throttled.replicas names it on this broker and this replica is not in
// its ISR (Kafka never throttles an in-sync replica).
func (f *fetcher) throttled(img *metadata.Image, p *partition.Partition) bool {
	t, ok := img.Topic(p.Topic())
	if !ok || !ThrottledOn(config.Override(t.Configs, config.FollowerReplicationThrottledReplicas), p.Index(), f.m.opts.NodeID) {
		return false
	}
	return !slices.Contains(p.State().ISR, f.m.opts.NodeID)
}

// truncateToLeader truncates after the leader reported that this replica's log diverged: the
// leader's log ends epoch at leaderEnd. This replica keeps what both logs share: up to the
// smaller of leaderEnd and where its own log ends the largest epoch at or below epoch. If its
// epochs differ from the leader's there, the next fetch's last fetched epoch is older and the
// leader answers again, until both agree.
func (f *fetcher) truncateToLeader(st *followed, epoch int32, leaderEnd int64) error {
	_, localEnd := st.p.EndOffsetForEpochLocal(epoch)
	target := leaderEnd
	if localEnd >= 0 && localEnd < target {
		target = localEnd
	}
	return st.p.TruncateTo(max(target, 0))
}

// resolveOutOfRange handles OFFSET_OUT_OF_RANGE for a replica: below the leader's log start
// the log restarts, empty, at it; otherwise this replica is ahead of the leader (an old leader
// with records the new one never got) and truncates where the leader ends its latest epoch.
func (f *fetcher) resolveOutOfRange(ctx context.Context, addr string, st *followed) error {
	o := &f.m.opts
	p := st.p
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lo := kmsg.NewPtrListOffsetsRequest()
	lo.ReplicaID = o.NodeID
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = p.Topic()
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Partition, lp.CurrentLeaderEpoch, lp.Timestamp = p.Index(), st.epoch, -2
	lt.Partitions = append(lt.Partitions, lp)
	lo.Topics = append(lo.Topics, lt)
	raw, err := o.Sender.Send(rctx, addr, lo)
	if err != nil {
		return err
	}
	lr := raw.(*kmsg.ListOffsetsResponse)
	if len(lr.Topics) != 1 || len(lr.Topics[0].Partitions) != 1 {
		return fmt.Errorf("ListOffsets answered %d topics", len(lr.Topics))
	}
	lrp := lr.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(lrp.ErrorCode); err != nil {
		return fmt.Errorf("leader's log start offset: %w", err)
	}
	if p.LogEndOffset() < lrp.Offset {
		return p.TruncateFullyAndStartAt(lrp.Offset)
	}
	epoch := p.LatestEpoch()
	if epoch < 0 {
		return fmt.Errorf("fetch offset %d out of range and no leader epoch to compare", p.LogEndOffset())
	}
	oe := kmsg.NewPtrOffsetForLeaderEpochRequest()
	oe.ReplicaID = o.NodeID
	ot := kmsg.NewOffsetForLeaderEpochRequestTopic()
	ot.Topic = p.Topic()
	op := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	op.Partition, op.CurrentLeaderEpoch, op.LeaderEpoch = p.Index(), st.epoch, epoch
	ot.Partitions = append(ot.Partitions, op)
	oe.Topics = append(oe.Topics, ot)
	raw, err = o.Sender.Send(rctx, addr, oe)
	if err != nil {
		return err
	}
	or := raw.(*kmsg.OffsetForLeaderEpochResponse)
	if len(or.Topics) != 1 || len(or.Topics[0].Partitions) != 1 {
		return fmt.Errorf("OffsetForLeaderEpoch answered %d topics", len(or.Topics))
	}
	orp := or.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(orp.ErrorCode); err != nil {
		return fmt.Errorf("leader's end of epoch %d: %w", epoch, err)
	}
	if orp.LeaderEpoch < 0 || orp.EndOffset < 0 {
		return fmt.Errorf("leader does not know epoch %d", epoch)
	}
	return f.truncateToLeader(st, orp.LeaderEpoch, orp.EndOffset)
}
