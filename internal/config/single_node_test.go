package config

import "testing"

// TestSingleNodeDefaults: a one-voter node gets replication factor 1 for the internal topics
// and transaction.state.log.min.isr 1, reported as static broker configs, except where the
// user set a value; without it the built-in defaults are Kafka's.
func TestSingleNodeDefaults(t *testing.T) {
	plain := ResolveBroker(Layers{})
	for name, want := range map[Name]int32{OffsetsTopicReplicationFactor: 3, TransactionStateLogReplication: 3, TransactionStateLogMinIsr: 2} {
		if got := plain.Int(name); got != want {
			t.Errorf("default %s = %d, want Kafka's %d", name, got, want)
		}
	}
	static := map[string]string{string(TransactionStateLogMinIsr): "2"}
	SingleNodeDefaults(static)
	r := ResolveBroker(Layers{Static: static})
	for _, tc := range []struct {
		name Name
		want int32
	}{
		{OffsetsTopicReplicationFactor, 1},
		{TransactionStateLogReplication, 1},
		{TransactionStateLogMinIsr, 2}, // the user's
	} {
		e, ok := r.Entry(tc.name)
		if !ok || r.Int(tc.name) != tc.want || e.Source != SourceStaticBroker {
			t.Errorf("%s = %d (source %v), want %d from the static broker config", tc.name, r.Int(tc.name), e.Source, tc.want)
		}
	}
}
