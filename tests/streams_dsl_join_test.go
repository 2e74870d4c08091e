package tests

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/serde"
)

// TestStreamsDSLJoinAndSessionsOutOfOrder runs, in an App against `sluice serve` under
// exactly-once, a left stream-stream join and a suppressed session-windowed count over one
// topic of events with out-of-order and late timestamps: "L…" events are the join's left side,
// "R…" its right (two branches of one stream, so each partition's processing order is its
// offset order and the outcome is determined). Each key's read_committed outputs must equal
// the models' for its partition: joined pairs at once, unjoined left events only after their
// window closed, late events dropped, sessions merged, each closed session's final count once.
func TestStreamsDSLJoinAndSessionsOutOfOrder(t *testing.T) {
	n := startNode(t)
	for _, topic := range []string{"ooo-events", "ooo-joined", "ooo-sessions"} {
		n.createTopic(topic, 3, nil)
	}
	str, i64 := serde.String(), serde.Int64()
	const before, after, grace, gap, sessionGrace = 300, 500, 200, 400, 300
	b := streams.NewBuilder()
	events := streams.NewStream(b, "ooo-events", streams.Consumed(str, str))
	sides := events.Branch(
		func(_, v string) bool { return strings.HasPrefix(v, "L") },
		func(_, v string) bool { return strings.HasPrefix(v, "R") })
	w := streams.JoinTimeDifference(0).Before(before * time.Millisecond).After(after * time.Millisecond).Grace(grace * time.Millisecond)
	streams.LeftJoinStreams(sides[0], sides[1], w, func(l string, r *string) string {
		if r == nil {
			return l + "+-"
		}
		return l + "+" + *r
	}).To("ooo-joined", streams.Produced(str, str))
	streams.SessionWindowedBy(streams.GroupByKey(events), streams.NewSessionWindows(gap*time.Millisecond).Grace(sessionGrace*time.Millisecond)).
		Count(streams.Materialized[int64]("sessions", nil)).Suppress(streams.UntilWindowCloses).ToStream().
		To("ooo-sessions", streams.Produced(serde.SessionWindowed(str), i64))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}

	// Input: timestamps mostly advancing, often back a little, sometimes far (late).
	rng := rand.New(rand.NewPCG(31, 32))
	base := time.Now().Add(-time.Hour).UnixMilli()
	now := base
	var recs []*kgo.Record
	for i := range 900 {
		now += rng.Int64N(60)
		ts := now
		switch rng.IntN(10) {
		case 0, 1:
			ts -= rng.Int64N(250)
		case 2:
			ts -= 250 + rng.Int64N(1500)
		}
		side := "L"
		if rng.IntN(2) == 0 {
			side = "R"
		}
		recs = append(recs, &kgo.Record{Topic: "ooo-events", Key: []byte("k" + strconv.Itoa(rng.IntN(7))),
			Value: []byte(side + strconv.Itoa(i)), Timestamp: time.UnixMilli(ts)})
	}
	cl := n.client()
	ctx := t.Context()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The models, one per partition (a task's stream time spans its partition's keys).
	joins := map[int32]*joinModel{}
	sessions := map[int32]*sessionCountModel{}
	for _, r := range recs {
		if joins[r.Partition] == nil {
			joins[r.Partition] = &joinModel{before: before, after: after, grace: grace, observed: math.MinInt64, maxTs: [2]int64{math.MinInt64 / 2, math.MinInt64 / 2}}
			sessions[r.Partition] = &sessionCountModel{gap: gap, grace: sessionGrace, observed: math.MinInt64, maxEnd: math.MinInt64 / 2,
				sessions: map[string][]modelSession{}, buffer: map[modelWindow]int64{}}
		}
		v := string(r.Value)
		joins[r.Partition].add(v[0] == 'L', string(r.Key), r.Timestamp.UnixMilli(), v)
		sessions[r.Partition].add(string(r.Key), r.Timestamp.UnixMilli())
	}
	wantJoined, wantSessions := map[string][]string{}, map[string][]string{}
	total := 0
	for p, m := range joins {
		for _, o := range m.out {
			wantJoined[o.key] = append(wantJoined[o.key], o.value+"@"+strconv.FormatInt(o.ts, 10))
			total++
		}
		for _, o := range sessions[p].final {
			wantSessions[o.key] = append(wantSessions[o.key], o.value)
			total++
		}
		if m.late == 0 || m.unjoined == 0 || len(sessions[p].final) == 0 {
			t.Fatalf("partition %d: %d late, %d unjoined, %d final sessions: the input does not exercise the topology", p, m.late, m.unjoined, len(sessions[p].final))
		}
	}

	app := runStreamsApp(t, ctx, topo, streams.Config{ApplicationID: "ooo", Brokers: []string{n.kafkaAddr}, StateDir: t.TempDir(),
		ProcessingGuarantee: streams.ExactlyOnce, CommitInterval: 200 * time.Millisecond})

	consumer := n.client(kgo.ConsumeTopics("ooo-joined", "ooo-sessions"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	gotJoined, gotSessions := map[string][]string{}, map[string][]string{}
	got := 0
	deadline := time.Now().Add(90 * time.Second)
	for got < total && time.Now().Before(deadline) {
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		fs := consumer.PollFetches(pollCtx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			got++
			switch r.Topic {
			case "ooo-joined":
				gotJoined[string(r.Key)] = append(gotJoined[string(r.Key)], string(r.Value)+"@"+strconv.FormatInt(r.Timestamp.UnixMilli(), 10))
			case "ooo-sessions":
				w, err := serde.SessionWindowed(str).Deserialize(r.Topic, r.Key)
				c, err2 := i64.Deserialize(r.Topic, r.Value)
				if err != nil || err2 != nil {
					t.Errorf("session record: %v %v", err, err2)
					return
				}
				gotSessions[w.Key] = append(gotSessions[w.Key], sessionString(w.Start, w.End, c))
			}
		})
	}
	// Anything beyond the expected records would show up too: wait a few commits more.
	pollCtx, cancel := context.WithTimeout(ctx, time.Second)
	consumer.PollFetches(pollCtx).EachRecord(func(r *kgo.Record) { got++ })
	cancel()
	if got != total {
		t.Errorf("read %d records, want %d (state %v)", got, total, app.State())
	}
	for k, want := range wantJoined {
		if !slices.Equal(gotJoined[k], want) {
			t.Fatalf("key %s joined:\n got %v\nwant %v", k, gotJoined[k], want)
		}
	}
	// Windowed keys are partitioned by their whole bytes (key | end | start), as Kafka Streams
	// writes them, so one key's sessions are spread over the output's partitions: compare sets.
	for k, want := range wantSessions {
		slices.Sort(want)
		slices.Sort(gotSessions[k])
		if !slices.Equal(gotSessions[k], want) {
			t.Fatalf("key %s sessions:\n got %v\nwant %v", k, gotSessions[k], want)
		}
	}
}

func sessionString(start, end, count int64) string {
	return strconv.FormatInt(start, 10) + ".." + strconv.FormatInt(end, 10) + "=" + strconv.FormatInt(count, 10)
}

type modelOut struct {
	key, value string
	ts         int64
}

type joinEvent struct {
	left  bool
	key   string
	ts    int64
	value string
	seq   int
}

// joinModel is the left stream-stream join of one task (see streams/join_stream.go): a left
// event at t joins right events of its key in [t-before, t+after] (and a right event the left
// ones in [t-after, t+before]); an event with ts + (its side's after) + grace < stream time is
// dropped; unjoined left events are emitted once ts + before + after + grace < stream time.
type joinModel struct {
	before, after, grace int64
	observed             int64
	maxTs                [2]int64
	stored               [2][]joinEvent
	pending              []joinEvent
	out                  []modelOut
	late, unjoined, seq  int
}

func (m *joinModel) add(left bool, key string, ts int64, value string) {
	m.seq++
	e := joinEvent{left, key, ts, value, m.seq}
	m.observed = max(m.observed, ts)
	am, bm := m.after, m.before
	if !left {
		am, bm = m.before, m.after
	}
	if ts+am+m.grace < m.observed {
		m.late++
		return
	}
	limit := m.observed - m.before - m.after - m.grace
	var due, keep []joinEvent
	for _, p := range m.pending {
		if p.ts < limit {
			due = append(due, p)
		} else {
			keep = append(keep, p)
		}
	}
	slices.SortStableFunc(due, func(a, b joinEvent) int {
		return cmp.Or(cmp.Compare(a.ts, b.ts), strings.Compare(a.key, b.key), cmp.Compare(a.seq, b.seq))
	})
	for _, p := range due {
		m.unjoined++
		m.out = append(m.out, modelOut{p.key, p.value + "+-", p.ts})
	}
	m.pending = keep
	retention := m.before + m.after + m.grace + 1
	this, other := 0, 1
	if !left {
		this, other = 1, 0
	}
	if ts > m.maxTs[this]-retention {
		m.stored[this] = append(m.stored[this], e)
	}
	m.maxTs[this] = max(m.maxTs[this], ts)
	var matches []joinEvent
	for _, o := range m.stored[other] {
		if o.key == key && o.ts > m.maxTs[other]-retention && o.ts >= ts-bm && o.ts <= ts+am {
			matches = append(matches, o)
		}
	}
	slices.SortStableFunc(matches, func(a, b joinEvent) int { return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.seq, b.seq)) })
	for _, o := range matches {
		l, r := value, o.value
		if !left {
			l, r = o.value, value
			m.pending = slices.DeleteFunc(m.pending, func(p joinEvent) bool { return p.key == o.key && p.ts == o.ts })
		}
		m.out = append(m.out, modelOut{key, l + "+" + r, max(ts, o.ts)})
	}
	if len(matches) == 0 && left {
		m.pending = append(m.pending, e)
	}
}

type modelSession struct{ start, end, count int64 }

type modelWindow struct {
	key        string
	start, end int64
}

// sessionCountModel is one task's session-windowed count with Suppress(UntilWindowCloses).
type sessionCountModel struct {
	gap, grace, observed, maxEnd int64
	sessions                     map[string][]modelSession
	buffer                       map[modelWindow]int64
	final                        []modelOut
}

func (m *sessionCountModel) add(key string, ts int64) {
	m.observed = max(m.observed, ts)
	var found, kept []modelSession
	for _, s := range m.sessions[key] {
		live := s.end > m.maxEnd-(m.gap+m.grace)
		if live && s.end >= ts-m.gap && s.start <= ts+m.gap {
			found = append(found, s)
		} else if live {
			kept = append(kept, s)
		}
	}
	merged := modelSession{ts, ts, 1}
	for _, s := range found {
		merged.start, merged.end, merged.count = min(merged.start, s.start), max(merged.end, s.end), merged.count+s.count
	}
	if merged.end < m.observed-m.grace {
		return
	}
	for _, s := range found {
		delete(m.buffer, modelWindow{key, s.start, s.end})
	}
	m.sessions[key] = append(kept, merged)
	m.maxEnd = max(m.maxEnd, merged.end)
	m.buffer[modelWindow{key, merged.start, merged.end}] = merged.count
	var due []modelWindow
	for w := range m.buffer {
		if w.end <= m.observed-m.grace {
			due = append(due, w)
		}
	}
	slices.SortFunc(due, func(a, b modelWindow) int {
		return cmp.Or(cmp.Compare(a.end, b.end), strings.Compare(a.key, b.key), cmp.Compare(a.start, b.start))
	})
	for _, w := range due {
		m.final = append(m.final, modelOut{w.key, sessionString(w.start, w.end, m.buffer[w]), 0})
		delete(m.buffer, w)
	}
}
