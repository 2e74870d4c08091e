package share

import (
	"testing"
)

// FuzzWindow drives a window with acquisitions, acknowledgements (client-chosen offsets and
// types), releases and lock timeouts read from the input, and checks its invariants after
// each step: spans contiguous over start..end in order, valid states, members and deadlines
// only on acquired spans, acknowledgements applied only after checkAcks accepted them.
func FuzzWindow(f *testing.F) {
	f.Add([]byte{0, 5, 3, 1, 0, 2, 1, 2, 0, 9, 1, 3, 2, 0})
	f.Add([]byte{0, 200, 1, 0, 0, 0, 0, 0, 3, 1, 0, 0, 2, 1, 4, 4, 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		var w window
		members := []string{"a", "b", "c"}
		next := int64(0) // the log's next batch offset
		for len(in) >= 4 {
			op, x, y, z := in[0]%5, in[1], in[2], in[3]
			in = in[4:]
			member := members[int(z)%len(members)]
			var ch changes
			switch op {
			case 0: // acquire batches appended to the log
				var batches []LogBatch
				for i := range int(y%4) + 1 {
					size := int64(x%16) + 1
					batches = append(batches, LogBatch{BaseOffset: next, LastOffset: next + size - 1, Skip: (int(z)+i)%7 == 0})
					next += size
				}
				from := max(w.start-int64(x%8), 0)
				if from < next {
					batches = append([]LogBatch{{BaseOffset: from, LastOffset: min(from+int64(y%8), next-1)}}, batches...)
				}
				w.acquire(batches, member, int(x%50)+1, int(y)+10, z%2 == 0, int64(x), nil)
			case 1, 2: // acknowledge
				first := w.start + int64(x%32) - 4
				last := first + int64(y%8)
				types := []int8{int8(z % 6)}
				if z%3 == 0 && last >= first && last-first < 8 {
					types = make([]int8, last-first+1)
					for i := range types {
						types[i] = int8((int(z) + i) % 5)
					}
				}
				b := []AckBatch{{FirstOffset: first, LastOffset: last, Types: types}}
				if err := w.checkAcks(member, b, op == 2); err == nil {
					w.acknowledge(b, 3, int64(y), &ch)
				}
			case 3:
				w.release(member, 0, 3, &ch)
			case 4:
				w.release("", int64(x), 3, &ch)
			}
			w.advanceStart()
			checkWindow(t, &w)
			for _, b := range w.batchesFor(ch, nil) {
				if b.FirstOffset < w.start || b.LastOffset >= w.end || b.LastOffset < b.FirstOffset || b.DeliveryState == StateAcquired {
					t.Fatalf("persisted batch %+v outside window %d..%d or acquired", b, w.start, w.end)
				}
			}
		}
	})
}

func checkWindow(t *testing.T, w *window) {
	t.Helper()
	at := w.start
	for _, s := range w.spans {
		if s.first != at || s.last < s.first {
			t.Fatalf("span %+v not contiguous at %d (window %d..%d)", s, at, w.start, w.end)
		}
		switch s.state {
		case StateAvailable, StateAcknowledged, StateArchived:
			if s.member != "" {
				t.Fatalf("span %+v has a member but is not acquired", s)
			}
		case StateAcquired:
			if s.member == "" || s.count < 1 {
				t.Fatalf("acquired span %+v without member or delivery", s)
			}
		default:
			t.Fatalf("span %+v in state %d", s, s.state)
		}
		at = s.last + 1
	}
	if at != w.end {
		t.Fatalf("spans end at %d, window at %d", at, w.end)
	}
	if len(w.spans) > 0 && w.spans[0].done() {
		t.Fatalf("done span %+v at the head", w.spans[0])
	}
}
