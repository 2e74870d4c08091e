package cli

import (
	"strings"
	"testing"
	"time"
)

func TestParseSeekTarget(t *testing.T) {
	cases := []struct {
		name, spec string
		want       seekTarget
		wantErr    string
	}{
		{name: "start", spec: "start", want: seekTarget{kind: "start"}},
		{name: "earliest", spec: "earliest", want: seekTarget{kind: "start"}},
		{name: "end", spec: "end", want: seekTarget{kind: "end"}},
		{name: "latest", spec: "latest", want: seekTarget{kind: "end"}},
		{name: "offset", spec: "42", want: seekTarget{kind: "offset", n: 42}},
		{name: "zero", spec: "0", want: seekTarget{kind: "offset", n: 0}},
		{name: "timestamp", spec: "@1700000000000", want: seekTarget{kind: "time", n: 1700000000000}},
		{name: "missing", spec: "", wantErr: "say where to move the group"},
		{name: "negative", spec: "-1", wantErr: "use start, end, an offset"},
		{name: "word", spec: "yesterday", wantErr: "use start, end, an offset"},
		{name: "bad timestamp", spec: "@noon", wantErr: "Unix milliseconds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSeekTarget(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseSeekTarget(%q) error %v, want one containing %q", tc.spec, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("parseSeekTarget(%q) = %+v, want %+v", tc.spec, got, tc.want)
			}
		})
	}
}

func TestFormatAssignment(t *testing.T) {
	cases := []struct {
		name string
		in   []assignedTopic
		want string
	}{
		{name: "none", in: nil, want: "-"},
		{name: "one topic", in: []assignedTopic{{Topic: "orders", Partitions: []int32{0, 2}}}, want: "orders:0,2"},
		{name: "two topics", in: []assignedTopic{{Topic: "a", Partitions: []int32{1}}, {Topic: "b", Partitions: []int32{0, 1}}}, want: "a:1 b:0,1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatAssignment(tc.in); got != tc.want {
				t.Fatalf("formatAssignment = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	if summarize(nil) != nil {
		t.Fatal("summarize(nil) is not nil")
	}
	var ls []time.Duration
	for i := 1000; i >= 1; i-- { // unsorted on purpose
		ls = append(ls, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ls)
	want := latencyMs{P50: 500, P95: 950, P99: 990, P999: 999, Max: 1000}
	if *got != want {
		t.Fatalf("summarize = %+v, want %+v", *got, want)
	}
}
