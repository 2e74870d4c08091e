package partition

import (
	"testing"

	"github.com/sluicehq/sluice/internal/config"
)

// TestConfigsFromResolvedCompaction: the compaction settings of a topic reach the log's
// config, the internal topics' compact policy included.
func TestConfigsFromResolvedCompaction(t *testing.T) {
	for _, tc := range []struct {
		name      string
		topic     map[string]string
		compacts  bool
		deletes   bool
		ratio     float64
		retention int64
	}{
		{name: "default", topic: nil, deletes: true, ratio: 0.5, retention: 86400000},
		{name: "compact", topic: map[string]string{"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "1000"},
			compacts: true, ratio: 0.01, retention: 1000},
		{name: "compact,delete", topic: map[string]string{"cleanup.policy": "compact,delete"}, compacts: true, deletes: true, ratio: 0.5, retention: 86400000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logCfg, _ := ConfigsFromResolved(config.ResolveTopic(config.Layers{Topic: tc.topic}))
			if err := logCfg.Validate(); err != nil {
				t.Fatal(err)
			}
			p := logCfg.CleanupPolicy
			if p.Compacts() != tc.compacts || p.Deletes() != tc.deletes {
				t.Fatalf("policy %v: compacts %v deletes %v", p, p.Compacts(), p.Deletes())
			}
			if logCfg.MinCleanableDirtyRatio != tc.ratio || logCfg.DeleteRetentionMs != tc.retention {
				t.Fatalf("ratio %v, delete.retention.ms %d", logCfg.MinCleanableDirtyRatio, logCfg.DeleteRetentionMs)
			}
			if logCfg.MaxCompactionLagMs <= 0 || logCfg.MinCompactionLagMs != 0 {
				t.Fatalf("compaction lags %d..%d", logCfg.MinCompactionLagMs, logCfg.MaxCompactionLagMs)
			}
		})
	}
}
