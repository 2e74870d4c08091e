package broker

import "testing"

func TestOneVoter(t *testing.T) {
	for _, tc := range []struct {
		peers []string
		want  bool
	}{
		{nil, true},
		{[]string{"1@127.0.0.1:9093"}, true},
		{[]string{"1@127.0.0.1:9093", "2@127.0.0.2:9093"}, false},
		{[]string{"2@127.0.0.2:9093"}, false},
	} {
		if got := oneVoter(Config{NodeID: 1, Peers: tc.peers}); got != tc.want {
			t.Errorf("peers %v: oneVoter = %v, want %v", tc.peers, got, tc.want)
		}
	}
}
