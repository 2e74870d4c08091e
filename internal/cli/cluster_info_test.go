package cli

import (
	"strings"
	"testing"
)

func TestPrintClusterInfo(t *testing.T) {
	info := clusterInfo{ClusterID: "c", Controller: 1, Brokers: []brokerInfo{
		{ID: 1, Host: "127.0.0.1", Port: 9092, State: brokerActive},
		{ID: 2, Host: "127.0.0.2", Port: 9092, Rack: "b", State: brokerFenced}}}
	cases := []struct {
		name      string
		info      clusterInfo
		want      []string
		wantFence bool
	}{
		{"one fenced", info, []string{"Controller: 1", "2 127.0.0.2 9092 b fenced"}, true},
		{"all active", clusterInfo{ClusterID: "c", Controller: -1, Brokers: info.Brokers[:1]},
			[]string{"Controller: none (the metadata quorum has no leader)", "1 127.0.0.1 9092 - active"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if err := printClusterInfo(&out, "text", tc.info); err != nil {
				t.Fatal(err)
			}
			text := strings.Join(strings.Fields(out.String()), " ") // columns to single spaces
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if got := strings.Contains(out.String(), "broker.session.timeout.ms"); got != tc.wantFence {
				t.Errorf("fencing explained: %v, want %v:\n%s", got, tc.wantFence, out.String())
			}
		})
	}
}
