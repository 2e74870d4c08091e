package partition

// PreferredReadReplica picks the replica a consumer in clientRack should
// fetch from, as Kafka's RackAwareReplicaSelector does (KIP-392); it
// returns -1 for "this leader" (or when this node does not lead).
//
// The candidates are the leader and the followers in the ISR whose log end
// offset (from their last fetch) has reached fetchOffset, so the chosen
// follower holds the consumer's position. A consumer without a rack, or
// with no candidate in its rack, stays on the leader; so does one in the
// leader's rack. Otherwise the candidate in its rack with the highest log
// end offset wins, then the one caught up with the leader most recently,
// then the highest broker id (Kafka's ReplicaView order).
//
// rackOf reports a broker's rack and whether the consumer can reach it
// (registered, unfenced, with an endpoint on the consumer's listener); it
// is called with the partition's state lock held and must not block.
func (p *Partition) PreferredReadReplica(fetchOffset int64, clientRack string, rackOf func(id int32) (rack string, ok bool)) int32 {
	if clientRack == "" {
		return -1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.mu.isLeader || p.mu.deleted {
		return -1
	}
	if rack, ok := rackOf(p.nodeID); ok && rack == clientRack {
		return -1
	}
	now := p.now()
	best := int32(-1)
	var bestEnd int64
	var bestCaughtUp int64 // UnixNano of the last catch-up
	for _, r := range p.mu.state.ISR {
		f, ok := p.mu.followers[r]
		if r == p.nodeID || !ok || f.logEndOffset < fetchOffset {
			continue
		}
		if rack, ok := rackOf(r); !ok || rack != clientRack {
			continue
		}
		caughtUp := f.lastCaughtUpTime.UnixNano()
		if caughtUp > now.UnixNano() {
			caughtUp = now.UnixNano()
		}
		better := best < 0 || f.logEndOffset > bestEnd ||
			(f.logEndOffset == bestEnd && (caughtUp > bestCaughtUp || (caughtUp == bestCaughtUp && r > best)))
		if better {
			best, bestEnd, bestCaughtUp = r, f.logEndOffset, caughtUp
		}
	}
	return best
}

// LeaderOffsets is what the leader answers for a partition it sends a
// consumer away from (PreferredReadReplica): the offsets and no records,
// after the checks of a read (this node leads, the epoch is current).
func (p *Partition) LeaderOffsets(currentLeaderEpoch int32) (ReadResult, error) {
	p.mu.Lock()
	res := ReadResult{HighWatermark: p.mu.highWatermark, LastStableOffset: p.lastStableOffsetLocked()}
	err := p.readableLocked(currentLeaderEpoch)
	p.mu.Unlock()
	res.LogStartOffset, res.LogEndOffset = p.log.LogStartOffset(), p.log.LogEndOffset()
	return res, err
}
