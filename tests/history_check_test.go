package tests

import (
	"strings"
	"testing"
)

// TestCheckHistory is the checker's proof that it can fail: each violation, made by hand, is
// reported with its kind, and the clean history it is made from passes.
func TestCheckHistory(t *testing.T) {
	t.Parallel()
	clean := func() ([]sendEvent, []pollEvent, []pollEvent) {
		sends := []sendEvent{
			{Producer: "p1", Value: "p1-0", Topic: "t", Partition: 0, Outcome: sendOK, Offset: 0},
			{Producer: "p1", Value: "p1-1", Topic: "t", Partition: 0, Outcome: sendOK, Offset: 1},
			{Producer: "p2", Value: "p2-0", Topic: "t", Partition: 1, Outcome: sendOK, Offset: 0},
			// Unknown outcomes may be written or not: p2-1 is, p2-2 is not.
			{Producer: "p2", Value: "p2-1", Topic: "t", Partition: 1, Outcome: sendUnknown, Err: "timeout"},
			{Producer: "p2", Value: "p2-2", Topic: "t", Partition: 1, Outcome: sendUnknown, Err: "timeout"},
			// A definitive failure that is (rightly) nowhere.
			{Producer: "p2", Value: "p2-3", Topic: "t", Partition: 1, Outcome: sendFailed, Err: "MESSAGE_TOO_LARGE"},
		}
		polls := []pollEvent{
			{Consumer: "c1", Topic: "t", Partition: 0, Offset: 0, Value: "p1-0"},
			{Consumer: "c1", Topic: "t", Partition: 1, Offset: 0, Value: "p2-0"},
			{Consumer: "c1", Topic: "t", Partition: 0, Offset: 1, Value: "p1-1"},
			{Consumer: "c2", Topic: "t", Partition: 1, Offset: 1, Value: "p2-1"}, // gaps are fine
		}
		final := []pollEvent{
			{Topic: "t", Partition: 0, Offset: 0, Value: "p1-0"},
			{Topic: "t", Partition: 0, Offset: 1, Value: "p1-1"},
			{Topic: "t", Partition: 1, Offset: 0, Value: "p2-0"},
			{Topic: "t", Partition: 1, Offset: 1, Value: "p2-1"},
		}
		return sends, polls, final
	}
	if v := checkHistory(clean()); len(v) != 0 {
		t.Fatalf("clean history: %v", v)
	}

	cases := []struct {
		name, kind string
		mutate     func(s []sendEvent, p, f []pollEvent) ([]sendEvent, []pollEvent, []pollEvent)
	}{
		{"acknowledged record missing from the final read", "lost", func(s []sendEvent, p, f []pollEvent) ([]sendEvent, []pollEvent, []pollEvent) {
			return s, p[:1], f[1:] // p1-0 gone (and no poll of it left to disagree)
		}},
		{"acknowledged record at another offset", "moved", func(s []sendEvent, p, f []pollEvent) ([]sendEvent, []pollEvent, []pollEvent) {
			s[2].Offset = 5
			return s, p, f
		}},
		{"one value at two offsets", "duplicated", func(s []sendEvent, p, f []pollEvent) ([]sendEvent, []pollEvent, []pollEvent) {
			return s, p, append(f, pollEvent{Topic: "t", Partition: 1, Offset: 2, Value: "p2-1"})
		}},
		{"read, never sent (final read)", "phantom", func(s []sendEvent, p, f []pollEvent) ([]sendEvent, []pollEvent, []pollEvent) {
			return s, p, append(f, pollEvent{Topic: "t", Partition: 1, Offset: 2, Value: "ghost"})
		}},
		{"read, never sent (poll)", "phantom", func(s []sendEvent, p, f []pollEvent) ([]sendEvent, []pollEvent, []pollEvent) {
			return s, append(p, pollEvent{Consumer: "c2", Topic: "t", Partition: 1, Offset: 7, Value: "ghost"}), f
		}},
		{"read a record whose send failed", "failed-visible", func(s []sendEvent, p, f []pollEvent) ([]sendEvent, []pollEvent, []pollEvent) {
			return s, p, append(f, pollEvent{Topic: "t", Partition: 1, Offset: 2, Value: "p2-3"})
		}},
		{"consumer went backwards", "non-monotonic", func(s []sendEvent, p, f []pollEvent) ([]sendEvent, []pollEvent, []pollEvent) {
			return s, append(p, pollEvent{Consumer: "c1", Topic: "t", Partition: 0, Offset: 0, Value: "p1-0"}), f
		}},
		{"consumer and final read disagree", "disagree", func(s []sendEvent, p, f []pollEvent) ([]sendEvent, []pollEvent, []pollEvent) {
			p[3].Value = "p2-2"
			return s, p, f
		}},
		{"two consumers disagree past the final read", "disagree", func(s []sendEvent, p, f []pollEvent) ([]sendEvent, []pollEvent, []pollEvent) {
			return s, append(p,
				pollEvent{Consumer: "c1", Topic: "t", Partition: 1, Offset: 9, Value: "p2-1"},
				pollEvent{Consumer: "c2", Topic: "t", Partition: 1, Offset: 9, Value: "p2-2"}), f
		}},
		{"one value sent twice", "bad-history", func(s []sendEvent, p, f []pollEvent) ([]sendEvent, []pollEvent, []pollEvent) {
			return append(s, sendEvent{Producer: "p3", Value: "p1-0", Topic: "t", Outcome: sendUnknown}), p, f
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vs := checkHistory(tc.mutate(clean()))
			if len(vs) == 0 {
				t.Fatalf("want a %q violation, got none", tc.kind)
			}
			for _, v := range vs {
				if v.Kind != tc.kind {
					t.Fatalf("want only %q violations, got %v", tc.kind, vs)
				}
			}
			t.Logf("%s", strings.Trim(strings.Join(func() []string {
				var s []string
				for _, v := range vs {
					s = append(s, v.String())
				}
				return s
			}(), "; "), " "))
		})
	}
}
