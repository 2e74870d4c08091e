package share

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// batches of n records each from base, as the log holds them.
func logBatches(base int64, sizes ...int64) []LogBatch {
	var out []LogBatch
	for _, n := range sizes {
		out = append(out, LogBatch{BaseOffset: base, LastOffset: base + n - 1})
		base += n
	}
	return out
}

func acks(first, last int64, types ...int8) AckBatch {
	return AckBatch{FirstOffset: first, LastOffset: last, Types: types}
}

func TestWindowAcquireAcknowledge(t *testing.T) {
	const limit, maxLocks = 3, 100
	type step struct {
		acquire  []LogBatch // acquire these for member (with maxRecords)
		member   string
		max      int
		strict   bool
		ack      []AckBatch
		release  string // release this member's records
		expireAt int64  // expire locks with deadlines at or before
		wantAcq  []Acquired
		wantErr  error
	}
	cases := []struct {
		name      string
		steps     []step
		wantStart int64
		wantEnd   int64
		wantState []StateBatch
	}{
		{name: "accept all advances start",
			steps: []step{
				{acquire: logBatches(0, 5, 5), member: "a", max: 100, wantAcq: []Acquired{{0, 9, 1}}},
				{member: "a", ack: []AckBatch{acks(0, 9, AckAccept)}},
			},
			wantStart: 10, wantEnd: 10, wantState: []StateBatch{}},
		{name: "whole batches even past max records",
			steps: []step{
				{acquire: logBatches(0, 4, 4, 4), member: "a", max: 5, wantAcq: []Acquired{{0, 7, 1}}},
			},
			wantStart: 0, wantEnd: 8, wantState: []StateBatch{{0, 7, StateAvailable, 1}}},
		{name: "release keeps delivery count and redelivers",
			steps: []step{
				{acquire: logBatches(0, 3), member: "a", max: 10, wantAcq: []Acquired{{0, 2, 1}}},
				{member: "a", ack: []AckBatch{acks(0, 2, AckAccept, AckRelease, AckAccept)}},
				{acquire: logBatches(0, 3), member: "b", max: 10, wantAcq: []Acquired{{1, 1, 2}}},
			},
			wantStart: 1, wantEnd: 3, wantState: []StateBatch{{1, 1, StateAvailable, 2}, {2, 2, StateAcknowledged, 1}}},
		{name: "reject archives",
			steps: []step{
				{acquire: logBatches(0, 3), member: "a", max: 10, wantAcq: []Acquired{{0, 2, 1}}},
				{member: "a", ack: []AckBatch{acks(1, 1, AckReject)}},
			},
			wantStart: 0, wantEnd: 3, wantState: []StateBatch{{0, 0, StateAvailable, 1}, {1, 1, StateArchived, 1}, {2, 2, StateAvailable, 1}}},
		{name: "another member's records are INVALID_RECORD_STATE",
			steps: []step{
				{acquire: logBatches(0, 3), member: "a", max: 10, wantAcq: []Acquired{{0, 2, 1}}},
				{member: "b", ack: []AckBatch{acks(0, 2, AckAccept)}, wantErr: ErrInvalidRecordState},
				{member: "a", ack: []AckBatch{acks(2, 3, AckAccept)}, wantErr: ErrInvalidRecordState},
			},
			wantStart: 0, wantEnd: 3, wantState: []StateBatch{{0, 2, StateAvailable, 1}}},
		{name: "malformed acknowledgements",
			steps: []step{
				{acquire: logBatches(0, 3), member: "a", max: 10, wantAcq: []Acquired{{0, 2, 1}}},
				{member: "a", ack: []AckBatch{acks(0, 2, AckAccept, AckAccept)}, wantErr: ErrInvalidAcknowledgement},
				{member: "a", ack: []AckBatch{acks(0, 2, 9)}, wantErr: ErrInvalidAcknowledgement},
				{member: "a", ack: []AckBatch{acks(0, 2, AckRenew)}, wantErr: ErrInvalidAcknowledgement},
				{member: "a", ack: []AckBatch{acks(2, 0, AckAccept)}, wantErr: ErrInvalidAcknowledgement},
			},
			wantStart: 0, wantEnd: 3, wantState: []StateBatch{{0, 2, StateAvailable, 1}}},
		{name: "delivery count limit archives on the last release",
			steps: []step{
				{acquire: logBatches(0, 1), member: "a", max: 10, wantAcq: []Acquired{{0, 0, 1}}},
				{release: "a"},
				{acquire: logBatches(0, 1), member: "a", max: 10, wantAcq: []Acquired{{0, 0, 2}}},
				{expireAt: 1 << 62},
				{acquire: logBatches(0, 1), member: "b", max: 10, wantAcq: []Acquired{{0, 0, 3}}},
				{member: "b", ack: []AckBatch{acks(0, 0, AckRelease)}},
				{acquire: logBatches(0, 1), member: "b", max: 10},
			},
			wantStart: 1, wantEnd: 1, wantState: []StateBatch{}},
		{name: "max record locks bounds the window",
			steps: []step{
				{acquire: logBatches(0, 60, 60, 60), member: "a", max: 1000, wantAcq: []Acquired{{0, 119, 1}}},
				{acquire: logBatches(120, 60), member: "b", max: 1000},
				{member: "a", ack: []AckBatch{acks(0, 59, AckAccept)}},
				{acquire: logBatches(120, 60), member: "b", max: 1000, wantAcq: []Acquired{{120, 179, 1}}},
			},
			wantStart: 60, wantEnd: 180, wantState: []StateBatch{{60, 119, StateAvailable, 1}, {120, 179, StateAvailable, 1}}},
		{name: "control and aborted batches are archived, never delivered",
			steps: []step{
				{acquire: []LogBatch{{0, 2, false}, {3, 3, true}, {4, 5, true}, {6, 7, false}}, member: "a", max: 10,
					wantAcq: []Acquired{{0, 2, 1}, {6, 7, 1}}},
				{member: "a", ack: []AckBatch{acks(0, 2, AckAccept), acks(6, 7, AckAccept)}},
			},
			wantStart: 8, wantEnd: 8, wantState: []StateBatch{}},
		{name: "compacted gap between batches is archived",
			steps: []step{
				{acquire: []LogBatch{{0, 1, false}, {5, 6, false}}, member: "a", max: 10, wantAcq: []Acquired{{0, 1, 1}, {5, 6, 1}}},
				{member: "a", ack: []AckBatch{acks(0, 1, AckAccept)}},
			},
			wantStart: 5, wantEnd: 7, wantState: []StateBatch{{5, 6, StateAvailable, 1}}},
		{name: "strict record limit splits batches",
			steps: []step{
				{acquire: logBatches(0, 4, 4), member: "a", max: 3, strict: true, wantAcq: []Acquired{{0, 2, 1}}},
				{acquire: logBatches(0, 4, 4), member: "b", max: 3, strict: true, wantAcq: []Acquired{{3, 5, 1}}},
				{member: "a", ack: []AckBatch{acks(0, 2, AckRelease)}},
				{acquire: logBatches(0, 4, 4), member: "c", max: 2, strict: true, wantAcq: []Acquired{{0, 1, 2}}},
			},
			wantStart: 0, wantEnd: 6, wantState: []StateBatch{{0, 1, StateAvailable, 2}, {2, 2, StateAvailable, 1}, {3, 5, StateAvailable, 1}}},
		{name: "gap acknowledgement archives",
			steps: []step{
				{acquire: logBatches(0, 4), member: "a", max: 10, wantAcq: []Acquired{{0, 3, 1}}},
				{member: "a", ack: []AckBatch{acks(0, 3, AckAccept, AckGap, AckGap, AckAccept)}},
			},
			wantStart: 4, wantEnd: 4, wantState: []StateBatch{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var w window
			for i, s := range tc.steps {
				var ch changes
				switch {
				case s.acquire != nil:
					got := w.acquire(s.acquire, s.member, s.max, maxLocks, s.strict, 1000, nil)
					if !slices.Equal(got, s.wantAcq) {
						t.Fatalf("step %d: acquired %v, want %v", i, got, s.wantAcq)
					}
				case s.ack != nil:
					err := w.checkAcks(s.member, s.ack, false)
					if !errors.Is(err, s.wantErr) {
						t.Fatalf("step %d: ack error %v, want %v", i, err, s.wantErr)
					}
					if err == nil {
						w.acknowledge(s.ack, limit, 2000, &ch)
					}
				case s.release != "":
					w.release(s.release, 0, limit, &ch)
				case s.expireAt != 0:
					w.release("", s.expireAt, limit, &ch)
				}
				w.advanceStart()
			}
			if w.start != tc.wantStart || w.end != tc.wantEnd {
				t.Fatalf("window %d..%d, want %d..%d", w.start, w.end, tc.wantStart, tc.wantEnd)
			}
			if got := w.snapshot(); !slices.Equal(got, tc.wantState) {
				t.Fatalf("state %v, want %v", got, tc.wantState)
			}
		})
	}
}

func TestWindowExpireOnlyPastDeadline(t *testing.T) {
	var w window
	w.acquire(logBatches(0, 2), "a", 10, 100, false, 100, nil)
	w.acquire(logBatches(2, 2), "b", 10, 100, false, 200, nil)
	var ch changes
	if next := w.release("", 150, 5, &ch); next != 200 {
		t.Fatalf("next deadline %d, want 200", next)
	}
	want := []StateBatch{{0, 1, StateAvailable, 1}, {2, 3, StateAvailable, 1}}
	if got := w.snapshot(); !slices.Equal(got, want) {
		t.Fatalf("state %v, want %v", got, want)
	}
	if err := w.checkAcks("a", []AckBatch{acks(0, 1, AckAccept)}, false); !errors.Is(err, ErrInvalidRecordState) {
		t.Fatalf("ack after the lock timed out: %v, want INVALID_RECORD_STATE", err)
	}
	if err := w.checkAcks("b", []AckBatch{acks(2, 3, AckAccept)}, false); err != nil {
		t.Fatalf("ack within the lock: %v", err)
	}
}

func TestWindowRenewKeepsLock(t *testing.T) {
	var w window
	w.acquire(logBatches(0, 2), "a", 10, 100, false, 100, nil)
	b := []AckBatch{acks(0, 1, AckRenew)}
	if err := w.checkAcks("a", b, true); err != nil {
		t.Fatal(err)
	}
	var ch changes
	w.acknowledge(b, 5, 500, &ch)
	if len(ch) != 0 {
		t.Fatalf("renew changed persisted state: %v", ch)
	}
	w.release("", 300, 5, &ch)
	if err := w.checkAcks("a", []AckBatch{acks(0, 1, AckAccept)}, false); err != nil {
		t.Fatalf("renewed lock expired early: %v", err)
	}
}

// The persister sees what the window holds: reloading the persisted state (a new leader)
// gives the same window with acquired records Available again.
func TestPartitionPersistsAndReloads(t *testing.T) {
	ctx := context.Background()
	mp := NewMemoryPersister()
	k := Key{Group: "g", Partition: 0}
	if err := mp.Initialize(ctx, k, 0, 0); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultGroupConfig()
	p := &Partition{key: k, persister: mp}
	ps, _ := mp.Read(ctx, k, 1)
	p.mu.w.load(ps)
	p.mu.loaded, p.mu.leaderEpoch = true, 1
	p.mu.w.acquire(logBatches(0, 5, 5), "a", 100, 100, false, time.Now().Add(time.Minute).UnixNano(), nil)
	now := time.Now()
	if err := p.Acknowledge(ctx, "a", []AckBatch{acks(0, 3, AckAccept), acks(4, 5, AckReject), acks(6, 6, AckRelease)}, cfg, now, false); err != nil {
		t.Fatal(err)
	}
	got, _ := mp.Read(ctx, k, 2)
	if got.StartOffset != 6 {
		t.Fatalf("persisted start %d, want 6", got.StartOffset)
	}
	want := []StateBatch{{6, 6, StateAvailable, 1}}
	if !slices.Equal(got.Batches, want) {
		t.Fatalf("persisted %v, want %v", got.Batches, want)
	}
	var w2 window
	w2.load(got)
	if w2.start != 6 || w2.end != 7 {
		t.Fatalf("reloaded window %d..%d, want 6..7", w2.start, w2.end)
	}
	// Records 7..9 were acquired, never acknowledged: a new leader delivers them afresh.
	acq := w2.acquire(logBatches(5, 5), "b", 100, 100, false, 1, nil)
	if wantAcq := []Acquired{{6, 6, 2}, {7, 9, 1}}; !slices.Equal(acq, wantAcq) {
		t.Fatalf("after reload acquired %v, want %v", acq, wantAcq)
	}

	mp.FailWrites(true)
	if err := p.Acknowledge(ctx, "a", []AckBatch{acks(7, 9, AckAccept)}, cfg, now, false); err == nil {
		t.Fatal("acknowledgement answered though the persister failed")
	}
	if err := p.Acknowledge(ctx, "a", []AckBatch{acks(7, 9, AckAccept)}, cfg, now, false); !errors.Is(err, ErrInvalidRecordState) {
		t.Fatalf("state kept after a failed write: %v", err)
	}
}

func TestOverlay(t *testing.T) {
	old := []StateBatch{{0, 9, StateAvailable, 1}, {10, 19, StateArchived, 2}}
	got := overlay(old, []StateBatch{{5, 12, StateAcknowledged, 1}}, 2)
	want := []StateBatch{{2, 4, StateAvailable, 1}, {5, 12, StateAcknowledged, 1}, {13, 19, StateArchived, 2}}
	if !slices.Equal(got, want) {
		t.Fatalf("overlay %v, want %v", got, want)
	}
}

func TestParseISODuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"PT1H": time.Hour, "P1D": 24 * time.Hour, "PT1.5S": 1500 * time.Millisecond, "P1DT2H3M4S": 26*time.Hour + 3*time.Minute + 4*time.Second} {
		if got, err := ParseISODuration(in); err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "1H", "PT", "PH", "P1H", "PT1D", "PT-1S"} {
		if _, err := ParseISODuration(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}
