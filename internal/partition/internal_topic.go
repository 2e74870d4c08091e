package partition

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/metadata"
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
	p.Watch(w)
	defer p.Unwatch(w)
	for {
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
