package partition

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/internal/storage"
)

// ReadOptions shape a read.
type ReadOptions struct {
	MaxBytes int32
	// MinOneBatch returns the first batch even when it exceeds MaxBytes, as
	// Kafka does for the first partition of a fetch with data.
	MinOneBatch bool
	Isolation   Isolation
	// CurrentLeaderEpoch is the epoch the client believes current, or
	// NoLeaderEpoch (KIP-320).
	CurrentLeaderEpoch int32
	// LastFetchedEpoch is the epoch of the last batch the fetcher holds, or
	// NoLeaderEpoch; when given, a log that diverged from it since is
	// reported (DivergingEpoch) instead of records (KIP-595 fetch).
	LastFetchedEpoch int32
	// Replica is the fetching follower's node id, or -1 for consumers.
	// Followers read up to the log end offset, consumers up to the high
	// watermark (or last stable offset).
	Replica int32
	// ReplicaEpoch is the fetching follower's broker epoch (Fetch v15+, KIP-903), or -1.
	ReplicaEpoch int64
	// ReplicaLogStart is the fetching follower's own log start offset (Fetch v5+), or -1: the
	// leader's low watermark (DeleteRecords) waits for it.
	ReplicaLogStart int64
	// AnyReplica lets a consumer (Replica < 0) read from this node when it
	// is a follower, not the leader (Fetch v11+, KIP-392): up to the
	// follower's high watermark (or last stable offset), which is the
	// leader's as of the follower's last fetch. Without it only the leader
	// serves reads.
	AnyReplica bool
	// LogEnd reads up to the log end offset instead of the high watermark
	// (Kafka's FetchIsolation.LOG_END): how a newly elected coordinator
	// loads its internal topic (Replay). Not for clients.
	LogEnd bool
}

// ReadResult is what a fetch returns for one partition. Records holds file
// regions; the caller sends them and then calls Records.Release.
type ReadResult struct {
	Records          storage.ReadResult
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	LogEndOffset     int64
	// Diverging is set when LastFetchedEpoch shows the fetcher's log
	// diverged: it should truncate to DivergingEndOffset of DivergingEpoch.
	Diverging          bool
	DivergingEpoch     int32
	DivergingEndOffset int64
	// AbortedTxns are the aborted transactions overlapping the records
	// returned, for read_committed consumers (nil otherwise): they drop a
	// producer's records from the transaction's first offset up to its
	// abort marker.
	AbortedTxns []storage.AbortedTxn
}

// Read returns record batches from offset on as file regions, never
// copies. Offsets between the visible end (high watermark or last stable
// offset) and the log end offset give an empty result; offsets outside
// [log start, log end] give ErrOffsetOutOfRange, with the offsets filled in
// so the client can reset.
func (p *Partition) Read(offset int64, opts ReadOptions) (ReadResult, error) {
	p.mu.Lock()
	res := ReadResult{HighWatermark: p.mu.highWatermark, LastStableOffset: p.lastStableOffsetLocked()}
	var err error
	if opts.AnyReplica && opts.Replica < 0 {
		err = p.replicaReadableLocked(opts.CurrentLeaderEpoch)
	} else {
		err = p.readableLocked(opts.CurrentLeaderEpoch)
	}
	p.mu.Unlock()
	res.LogStartOffset, res.LogEndOffset = p.log.LogStartOffset(), p.log.LogEndOffset()
	if err != nil {
		return res, err
	}
	if opts.LastFetchedEpoch >= 0 {
		epoch, end := p.log.LeaderEpochs().EndOffsetFor(opts.LastFetchedEpoch, res.LogEndOffset)
		if epoch == storage.UndefinedEpoch || end == storage.UndefinedEpochOffset {
			// An epoch newer than any this log knows: as Kafka, out of range.
			return res, fmt.Errorf("%s-%d: %w: last fetched epoch %d is unknown", p.topic, p.index, ErrOffsetOutOfRange, opts.LastFetchedEpoch)
		}
		if epoch < opts.LastFetchedEpoch || end < offset {
			res.Diverging, res.DivergingEpoch, res.DivergingEndOffset = true, epoch, end
			return res, nil
		}
	}
	maxOffset := res.HighWatermark
	switch {
	case opts.Replica >= 0:
		// A follower's fetch offset is its log end offset: record it first, so the high
		// watermark this answer carries already counts it (as Kafka's leader does).
		if offset >= res.LogStartOffset && offset <= res.LogEndOffset {
			if err := p.UpdateFollowerFetch(opts.Replica, opts.ReplicaEpoch, offset); err != nil {
				return res, err
			}
			p.updateFollowerLogStart(opts.Replica, opts.ReplicaLogStart)
			p.mu.Lock()
			res.HighWatermark, res.LastStableOffset = p.mu.highWatermark, p.lastStableOffsetLocked()
			p.mu.Unlock()
		}
		maxOffset = res.LogEndOffset
	case opts.LogEnd:
		maxOffset = res.LogEndOffset
	case opts.Isolation == ReadCommitted:
		maxOffset = res.LastStableOffset
	}
	rr, err := p.log.Read(offset, opts.MaxBytes, maxOffset, opts.MinOneBatch)
	res.LogStartOffset, res.LogEndOffset = rr.LogStartOffset, rr.LogEndOffset
	if err != nil {
		if errors.Is(err, storage.ErrOffsetOutOfRange) {
			return res, fmt.Errorf("%s-%d: %w: %w", p.topic, p.index, ErrOffsetOutOfRange, err)
		}
		return res, fmt.Errorf("%s-%d: read at %d: %w", p.topic, p.index, offset, err)
	}
	res.Records = rr
	if opts.Replica < 0 && opts.Isolation == ReadCommitted && len(rr.Regions) > 0 {
		// The transaction index is written before the last stable offset
		// passes an aborted transaction, so every abort the records need
		// is there.
		if res.AbortedTxns, err = p.log.AbortedTxns(rr.FirstOffset, rr.NextOffset); err != nil {
			rr.Release()
			res.Records = storage.ReadResult{}
			return res, fmt.Errorf("%s-%d: aborted transactions %d..%d: %w", p.topic, p.index, rr.FirstOffset, rr.NextOffset, err)
		}
	}
	return res, nil
}

// readableLocked checks that this node may serve reads: it leads the
// partition and the request's leader epoch is current.
//
// The epoch is checked first, as Kafka's Partition does: a request naming a newer epoch than
// this node applied gets UNKNOWN_LEADER_EPOCH (retried at once) even where this node is not the
// leader yet — the new leader of a leadership move whose metadata reached the requester first
// (a follower's fetcher) — rather than NOT_LEADER_OR_FOLLOWER, after which a follower waits
// replica.fetch.backoff.ms.
func (p *Partition) readableLocked(currentLeaderEpoch int32) error {
	if p.mu.deleted {
		return fmt.Errorf("%s-%d: %w", p.topic, p.index, ErrDeleted)
	}
	if err := p.checkEpochLocked(currentLeaderEpoch); err != nil {
		return err
	}
	if !p.mu.isLeader {
		return fmt.Errorf("%s-%d: %w", p.topic, p.index, ErrNotLeader)
	}
	return nil
}

// replicaReadableLocked checks that this node may serve a consumer that
// accepts any replica (KIP-392): it is the leader or a follower (a replica
// in the applied state) and the request's leader epoch is the one this
// node knows. A follower checks the epoch as Kafka's does: against the
// leader epoch of the state it applied.
func (p *Partition) replicaReadableLocked(currentLeaderEpoch int32) error {
	switch {
	case p.mu.deleted:
		return fmt.Errorf("%s-%d: %w", p.topic, p.index, ErrDeleted)
	case !p.mu.isLeader && !slices.Contains(p.mu.state.Replicas, p.nodeID):
		return fmt.Errorf("%s-%d: %w", p.topic, p.index, ErrNotLeader)
	}
	return p.checkEpochLocked(currentLeaderEpoch)
}

// visibleEndLocked is the end of what consumers at an isolation level may
// read: the high watermark, or the last stable offset for read_committed.
func (p *Partition) visibleEndLocked(isolation Isolation) int64 {
	if isolation == ReadCommitted {
		return p.lastStableOffsetLocked()
	}
	return p.mu.highWatermark
}
