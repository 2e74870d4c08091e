package share

import (
	"context"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
)

// MemoryPersister keeps share-partition state in memory, applying writes as Kafka's share
// coordinator applies a ShareUpdate to its snapshot. It is for tests (and a broker without
// the share coordinator); nothing survives the process.
type MemoryPersister struct {
	mu     sync.Mutex
	states map[Key]*PartitionState
	// Writes counts successful Write calls (tests assert state went through the persister).
	writes int
	// failWrites makes Write fail with kerr.CoordinatorNotAvailable (tests).
	failWrites bool
}

// NewMemoryPersister returns an empty MemoryPersister.
func NewMemoryPersister() *MemoryPersister {
	return &MemoryPersister{states: map[Key]*PartitionState{}}
}

// FailWrites makes every later Write fail (true) or succeed (false).
func (m *MemoryPersister) FailWrites(fail bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failWrites = fail
}

// Writes is the number of successful writes so far.
func (m *MemoryPersister) Writes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

// Initialize implements Persister.
func (m *MemoryPersister) Initialize(_ context.Context, k Key, stateEpoch int32, startOffset int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.states[k]; ok && s.StateEpoch > stateEpoch {
		return kerr.FencedStateEpoch
	}
	m.states[k] = &PartitionState{StateEpoch: stateEpoch, LeaderEpoch: -1, StartOffset: startOffset}
	return nil
}

// Read implements Persister.
func (m *MemoryPersister) Read(_ context.Context, k Key, leaderEpoch int32) (PartitionState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.states[k]
	if !ok {
		return PartitionState{}, kerr.UnknownTopicOrPartition
	}
	if leaderEpoch < s.LeaderEpoch {
		return PartitionState{}, kerr.FencedLeaderEpoch
	}
	s.LeaderEpoch = leaderEpoch
	out := *s
	out.Batches = slices.Clone(s.Batches)
	return out, nil
}

// Write implements Persister: the batches overlay the stored ones, and a new start offset
// drops what lies below it.
func (m *MemoryPersister) Write(_ context.Context, k Key, w Write) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failWrites {
		return kerr.CoordinatorNotAvailable
	}
	s, ok := m.states[k]
	if !ok {
		return kerr.UnknownTopicOrPartition
	}
	if w.StateEpoch < s.StateEpoch {
		return kerr.FencedStateEpoch
	}
	if w.LeaderEpoch < s.LeaderEpoch {
		return kerr.FencedLeaderEpoch
	}
	if w.StartOffset >= 0 {
		s.StartOffset = w.StartOffset
	}
	s.LeaderEpoch, s.DeliveryCompleteCount = w.LeaderEpoch, w.DeliveryCompleteCount
	s.Batches = overlay(s.Batches, w.Batches, s.StartOffset)
	m.writes++
	return nil
}

// overlay puts batches over old (both ordered, non-overlapping) and drops offsets below start.
func overlay(old, batches []StateBatch, start int64) []StateBatch {
	var out []StateBatch
	add := func(b StateBatch) {
		b.FirstOffset = max(b.FirstOffset, start)
		if b.LastOffset >= b.FirstOffset {
			out = append(out, b)
		}
	}
	i := 0
	for _, nb := range batches {
		for i < len(old) && old[i].FirstOffset < nb.FirstOffset {
			b := old[i]
			if b.LastOffset >= nb.FirstOffset {
				head := b
				head.LastOffset = nb.FirstOffset - 1
				add(head)
				if b.LastOffset > nb.LastOffset {
					old[i].FirstOffset = nb.LastOffset + 1
					break
				}
				i++
				continue
			}
			add(b)
			i++
		}
		for i < len(old) && old[i].LastOffset <= nb.LastOffset {
			i++
		}
		if i < len(old) && old[i].FirstOffset <= nb.LastOffset {
			old[i].FirstOffset = nb.LastOffset + 1
		}
		add(nb)
	}
	for ; i < len(old); i++ {
		add(old[i])
	}
	return out
}

// Delete implements Persister.
func (m *MemoryPersister) Delete(_ context.Context, k Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.states, k)
	return nil
}

// ReadSummary implements Persister.
func (m *MemoryPersister) ReadSummary(_ context.Context, k Key, _ int32) (Summary, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.states[k]
	if !ok {
		return Summary{}, kerr.UnknownTopicOrPartition
	}
	return Summary{StateEpoch: s.StateEpoch, LeaderEpoch: s.LeaderEpoch, StartOffset: s.StartOffset, DeliveryCompleteCount: s.DeliveryCompleteCount}, nil
}
