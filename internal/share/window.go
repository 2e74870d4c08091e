package share

import (
	"errors"
	"sort"
)

// Acknowledge types: ShareFetch's and ShareAcknowledge's AcknowledgeTypes.
const (
	AckGap     int8 = 0 // no record at the offset (compacted away): archived
	AckAccept  int8 = 1 // processed: Acknowledged
	AckRelease int8 = 2 // give back: Available again, delivery count kept
	AckReject  int8 = 3 // unprocessable: Archived
	AckRenew   int8 = 4 // keep the lock (KIP-1222, v2 with IsRenewAck): lock timer restarts
)

// Errors of the share-partition leader; internal/api maps them to Kafka's codes.
var (
	// ErrInvalidRecordState: an acknowledgement names offsets the member does not hold
	// acquired (INVALID_RECORD_STATE).
	ErrInvalidRecordState = errors.New("share: records are not acquired by this member")
	// ErrInvalidAcknowledgement: malformed acknowledgement batches (INVALID_REQUEST).
	ErrInvalidAcknowledgement = errors.New("share: invalid acknowledgement batch")
	// ErrNotLoaded: the share-partition's state is not loaded on this broker (its leader
	// changed or a persister write failed); the client fetches again.
	ErrNotLoaded = errors.New("share: share-partition state not loaded")
)

// AckBatch is one acknowledgement batch: offsets FirstOffset..LastOffset with one type for
// the whole range (len(Types) == 1) or one per offset.
type AckBatch struct {
	FirstOffset int64
	LastOffset  int64
	Types       []int8
}

// Acquired is one AcquiredRecords range of a ShareFetch answer.
type Acquired struct {
	FirstOffset   int64
	LastOffset    int64
	DeliveryCount int16
}

// LogBatch is one record batch of the log as the leader read it.
type LogBatch struct {
	BaseOffset int64
	LastOffset int64
	// Skip marks a batch never delivered: a control batch, or (read_committed) a batch of an
	// aborted transaction. Its offsets are archived when reached.
	Skip bool
}

// span is offsets first..last in one state. Acquired spans carry their member and lock
// deadline (unix nanoseconds).
type span struct {
	first, last int64
	state       int8
	count       int16
	member      string
	deadline    int64
}

func (s *span) len() int64 { return s.last - s.first + 1 }

func (s *span) done() bool { return s.state == StateAcknowledged || s.state == StateArchived }

// window is one share-partition's in-flight records, Kafka's cached state of a
// SharePartition. Offsets below start are done. Offsets start..end-1 are covered by spans,
// in order and contiguous. Offsets from end on were never delivered (Available, count 0).
//
// Memory: acquisition stops once end-start reaches share.partition.max.record.locks (one
// batch may overshoot), so spans never outnumber that many records plus one batch.
// window is not safe for concurrent use; Partition guards it.
type window struct {
	start, end int64
	spans      []span
}

// load replaces the window with persisted state: batches outside the window are dropped,
// gaps between batches are Available never delivered, and Acquired (never persisted, but
// tolerated) becomes Available.
func (w *window) load(ps PartitionState) {
	w.start, w.end, w.spans = ps.StartOffset, ps.StartOffset, w.spans[:0]
	for _, b := range ps.Batches {
		first, last := max(b.FirstOffset, w.end), b.LastOffset
		if last < first {
			continue
		}
		if first > w.end {
			w.spans = append(w.spans, span{first: w.end, last: first - 1, state: StateAvailable})
		}
		st := b.DeliveryState
		if st != StateAcknowledged && st != StateArchived {
			st = StateAvailable
		}
		w.spans = append(w.spans, span{first: first, last: last, state: st, count: b.DeliveryCount})
		w.end = last + 1
	}
	w.merge()
	w.advanceStart()
}

// find returns the index of the span holding offset, or len(spans).
func (w *window) find(offset int64) int {
	return sort.Search(len(w.spans), func(i int) bool { return w.spans[i].last >= offset })
}

// splitAt makes offset the first offset of a span (offset in start..end) and returns that
// span's index (len(spans) for end).
func (w *window) splitAt(offset int64) int {
	i := w.find(offset)
	if i == len(w.spans) || w.spans[i].first == offset {
		return i
	}
	s := w.spans[i]
	w.spans = append(w.spans, span{})
	copy(w.spans[i+1:], w.spans[i:])
	w.spans[i].last = offset - 1
	w.spans[i+1] = s
	w.spans[i+1].first = offset
	return i + 1
}

// merge joins neighbouring spans that are alike.
func (w *window) merge() {
	if len(w.spans) < 2 {
		return
	}
	out := w.spans[:1]
	for _, s := range w.spans[1:] {
		p := &out[len(out)-1]
		if p.state == s.state && p.count == s.count && p.member == s.member && p.deadline == s.deadline {
			p.last = s.last
			continue
		}
		out = append(out, s)
	}
	clear(w.spans[len(out):])
	w.spans = out
}

// advanceStart moves start past the done spans at the head; it reports whether it moved.
func (w *window) advanceStart() bool {
	k := 0
	for k < len(w.spans) && w.spans[k].done() {
		k++
	}
	if k == 0 {
		return false
	}
	w.start = w.spans[k-1].last + 1
	clear(w.spans[:k])
	w.spans = w.spans[k:]
	return true
}

// resetStart moves start forward to offset (the log start moved past it: those records are
// gone) and reports whether it moved.
func (w *window) resetStart(offset int64) bool {
	if offset <= w.start {
		return false
	}
	if offset >= w.end {
		clear(w.spans)
		w.spans = w.spans[:0]
		w.start, w.end = offset, offset
		return true
	}
	i := w.splitAt(offset)
	clear(w.spans[:i])
	w.spans = w.spans[i:]
	w.start = offset
	return true
}

// nextFetchOffset is where acquisition reads the log from: the first Available offset in
// the window, else end while the window has room for maxLocks records; ok is false when
// nothing can be acquired.
func (w *window) nextFetchOffset(maxLocks int) (int64, bool) {
	for i := range w.spans {
		if w.spans[i].state == StateAvailable {
			return w.spans[i].first, true
		}
	}
	if w.end-w.start >= int64(maxLocks) {
		return 0, false
	}
	return w.end, true
}

// acquire hands member the Available offsets of batches (in log order), whole batches at a
// time, until maxRecords are acquired or the window holds maxLocks records; offsets of
// skipped batches are archived. strict (ShareAcquireMode record_limit) stops at exactly
// maxRecords, splitting a batch. It appends the acquired ranges to out.
func (w *window) acquire(batches []LogBatch, member string, maxRecords, maxLocks int, strict bool, deadline int64, out []Acquired) []Acquired {
	n := int64(0)
	for _, b := range batches {
		if n >= int64(maxRecords) {
			break
		}
		lo, hi := max(b.BaseOffset, w.start), b.LastOffset
		if hi < lo {
			continue
		}
		if lo < w.end {
			top := min(hi, w.end-1)
			i := w.splitAt(lo)
			j := w.splitAt(top + 1)
			for k := i; k < j; k++ {
				s := &w.spans[k]
				if s.state != StateAvailable {
					continue
				}
				if b.Skip {
					s.state = StateArchived
					continue
				}
				if n >= int64(maxRecords) {
					break
				}
				if left := int64(maxRecords) - n; strict && s.len() > left {
					w.splitAt(s.first + left)
					s = &w.spans[k]
					j++
				}
				s.state, s.count, s.member, s.deadline = StateAcquired, s.count+1, member, deadline
				out = appendAcquired(out, s.first, s.last, s.count)
				n += s.len()
			}
		}
		if hi < w.end {
			continue
		}
		if w.end-w.start >= int64(maxLocks) {
			break
		}
		if lo > w.end { // offsets no batch holds (compacted away): nothing to deliver
			w.spans = append(w.spans, span{first: w.end, last: lo - 1, state: StateArchived})
		}
		from := max(lo, w.end)
		if left := int64(maxRecords) - n; strict && !b.Skip && hi-from+1 > left {
			hi = from + left - 1
		}
		if n >= int64(maxRecords) && !b.Skip {
			break
		}
		if b.Skip {
			w.spans = append(w.spans, span{first: from, last: hi, state: StateArchived})
		} else {
			w.spans = append(w.spans, span{first: from, last: hi, state: StateAcquired, count: 1, member: member, deadline: deadline})
			out = appendAcquired(out, from, hi, 1)
			n += hi - from + 1
		}
		w.end = hi + 1
	}
	w.merge()
	w.advanceStart()
	return out
}

func appendAcquired(out []Acquired, first, last int64, count int16) []Acquired {
	if k := len(out) - 1; k >= 0 && out[k].LastOffset+1 == first && out[k].DeliveryCount == count {
		out[k].LastOffset = last
		return out
	}
	return append(out, Acquired{FirstOffset: first, LastOffset: last, DeliveryCount: count})
}

// checkAcks validates acknowledgement batches against the window before any is applied:
// well-formed (ErrInvalidAcknowledgement), ordered, and every offset acquired by member
// (ErrInvalidRecordState). allowRenew admits AckRenew.
func (w *window) checkAcks(member string, batches []AckBatch, allowRenew bool) error {
	prev := int64(-1)
	for _, b := range batches {
		if b.FirstOffset < 0 || b.LastOffset < b.FirstOffset || b.FirstOffset <= prev {
			return ErrInvalidAcknowledgement
		}
		if len(b.Types) != 1 && int64(len(b.Types)) != b.LastOffset-b.FirstOffset+1 {
			return ErrInvalidAcknowledgement
		}
		for _, t := range b.Types {
			if t < AckGap || t > AckRenew || (t == AckRenew && !allowRenew) {
				return ErrInvalidAcknowledgement
			}
		}
		prev = b.LastOffset
		if b.FirstOffset < w.start || b.LastOffset >= w.end {
			return ErrInvalidRecordState
		}
		for i := w.find(b.FirstOffset); i < len(w.spans) && w.spans[i].first <= b.LastOffset; i++ {
			if s := &w.spans[i]; s.state != StateAcquired || s.member != member {
				return ErrInvalidRecordState
			}
		}
	}
	return nil
}

// changes collects the offset ranges a transition touched, for the persister write.
type changes []StateBatch

func (c *changes) add(first, last int64) {
	if k := len(*c) - 1; k >= 0 && (*c)[k].LastOffset+1 == first {
		(*c)[k].LastOffset = last
		return
	}
	*c = append(*c, StateBatch{FirstOffset: first, LastOffset: last})
}

// acknowledge applies checked acknowledgement batches for member; limit is
// share.delivery.count.limit, deadline the renewed lock deadline.
func (w *window) acknowledge(batches []AckBatch, limit int, deadline int64, ch *changes) {
	for _, b := range batches {
		if len(b.Types) == 1 {
			w.setState(b.FirstOffset, b.LastOffset, b.Types[0], limit, deadline, ch)
			continue
		}
		runStart := 0
		for k := 1; k <= len(b.Types); k++ {
			if k == len(b.Types) || b.Types[k] != b.Types[runStart] {
				w.setState(b.FirstOffset+int64(runStart), b.FirstOffset+int64(k-1), b.Types[runStart], limit, deadline, ch)
				runStart = k
			}
		}
	}
	w.merge()
}

// setState applies one acknowledge type to acquired offsets first..last.
func (w *window) setState(first, last int64, typ int8, limit int, deadline int64, ch *changes) {
	i := w.splitAt(first)
	j := w.splitAt(last + 1)
	for k := i; k < j; k++ {
		s := &w.spans[k]
		switch typ {
		case AckRenew:
			s.deadline = deadline
			continue
		case AckAccept:
			s.state = StateAcknowledged
		case AckRelease:
			s.state = releasedState(s.count, limit)
		default: // AckGap, AckReject
			s.state = StateArchived
		}
		s.member, s.deadline = "", 0
	}
	if typ != AckRenew {
		ch.add(first, last)
	}
}

// releasedState is what an acquired record delivered count times becomes when released or
// timed out: Available, or Archived once it reached the delivery count limit.
func releasedState(count int16, limit int) int8 {
	if int(count) >= limit {
		return StateArchived
	}
	return StateAvailable
}

// release makes acquired offsets Available again (or Archived at the delivery limit): those
// whose lock deadline is at or before now (expire), or member's (member != "", a session
// closing or a member leaving). It returns the earliest remaining deadline (0 for none).
func (w *window) release(member string, now int64, limit int, ch *changes) int64 {
	next := int64(0)
	for k := range w.spans {
		s := &w.spans[k]
		if s.state != StateAcquired {
			continue
		}
		if (member != "" && s.member == member) || (member == "" && s.deadline <= now) {
			s.state, s.member, s.deadline = releasedState(s.count, limit), "", 0
			ch.add(s.first, s.last)
			continue
		}
		if next == 0 || s.deadline < next {
			next = s.deadline
		}
	}
	w.merge()
	return next
}

// nextDeadline is the earliest lock deadline of the window (0 for none).
func (w *window) nextDeadline() int64 {
	next := int64(0)
	for k := range w.spans {
		if s := &w.spans[k]; s.state == StateAcquired && (next == 0 || s.deadline < next) {
			next = s.deadline
		}
	}
	return next
}

// batchesFor turns changed ranges into the persisted states now holding them (from start
// on), appending to out.
func (w *window) batchesFor(ch changes, out []StateBatch) []StateBatch {
	for _, c := range ch {
		first := max(c.FirstOffset, w.start)
		for i := w.find(first); i < len(w.spans) && w.spans[i].first <= c.LastOffset; i++ {
			s := &w.spans[i]
			out = append(out, StateBatch{FirstOffset: max(s.first, first), LastOffset: min(s.last, c.LastOffset),
				DeliveryState: s.state, DeliveryCount: s.count})
		}
	}
	return out
}

// completeCount is the number of done records at or past start (DeliveryCompleteCount).
func (w *window) completeCount() int32 {
	var n int64
	for k := range w.spans {
		if w.spans[k].done() {
			n += w.spans[k].len()
		}
	}
	return int32(min(n, 1<<31-1))
}

// acquiredCount is the number of acquired records (the in-flight count exported).
func (w *window) acquiredCount() int64 {
	var n int64
	for k := range w.spans {
		if w.spans[k].state == StateAcquired {
			n += w.spans[k].len()
		}
	}
	return n
}

// snapshot is the whole persisted view of the window (for tests and snapshots).
func (w *window) snapshot() []StateBatch {
	out := make([]StateBatch, 0, len(w.spans))
	for _, s := range w.spans {
		st := s.state
		if st == StateAcquired {
			st = StateAvailable
		}
		out = append(out, StateBatch{FirstOffset: s.first, LastOffset: s.last, DeliveryState: st, DeliveryCount: s.count})
	}
	return out
}
