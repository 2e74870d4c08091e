package tests

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// history records what clients did while faults were injected, for checkHistory. It knows
// nothing of the client library: a test (or an adapter such as recordFranzSend) reports every
// send and every polled record. Values must be unique per send: use history.Value.
type history struct {
	mu    sync.Mutex
	sends []sendEvent
	polls []pollEvent
	final []pollEvent // the read of every partition from the start after the faults healed
}

// sendOutcome is what the producer learned about a send.
type sendOutcome uint8

const (
	sendOK      sendOutcome = iota // acknowledged at Offset
	sendFailed                     // definitively not written (the broker said so before appending)
	sendUnknown                    // may or may not be written (timeouts, lost connections, ...)
)

func (o sendOutcome) String() string { return [...]string{"ok", "failed", "unknown"}[o] }

type sendEvent struct {
	Producer  string
	Value     string
	Topic     string
	Partition int32
	Outcome   sendOutcome
	Offset    int64 // when ok
	Err       string
}

type pollEvent struct {
	Consumer  string // one consumer session: offsets it reads per partition must increase
	Topic     string
	Partition int32
	Offset    int64
	Value     string
}

type topicPart struct {
	Topic     string
	Partition int32
}

// Value is the unique value of a producer's seq-th send.
func (h *history) Value(producer string, seq int) string { return fmt.Sprintf("%s-%d", producer, seq) }

// Send records the outcome of one send.
func (h *history) Send(ev sendEvent) {
	h.mu.Lock()
	h.sends = append(h.sends, ev)
	h.mu.Unlock()
}

// Poll records one record a consumer read.
func (h *history) Poll(ev pollEvent) {
	h.mu.Lock()
	h.polls = append(h.polls, ev)
	h.mu.Unlock()
}

// Final records one record of the final read.
func (h *history) Final(ev pollEvent) {
	h.mu.Lock()
	h.final = append(h.final, ev)
	h.mu.Unlock()
}

// Counts summarises the history for logs.
func (h *history) Counts() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var by [3]int
	for _, s := range h.sends {
		by[s.Outcome]++
	}
	return fmt.Sprintf("sends ok %d failed %d unknown %d; polled %d; final read %d", by[sendOK], by[sendFailed], by[sendUnknown], len(h.polls), len(h.final))
}

// violation is one thing checkHistory found wrong.
type violation struct {
	Kind   string // lost, moved, duplicated, phantom, failed-visible, non-monotonic, disagree, bad-history
	Detail string
}

func (v violation) String() string { return v.Kind + ": " + v.Detail }

// Check runs checkHistory on what was recorded.
func (h *history) Check() []violation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return checkHistory(h.sends, h.polls, h.final)
}

// checkHistory checks a history against what Kafka promises idempotent producers (acks=all)
// and consumers:
//   - lost: an acknowledged value is not in the final read;
//   - moved: an acknowledged value is in the final read at another offset or partition;
//   - duplicated: a value is at two offsets in the final read;
//   - phantom: a record was read (polled or in the final read) that was never sent;
//   - failed-visible: a record was read whose send failed definitively;
//   - non-monotonic: a consumer's offsets in one partition did not increase;
//   - disagree: two reads (consumers' polls and the final read) of one offset differ;
//   - bad-history: two sends with one value (the test broke the uniqueness the checks rely on).
func checkHistory(sends []sendEvent, polls, final []pollEvent) []violation {
	var out []violation
	add := func(kind, f string, args ...any) { out = append(out, violation{kind, fmt.Sprintf(f, args...)}) }

	sent := make(map[string]sendEvent, len(sends))
	for _, s := range sends {
		if prev, ok := sent[s.Value]; ok {
			add("bad-history", "value %q sent twice (%s and %s)", s.Value, prev.Producer, s.Producer)
			continue
		}
		sent[s.Value] = s
	}

	type loc struct {
		tp     topicPart
		offset int64
	}
	at := make(map[loc]string, len(final))      // final read: offset → value
	where := make(map[string][]loc, len(final)) // final read: value → offsets
	for _, r := range final {
		l := loc{topicPart{r.Topic, r.Partition}, r.Offset}
		if v, ok := at[l]; ok && v != r.Value {
			add("disagree", "final read has %q and %q at %s/%d@%d", v, r.Value, r.Topic, r.Partition, r.Offset)
			continue
		} else if ok {
			continue
		}
		at[l] = r.Value
		where[r.Value] = append(where[r.Value], l)
	}
	for v, ls := range where {
		if len(ls) > 1 {
			var s []string
			for _, l := range ls {
				s = append(s, fmt.Sprintf("%s/%d@%d", l.tp.Topic, l.tp.Partition, l.offset))
			}
			sort.Strings(s)
			add("duplicated", "%q at %s", v, strings.Join(s, ", "))
		}
	}

	for _, s := range sends {
		if s.Outcome != sendOK {
			continue
		}
		want := loc{topicPart{s.Topic, s.Partition}, s.Offset}
		ls := where[s.Value]
		switch {
		case len(ls) == 0:
			add("lost", "%q acknowledged at %s/%d@%d is not in the final read", s.Value, s.Topic, s.Partition, s.Offset)
		case at[want] != s.Value:
			add("moved", "%q acknowledged at %s/%d@%d is at %s/%d@%d", s.Value, s.Topic, s.Partition, s.Offset, ls[0].tp.Topic, ls[0].tp.Partition, ls[0].offset)
		}
	}

	readable := func(who string, r pollEvent) {
		s, ok := sent[r.Value]
		switch {
		case !ok:
			add("phantom", "%s saw %q at %s/%d@%d, never sent", who, r.Value, r.Topic, r.Partition, r.Offset)
		case s.Outcome == sendFailed:
			add("failed-visible", "%s saw %q at %s/%d@%d, whose send failed (%s)", who, r.Value, r.Topic, r.Partition, r.Offset, s.Err)
		}
	}
	for _, l := range sortedLocs(at, func(l loc) (topicPart, int64) { return l.tp, l.offset }) {
		readable("the final read", pollEvent{Topic: l.tp.Topic, Partition: l.tp.Partition, Offset: l.offset, Value: at[l]})
	}

	type cp struct {
		consumer string
		tp       topicPart
	}
	last := make(map[cp]int64)
	seen := make(map[loc]string)
	for _, r := range polls {
		readable("consumer "+r.Consumer, r)
		k := cp{r.Consumer, topicPart{r.Topic, r.Partition}}
		if prev, ok := last[k]; ok && r.Offset <= prev {
			add("non-monotonic", "consumer %s read %s/%d@%d after @%d", r.Consumer, r.Topic, r.Partition, r.Offset, prev)
		}
		last[k] = r.Offset
		l := loc{k.tp, r.Offset}
		if v, ok := at[l]; ok && v != r.Value {
			add("disagree", "consumer %s read %q at %s/%d@%d, the final read has %q", r.Consumer, r.Value, r.Topic, r.Partition, r.Offset, v)
		} else if v, ok := seen[l]; ok && v != r.Value {
			add("disagree", "consumers read %q and %q at %s/%d@%d", v, r.Value, r.Topic, r.Partition, r.Offset)
		}
		seen[l] = r.Value
	}
	return out
}

func sortedLocs[L comparable](m map[L]string, key func(L) (topicPart, int64)) []L {
	ls := make([]L, 0, len(m))
	for l := range m {
		ls = append(ls, l)
	}
	sort.Slice(ls, func(i, j int) bool {
		a, ao := key(ls[i])
		b, bo := key(ls[j])
		if a != b {
			if a.Topic != b.Topic {
				return a.Topic < b.Topic
			}
			return a.Partition < b.Partition
		}
		return ao < bo
	})
	return ls
}

// franz-go adapters.

// franzOutcome classifies a franz-go produce result. Only errors the broker returns before it
// appends (and that franz-go does not retry) are definitive failures; anything else — record
// timeouts, retries exhausted, lost connections, a closed client — may have been written.
func franzOutcome(err error) sendOutcome {
	if err == nil {
		return sendOK
	}
	for _, def := range []error{kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord,
		kerr.CorruptMessage, kerr.InvalidTopicException, kerr.TopicAuthorizationFailed, kerr.InvalidRequiredAcks} {
		if errors.Is(err, def) {
			return sendFailed
		}
	}
	return sendUnknown
}

// recordFranzSend is a kgo promise that records the send of r (whose Value is the history
// value) in h.
func (h *history) recordFranzSend(producer string) func(*kgo.Record, error) {
	return func(r *kgo.Record, err error) {
		ev := sendEvent{Producer: producer, Value: string(r.Value), Topic: r.Topic, Partition: r.Partition, Outcome: franzOutcome(err), Offset: r.Offset}
		if err != nil {
			ev.Err = err.Error()
		}
		h.Send(ev)
	}
}

// recordFranzPolls records every record of fetches as read by consumer.
func (h *history) recordFranzPolls(consumer string, fs kgo.Fetches) {
	fs.EachRecord(func(r *kgo.Record) {
		h.Poll(pollEvent{Consumer: consumer, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
	})
}

// finalRead reads every partition of topics from the start up to its end offset at the time
// of the call (through client options opts, normally straight to the brokers) into h.Final.
// It expects data records last in each partition (no transaction markers: those topics need a
// read up to the last stable offset instead).
func (h *history) finalRead(ctx context.Context, topics []string, opts ...kgo.Opt) error {
	adm, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer adm.Close()
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topics...)
	if err != nil {
		return err
	}
	if err := ends.Error(); err != nil {
		return err
	}
	want := make(map[string]map[int32]kgo.Offset)
	left := make(map[topicPart]int64)
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			if want[o.Topic] == nil {
				want[o.Topic] = make(map[int32]kgo.Offset)
			}
			want[o.Topic][o.Partition] = kgo.NewOffset().AtStart()
			left[topicPart{o.Topic, o.Partition}] = o.Offset
		}
	})
	if len(left) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append(opts, kgo.ConsumePartitions(want))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("final read: %d partitions not read to their end: %w", len(left), err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			h.Final(pollEvent{Consumer: "final", Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
			tp := topicPart{r.Topic, r.Partition}
			if end, ok := left[tp]; ok && r.Offset+1 >= end {
				delete(left, tp)
			}
		})
	}
	return nil
}
