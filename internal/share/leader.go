package share

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
)

// Partition is the share-partition leader's state for one Key (Kafka's SharePartition):
// the in-flight window, loaded from the Persister when first used under a leader epoch, and
// written back through it on every acknowledgement, release and lock timeout before the
// caller answers.
//
// Locking: writeMu orders the persisted transitions; it is taken first and held across the
// Persister call (it is this share-partition's alone). mu guards the window and is never
// held across I/O. Acquisition takes mu only: acquired records are never persisted.
type Partition struct {
	key       Key
	persister Persister

	writeMu sync.Mutex
	mu      struct {
		sync.Mutex
		loaded      bool
		leaderEpoch int32
		stateEpoch  int32
		w           window
		watchers    []*partition.Waiter
	}
	// nextDeadline is the earliest lock deadline (unix nanoseconds, 0 for none): the
	// manager's timer goroutine reads it without mu.
	nextDeadline atomic.Int64
	// acquired is the number of acquired records (the in-flight gauge).
	acquired atomic.Int64
	expiring atomic.Bool
}

// Key is the share-partition's key.
func (p *Partition) Key() Key { return p.key }

// Acquired is the number of records now acquired by consumers.
func (p *Partition) AcquiredCount() int64 { return p.acquired.Load() }

// Watch wakes w when records of p become available again (released, timed out). One-shot,
// as partition.Partition.Watch.
func (p *Partition) Watch(w *partition.Waiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range p.mu.watchers {
		if x == w {
			return
		}
	}
	p.mu.watchers = append(p.mu.watchers, w)
}

// Unwatch drops w's pending watch.
func (p *Partition) Unwatch(w *partition.Waiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.mu.watchers {
		if x == w {
			last := len(p.mu.watchers) - 1
			p.mu.watchers[i], p.mu.watchers[last] = p.mu.watchers[last], nil
			p.mu.watchers = p.mu.watchers[:last]
			return
		}
	}
}

func (p *Partition) notifyLocked() {
	for i, w := range p.mu.watchers {
		w.Wake()
		p.mu.watchers[i] = nil
	}
	p.mu.watchers = p.mu.watchers[:0]
}

// ensureLoaded reads the state from the persister unless it is loaded under leaderEpoch;
// an uninitialized share-partition starts where cfg.AutoOffsetReset says.
func (p *Partition) ensureLoaded(ctx context.Context, log *partition.Partition, leaderEpoch int32, cfg GroupConfig, now time.Time) error {
	p.mu.Lock()
	ok := p.mu.loaded && p.mu.leaderEpoch == leaderEpoch
	p.mu.Unlock()
	if ok {
		return nil
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	ok = p.mu.loaded && p.mu.leaderEpoch == leaderEpoch
	p.mu.Unlock()
	if ok {
		return nil
	}
	ps, err := p.persister.Read(ctx, p.key, leaderEpoch)
	initialize := errors.Is(err, kerr.UnknownTopicOrPartition)
	if err != nil && !initialize {
		return fmt.Errorf("share: read state of %s-%d: %w", p.key.Group, p.key.Partition, err)
	}
	if initialize || ps.StartOffset < 0 {
		start, err := resetOffset(log, cfg.AutoOffsetReset, now)
		if err != nil {
			return err
		}
		if initialize {
			if err := p.persister.Initialize(ctx, p.key, 0, start); err != nil {
				return fmt.Errorf("share: initialize %s-%d: %w", p.key.Group, p.key.Partition, err)
			}
			if ps, err = p.persister.Read(ctx, p.key, leaderEpoch); err != nil {
				return fmt.Errorf("share: read state of %s-%d: %w", p.key.Group, p.key.Partition, err)
			}
		} else {
			w := Write{StateEpoch: ps.StateEpoch, LeaderEpoch: leaderEpoch, StartOffset: start}
			if err := p.persister.Write(ctx, p.key, w); err != nil {
				return fmt.Errorf("share: start %s-%d at %d: %w", p.key.Group, p.key.Partition, start, err)
			}
			ps.StartOffset, ps.Batches = start, nil
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.w.load(ps)
	p.mu.loaded, p.mu.leaderEpoch, p.mu.stateEpoch = true, leaderEpoch, ps.StateEpoch
	p.acquired.Store(0)
	p.nextDeadline.Store(0)
	return nil
}

// resetOffset is share.auto.offset.reset's start offset: latest (the high watermark),
// earliest (the log start offset) or by_duration:<ISO-8601 duration> (the first record at
// or after now minus the duration).
func resetOffset(log *partition.Partition, reset string, now time.Time) (int64, error) {
	switch {
	case reset == "earliest":
		return log.LogStartOffset(), nil
	case strings.HasPrefix(reset, "by_duration:"):
		d, err := ParseISODuration(strings.TrimPrefix(reset, "by_duration:"))
		if err != nil {
			return 0, err
		}
		res, err := log.ListOffset(now.Add(-d).UnixMilli(), partition.ReadUncommitted, partition.NoLeaderEpoch)
		if err != nil {
			return 0, fmt.Errorf("share: by_duration offset: %w", err)
		}
		if res.Offset < 0 {
			return log.HighWatermark(), nil
		}
		return res.Offset, nil
	default:
		return log.HighWatermark(), nil
	}
}

// FetchParams shape one acquisition.
type FetchParams struct {
	Member     string
	MaxRecords int
	MaxBytes   int32
	// MinOneBatch returns the first batch even past MaxBytes (the first partition of a fetch).
	MinOneBatch bool
	// Strict acquires at most MaxRecords, splitting a batch (ShareAcquireMode record_limit,
	// KIP-1206); otherwise whole batches (batch_optimized).
	Strict bool
	Config GroupConfig
	Now    time.Time
}

// FetchResult is what one acquisition hands a member: the batches holding the acquired
// records (file regions; Records.Release once sent) and the acquired ranges.
type FetchResult struct {
	Records  storage.ReadResult
	Acquired []Acquired
}

// Fetch acquires records of log for a member: it loads the state if needed, reads the log
// from the first acquirable offset (up to the high watermark, or the last stable offset for
// read_committed), acquires whole batches, and returns the batches holding them. It
// returns an empty result when nothing can be acquired.
func (p *Partition) Fetch(ctx context.Context, log *partition.Partition, fp FetchParams) (FetchResult, error) {
	leaderEpoch := log.State().LeaderEpoch
	if err := p.ensureLoaded(ctx, log, leaderEpoch, fp.Config, fp.Now); err != nil {
		return FetchResult{}, err
	}
	isolation := partition.ReadUncommitted
	if fp.Config.ReadCommitted {
		isolation = partition.ReadCommitted
	}
	for attempt := 0; ; attempt++ {
		p.mu.Lock()
		offset, ok := p.mu.w.nextFetchOffset(fp.Config.PartitionMaxRecordLocks)
		p.mu.Unlock()
		if !ok || fp.MaxRecords <= 0 {
			return FetchResult{}, nil
		}
		rr, err := log.Read(offset, partition.ReadOptions{MaxBytes: fp.MaxBytes, MinOneBatch: fp.MinOneBatch,
			Isolation: isolation, CurrentLeaderEpoch: leaderEpoch, LastFetchedEpoch: partition.NoLeaderEpoch, Replica: -1, ReplicaLogStart: -1})
		if errors.Is(err, partition.ErrOffsetOutOfRange) && attempt == 0 && offset < rr.LogStartOffset {
			// The records were deleted (retention, DeleteRecords): start past them.
			p.mu.Lock()
			p.mu.w.resetStart(rr.LogStartOffset)
			p.mu.Unlock()
			continue
		}
		if errors.Is(err, partition.ErrOffsetOutOfRange) && offset > rr.LogEndOffset {
			return FetchResult{}, nil // the log was truncated below the window: nothing new yet
		}
		if err != nil {
			return FetchResult{}, err
		}
		return p.acquire(rr, fp, leaderEpoch)
	}
}

// acquire acquires the records of rr for fp.Member and trims rr to the batches holding them.
func (p *Partition) acquire(rr partition.ReadResult, fp FetchParams, leaderEpoch int32) (FetchResult, error) {
	res := FetchResult{Records: rr.Records}
	batches, ends, err := readBatches(&rr.Records, rr.AbortedTxns)
	if err != nil {
		res.Records.Release()
		return FetchResult{}, err
	}
	deadline := fp.Now.Add(fp.Config.RecordLockDuration).UnixNano()
	p.mu.Lock()
	if !p.mu.loaded || p.mu.leaderEpoch != leaderEpoch {
		p.mu.Unlock()
		res.Records.Release()
		return FetchResult{}, nil
	}
	res.Acquired = p.mu.w.acquire(batches, fp.Member, fp.MaxRecords, fp.Config.PartitionMaxRecordLocks, fp.Strict, deadline, nil)
	p.acquired.Store(p.mu.w.acquiredCount())
	if len(res.Acquired) > 0 {
		if d := p.nextDeadline.Load(); d == 0 || deadline < d {
			p.nextDeadline.Store(deadline)
		}
	}
	p.mu.Unlock()
	if len(res.Acquired) == 0 {
		res.Records.Release()
		return FetchResult{}, nil
	}
	last := res.Acquired[len(res.Acquired)-1].LastOffset
	for i, b := range batches {
		if b.LastOffset >= last {
			res.Records.Truncate(ends[i])
			res.Records.NextOffset = b.LastOffset + 1
			break
		}
	}
	return res, nil
}

// readBatches reads the batch headers of rr: each batch's offsets, whether it is skipped
// (control, or an aborted transaction's), and where it ends in rr's bytes.
func readBatches(rr *storage.ReadResult, aborted []storage.AbortedTxn) ([]LogBatch, []int64, error) {
	var (
		batches []LogBatch
		ends    []int64
		hdr     [record.HeaderSize]byte
		base    int64
	)
	for _, rg := range rr.Regions {
		for pos := int64(0); pos < rg.Len(); {
			if _, err := rg.ReadAt(hdr[:], pos); err != nil && !errors.Is(err, io.EOF) {
				return nil, nil, fmt.Errorf("share: read batch header: %w", err)
			}
			h, err := record.ReadHeader(hdr[:])
			if err != nil {
				return nil, nil, fmt.Errorf("share: batch header at %d: %w", base+pos, err)
			}
			skip := h.IsControl() || (h.IsTransactional() && abortedBatch(aborted, h.ProducerID, h.BaseOffset))
			batches = append(batches, LogBatch{BaseOffset: h.BaseOffset, LastOffset: h.LastOffset(), Skip: skip})
			pos += int64(h.Size())
			ends = append(ends, base+pos)
		}
		base += rg.Len()
	}
	return batches, ends, nil
}

// abortedBatch reports whether producerID's batch at offset belongs to an aborted
// transaction (its first offset at or before offset, its abort marker after).
func abortedBatch(aborted []storage.AbortedTxn, producerID, offset int64) bool {
	for _, a := range aborted {
		if a.ProducerID == producerID && a.FirstOffset <= offset && offset < a.LastOffset {
			return true
		}
	}
	return false
}

// Acknowledge applies member's acknowledgements and persists them before returning.
// allowRenew admits AckRenew (ShareFetch/ShareAcknowledge v2 with IsRenewAck).
func (p *Partition) Acknowledge(ctx context.Context, member string, batches []AckBatch, cfg GroupConfig, now time.Time, allowRenew bool) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	if !p.mu.loaded {
		p.mu.Unlock()
		return ErrInvalidRecordState
	}
	if err := p.mu.w.checkAcks(member, batches, allowRenew); err != nil {
		p.mu.Unlock()
		return err
	}
	var ch changes
	p.mu.w.acknowledge(batches, cfg.DeliveryCountLimit, now.Add(cfg.RecordLockDuration).UnixNano(), &ch)
	return p.persistLocked(ctx, ch)
}

// ReleaseMember releases every record member holds (its share session closed or it left
// the group) and persists the change.
func (p *Partition) ReleaseMember(ctx context.Context, member string, cfg GroupConfig, now time.Time) error {
	return p.release(ctx, member, cfg, now)
}

// Expire releases the records whose acquisition lock timed out at now.
func (p *Partition) Expire(ctx context.Context, cfg GroupConfig, now time.Time) error {
	return p.release(ctx, "", cfg, now)
}

func (p *Partition) release(ctx context.Context, member string, cfg GroupConfig, now time.Time) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	if !p.mu.loaded {
		p.mu.Unlock()
		return nil
	}
	var ch changes
	p.mu.w.release(member, now.UnixNano(), cfg.DeliveryCountLimit, &ch)
	if len(ch) == 0 {
		p.mu.Unlock()
		return nil
	}
	return p.persistLocked(ctx, ch)
}

// persistLocked finishes a transition: it advances the start offset, wakes waiting fetches,
// unlocks mu and writes the change through the persister (writeMu still held). A failed
// write drops the loaded state, so the next fetch reloads what the persister holds.
func (p *Partition) persistLocked(ctx context.Context, ch changes) error {
	w := &p.mu.w
	oldStart := w.start
	w.merge()
	w.advanceStart()
	wr := Write{StateEpoch: p.mu.stateEpoch, LeaderEpoch: p.mu.leaderEpoch, StartOffset: -1,
		DeliveryCompleteCount: w.completeCount(), Batches: w.batchesFor(ch, nil)}
	if w.start != oldStart {
		wr.StartOffset = w.start
	}
	p.acquired.Store(w.acquiredCount())
	p.nextDeadline.Store(w.nextDeadline())
	p.notifyLocked()
	p.mu.Unlock()
	if wr.StartOffset < 0 && len(wr.Batches) == 0 {
		return nil
	}
	if err := p.persister.Write(ctx, p.key, wr); err != nil {
		p.mu.Lock()
		p.mu.loaded = false
		p.acquired.Store(0)
		p.nextDeadline.Store(0)
		p.mu.Unlock()
		return fmt.Errorf("share: write state of %s-%d: %w", p.key.Group, p.key.Partition, err)
	}
	return nil
}

// Unload forgets the in-memory state (this broker stopped leading the partition).
func (p *Partition) Unload() {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.loaded = false
	p.acquired.Store(0)
	p.nextDeadline.Store(0)
	p.notifyLocked()
}

// Snapshot is the in-memory window as persisted batches with its start offset (tests and
// the in-flight view).
func (p *Partition) Snapshot() (start int64, batches []StateBatch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.w.start, p.mu.w.snapshot()
}
