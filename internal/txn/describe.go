package txn

import (
	"slices"
	"strings"
)

// Description is one transactional id's state (DescribeTransactions, ListTransactions).
type Description struct {
	TransactionalID string
	State           State
	TimeoutMs       int32
	StartMs         int64 // -1 when no transaction is ongoing
	ProducerID      int64
	ProducerEpoch   int16
	Partitions      TopicPartitions
}

// Describe returns the state of a transactional id.
func (c *Coordinator) Describe(id string) (Description, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.servesLocked(id); err != nil {
		return Description{}, err
	}
	m := c.mu.txns[id]
	if m == nil || m.epoch < 0 {
		return Description{}, ErrTransactionalIDNotFound
	}
	return describeLocked(m), nil
}

func describeLocked(m *txnMeta) Description {
	d := Description{TransactionalID: m.id, State: m.state, TimeoutMs: m.timeoutMs, StartMs: m.startMs,
		ProducerID: m.producerID, ProducerEpoch: m.epoch, Partitions: m.partitions.clone()}
	if m.state != Ongoing && m.state != PrepareCommit && m.state != PrepareAbort {
		d.StartMs = -1
	}
	return d
}

// ListFilter selects transactions for List; empty filters match everything.
type ListFilter struct {
	States      []State
	ProducerIDs []int64
	// MinDurationMs keeps transactions running at least this long (ListTransactions v1+);
	// 0 or less keeps all.
	MinDurationMs int64
}

// List returns the transactional ids matching f, by id.
func (c *Coordinator) List(f ListFilter) ([]Description, error) {
	now := c.nowMs()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usableLocked(); err != nil {
		return nil, err
	}
	if c.anyLoadingLocked() {
		return nil, ErrCoordinatorLoading
	}
	var out []Description
	for _, m := range c.mu.txns {
		switch {
		case m.epoch < 0: // created by an InitProducerId that never completed
		case len(f.States) > 0 && !slices.Contains(f.States, m.state):
		case len(f.ProducerIDs) > 0 && !slices.Contains(f.ProducerIDs, m.producerID):
		case f.MinDurationMs > 0 && (m.state != Ongoing || now-m.startMs < f.MinDurationMs):
		default:
			out = append(out, describeLocked(m))
		}
	}
	slices.SortFunc(out, func(a, b Description) int { return strings.Compare(a.TransactionalID, b.TransactionalID) })
	return out, nil
}
