package broker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
)

// dynamicConfigs are the broker configs Kafka lets change at run time that are not topic
// defaults (those reach partitions through reconcile's SetConfig), each with a value to set and
// how to see it applied. TestEveryDynamicBrokerConfigIsCovered keeps the list complete.
var dynamicConfigs = []struct {
	name    config.Name
	value   string
	applied func(b *Broker) bool
}{
	{config.LogCleanerThreads, "1", func(b *Broker) bool { return b.storage.CleanerConfig().Threads == 1 }},
	{config.LogCleanerBackoffMs, "1234", func(b *Broker) bool { return b.storage.CleanerConfig().Backoff == 1234*time.Millisecond }},
	{config.LogCleanerIOBufferSize, "65536", func(b *Broker) bool { return b.storage.CleanerConfig().IOBufferSize == 65536 }},
	{config.LogCleanerDedupeBufferSize, "1048576", func(b *Broker) bool { return b.storage.CleanerConfig().DedupeBufferSize == 1<<20 }},
	{config.LogCleanerIOMaxBytesPerSecond, "1000000", func(b *Broker) bool { return b.storage.CleanerConfig().IOMaxBytesPerSecond == 1e6 }},
	{config.ProducerIDExpirationMs, "60000", func(b *Broker) bool { return b.partitions.ProducerIDExpiration() == 60000 }},
	{config.LeaderReplicationThrottledRate, "1048576", func(b *Broker) bool { return b.leaderThrottle.Rate() == 1<<20 }},
	{config.FollowerReplicationThrottledRate, "2097152", func(b *Broker) bool { return b.followerThrottle.Rate() == 2<<20 }},
	{config.SluiceProtocolLegacyVersionsEnable, "false", func(b *Broker) bool { return !b.versions.Legacy() }},
}

// TestEveryDynamicBrokerConfigIsCovered fails for a broker config declared dynamic (per-broker
// or cluster-wide), not a topic config's default and not marked NoEffect, that
// TestDynamicBrokerConfigs does not change at run time: a dynamic config read once at start
// would otherwise go unnoticed.
func TestEveryDynamicBrokerConfigIsCovered(t *testing.T) {
	synonym := map[config.Name]bool{}
	for _, d := range config.TopicDefs() {
		for _, s := range d.Synonyms {
			synonym[s.Name] = true
		}
	}
	covered := map[config.Name]bool{}
	for _, c := range dynamicConfigs {
		covered[c.name] = true
	}
	for _, d := range config.BrokerDefs() {
		if d.Mode != config.ModeReadOnly && !d.NoEffect && !synonym[d.Name] && !covered[d.Name] {
			t.Errorf("%s is a dynamic broker config with no run-time test in dynamicConfigs", d.Name)
		}
	}
}

// TestDynamicBrokerConfigs: every entry of dynamicConfigs reaches the running broker when set
// with IncrementalAlterConfigs (log.cleaner.threads on this broker, the others as the
// cluster-wide default), and again after a restart (the first Image carries them).
func TestDynamicBrokerConfigs(t *testing.T) {
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddr(t),
		Overrides: map[string]string{string(config.LogCleanerThreads): "2"}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.storage.CleanerConfig(); got.Threads != 2 || got.IOBufferSize != 512<<10 {
		t.Fatalf("cleaner config at start %+v, want 2 threads and the 512 KiB default I/O buffer", got)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr()))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	for _, c := range dynamicConfigs {
		var brokers []int32 // none: the cluster-wide default
		if c.name == config.LogCleanerThreads || c.name == config.LeaderReplicationThrottledRate || c.name == config.FollowerReplicationThrottledRate {
			brokers = []int32{1}
		}
		res, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: string(c.name), Value: kadm.StringPtr(c.value)}}, brokers...)
		for _, r := range res {
			err = errors.Join(err, r.Err)
		}
		if err != nil {
			t.Fatalf("set %s: %v", c.name, err)
		}
	}
	waitApplied := func(stage string) {
		t.Helper()
		for _, c := range dynamicConfigs {
			for deadline := time.Now().Add(10 * time.Second); !c.applied(b); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: %s=%s not applied (cleaner %+v)", stage, c.name, c.value, b.storage.CleanerConfig())
				}
			}
		}
	}
	waitApplied("after IncrementalAlterConfigs")
	cl.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err = Start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	waitApplied("after a restart")
}

// TestFlushCheckInterval: log.flush.scheduler.interval.ms, when set, is the interval of the
// flush.ms check; unset (Kafka's Long.MaxValue default) storage keeps its 1 s check.
func TestFlushCheckInterval(t *testing.T) {
	for _, c := range []struct {
		static map[string]string
		want   time.Duration
	}{
		{nil, 0},
		{map[string]string{string(config.LogFlushSchedulerIntervalMs): "250"}, 250 * time.Millisecond},
		{map[string]string{string(config.LogFlushSchedulerIntervalMs): "9223372036854775807"}, time.Duration(1<<63-1) / time.Millisecond * time.Millisecond},
	} {
		if got := flushCheckInterval(config.ResolveBroker(config.Layers{Static: c.static})); got != c.want {
			t.Errorf("%v: flush check interval %v, want %v", c.static, got, c.want)
		}
	}
}

// TestConsumerGroupBounds: the group.consumer.min/max session timeout and heartbeat interval
// configs bound the configured timeout and interval; a broker does not start outside them.
func TestConsumerGroupBounds(t *testing.T) {
	for _, c := range []struct {
		static  map[string]string
		wantErr string
	}{
		{nil, ""},
		{map[string]string{"group.consumer.session.timeout.ms": "50000"}, ""},
		{map[string]string{"group.consumer.session.timeout.ms": "30000"}, "less than group.consumer.min.session.timeout.ms"},
		{map[string]string{"group.consumer.max.session.timeout.ms": "50000"}, ""},
		{map[string]string{"group.consumer.max.session.timeout.ms": "40000"}, "greater than group.consumer.max.session.timeout.ms"},
		{map[string]string{"group.consumer.heartbeat.interval.ms": "20000"}, "greater than group.consumer.max.heartbeat.interval.ms"},
		{map[string]string{"group.consumer.min.heartbeat.interval.ms": "16000"}, "group.consumer.min.heartbeat.interval.ms=16000 is greater"},
		{map[string]string{"group.consumer.session.timeout.ms": "45000", "group.consumer.min.session.timeout.ms": "1000",
			"group.consumer.heartbeat.interval.ms": "15000", "group.consumer.max.heartbeat.interval.ms": "60000"}, ""},
		{map[string]string{"group.consumer.session.timeout.ms": "5000", "group.consumer.min.session.timeout.ms": "1000"},
			"must be less than group.consumer.session.timeout.ms"},
	} {
		err := checkConsumerGroupBounds(config.ResolveBroker(config.Layers{Static: c.static}))
		if (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%v: %v, want %q", c.static, err, c.wantErr)
		}
	}
}

// TestDescribeIdentity: DescribeConfigs reports the node id and data directory the broker runs
// with (from Config, i.e. --node-id and --data-dir) as static node.id and log.dirs.
func TestDescribeIdentity(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, Config{NodeID: 3, DataDir: dir, KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddr(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rcs, err := kadm.NewClient(cl).DescribeBrokerConfigs(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{string(config.NodeID): "3", string(config.LogDirs): dir}
	for _, rc := range rcs {
		for _, c := range rc.Configs {
			if w, ok := want[c.Key]; ok {
				if c.MaybeValue() != w || c.Source != kmsg.ConfigSourceStaticBrokerConfig {
					t.Errorf("%s = %q (%v), want %q from the static config", c.Key, c.MaybeValue(), c.Source, w)
				}
				delete(want, c.Key)
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("not described: %v", want)
	}
}

// TestCleanerThreadsFromZero: a broker started with log.cleaner.threads=0 starts cleaner
// goroutines when the config is raised at run time; with log.cleaner.enable=false it never does.
func TestCleanerThreadsFromZero(t *testing.T) {
	for _, enabled := range []string{"true", "false"} {
		r := config.ResolveBroker(config.Layers{Static: map[string]string{"log.cleaner.threads": "0", "log.cleaner.enable": enabled}})
		if cleanerThreads(r) >= 0 || cleanerConfig(r).Threads != 0 {
			t.Fatalf("enable=%s threads=0: start with %d, config %d; want no goroutines", enabled, cleanerThreads(r), cleanerConfig(r).Threads)
		}
		r = config.ResolveBroker(config.Layers{Static: map[string]string{"log.cleaner.enable": enabled},
			DynamicDefault: map[string]string{"log.cleaner.threads": "3"}})
		want := map[string]int{"true": 3, "false": 0}[enabled]
		if got := cleanerConfig(r).Threads; got != want {
			t.Errorf("enable=%s, threads raised to 3: %d threads, want %d", enabled, got, want)
		}
	}
}
