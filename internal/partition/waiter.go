package partition

// Waiter is woken when any partition it watches changes: records appended,
// the high watermark moved, leadership changed or the partition was deleted.
// A fetch long poll (or an acks=all produce) uses one Waiter for all its
// partitions: watch them, re-check, then wait on C. Watches are one-shot: a
// change wakes the Waiter and drops the watch, so a waiter that wants more
// re-watches after re-checking. There are no timers and nothing scans.
//
// Waiter is safe for concurrent use; a change never blocks on a slow waiter
// (C holds at most one pending wake-up).
type Waiter struct {
	ch chan struct{}
}

// NewWaiter returns a Waiter with no watches.
func NewWaiter() *Waiter { return &Waiter{ch: make(chan struct{}, 1)} }

// C receives after a watched partition changed.
func (w *Waiter) C() <-chan struct{} { return w.ch }

// Wake wakes w as a watched partition's change would: other sources of change a long poll
// waits on (a share-partition releasing records) use it.
func (w *Waiter) Wake() { w.wake() }

func (w *Waiter) wake() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// Watch arranges for w to be woken at the partition's next change. Watch
// before checking the state you wait on, so a change between the check and
// the wait is not lost. Watching again while a watch is pending is a no-op.
func (p *Partition) Watch(w *Waiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.deleted {
		w.wake()
		return
	}
	for _, x := range p.mu.watchers {
		if x == w {
			return
		}
	}
	p.mu.watchers = append(p.mu.watchers, w)
}

// Unwatch removes w's pending watch, if any. Call it when done waiting so
// a partition that never changes does not keep the Waiter.
func (p *Partition) Unwatch(w *Waiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.mu.watchers {
		if x == w {
			last := len(p.mu.watchers) - 1
			p.mu.watchers[i] = p.mu.watchers[last]
			p.mu.watchers[last] = nil
			p.mu.watchers = p.mu.watchers[:last]
			return
		}
	}
}

// notifyLocked wakes every watcher and drops their watches.
func (p *Partition) notifyLocked() {
	for i, w := range p.mu.watchers {
		w.wake()
		p.mu.watchers[i] = nil
	}
	p.mu.watchers = p.mu.watchers[:0]
}

// Watchers is the number of pending watches (for tests and metrics).
func (p *Partition) Watchers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.mu.watchers)
}
