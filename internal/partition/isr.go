package partition

import (
	"slices"
	"time"
)

// ISR changes on the leader (KIP-497's AlterPartition, KIP-841, KIP-903), as Kafka's
// Partition does them. The leader decides; the controller records; the leader's ISR changes
// when the controller's answer (or the metadata carrying the change) arrives.
//
//   - A follower in the ISR that has not caught up for longer than replica.lag.time.max.ms
//     leaves (shrink). "Caught up" is Kafka's: the follower fetched from the leader's log end
//     offset, or from at least the log end offset the leader had at the follower's previous
//     fetch (then it counts as caught up at that previous fetch), so a follower that keeps up
//     with a steady stream of appends is in sync even though it never fetches from the very end.
//   - A follower outside the ISR whose log end offset reached the high watermark and the start
//     of the leader's current epoch joins (expand), if the controller's metadata says it is
//     eligible (registered, unfenced, not shutting down, and of the broker epoch its fetches
//     carry).
//   - While a change is pending the leader computes the high watermark over the maximal ISR,
//     the committed ISR together with the pending one: a joining follower counts at once, a
//     leaving one keeps counting until its removal is committed, so no record is ever
//     acknowledged on fewer replicas than the controller knows are in the ISR.
//   - One change per partition is in flight at a time. A failed change is dropped (the leader
//     waits for metadata); no new one is tried for isrRetryBackoff unless the partition's state
//     changes. A change based on a partition epoch that moved is never applied.
//
// The owner (internal/broker's ISR loop) calls CheckISR on every partition it leads, sends
// the changes in one AlterPartition request per round, and hands each answer to
// CompleteISRChange.

// isrRetryBackoff is the pause after a failed ISR change before the next try for the same
// partition state (a changed state may try at once).
const isrRetryBackoff = time.Second

// isrState is the leader's ISR change in progress (Partition.mu.isr).
type isrState struct {
	// pending is the ISR asked for; nil when no change is pending.
	pending []int32
	// gen identifies the pending change; an answer applies only to its own.
	gen uint64
	// sent: the change was handed to the owner to send, whose answer is awaited.
	sent bool
	// retryAt: after a failed change, none is tried before it.
	retryAt time.Time
	// applied is the partition epoch of the last answer counted as applied, so that an answer
	// is counted once however it arrives.
	applied int32
}

// ISRRequest is one partition's ISR change for the owner to send to the controller.
type ISRRequest struct {
	Partition      *Partition
	LeaderEpoch    int32
	PartitionEpoch int32
	// NewISR is the ISR asked for, and BrokerEpochs[i] the broker epoch of NewISR[i] as its
	// latest fetch carried it (KIP-903), -1 when not known; the leader's own is -1 too (the
	// owner fills in its broker epoch).
	NewISR       []int32
	BrokerEpochs []int64
	// Expand: the change adds members (else it removes some).
	Expand bool
	gen    uint64
}

// ISRChangeOutcome is what CompleteISRChange did with an answer.
type ISRChangeOutcome int

const (
	ISRChangeIgnored ISRChangeOutcome = iota // not this partition's current change, or a stale state
	ISRChangeApplied                         // the answer's state is now the partition's
	ISRChangeFailed                          // the change was refused; it is dropped
)

// isrResetLocked drops any pending ISR change: the partition's state changed under it.
func (p *Partition) isrResetLocked() {
	p.mu.isr = isrState{gen: p.mu.isr.gen + 1, applied: p.mu.isr.applied}
}

// syncFollowersLocked makes the followers tracked by a leader whose leader epoch did not
// change the replicas of the new state: a replica a reassignment added is tracked from now on
// (so its fetches count and it can join the ISR), one it removed is forgotten.
func (p *Partition) syncFollowersLocked() {
	for r := range p.mu.followers {
		if !slices.Contains(p.mu.state.Replicas, r) {
			delete(p.mu.followers, r)
		}
	}
	now := p.now()
	for _, r := range p.mu.state.Replicas {
		if _, ok := p.mu.followers[r]; !ok && r != p.nodeID {
			// As for a new leader's followers: a guess until it fetches (CheckISR does not
			// expand on it; only ISR members' offsets count for the HW).
			p.mu.followers[r] = &followerState{logEndOffset: p.mu.highWatermark, brokerEpoch: -1, logStartOffset: -1, lastCaughtUpTime: now}
		}
	}
}

// maximalISRSizeLocked is the size of the ISR that acks=all counts: the committed ISR and,
// while a change is pending, its new members (a shrink's leaving members are still in the
// committed ISR). committedEndLocked takes the same union.
func (p *Partition) maximalISRSizeLocked() int {
	n := len(p.mu.state.ISR)
	for _, r := range p.mu.isr.pending {
		if !slices.Contains(p.mu.state.ISR, r) {
			n++
		}
	}
	return n
}

// isrFetchedLocked updates a follower's caught-up time by Kafka's rule (see the top of this
// file) after UpdateFollowerFetch recorded its fetch from fetchOffset.
func (p *Partition) isrFetchedLocked(f *followerState, fetchOffset int64) {
	now, leo := p.now(), p.log.LogEndOffset()
	if fetchOffset < leo && fetchOffset >= f.lastFetchLeaderLEO && f.lastFetchTime.After(f.lastCaughtUpTime) {
		f.lastCaughtUpTime = f.lastFetchTime
	}
	f.lastFetchLeaderLEO, f.lastFetchTime = leo, now
}

// CheckISR decides this partition's next ISR change, if any, when this node leads it: a
// shrink of the followers out of sync for longer than maxLag, else an expansion by the
// followers that caught up and that eligible accepts (eligible(id, brokerEpoch); brokerEpoch
// is -1 when the follower's fetches did not carry one). It returns the change to send and
// marks it in flight; false when there is none, one is already in flight, or a failed one is
// backing off.
func (p *Partition) CheckISR(now time.Time, maxLag time.Duration, eligible func(id int32, brokerEpoch int64) bool) (ISRRequest, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.mu.isLeader || p.mu.deleted || p.mu.isr.sent || now.Before(p.mu.isr.retryAt) || len(p.mu.state.Replicas) <= 1 {
		return ISRRequest{}, false // a lone replica has no follower to drop or add
	}
	isr := p.mu.state.ISR
	var next []int32
	expand := false
	out := 0
	for _, r := range isr {
		if f, ok := p.mu.followers[r]; ok && p.outOfSyncLocked(f, now, maxLag) {
			out++
		}
	}
	if out > 0 { // allocate only for a partition that changes
		next = make([]int32, 0, len(isr)-out)
		for _, r := range isr {
			if f, ok := p.mu.followers[r]; !ok || !p.outOfSyncLocked(f, now, maxLag) {
				next = append(next, r)
			}
		}
	}
	if next == nil {
		epochStart := int64(-1)
		if e, ok := p.log.LeaderEpochs().Latest(); ok && e.Epoch == p.mu.state.LeaderEpoch {
			epochStart = e.StartOffset
		}
		for _, r := range p.mu.state.Replicas {
			f, ok := p.mu.followers[r]
			// Until a follower fetches from this leader its log end offset is a guess.
			if !ok || f.lastFetchTime.IsZero() || slices.Contains(isr, r) || f.logEndOffset < p.mu.highWatermark || f.logEndOffset < epochStart ||
				!eligible(r, f.brokerEpoch) {
				continue
			}
			if next == nil {
				next = slices.Clone(isr)
			}
			next = append(next, r)
			expand = true
		}
	}
	if next == nil {
		return ISRRequest{}, false
	}
	p.mu.isr.pending, p.mu.isr.sent = next, true
	p.mu.isr.gen++
	if expand {
		// The joining followers count towards the high watermark from now on; they are at or
		// past it, so it does not move back.
		p.maybeAdvanceHighWatermarkLocked()
	}
	req := ISRRequest{Partition: p, LeaderEpoch: p.mu.state.LeaderEpoch, PartitionEpoch: p.mu.state.PartitionEpoch,
		NewISR: slices.Clone(next), BrokerEpochs: make([]int64, len(next)), Expand: expand, gen: p.mu.isr.gen}
	for i, r := range next {
		req.BrokerEpochs[i] = -1
		if f, ok := p.mu.followers[r]; ok {
			req.BrokerEpochs[i] = f.brokerEpoch
		}
	}
	return req, true
}

// outOfSyncLocked reports whether follower f has not been caught up for longer than maxLag.
func (p *Partition) outOfSyncLocked(f *followerState, now time.Time, maxLag time.Duration) bool {
	return f.logEndOffset < p.log.LogEndOffset() && now.Sub(f.lastCaughtUpTime) > maxLag
}

// CompleteISRChange takes the controller's answer to req: err, or the partition's state after
// the change (leader, leader epoch, partition epoch, ISR). An accepted change becomes the
// partition's state at once (the metadata carrying it follows), unless the partition moved to
// another leader epoch or a newer partition epoch meanwhile; when the metadata carrying the
// change arrived first (the same partition epoch is applied already), the change counts as
// applied all the same. A refused change is dropped and no new one is tried for
// isrRetryBackoff, unless the partition's state changes first.
func (p *Partition) CompleteISRChange(req ISRRequest, err error, leader, leaderEpoch, partitionEpoch int32, isr []int32) ISRChangeOutcome {
	p.mu.Lock()
	defer p.mu.Unlock()
	current := p.mu.isr.gen == req.gen && p.mu.isr.sent
	ours := err == nil && p.mu.isLeader && leader == p.nodeID && leaderEpoch == p.mu.state.LeaderEpoch
	switch {
	case ours && partitionEpoch == p.mu.state.PartitionEpoch && slices.Equal(isr, p.mu.state.ISR):
		if current {
			p.mu.isr = isrState{gen: p.mu.isr.gen, applied: p.mu.isr.applied}
			p.maybeAdvanceHighWatermarkLocked()
		} else if p.mu.isr.applied == partitionEpoch {
			return ISRChangeIgnored // counted already
		}
		p.mu.isr.applied = partitionEpoch
		return ISRChangeApplied
	case !current:
		return ISRChangeIgnored
	case err != nil:
		p.mu.isr = isrState{gen: p.mu.isr.gen, retryAt: p.now().Add(isrRetryBackoff), applied: p.mu.isr.applied}
		p.logger.Info("ISR change refused by the controller; waiting for metadata", "topic", p.topic, "partition", p.index,
			"isr", p.mu.state.ISR, "asked", req.NewISR, "err", err)
		p.maybeAdvanceHighWatermarkLocked()
		return ISRChangeFailed
	}
	p.mu.isr = isrState{gen: p.mu.isr.gen, applied: p.mu.isr.applied}
	if !ours || partitionEpoch < p.mu.state.PartitionEpoch {
		p.maybeAdvanceHighWatermarkLocked()
		return ISRChangeIgnored
	}
	p.mu.state.ISR, p.mu.state.PartitionEpoch = slices.Clone(isr), partitionEpoch
	p.mu.isr.applied = partitionEpoch
	p.maybeAdvanceHighWatermarkLocked()
	p.notifyLocked()
	return ISRChangeApplied
}

// FollowerLag is one follower's lag behind the leader.
type FollowerLag struct {
	Replica int32
	// Offsets is the leader's log end offset minus the follower's.
	Offsets int64
	InISR   bool
}

// FollowerLags returns each follower's lag when this node leads the partition; nil otherwise.
func (p *Partition) FollowerLags() []FollowerLag {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.mu.isLeader {
		return nil
	}
	leo := p.log.LogEndOffset()
	out := make([]FollowerLag, 0, len(p.mu.followers))
	for _, r := range p.mu.state.Replicas {
		if f, ok := p.mu.followers[r]; ok {
			out = append(out, FollowerLag{Replica: r, Offsets: max(leo-f.logEndOffset, 0), InISR: slices.Contains(p.mu.state.ISR, r)})
		}
	}
	return out
}
