package txn

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/record"
)

// Load applies __transaction_state record batches (one partition's log, in offset order):
// the last value of each transactional id wins and a tombstone forgets the id. Records that
// cannot be decoded are skipped and counted in the returned error; batches that cannot be
// read at all stop the load with an error.
func (c *Coordinator) Load(batches []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	bad, _, err := c.applyBatches(c.mu.txns, batches, nil)
	if err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("load %s: %d records skipped: %w", metadata.TransactionStateTopic, bad, ErrBadRecord)
	}
	return nil
}

// applyBatches applies the records of __transaction_state batches to txns, skipping control
// batches, and returns how many records could not be decoded; buf is the decompression buffer,
// returned grown for the next call. A batch that cannot be read stops it with an error.
func (c *Coordinator) applyBatches(txns map[string]*txnMeta, batches, buf []byte) (bad int, _ []byte, _ error) {
	bs := record.NewBatches(batches)
	for {
		batch, h, ok := bs.Next()
		if !ok {
			break
		}
		if h.IsControl() {
			continue
		}
		recs, grown, err := record.Iterate(batch, buf, 0)
		buf = grown
		if err != nil {
			return bad, buf, fmt.Errorf("load %s: %w", metadata.TransactionStateTopic, err)
		}
		var rec record.Record
		for recs.Next(&rec) {
			if !c.applyRecordTo(txns, rec.Key, rec.Value) {
				bad++
			}
		}
		if err := recs.Err(); err != nil {
			return bad, buf, fmt.Errorf("load %s: %w", metadata.TransactionStateTopic, err)
		}
	}
	if err := bs.Err(); err != nil {
		return bad, buf, fmt.Errorf("load %s: %w", metadata.TransactionStateTopic, err)
	}
	return bad, buf, nil
}

// applyRecordTo applies one __transaction_state record to txns; false if it cannot be
// decoded.
func (c *Coordinator) applyRecordTo(txns map[string]*txnMeta, key, value []byte) bool {
	id, err := DecodeKey(key)
	if err != nil {
		return false
	}
	if value == nil {
		delete(txns, id)
		return true
	}
	v, err := DecodeValue(value)
	if err != nil {
		return false
	}
	m := txns[id]
	if m == nil {
		m = &txnMeta{id: id, producerID: v.ProducerID, previousProducerID: -1, nextProducerID: -1, epoch: v.ProducerEpoch, lastEpoch: -1}
		txns[id] = m
	}
	c.applyLocked(m, v)
	if v.PreviousProducerID >= 0 {
		m.previousProducerID = v.PreviousProducerID
	}
	return true
}

// LoadPartitions reads every hosted __transaction_state partition from its log start to its
// high watermark into c (following leadership: every one this node leads, which it then
// coordinates). The broker calls it once after its first reconcile, then Start.
func LoadPartitions(c *Coordinator, parts *partition.Manager) error {
	if c.follows() {
		return loadLeading(c, parts)
	}
	var errs []error
	for _, p := range parts.Partitions() {
		if p.Topic() != metadata.TransactionStateTopic {
			continue
		}
		if err := loadPartition(c, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func loadPartition(c *Coordinator, p *partition.Partition) error {
	return p.Replay(context.Background(), p.LogEndOffset(), 0, c.Load)
}

// TopicCreator creates topics (*metadata.Controller).
type TopicCreator = partition.TopicCreator

// PartitionLog is the StateLog on this broker's partitions: it creates __transaction_state
// through the controller on first need (compacted, transaction.state.log.* settings) and
// appends as the partition's leader with acks=-1.
type PartitionLog struct {
	Partitions        *partition.Manager
	Controller        TopicCreator
	NumPartitions     int32
	ReplicationFactor int16
	MinISR            int
	SegmentBytes      int
}

// CreateTopic is the CreateTopic of __transaction_state (FindCoordinator also creates it).
func (l *PartitionLog) CreateTopic() metadata.CreateTopic {
	cfgs := map[string]string{string(config.CleanupPolicy): config.CleanupPolicyCompact,
		string(config.MinInsyncReplicas): strconv.Itoa(max(l.MinISR, 1))}
	if l.SegmentBytes > 0 {
		cfgs[string(config.SegmentBytes)] = strconv.Itoa(l.SegmentBytes)
	}
	return metadata.CreateTopic{Name: metadata.TransactionStateTopic, NumPartitions: l.NumPartitions,
		ReplicationFactor: l.ReplicationFactor, Configs: cfgs}
}

// Append implements StateLog.
func (l *PartitionLog) Append(ctx context.Context, index int32, batch []byte) error {
	p, err := l.Partitions.InternalPartition(ctx, l.Controller, l.CreateTopic(), index)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCoordinatorNotAvailable, err)
	}
	res, err := p.Append(batch, -1)
	if err != nil {
		return fmt.Errorf("append to %s-%d: %w", metadata.TransactionStateTopic, index, err)
	}
	return p.WaitCommitted(ctx, res.LastOffset+1)
}
