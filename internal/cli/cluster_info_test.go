package cli

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

// TestClusterInfoStates: IsFenced and Sluice's controlled-shutdown tag become the states.
func TestClusterInfoStates(t *testing.T) {
	resp := kmsg.NewPtrDescribeClusterResponse()
	for id := range int32(3) {
		b := kmsg.NewDescribeClusterResponseBroker()
		b.NodeID, b.Host, b.Port = 3-id, "h", 9092
		switch b.NodeID {
		case 2:
			b.IsFenced = true
		case 3:
			b.UnknownTags.Set(api.InControlledShutdownTag, []byte{1})
		}
		resp.Brokers = append(resp.Brokers, b)
	}
	var got []string
	for _, b := range clusterInfoOf(resp).Brokers {
		got = append(got, b.State)
	}
	if strings.Join(got, ",") != "active,fenced,shutting-down" {
		t.Fatalf("states %v", got)
	}
}

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
