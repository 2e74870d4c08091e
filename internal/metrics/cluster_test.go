package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/metadata"
)

// clusterImage has five brokers: 1 and 2 active, 3 fenced, 4 shutting down, 5 fenced after its
// controlled shutdown; applied at offset 42.
func clusterImage(t *testing.T) *metadata.Image {
	t.Helper()
	reg := func(id int32, fenced bool) metadata.Record {
		return &metadata.RegisterBrokerRecord{BrokerID: id, Epoch: int64(100 + id), Fenced: fenced,
			Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "127.0.0.1", Port: 9092 + id}}}
	}
	change := func(id int32, fenced, shutdown int8) metadata.Record {
		return &metadata.BrokerRegistrationChangeRecord{BrokerID: id, BrokerEpoch: int64(100 + id), Fenced: fenced, InControlledShutdown: shutdown}
	}
	img, err := metadata.Empty().Apply(42, []metadata.Record{
		reg(1, false), reg(2, true), change(2, metadata.BrokerUnfence, 0),
		reg(3, false), change(3, metadata.BrokerFence, 0),
		reg(4, false), change(4, metadata.BrokerFenceNoChange, 1),
		reg(5, false), change(5, metadata.BrokerFenceNoChange, 1), change(5, metadata.BrokerFence, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestClusterCollector(t *testing.T) {
	img := clusterImage(t)
	cases := []struct {
		name   string
		src    ClusterSource
		want   map[string]float64
		absent []string
	}{
		{
			name: "active controller",
			src: ClusterSource{Image: func() *metadata.Image { return img }, IsController: func() bool { return true },
				QuorumLeader: func() (int32, bool) { return 2, true }, QuorumEpoch: func() uint64 { return 7 }},
			want: map[string]float64{
				`sluice_cluster_brokers{state="active"}`:              2,
				`sluice_cluster_brokers{state="fenced"}`:              2,
				`sluice_cluster_brokers{state="controlled_shutdown"}`: 1,
				`sluice_controller_active`:                            1,
				`sluice_quorum_leader_id`:                             2,
				`sluice_quorum_epoch`:                                 7,
				`sluice_metadata_offset`:                              42,
			},
		},
		{
			name: "no leader known, no epoch source, nothing applied",
			src: ClusterSource{Image: metadata.Empty, IsController: func() bool { return false },
				QuorumLeader: func() (int32, bool) { return 0, false }},
			want: map[string]float64{
				`sluice_cluster_brokers{state="active"}`:              0,
				`sluice_cluster_brokers{state="fenced"}`:              0,
				`sluice_cluster_brokers{state="controlled_shutdown"}`: 0,
				`sluice_controller_active`:                            0,
				`sluice_quorum_leader_id`:                             -1,
				`sluice_metadata_offset`:                              -1,
			},
			absent: []string{`sluice_quorum_epoch`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(NewClusterCollector(tc.src))
			got := gather(t, reg)
			for series, value := range tc.want {
				if v, ok := got[series]; !ok || v != value {
					t.Errorf("%s = %v (present %v), want %v", series, v, ok, value)
				}
			}
			for _, series := range tc.absent {
				if _, ok := got[series]; ok {
					t.Errorf("%s reported, want absent", series)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("got %d series, want %d: %v", len(got), len(tc.want), got)
			}
		})
	}
}

func TestBrokerState(t *testing.T) {
	img := clusterImage(t)
	want := map[int32]string{1: BrokerStateActive, 2: BrokerStateActive, 3: BrokerStateFenced,
		4: BrokerStateControlledShutdown, 5: BrokerStateFenced}
	for id, state := range want {
		b, ok := img.Broker(id)
		if !ok {
			t.Fatalf("broker %d missing", id)
		}
		if got := BrokerState(b); got != state {
			t.Errorf("broker %d: state %s, want %s", id, got, state)
		}
	}
}
