package partition

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/record"
)

// TopicCreator creates topics (*metadata.Controller).
type TopicCreator interface {
	CreateTopics(ctx context.Context, topics []metadata.CreateTopic, validateOnly bool) []metadata.CreatedTopic
}

// InternalPartition returns partition index of the internal topic described by create
// (__consumer_offsets, __transaction_state), creating the topic through ctl on first need and
// waiting for the reconcile of the new Image to host the partition here. When ctx ends first,
// the error wraps ErrNotLeader: the partition is not hosted here.
func (m *Manager) InternalPartition(ctx context.Context, ctl TopicCreator, create metadata.CreateTopic, index int32) (*Partition, error) {
	created := false
	for {
		if p, ok := m.Partition(create.Name, index); ok {
			return p, nil
		}
		if !created {
			created = true
			res := ctl.CreateTopics(ctx, []metadata.CreateTopic{create}, false)
			if len(res) == 1 && res[0].Err != nil && !errors.Is(res[0].Err, metadata.ErrTopicExists) {
				return nil, fmt.Errorf("create %s: %w", create.Name, res[0].Err)
			}
		}
		select { // the reconcile of the new Image creates the partition shortly
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return nil, fmt.Errorf("%s-%d not hosted here: %w", create.Name, index, ErrNotLeader)
		}
	}
}

// WaitCommitted blocks until every offset below end is committed (the high watermark reached
// it), the partition fails in a way Committed reports, or ctx ends: how the coordinators
// complete their own acks=-1 appends and markers.
func (p *Partition) WaitCommitted(ctx context.Context, end int64) error {
	w := NewWaiter()
	defer p.Unwatch(w)
	for {
		p.Watch(w) // watches are one-shot: re-watch before every check
		done, err := p.Committed(end)
		if err != nil || done {
			return err
		}
		select {
		case <-w.C():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Replay hands fn the partition's batches from its log start up to end (exclusive), copied out
// of the log in chunks of whole batches of at most readSize bytes (one batch when a batch is
// larger; readSize <= 0 means 1 MiB): how a coordinator loads its internal topic, with
// offsets.load.buffer.size as readSize for __consumer_offsets. It reads up to end even past the
// high watermark: end is the log end offset when loading began, as Kafka's coordinators load
// (a new leader's log is what its followers will hold; its high watermark may still lag what
// the old leader committed), and records the coordinator appends meanwhile (already in its
// memory) are not applied twice. It stops early when ctx ends; read errors and fn's errors are
// returned.
func (p *Partition) Replay(ctx context.Context, end int64, readSize int, fn func(batches []byte) error) error {
	if readSize <= 0 {
		readSize = 1 << 20
	}
	offset := p.LogStartOffset()
	var buf bytes.Buffer
	for offset < end && ctx.Err() == nil {
		res, err := p.Read(offset, ReadOptions{MaxBytes: int32(min(readSize, math.MaxInt32)), MinOneBatch: true,
			CurrentLeaderEpoch: NoLeaderEpoch, LastFetchedEpoch: NoLeaderEpoch, Replica: -1, LogEnd: true})
		if err != nil {
			return fmt.Errorf("read %s-%d at %d: %w", p.topic, p.index, offset, err)
		}
		buf.Reset()
		for _, r := range res.Records.Regions {
			if _, err := r.WriteTo(&buf); err != nil {
				res.Records.Release()
				return fmt.Errorf("read %s-%d at %d: %w", p.topic, p.index, offset, err)
			}
		}
		next := res.Records.NextOffset
		res.Records.Release()
		if err := fn(batchesBefore(buf.Bytes(), end)); err != nil {
			return err
		}
		if next <= offset {
			break
		}
		offset = next
	}
	return nil
}

// batchesBefore cuts data after the last whole batch that starts before end.
func batchesBefore(data []byte, end int64) []byte {
	bs := record.NewBatches(data)
	pos := 0
	for {
		_, h, ok := bs.Next()
		if !ok || h.BaseOffset >= end {
			break
		}
		pos = bs.Pos()
	}
	if bs.Err() != nil {
		return data // let the caller's decoder report the bad bytes
	}
	return data[:pos]
}
