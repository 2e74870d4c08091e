package console

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/groupseek"
)

func TestParseResetForm(t *testing.T) {
	cases := []struct {
		name    string
		in      url.Values
		want    groupseek.Target
		part    int32
		wantErr string
	}{
		{name: "default start", in: url.Values{}, want: groupseek.Target{Kind: groupseek.Start}, part: -1},
		{name: "end of one partition", in: url.Values{"topic": {"t"}, "partition": {"2"}, "to": {"end"}}, want: groupseek.Target{Kind: groupseek.End}, part: 2},
		{name: "all partitions", in: url.Values{"topic": {"t"}, "partition": {"all"}, "to": {"end"}}, want: groupseek.Target{Kind: groupseek.End}, part: -1},
		{name: "offset", in: url.Values{"to": {"offset"}, "value": {"42"}}, want: groupseek.Target{Kind: groupseek.Offset, N: 42}, part: -1},
		{name: "millis", in: url.Values{"to": {"time"}, "value": {"1700000000000"}}, want: groupseek.Target{Kind: groupseek.Time, N: 1700000000000}, part: -1},
		{name: "utc time", in: url.Values{"to": {"time"}, "value": {"2023-11-14T22:13"}}, want: groupseek.Target{Kind: groupseek.Time, N: 1700000000000 - 20_000}, part: -1},
		{name: "negative offset", in: url.Values{"to": {"offset"}, "value": {"-1"}}, wantErr: "0 or more"},
		{name: "bad time", in: url.Values{"to": {"time"}, "value": {"noon"}}, wantErr: "Unix milliseconds"},
		{name: "bad kind", in: url.Values{"to": {"yesterday"}}, wantErr: "choose start, end"},
		{name: "partition without topic", in: url.Values{"partition": {"1"}}, wantErr: "choose the topic"},
		{name: "bad partition", in: url.Values{"topic": {"t"}, "partition": {"x"}}, wantErr: "partition number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, target, err := parseResetForm(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if target != tc.want || f.Partition != tc.part {
				t.Fatalf("got %+v partition %d, want %+v partition %d", target, f.Partition, tc.want, tc.part)
			}
		})
	}
}

func FuzzParseResetForm(f *testing.F) {
	f.Add("t", "1", "offset", "42")
	f.Add("", "all", "time", "2026-12-07T09:30")
	f.Fuzz(func(t *testing.T, topic, partition, to, value string) {
		form, target, err := parseResetForm(url.Values{"topic": {topic}, "partition": {partition}, "to": {to}, "value": {value}})
		if err != nil {
			return
		}
		if target.N < 0 || form.Partition < -1 {
			t.Fatalf("accepted %+v %+v", form, target)
		}
	})
}
