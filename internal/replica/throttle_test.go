package replica

import (
	"testing"
	"time"
)

func TestThrottledOn(t *testing.T) {
	for _, tc := range []struct {
		list       string
		part, node int32
		want       bool
	}{
		{"", 0, 1, false},
		{"*", 7, 3, true},
		{"0:1,1:2", 0, 1, true},
		{"0:1,1:2", 1, 2, true},
		{"0:1,1:2", 1, 1, false},
		{"0:1, 12:3", 12, 3, true},
		{"10:1", 1, 1, false},
		{"x:1,0", 0, 1, false},
	} {
		if got := ThrottledOn(tc.list, tc.part, tc.node); got != tc.want {
			t.Errorf("ThrottledOn(%q, %d, %d) = %v, want %v", tc.list, tc.part, tc.node, got, tc.want)
		}
	}
}

// TestThrottleBudget: a throttle lets traffic through until its one-second budget is spent,
// then again as time refills it; Kafka's default rate (Long.MAX_VALUE) never throttles.
func TestThrottleBudget(t *testing.T) {
	now := time.Unix(0, 0)
	th := &Throttle{now: func() time.Time { return now }}
	th.SetRate(1000)
	if !th.Allow() {
		t.Fatal("a new throttle has no budget")
	}
	th.Record(1500) // into debt: one large fetch is never cut
	if th.Allow() {
		t.Fatal("allowed past the budget")
	}
	now = now.Add(400 * time.Millisecond) // +400: still 100 in debt
	if th.Allow() {
		t.Fatal("allowed while in debt")
	}
	now = now.Add(200 * time.Millisecond)
	if !th.Allow() {
		t.Fatal("not allowed after the budget refilled")
	}
	th.SetRate(9223372036854775807)
	th.Record(1 << 40)
	if !th.Allow() || th.Limited() {
		t.Fatal("Long.MAX_VALUE throttles")
	}
}
