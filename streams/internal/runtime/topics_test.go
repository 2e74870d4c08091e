package runtime

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/streams/processor"
)

func nopSupplier() processor.Processor {
	return processor.Func(func(processor.Context, processor.Record) error { return nil }).Supplier()()
}

// joinProgram: sub-topology 0 reads "left" and "right" (co-partitioned) and repartitions to
// "r"; sub-topology 1 reads "r" with a window store.
func joinProgram(t *testing.T) *processor.Program {
	t.Helper()
	topo := processor.NewTopology()
	topo.AddSource("l", processor.SourceOptions{}, "left")
	topo.AddSource("rr", processor.SourceOptions{}, "right")
	topo.AddProcessor("join", nopSupplier, "l", "rr")
	topo.AddStore(processor.StoreSpec{Name: "kv", Kind: processor.KeyValueStore}, "join")
	topo.AddInternalSink("to-r", "r-repartition", processor.SinkOptions{}, "join")
	topo.AddRepartitionTopic(processor.InternalTopic{Name: "r-repartition"})
	topo.AddInternalSource("from-r", processor.SourceOptions{}, "r-repartition")
	topo.AddProcessor("agg", nopSupplier, "from-r")
	topo.AddStore(processor.StoreSpec{Name: "win", Kind: processor.WindowStore, Retention: 60000,
		ChangelogConfigs: map[string]string{"min.insync.replicas": "1"}}, "agg")
	topo.Copartition("left", "right")
	prog, err := topo.Build()
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func TestPlanInternalTopics(t *testing.T) {
	prog := joinProgram(t)
	plan, err := PlanInternalTopics("app", prog, map[string]int32{"left": 6, "right": 6})
	if err != nil {
		t.Fatal(err)
	}
	if n := plan.Repartition["app-r-repartition"]; n != 6 {
		t.Errorf("repartition topic: %d partitions, want 6 (its writer's sources)", n)
	}
	if plan.Changelog["app-kv-changelog"] != 6 || plan.Changelog["app-win-changelog"] != 6 {
		t.Errorf("changelogs: %v", plan.Changelog)
	}
	if c := plan.ChangelogConfigs["app-kv-changelog"]; c["cleanup.policy"] != "compact" {
		t.Errorf("key-value changelog configs %v", c)
	}
	if c := plan.ChangelogConfigs["app-win-changelog"]; c["cleanup.policy"] != "compact,delete" || c["retention.ms"] != "86460000" || c["min.insync.replicas"] != "1" {
		t.Errorf("window changelog configs %v", c)
	}
	_, err = PlanInternalTopics("app", prog, map[string]int32{"left": 6, "right": 4})
	if err == nil || !strings.Contains(err.Error(), "left (6)") || !strings.Contains(err.Error(), "right (4)") {
		t.Errorf("co-partitioning error %v does not name the topics and counts", err)
	}
	if _, err := PlanInternalTopics("app", prog, map[string]int32{"left": 6}); err == nil || !strings.Contains(err.Error(), `"right" does not exist`) {
		t.Errorf("missing source topic: %v", err)
	}
}

// TestPlanRepartitionTakesCopartitionedCount: a stream rekeyed through a repartition topic and
// joined to a table gets the table topic's partition count, not its writer's source's (Kafka
// Streams' CopartitionedTopicsEnforcer); what is derived from it follows.
func TestPlanRepartitionTakesCopartitionedCount(t *testing.T) {
	topo := processor.NewTopology()
	topo.AddSource("orders", processor.SourceOptions{}, "orders")
	topo.AddProcessor("rekey", nopSupplier, "orders")
	topo.AddInternalSink("to-o", "o-repartition", processor.SinkOptions{}, "rekey")
	topo.AddRepartitionTopic(processor.InternalTopic{Name: "o-repartition"})
	topo.AddInternalSource("from-o", processor.SourceOptions{}, "o-repartition")
	topo.AddSource("customers", processor.SourceOptions{}, "customers")
	topo.AddProcessor("join", nopSupplier, "from-o", "customers")
	topo.AddStore(processor.StoreSpec{Name: "table", Kind: processor.KeyValueStore}, "join")
	topo.AddInternalSink("to-j", "j-repartition", processor.SinkOptions{}, "join")
	topo.AddRepartitionTopic(processor.InternalTopic{Name: "j-repartition"})
	topo.AddInternalSource("from-j", processor.SourceOptions{}, "j-repartition")
	topo.AddProcessor("count", nopSupplier, "from-j")
	topo.AddStore(processor.StoreSpec{Name: "counts", Kind: processor.KeyValueStore}, "count")
	topo.Copartition("o-repartition", "customers")
	prog, err := topo.Build()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := PlanInternalTopics("app", prog, map[string]int32{"orders": 4, "customers": 6})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Repartition["app-o-repartition"] != 6 || plan.Repartition["app-j-repartition"] != 6 ||
		plan.Changelog["app-table-changelog"] != 6 || plan.Changelog["app-counts-changelog"] != 6 {
		t.Errorf("repartition %v changelogs %v, want 6 everywhere after the join", plan.Repartition, plan.Changelog)
	}
}
