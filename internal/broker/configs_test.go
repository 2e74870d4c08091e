package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/storage"
)

// TestDynamicCleanerAndProducerConfigs: the log.cleaner.* configs Kafka makes dynamic, and
// producer.id.expiration.ms, reach the running storage and partition managers when set with
// IncrementalAlterConfigs (cluster-wide default and per broker), and again after a restart
// (the first Image carries them).
func TestDynamicCleanerAndProducerConfigs(t *testing.T) {
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", ControllerAddr: freeAddr(t),
		Overrides: map[string]string{"log.cleaner.threads": "2"}}
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
	alter := func(broker int32, kv ...string) {
		t.Helper()
		var ac []kadm.AlterConfig
		for i := 0; i < len(kv); i += 2 {
			ac = append(ac, kadm.AlterConfig{Name: kv[i], Value: kadm.StringPtr(kv[i+1])})
		}
		var brokers []int32 // none: the cluster-wide default
		if broker >= 0 {
			brokers = append(brokers, broker)
		}
		res, err := adm.AlterBrokerConfigs(ctx, ac, brokers...)
		if err == nil {
			for _, r := range res {
				if r.Err != nil {
					err = r.Err
				}
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	alter(-1, "log.cleaner.backoff.ms", "1234", "log.cleaner.io.buffer.size", "65536",
		"log.cleaner.dedupe.buffer.size", "1048576", "log.cleaner.io.max.bytes.per.second", "1000000",
		string(config.ProducerIDExpirationMs), "60000")
	alter(1, "log.cleaner.threads", "1")
	want := func(stage string) {
		t.Helper()
		wantCleaner := func(c storage.CleanerConfig) bool {
			return c.Threads == 1 && c.Backoff == 1234*time.Millisecond && c.IOBufferSize == 65536 &&
				c.DedupeBufferSize == 1<<20 && c.IOMaxBytesPerSecond == 1e6
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			c := b.storage.CleanerConfig()
			if wantCleaner(c) && b.partitions.ProducerIDExpiration() == 60000 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: cleaner config %+v, producer.id.expiration.ms %d", stage, c, b.partitions.ProducerIDExpiration())
			}
		}
	}
	want("after IncrementalAlterConfigs")
	cl.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err = Start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want("after a restart")
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
