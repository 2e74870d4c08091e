package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// changelogReader reads changelog partitions with its own client (no group; partitions
// added and removed by hand): to restore an active task's stores up to the changelog's end
// before it processes, and continuously for standbys. It keeps control records so that a
// restore ending on a transaction marker sees its offset; under exactly-once it reads
// read_committed and the end is the last stable offset. Used under Runtime.mu only.
type changelogReader struct {
	r       *Runtime
	cl      *kgo.Client
	standby map[tp]*changelog // standby stores by changelog partition
	buf     []state.Record
}

func newChangelogReader(r *Runtime) (*changelogReader, error) {
	opts := slices.Clone(r.cfg.ClientOptions)
	opts = append(opts, kgo.KeepControlRecords(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if r.cfg.ExactlyOnce {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("runtime: changelog reader: %w", err)
	}
	return &changelogReader{r: r, cl: cl, standby: map[tp]*changelog{}}, nil
}

func (c *changelogReader) close() { c.cl.Close() }

// ends lists the changelog ends: the high watermark, or under exactly-once the last stable
// offset (what read_committed can read up to).
func (c *changelogReader) ends(ctx context.Context, topics []string) (kadm.ListedOffsets, error) {
	if c.r.cfg.ExactlyOnce {
		return c.r.admin.ListCommittedOffsets(ctx, topics...)
	}
	return c.r.admin.ListEndOffsets(ctx, topics...)
}

// start is where a store's restore begins: its checkpoint, or the changelog's start.
func start(db *state.DB, lg *changelog) (kgo.Offset, int64, error) {
	if db != nil && lg.persistent {
		next, ok, err := db.Checkpoint(lg.tp)
		if err != nil {
			return kgo.Offset{}, 0, err
		}
		if ok {
			return kgo.NewOffset().At(next), next, nil
		}
	}
	return kgo.NewOffset().AtStart(), -1, nil
}

type restoring struct {
	log   *changelog
	end   int64
	begin time.Time
	from  int64
}

// restore brings a task's logged stores up to their changelogs' ends, from their
// checkpoints, or with resume from where they are (a task kept across a rebalance catches
// up with what another member may have written meanwhile).
func (c *changelogReader) restore(ctx context.Context, id processor.TaskID, db *state.DB, logs []*changelog, resume bool) error {
	if len(logs) == 0 {
		return nil
	}
	var topics []string
	for _, lg := range logs {
		topics = append(topics, lg.tp.Topic)
	}
	if c.r.sess != nil {
		c.r.waitStableOffsets(ctx, id)
	}
	ends, err := c.ends(ctx, topics)
	if err != nil {
		return fmt.Errorf("runtime: task %v: changelog end offsets: %w", id, err)
	}
	pending := map[tp]*restoring{}
	assign := map[string]map[int32]kgo.Offset{}
	for _, lg := range logs {
		end, ok := ends.Lookup(lg.tp.Topic, lg.tp.Partition)
		if !ok || end.Err != nil {
			return fmt.Errorf("runtime: task %v: end offset of %s-%d: %v", id, lg.tp.Topic, lg.tp.Partition, end.Err)
		}
		off, from, err := start(db, lg)
		if err != nil {
			return fmt.Errorf("runtime: task %v: checkpoint: %w", id, err)
		}
		if next := lg.next.Load(); resume && next >= 0 {
			off, from = kgo.NewOffset().At(next), next
		}
		// from > end: under exactly-once another producer's transaction, open since
		// before our last writes, holds the last stable offset back; our committed
		// writes beyond it are in the stores already.
		if from >= end.Offset || end.Offset == 0 {
			lg.next.Store(max(from, end.Offset))
			continue
		}
		if assign[lg.tp.Topic] == nil {
			assign[lg.tp.Topic] = map[int32]kgo.Offset{}
		}
		assign[lg.tp.Topic][lg.tp.Partition] = off
		pending[tp{lg.tp.Topic, lg.tp.Partition}] = &restoring{log: lg, end: end.Offset, begin: time.Now(), from: max(from, 0)}
		c.r.met.restoreRemaining.WithLabelValues(id.String(), lg.store).Set(float64(end.Offset - max(from, 0)))
		c.r.log.Info("restoring", "task", id, "store", lg.store, "changelog", lg.tp.Topic, "from", max(from, 0), "to", end.Offset)
	}
	if len(pending) == 0 {
		return nil
	}
	c.cl.AddConsumePartitions(assign)
	defer func() {
		rm := map[string][]int32{}
		for topic, ps := range assign {
			for p := range ps {
				rm[topic] = append(rm[topic], p)
			}
		}
		c.cl.RemoveConsumePartitions(rm)
	}()
	lastLog := time.Now()
	for len(pending) > 0 {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := c.cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		var applyErr error
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			key := tp{p.Topic, p.Partition}
			if rs := pending[key]; rs != nil {
				applyErr = errors.Join(applyErr, c.apply(rs.log, p.Records))
				c.r.met.restoreRemaining.WithLabelValues(id.String(), rs.log.store).Set(float64(max(rs.end-rs.log.next.Load(), 0)))
				if rs.log.next.Load() >= rs.end {
					delete(pending, key)
					took := time.Since(rs.begin)
					c.r.log.Info("restored", "task", id, "store", rs.log.store, "records", rs.end-rs.from, "took", took.Round(time.Millisecond))
				}
			} else if f := c.standby[key]; f != nil {
				applyErr = errors.Join(applyErr, c.apply(f, p.Records))
			}
		})
		if applyErr != nil {
			return fmt.Errorf("runtime: task %v: restore: %w", id, applyErr)
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				c.r.log.Warn("changelog fetch error", "topic", fe.Topic, "partition", fe.Partition, "err", fe.Err)
			}
		}
		if time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			for _, rs := range pending {
				c.r.log.Info("restore progress", "task", id, "store", rs.log.store, "at", rs.log.next.Load(), "to", rs.end)
			}
		}
	}
	return nil
}

// apply writes a fetch's records of one changelog partition to the store, in one batch.
func (c *changelogReader) apply(lg *changelog, recs []*kgo.Record) error {
	if len(recs) == 0 {
		return nil
	}
	c.buf = c.buf[:0]
	var n int
	for _, rec := range recs {
		if rec.Attrs.IsControl() {
			continue
		}
		c.buf = append(c.buf, state.Record{Key: rec.Key, Value: rec.Value})
		n += len(rec.Key) + len(rec.Value)
	}
	if len(c.buf) > 0 {
		if err := lg.restorer.RestoreBatch(c.buf); err != nil {
			return fmt.Errorf("store %s: %w", lg.store, err)
		}
	}
	clear(c.buf)
	lg.next.Store(recs[len(recs)-1].Offset + 1)
	c.r.met.restoredRecords.Add(float64(len(c.buf)))
	c.r.met.restoredBytes.Add(float64(n))
	return nil
}

// follow starts reading a standby's changelogs from their checkpoints.
func (c *changelogReader) follow(_ context.Context, s *standbyTask) error {
	assign := map[string]map[int32]kgo.Offset{}
	for _, lg := range s.logs {
		off, from, err := start(s.db, lg)
		if err != nil {
			return err
		}
		lg.next.Store(from)
		if assign[lg.tp.Topic] == nil {
			assign[lg.tp.Topic] = map[int32]kgo.Offset{}
		}
		assign[lg.tp.Topic][lg.tp.Partition] = off
		c.standby[tp{lg.tp.Topic, lg.tp.Partition}] = lg
	}
	c.cl.AddConsumePartitions(assign)
	return nil
}

func (c *changelogReader) unfollow(s *standbyTask) {
	rm := map[string][]int32{}
	for _, lg := range s.logs {
		delete(c.standby, tp{lg.tp.Topic, lg.tp.Partition})
		rm[lg.tp.Topic] = append(rm[lg.tp.Topic], lg.tp.Partition)
	}
	c.cl.RemoveConsumePartitions(rm)
}

// pollStandbys applies what the standbys' changelogs have buffered, waiting at most a
// millisecond.
func (c *changelogReader) pollStandbys(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	fetches := c.cl.PollFetches(pctx)
	cancel()
	var err error
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if f := c.standby[tp{p.Topic, p.Partition}]; f != nil {
			err = errors.Join(err, c.apply(f, p.Records))
		}
	})
	if err != nil {
		return fmt.Errorf("runtime: standby: %w", err)
	}
	return nil
}

// stableOffsetsWait bounds waitStableOffsets. The group's own offset fetch waits for the same
// transaction (franz-go retries UNSTABLE_OFFSET_COMMIT), so processing could not begin
// sooner; the bound only keeps a rebalance callback from waiting forever.
const stableOffsetsWait = 60 * time.Second

// waitStableOffsets waits, under exactly-once, until the committed offsets of task id's input
// partitions are stable (OffsetFetch with require_stable, KIP-447): no transaction that
// committed offsets for them is still being completed. The previous owner's last
// transaction may have committed its offsets and changelog records without its markers
// written yet; restoring up to the last stable offset before then would miss those changelog
// records while processing resumed after them. Sluice writes a transaction's offsets marker
// after its other markers, so stable offsets mean its changelog records are readable.
func (r *Runtime) waitStableOffsets(ctx context.Context, id processor.TaskID) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group, req.RequireStable = r.cfg.AppID, true
	for _, topic := range r.subTopics[id.Subtopology] {
		rt := kmsg.NewOffsetFetchRequestTopic()
		rt.Topic, rt.Partitions = topic, []int32{id.Partition}
		req.Topics = append(req.Topics, rt)
	}
	deadline := time.Now().Add(stableOffsetsWait)
	for {
		resp, err := req.RequestWith(ctx, r.cl)
		if err == nil {
			note := func(code int16) {
				if e := kerr.ErrorForCode(code); e != nil && err == nil {
					err = e
				}
			}
			note(resp.ErrorCode)
			for _, t := range resp.Topics { // v0-7
				for _, p := range t.Partitions {
					note(p.ErrorCode)
				}
			}
			for _, g := range resp.Groups { // v8+ (franz-go fills both)
				note(g.ErrorCode)
				for _, t := range g.Topics {
					for _, p := range t.Partitions {
						note(p.ErrorCode)
					}
				}
			}
		}
		if err == nil {
			return
		}
		// Waited for: a transaction being completed, and what passes (a coordinator
		// moving, a connection). Anything else (an authorization error) the group's own
		// offset fetch meets and reports.
		var ke *kerr.Error
		if errors.As(err, &ke) && ke != kerr.UnstableOffsetCommit && !ke.Retriable {
			r.log.Warn("restoring without checking that the committed offsets are stable", "task", id, "err", err)
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.log.Warn("restoring before the committed offsets are stable", "task", id, "err", err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}
