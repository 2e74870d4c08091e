package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams/processor"
)

// onRevoked runs in franz-go's group goroutine when the eager protocol takes every partition
// back. Under at-least-once it commits what was processed; under exactly-once the session
// aborts the open transaction (the loop ends it next). Tasks are suspended, not closed: those
// assigned again resume without reopening their stores.
func (r *Runtime) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rebalancing()
	if r.sess == nil && len(r.mu.active) > 0 {
		if err := r.commitLocked(ctx); err != nil {
			r.fail(err)
		}
	}
	clear(r.mu.byTP)
}

// rebalancing marks a rebalance: the state (unless shutting down) and, for the loop, that the
// open transaction is doomed.
func (r *Runtime) rebalancing() {
	r.mu.rebalanced = true
	if s := r.State(); s == Running || s == Created {
		r.setState(Rebalancing)
	}
}

// onLost: the member was dropped from the group (a session timeout): nothing can be
// committed; tasks are suspended as on a revoke.
func (r *Runtime) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rebalancing()
	clear(r.mu.byTP)
}

// onAssigned runs after SyncGroup: it closes the suspended tasks not assigned again, turns
// standbys that became active into active tasks, opens and restores the new ones, and moves
// standbys to what the assignment's user data says. Fetching of the assigned partitions
// starts only after it returns, so no record reaches a task before its restore.
func (r *Runtime) onAssigned(ctx context.Context, _ *kgo.Client, assigned map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.fatal != nil {
		return
	}
	want := map[processor.TaskID]bool{}
	for topic, ps := range assigned {
		sub, ok := r.subOf[topic]
		if !ok {
			continue
		}
		for _, p := range ps {
			want[processor.TaskID{Subtopology: sub, Partition: p}] = true
		}
	}
	wantStandby := map[processor.TaskID]bool{}
	for _, id := range r.mu.assignment.Standby {
		if !want[id] {
			wantStandby[id] = true
		}
	}
	// Close first (state kept on disk), so a task moving from here to a standby reopens.
	for id, t := range r.mu.active {
		if want[id] {
			continue
		}
		// Under exactly-once a task that wrote in the aborted transaction holds writes
		// that were never committed: wipe it.
		if err := t.close(r.sess != nil && t.dirty); err != nil {
			r.log.Warn("closing a revoked task", "task", id, "err", err)
		}
		delete(r.mu.active, id)
	}
	for id, s := range r.mu.standby {
		if wantStandby[id] {
			continue
		}
		if err := s.close(); err != nil {
			r.log.Warn("closing a standby", "task", id, "err", err)
		}
		delete(r.mu.standby, id)
	}
	ids := make([]processor.TaskID, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareTask)
	for _, id := range ids {
		if t, ok := r.mu.active[id]; ok {
			// Kept: catch up with what another member wrote to its changelogs if it
			// ran the task meanwhile (this member was dropped from the group and
			// came back). Under exactly-once a task that wrote in the doomed
			// transaction is wiped and restored once the loop aborts it.
			if r.sess == nil || !t.dirty {
				// What its caches hold may be older than what the changelogs bring.
				t.eng.ClearCaches()
				if err := r.reader.restore(ctx, id, t.db, t.logs, true); err != nil {
					r.fail(err)
					return
				}
			}
			continue
		}
		t, err := r.openTask(ctx, id)
		if err != nil {
			r.fail(err)
			return
		}
		r.mu.active[id] = t
	}
	for id := range wantStandby {
		if _, ok := r.mu.standby[id]; ok {
			continue
		}
		s, err := r.openStandby(ctx, id)
		if err != nil {
			r.fail(err)
			return
		}
		if s != nil {
			r.mu.standby[id] = s
		}
	}
	clear(r.mu.byTP)
	for _, t := range r.mu.active {
		for _, topic := range r.subTopics[t.id.Subtopology] {
			r.mu.byTP[tp{topic, t.id.Partition}] = t
		}
	}
	r.mu.prevActive = ids
	r.iq.Lock()
	r.iq.hosts = r.mu.assignment.Hosts
	r.iq.Unlock()
	r.publishStoresLocked()
	r.log.Info("assigned", "active", ids, "standby", len(r.mu.standby))
	r.setState(Running)
}

// publishStores makes the active tasks' stores what interactive queries see.
func (r *Runtime) publishStores() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.publishStoresLocked()
}

func (r *Runtime) publishStoresLocked() {
	stores := map[string][]any{}
	ids := make([]processor.TaskID, 0, len(r.mu.active))
	for id := range r.mu.active {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareTask)
	for _, id := range ids {
		for name, s := range r.mu.active[id].stores {
			stores[name] = append(stores[name], s)
		}
	}
	for name, s := range r.globalStores() {
		stores[name] = []any{s}
	}
	r.iq.Lock()
	r.iq.stores = stores
	r.iq.Unlock()
}

// Stores returns the named store of every active task of this instance (interactive
// queries).
func (r *Runtime) Stores(name string) []any {
	r.iq.RLock()
	defer r.iq.RUnlock()
	return slices.Clone(r.iq.stores[name])
}

// Hosts returns the application.server endpoints of the group's members and their active
// tasks, as of the last assignment.
func (r *Runtime) Hosts() []HostTasks {
	r.iq.RLock()
	defer r.iq.RUnlock()
	return r.iq.hosts
}

// TaskCount is the number of tasks (partitions) of a sub-topology, known once Run has
// prepared the topics.
func (r *Runtime) TaskCount(sub int32) (int32, error) {
	r.iq.RLock()
	defer r.iq.RUnlock()
	if int(sub) >= len(r.iq.subPartitions) || r.iq.subPartitions[sub] <= 0 {
		return 0, fmt.Errorf("streams: partitions of sub-topology %d: %w", sub, errNotStarted)
	}
	return r.iq.subPartitions[sub], nil
}

var errNotStarted = errors.New("not known before the application has started")
