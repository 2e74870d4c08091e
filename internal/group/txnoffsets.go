package group

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/record"
)

// Transactional offset commits (TxnOffsetCommit, KIP-98/KIP-447). A transactional producer
// commits its consumer group's offsets inside its transaction: the offsets are appended to
// the group's __consumer_offsets partition as a transactional batch of the producer (its id
// and epoch in the batch header) and stay pending — invisible to OffsetFetch — until the
// transaction coordinator writes the transaction's marker into that partition. A commit
// marker makes them the group's committed offsets, an abort marker drops them. Loading the
// partition replays the same rule, so pending offsets of a transaction that was still open
// at a crash stay invisible until its marker arrives (recovery of the coordinator writes it).
//
// A transaction whose offsets were committed by a member that has since left the group
// (LeaveGroup) or been replaced by a new instance with its group.instance.id (KIP-345) is
// abandoned: no EndTxn of that member may be trusted to come, yet with require_stable the
// member that takes over its partitions is held at UNSTABLE_OFFSET_COMMIT until the
// transaction ends. Kafka waits for the transaction timeout then (plus up to a cleanup
// interval); a client that initializes its producer id only once it has records — franz-go's
// GroupTransactSession — cannot end the wait sooner, so a restarted session stalls for the
// whole timeout. Sluice asks the transaction coordinator (TxnAborter) to abort such a
// transaction at once, fencing its producer as the timeout would. Aborting is always safe for
// exactly-once: the records and offsets are consumed and produced again by the new owner.

// txnOffsets is the Coordinator's state for transactional offset commits.
type txnOffsets struct {
	// appendMu is held across the append of a transactional batch, so that one producer's
	// batches enter a partition in sequence order; it comes before the partition's locks.
	appendMu sync.Mutex
	// seqs is the next sequence of each producer in each partition (guarded by appendMu;
	// Load takes it too, only to set a sequence).
	seqs map[producerPartition]producerSequence
	// mu guards pending, committers and aborter; it spans groups (keyed by producer) and
	// comes after a group's mutex (group.mu → txnOffsets.mu), never held across a call out.
	mu sync.Mutex
	// pending holds commits not yet ended by a marker: producer id → group → offsets.
	pending map[int64]map[string]map[topicPartition]OffsetCommit
	// committers records which member committed a producer's pending offsets of a group, for
	// the abort of abandoned transactions. Commits without a member (admin tools,
	// TxnOffsetCommit before v3) and commits loaded from the log have none.
	committers map[producerGroup]txnCommitter
	// aborter aborts abandoned transactions; nil: they wait for their timeout.
	aborter TxnAborter
}

// TxnAborter aborts the ongoing transaction of a producer (*txn.Coordinator). It must not
// block or call back into the group coordinator before it returns: it is called with the
// group's mutex (group.mu) held.
type TxnAborter interface {
	// AbortFencedTxn aborts the producer's transaction at producerEpoch if it still holds
	// offsets of group, fencing the producer.
	AbortFencedTxn(producerID int64, producerEpoch int16, group string)
}

type producerGroup struct {
	producerID int64
	group      string
}

// txnCommitter is the member whose TxnOffsetCommit left a producer's offsets pending.
type txnCommitter struct {
	memberID      string
	producerEpoch int16
}

// SetTxnAborter installs the transaction coordinator that aborts transactions abandoned by
// members leaving or fenced (the broker builds it after this coordinator).
func (c *Coordinator) SetTxnAborter(a TxnAborter) {
	c.txn.mu.Lock()
	defer c.txn.mu.Unlock()
	c.txn.aborter = a
}

type producerPartition struct {
	partition  int32
	producerID int64
}

type producerSequence struct {
	epoch int16
	next  int32
}

// TxnCommit is a TxnOffsetCommit request for one group.
type TxnCommit struct {
	Group string
	// MemberID, InstanceID and Generation are checked as for OffsetCommit when given (v3+,
	// KIP-447); MemberID "" with Generation -1 skips the check.
	MemberID      string
	InstanceID    string
	Generation    int32
	ProducerID    int64
	ProducerEpoch int16
	Offsets       []OffsetCommit
}

// CommitTxnOffsets appends a transactional offset commit and holds the offsets pending until
// the transaction's marker. It returns once the batch is durable.
func (c *Coordinator) CommitTxnOffsets(ctx context.Context, tc TxnCommit) error {
	if tc.MemberID != "" || tc.Generation >= 0 {
		if err := c.checkCommit(tc.Group, tc.MemberID, tc.InstanceID, tc.Generation); err != nil {
			return err
		}
	} else if err := c.checkTxnGroup(tc.Group); err != nil {
		return err
	}
	if len(tc.Offsets) == 0 {
		return nil
	}
	if c.cfg.Log != nil {
		if err := c.appendTxnOffsets(ctx, tc); err != nil {
			return err
		}
	}
	// The group's mutex (if it exists) orders this against the member's removal, which looks
	// up the committers to abort under it.
	g := c.lockGroup(tc.Group, false)
	if g != nil {
		defer g.mu.Unlock()
	}
	c.txn.mu.Lock()
	c.addPendingLocked(tc.ProducerID, tc.Group, tc.Offsets)
	if tc.MemberID != "" {
		if c.txn.committers == nil {
			c.txn.committers = map[producerGroup]txnCommitter{}
		}
		c.txn.committers[producerGroup{tc.ProducerID, tc.Group}] = txnCommitter{tc.MemberID, tc.ProducerEpoch}
	}
	c.txn.mu.Unlock()
	if tc.MemberID != "" && g != nil && !g.hasMemberLocked(tc.MemberID) {
		// The member left or was fenced while the batch was being appended, after its
		// check: nobody is left to end the transaction.
		c.abortAbandonedTxnsLocked(tc.Group, tc.MemberID)
	}
	return nil
}

// hasMemberLocked reports whether id is a member of the group (classic or consumer).
func (g *group) hasMemberLocked(id string) bool {
	if g.consumer != nil {
		return g.consumer.members[id] != nil
	}
	return g.members[id] != nil
}

// abortAbandonedTxnsLocked asks the transaction coordinator to abort the transactions whose
// pending offsets of group gid were committed by memberID, a member that left the group or
// was replaced by a new instance with its group.instance.id. The caller holds the group's
// mutex; the aborter is called without txnOffsets.mu.
func (c *Coordinator) abortAbandonedTxnsLocked(gid, memberID string) {
	type abort struct {
		producerID int64
		epoch      int16
	}
	var aborts []abort
	c.txn.mu.Lock()
	aborter := c.txn.aborter
	if aborter != nil {
		for pg, who := range c.txn.committers {
			if pg.group == gid && who.memberID == memberID {
				aborts = append(aborts, abort{pg.producerID, who.producerEpoch})
			}
		}
	}
	c.txn.mu.Unlock()
	for _, a := range aborts {
		c.cfg.Logger.Info("aborting the transaction of a member gone from its group", "group", gid, "member", memberID, "producer_id", a.producerID)
		aborter.AbortFencedTxn(a.producerID, a.epoch, gid)
	}
}

func (c *Coordinator) checkTxnGroup(gid string) error {
	switch {
	case c.closed.Load():
		return ErrCoordinatorUnavailable
	case gid == "":
		return ErrInvalidGroupID
	}
	return nil
}

func (c *Coordinator) appendTxnOffsets(ctx context.Context, tc TxnCommit) error {
	t := &c.txn
	t.appendMu.Lock()
	defer t.appendMu.Unlock()
	index := Partition(tc.Group, c.cfg.NumPartitions)
	key := producerPartition{index, tc.ProducerID}
	seq := t.seqs[key]
	if seq.epoch != tc.ProducerEpoch {
		seq = producerSequence{epoch: tc.ProducerEpoch} // a new epoch starts at sequence 0
	}
	b := newBuilder(c.cfg.Compression)
	b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.Transactional = tc.ProducerID, tc.ProducerEpoch, seq.next, true
	now := time.Now().UnixMilli()
	var k, v []byte
	for _, o := range tc.Offsets {
		k = AppendOffsetKey(k[:0], tc.Group, o.Topic, o.Partition)
		v = AppendOffsetValue(v[:0], o)
		b.Add(now, k, v)
	}
	batch, err := b.Build(nil)
	if err != nil {
		return fmt.Errorf("commit transactional offsets of %s: %w", tc.Group, err)
	}
	if err := c.appendLog(ctx, index, batch); err != nil {
		// The sequence is not advanced: a retry of the same batch is a duplicate the partition
		// recognizes, and a different one takes the place of one that never landed.
		return fmt.Errorf("commit transactional offsets of %s: %w: %w", tc.Group, ErrCoordinatorUnavailable, err)
	}
	if t.seqs == nil {
		t.seqs = map[producerPartition]producerSequence{}
	}
	seq.next += int32(len(tc.Offsets))
	t.seqs[key] = seq
	return nil
}

// addPendingLocked records pending offsets; the caller holds txnOffsets.mu.
func (c *Coordinator) addPendingLocked(producerID int64, gid string, offsets []OffsetCommit) {
	t := &c.txn
	if t.pending == nil {
		t.pending = map[int64]map[string]map[topicPartition]OffsetCommit{}
	}
	byGroup := t.pending[producerID]
	if byGroup == nil {
		byGroup = map[string]map[topicPartition]OffsetCommit{}
		t.pending[producerID] = byGroup
	}
	parts := byGroup[gid]
	if parts == nil {
		parts = map[topicPartition]OffsetCommit{}
		byGroup[gid] = parts
	}
	for _, o := range offsets {
		parts[topicPartition{o.Topic, o.Partition}] = o
	}
}

// CompleteTxnOffsets applies a transaction marker written into __consumer_offsets partition
// index: on commit the producer's pending offsets of the groups in that partition become
// committed, on abort they are dropped. The transaction coordinator calls it once the marker
// is durable; index -1 means every partition.
func (c *Coordinator) CompleteTxnOffsets(index int32, producerID int64, commit bool) {
	c.completeTxn(index, producerID, commit, false)
}

// completeTxn is CompleteTxnOffsets; loader is set when a partition load replays a marker.
func (c *Coordinator) completeTxn(index int32, producerID int64, commit, loader bool) {
	c.txn.mu.Lock()
	var gids []string
	for gid := range c.txn.pending[producerID] {
		if index < 0 || Partition(gid, c.cfg.NumPartitions) == index {
			gids = append(gids, gid)
		}
	}
	c.txn.mu.Unlock()
	// One group at a time: its offsets move from pending to committed under its mutex and
	// txnOffsets.mu together, so at no moment are they in neither place.
	for _, gid := range gids {
		var g *group
		if commit {
			g = c.lockGroupAs(gid, true, loader) // nil once closed: the offsets are dropped with the rest
		}
		c.txn.mu.Lock()
		byGroup := c.txn.pending[producerID]
		if g != nil {
			for tp, o := range byGroup[gid] {
				g.offsets[tp] = o
			}
		}
		delete(byGroup, gid)
		delete(c.txn.committers, producerGroup{producerID, gid})
		if len(byGroup) == 0 {
			delete(c.txn.pending, producerID)
		}
		c.txn.mu.Unlock()
		if g != nil {
			g.mu.Unlock()
		}
	}
}

// HasPendingTxnOffsets reports whether a transactional commit of the partition's offset for
// the group awaits its marker (OffsetFetch with require_stable answers
// UNSTABLE_OFFSET_COMMIT then).
func (c *Coordinator) HasPendingTxnOffsets(gid, topic string, partition int32) bool {
	c.txn.mu.Lock()
	defer c.txn.mu.Unlock()
	for _, byGroup := range c.txn.pending {
		if _, ok := byGroup[gid][topicPartition{topic, partition}]; ok {
			return true
		}
	}
	return false
}

// loadTxnBatch handles a transactional or control batch of __consumer_offsets
// partition index (-1: unknown) during Load and reports whether it did; other batches are
// left to the caller. Bad records are counted in bad.
func (c *Coordinator) loadTxnBatch(index int32, batch []byte, h record.Header, buf *[]byte, bad *int) (bool, error) {
	if !h.IsTransactional() && !h.IsControl() {
		return false, nil
	}
	recs, grown, err := record.Iterate(batch, *buf, maxLoadedBatchBytes)
	*buf = grown
	if err != nil {
		return true, err
	}
	var rec record.Record
	if h.IsControl() {
		if recs.Next(&rec) {
			switch typ, err := record.ControlRecordType(&rec); {
			case err != nil:
				*bad++
			case typ == record.ControlCommit || typ == record.ControlAbort:
				c.completeTxn(index, h.ProducerID, typ == record.ControlCommit, true)
			}
		}
		return true, recs.Err()
	}
	for recs.Next(&rec) {
		k, err := DecodeKey(rec.Key)
		if err != nil || k.IsGroup || rec.Value == nil {
			*bad++
			continue
		}
		o, err := DecodeOffsetValue(rec.Value)
		if err != nil {
			*bad++
			continue
		}
		o.Topic, o.Partition = k.Topic, k.Partition
		c.txn.mu.Lock()
		c.addPendingLocked(h.ProducerID, k.Group, []OffsetCommit{o})
		c.txn.mu.Unlock()
	}
	if index >= 0 && h.BaseSequence >= 0 {
		c.txn.appendMu.Lock()
		if c.txn.seqs == nil {
			c.txn.seqs = map[producerPartition]producerSequence{}
		}
		c.txn.seqs[producerPartition{index, h.ProducerID}] = producerSequence{epoch: h.ProducerEpoch, next: h.BaseSequence + h.LastOffsetDelta + 1}
		c.txn.appendMu.Unlock()
	}
	return true, recs.Err()
}
