package partition

import (
	"errors"
	"slices"
	"testing"
)

// TestLegacyOffsetsBefore: ListOffsets v0's offsets as Kafka 3.9 answered them. With a
// follower that has not fetched, the high watermark stays at 0 while the log end offset is 3:
// a consumer sees the high watermark in place of the log end offset, a debugging or broker
// request the log end offset; a follower answers only debugging requests.
func TestLegacyOffsetsBefore(t *testing.T) {
	p := newTestPartition(t, DefaultConfig(), State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	if _, err := p.Append(records(t, 3), 1); err != nil {
		t.Fatal(err)
	}
	if hw, leo := p.HighWatermark(), p.LogEndOffset(); hw != 0 || leo != 3 {
		t.Fatalf("high watermark %d, log end %d; want 0 and 3", hw, leo)
	}
	for _, c := range []struct {
		name      string
		timestamp int64
		max       int32
		replica   int32
		want      []int64
	}{
		{"consumer, latest", -1, 10, ConsumerReplica, []int64{0, 0}},
		{"debugging, latest", -1, 10, DebuggingReplica, []int64{3, 0}},
		{"broker, latest", -1, 10, 2, []int64{3, 0}},
		{"consumer, earliest", -2, 10, ConsumerReplica, []int64{0}},
		{"consumer, latest, one", -1, 1, ConsumerReplica, []int64{0}},
		{"debugging, latest, one", -1, 1, DebuggingReplica, []int64{3}},
		{"zero offsets", -1, 0, DebuggingReplica, []int64{}},
	} {
		got, err := p.LegacyOffsetsBefore(c.timestamp, c.max, c.replica)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, %v; want %v", c.name, got, err, c.want)
		}
	}

	if err := p.SetState(State{Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.LegacyOffsetsBefore(-1, 10, ConsumerReplica); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("a follower answered a consumer: %v", err)
	}
	if got, err := p.LegacyOffsetsBefore(-1, 10, DebuggingReplica); err != nil || len(got) == 0 {
		t.Fatalf("a follower refused a debugging request: %v %v", got, err)
	}
}
