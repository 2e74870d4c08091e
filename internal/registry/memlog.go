package registry

import (
	"context"
	"sync"
)

// MemLog is an in-memory _schemas shared by several nodes, for tests: each node Joins with its
// Applier and gets a Log; Append on the writer node applies the records to every node in log
// order before it returns. It is what the registry's unit tests run on; the real Log is
// internal/registry/store.
type MemLog struct {
	mu      sync.Mutex
	records []Record
	nodes   []*MemNode
	writer  *MemNode
}

// MemNode is one node's view of a MemLog; it implements Log.
type MemNode struct {
	log     *MemLog
	applier Applier
	url     string
}

// NewMemLog returns an empty log with no writer.
func NewMemLog() *MemLog { return &MemLog{} }

// Join adds a node whose state is a: every record already in the log is applied to it first.
func (m *MemLog) Join(a Applier) *MemNode {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := &MemNode{log: m, applier: a}
	for i, r := range m.records {
		a.Apply(int64(i), r)
	}
	m.nodes = append(m.nodes, n)
	return n
}

// SetWriter makes n the writer; nil leaves the log without one.
func (m *MemLog) SetWriter(n *MemNode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writer = n
}

// Records returns a copy of every record appended so far, in order.
func (m *MemLog) Records() []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Record(nil), m.records...)
}

// SetURL sets the base URL Writer reports for this node.
func (n *MemNode) SetURL(url string) {
	n.log.mu.Lock()
	defer n.log.mu.Unlock()
	n.url = url
}

// Append implements Log.
func (n *MemNode) Append(ctx context.Context, recs []Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m := n.log
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.writer != n {
		return ErrNotWriter
	}
	for _, r := range recs {
		offset := int64(len(m.records))
		m.records = append(m.records, r)
		for _, node := range m.nodes {
			node.applier.Apply(offset, r)
		}
	}
	return nil
}

// Sync implements Log: every node has applied every record by the time Append returns.
func (n *MemNode) Sync(ctx context.Context) error { return ctx.Err() }

// Writer implements Log.
func (n *MemNode) Writer() (url string, self bool, ok bool) {
	m := n.log
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.writer == nil {
		return "", false, false
	}
	return m.writer.url, m.writer == n, true
}
