package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestCoordinatorsKeepTheTopicsPartitionCount: a broker restarted with another
// offsets.topic.num.partitions keeps hashing groups over the existing __consumer_offsets
// partitions, as Kafka does: the offsets committed before the restart are found, and new
// commits work.
func TestCoordinatorsKeepTheTopicsPartitionCount(t *testing.T) {
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddr(t),
		Overrides: map[string]string{"offsets.topic.num.partitions": "3"}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	commit := func(b *Broker, groups []string, offset int64) {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		adm := kadm.NewClient(cl)
		for _, g := range groups {
			offs := kadm.Offsets{}
			offs.AddOffset("t", 0, offset, -1)
			if resp, err := adm.CommitOffsets(ctx, g, offs); err != nil || resp.Error() != nil {
				t.Fatalf("commit %s: %v %v", g, err, resp.Error())
			}
		}
	}
	fetch := func(b *Broker, g string) int64 {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		resp, err := kadm.NewClient(cl).FetchOffsets(ctx, g)
		if err != nil || resp.Error() != nil {
			t.Fatalf("fetch %s: %v %v", g, err, resp.Error())
		}
		o, _ := resp.Lookup("t", 0)
		return o.At
	}
	groups := []string{"a", "b", "c", "d", "e", "f"}
	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	commit(b, groups, 42)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.Overrides = map[string]string{"offsets.topic.num.partitions": "7"}
	b, err = Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, g := range groups {
		if got := fetch(b, g); got != 42 {
			t.Errorf("group %s: offset %d after the restart, want 42", g, got)
		}
	}
	commit(b, groups, 43)
	for _, g := range groups {
		if got := fetch(b, g); got != 43 {
			t.Errorf("group %s: offset %d after a new commit, want 43", g, got)
		}
	}
}

// TestSingleNodeInternalTopicDefaults: a node started without other voters reports the
// internal topics' replication factors and transaction.state.log.min.isr as 1 from its static
// config (Kafka's single-node server.properties), and a value the user set wins.
func TestSingleNodeInternalTopicDefaults(t *testing.T) {
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddr(t),
		Overrides: map[string]string{"transaction.state.log.min.isr": "2"}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	res, err := kadm.NewClient(cl).DescribeBrokerConfigs(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := res.On("1", nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe broker 1: %v %v", err, rc.Err)
	}
	want := map[string]string{"offsets.topic.replication.factor": "1", "transaction.state.log.replication.factor": "1",
		"transaction.state.log.min.isr": "2"}
	for _, c := range rc.Configs {
		if v, ok := want[c.Key]; ok {
			if c.MaybeValue() != v || c.Source != kmsg.ConfigSourceStaticBrokerConfig {
				t.Errorf("%s = %q (source %v), want %q from the static broker config", c.Key, c.MaybeValue(), c.Source, v)
			}
			delete(want, c.Key)
		}
	}
	if len(want) > 0 {
		t.Errorf("not described: %v", want)
	}
}
