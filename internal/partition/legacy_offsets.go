package partition

import "time"

// LegacyOffsetsBefore answers ListOffsets v0 (removed in Kafka 4, KIP-896) as Kafka 3.9's
// legacyFetchOffsetsForTimestamp did: storage.Log.LegacyOffsetsBefore's offsets, newest first,
// for the requester replica (ConsumerReplica, DebuggingReplica or a broker id). Only the
// leader answers, except DebuggingReplica requests (ErrNotLeader otherwise). A consumer is
// not shown offsets past the high watermark: when there are some, they are dropped and the
// high watermark is put first instead.
func (p *Partition) LegacyOffsetsBefore(timestamp int64, maxNum int32, replica int32) ([]int64, error) {
	p.mu.Lock()
	var err error
	if replica == DebuggingReplica {
		err = p.replicaReadableLocked(NoLeaderEpoch)
	} else {
		err = p.readableLocked(NoLeaderEpoch)
	}
	hw := p.mu.highWatermark
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	offsets, err := p.log.LegacyOffsetsBefore(timestamp, maxNum, time.Now().UnixMilli())
	if err != nil || replica != ConsumerReplica {
		return offsets, err
	}
	i := 0
	for i < len(offsets) && offsets[i] > hw {
		i++
	}
	if i == 0 {
		return offsets, nil
	}
	return append([]int64{hw}, offsets[i:]...), nil
}
