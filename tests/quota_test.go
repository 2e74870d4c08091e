package tests

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	kgosasl "github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// throttleCount counts the throttles a client was told of (kgo's OnBrokerThrottle hook).
type throttleCount struct {
	n     atomic.Int64
	total atomic.Int64 // nanoseconds
}

func (c *throttleCount) OnBrokerThrottle(_ kgo.BrokerMetadata, d time.Duration, _ bool) {
	c.n.Add(1)
	c.total.Add(int64(d))
}

// byteMeter counts bytes and reads the count at chosen times.
type byteMeter struct{ bytes atomic.Int64 }

// rateBetween is the meter's rate over [from, to] after start, read at those times.
func rateBetween(ctx context.Context, m *byteMeter, start time.Time, from, to time.Duration) float64 {
	time.Sleep(time.Until(start.Add(from)))
	first := m.bytes.Load()
	time.Sleep(time.Until(start.Add(to)))
	return float64(m.bytes.Load()-first) / (to - from).Seconds()
}

// produceLoop produces 16 KiB records to topic until ctx ends, counting acknowledged bytes;
// with pace > 0 it sends at most pace bytes per second.
func produceLoop(ctx context.Context, cl *kgo.Client, topic string, pace float64, m *byteMeter) {
	value := randomValue()
	start := time.Now()
	var sent float64
	for ctx.Err() == nil {
		if pace > 0 {
			if ahead := time.Duration(sent/pace*float64(time.Second)) - time.Since(start); ahead > 0 {
				select {
				case <-time.After(ahead):
				case <-ctx.Done():
					return
				}
			}
		}
		sent += float64(len(value))
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: value}, func(r *kgo.Record, err error) {
			if err == nil {
				m.bytes.Add(int64(len(r.Value)))
			}
		})
	}
}

// randomValue is a 16 KiB record value. The producers send it uncompressed
// (kgo.NoCompression): quotas count bytes on the wire, and a batch of one value repeated
// compresses to almost nothing.
func randomValue() []byte {
	v := make([]byte, 16<<10)
	rand.Read(v)
	return v
}

// consumeLoop consumes until ctx ends, counting value bytes.
func consumeLoop(ctx context.Context, cl *kgo.Client, m *byteMeter) {
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) { m.bytes.Add(int64(len(r.Value))) })
	}
}

// TestQuotaByteRates is the quota check with real clients and a real broker: a
// producer whose client id has a 1 MB/s producer_byte_rate and a consumer with a 1 MB/s
// consumer_byte_rate, both set with `sluice quota alter` while the broker runs, measure about
// 1 MB/s over 20 s and are told of throttling, while an unlimited producer and consumer beside
// them keep their own, much higher rates and are never throttled.
//
// Kafka's rate measures a fresh quota sensor over quota.window.num-1 windows, so a new client
// may send up to 10 s of its quota at once and is then held back until its average is the
// quota: measured from its first request, over 20 s, it is about the quota (the unit tests of
// internal/security/quota check the arithmetic). The clients send at most 64 KiB per request,
// so that each throttle is short and the 20 s hold a whole number of its bursts.
func TestQuotaByteRates(t *testing.T) {
	if testing.Short() {
		t.Skip("timed quota test (about 25 s) skipped under -short")
	}
	const quota = 1 << 20
	n := startNode(t)
	n.createTopic("quota-in", 1, nil)
	n.createTopic("quota-out", 1, nil)
	// Records for the consumers: more than 10 s of burst and 20 s at the quota.
	filler := n.client(kgo.ClientID("quota-filler"), kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := randomValue()
	for i := 0; i < 48*64; i++ {
		filler.Produce(context.Background(), &kgo.Record{Topic: "quota-out", Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("prefill: %v", err)
			}
		})
	}
	if err := filler.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	runCLIStep(t, n, cliStep{name: "producer_quota", args: []string{"quota", "alter", "--client", "quota-producer",
		"--add-config", fmt.Sprintf("producer_byte_rate=%d", quota)}, stdout: []string{"altered quotas of client-id=quota-producer"}})
	runCLIStep(t, n, cliStep{name: "consumer_quota", args: []string{"quota", "alter", "--entity-type", "clients", "--entity-name", "quota-consumer",
		"--add-config", fmt.Sprintf("consumer_byte_rate=%d", quota)}, stdout: []string{"altered quotas of client-id=quota-consumer"}})

	var limitedThrottle, fastThrottle, limitedConsumerThrottle, fastConsumerThrottle throttleCount
	limited := n.client(kgo.ClientID("quota-producer"), kgo.WithHooks(&limitedThrottle), kgo.MaxBufferedRecords(8), kgo.ProducerLinger(0), kgo.ProducerBatchMaxBytes(64<<10),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	fast := n.client(kgo.ClientID("quota-fast-producer"), kgo.WithHooks(&fastThrottle), kgo.MaxBufferedRecords(8), kgo.ProducerLinger(0), kgo.ProducerBatchMaxBytes(64<<10),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	limitedConsumer := n.client(kgo.ClientID("quota-consumer"), kgo.WithHooks(&limitedConsumerThrottle), kgo.ConsumeTopics("quota-out"),
		kgo.FetchMaxBytes(64<<10), kgo.FetchMaxPartitionBytes(64<<10),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fastConsumer := n.client(kgo.ClientID("quota-fast-consumer"), kgo.WithHooks(&fastConsumerThrottle), kgo.ConsumeTopics("quota-out"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))

	ctx, cancel := context.WithTimeout(context.Background(), 21*time.Second)
	defer cancel()
	var limitedIn, fastIn, limitedOut, fastOut byteMeter
	const fastPace = 8 * quota // the unlimited producer's own pace, to keep the disk traffic bounded
	start := time.Now()
	var wg sync.WaitGroup
	for _, f := range []func(){
		func() { produceLoop(ctx, limited, "quota-in", 0, &limitedIn) },
		func() { produceLoop(ctx, fast, "quota-in", fastPace, &fastIn) },
		func() { consumeLoop(ctx, limitedConsumer, &limitedOut) },
		func() { consumeLoop(ctx, fastConsumer, &fastOut) },
	} {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	rates := make([]float64, 3)
	var mwg sync.WaitGroup
	for i, m := range []*byteMeter{&limitedIn, &fastIn, &limitedOut} {
		mwg.Add(1)
		go func() { defer mwg.Done(); rates[i] = rateBetween(ctx, m, start, 0, 20*time.Second) }()
	}
	mwg.Wait()
	fastConsumed := fastOut.bytes.Load()
	cancel()
	wg.Wait()

	t.Logf("limited producer %.0f B/s (%d throttles, %v), unlimited producer %.0f B/s (%d throttles)",
		rates[0], limitedThrottle.n.Load(), time.Duration(limitedThrottle.total.Load()), rates[1], fastThrottle.n.Load())
	t.Logf("limited consumer %.0f B/s (%d throttles, %v), unlimited consumer read %d B (%d throttles)",
		rates[2], limitedConsumerThrottle.n.Load(), time.Duration(limitedConsumerThrottle.total.Load()), fastConsumed, fastConsumerThrottle.n.Load())
	for _, c := range []struct {
		name      string
		rate      float64
		throttles int64
	}{{"producer", rates[0], limitedThrottle.n.Load()}, {"consumer", rates[2], limitedConsumerThrottle.n.Load()}} {
		if c.rate < 0.75*quota || c.rate > 1.25*quota {
			t.Errorf("limited %s: %.0f B/s, want %d ± 25%%", c.name, c.rate, quota)
		}
		if c.throttles == 0 {
			t.Errorf("limited %s was never told of throttling", c.name)
		}
	}
	if rates[1] < 0.75*fastPace || fastThrottle.n.Load() != 0 {
		t.Errorf("unlimited producer: %.0f B/s of its %d, %d throttles", rates[1], fastPace, fastThrottle.n.Load())
	}
	if fastConsumed != 48*64*int64(len(value)) || fastConsumerThrottle.n.Load() != 0 {
		t.Errorf("unlimited consumer read %d of %d B, %d throttles", fastConsumed, 48*64*len(value), fastConsumerThrottle.n.Load())
	}
	m := scrapeMetrics(t, n)
	for _, series := range []string{
		`sluice_quota_throttle_time_seconds_count{client_id="quota-producer",type="produce",user=""}`,
		`sluice_quota_throttle_time_seconds_count{client_id="quota-consumer",type="fetch",user=""}`,
	} {
		if m[series] == 0 {
			t.Errorf("%s: %v", series, m[series])
		}
	}
	if got := m[`sluice_quota_limit{client_id="quota-producer",type="produce",user=""}`]; got != quota {
		t.Errorf("quota limit metric %v", got)
	}
	for series := range m {
		if strings.Contains(series, "quota-fast") {
			t.Errorf("a client without a quota has its own series: %s", series)
		}
	}
}

// TestCLIQuota drives `sluice quota` against a real broker: kafka-configs style entity flags,
// golden describe output, and Kafka's validation errors.
func TestCLIQuota(t *testing.T) {
	n := startNode(t)
	steps := []cliStep{
		{name: "quota_describe_empty", args: []string{"quota", "describe"}, stdout: []string{"No client quotas."}},
		{name: "quota_alter_user", args: []string{"quota", "alter", "--user", "alice", "--add-config", "producer_byte_rate=1048576,consumer_byte_rate=2097152"},
			stdout: []string{"altered quotas of user=alice"}},
		{name: "quota_alter_user_client", args: []string{"quota", "alter", "--entity-type", "users", "--entity-name", "alice",
			"--entity-type", "clients", "--entity-default", "--add-config", "request_percentage=12.5"},
			stdout: []string{"altered quotas of user=alice, client-id=<default>"}},
		{name: "quota_alter_client_default", args: []string{"quota", "alter", "--client-defaults", "--add-config", "controller_mutation_rate=10"},
			stdout: []string{"altered quotas of client-id=<default>"}},
		{name: "quota_alter_ip", args: []string{"quota", "alter", "--ip", "127.0.0.1", "--add-config", "connection_creation_rate=20"},
			stdout: []string{"altered quotas of ip=127.0.0.1"}},
		{name: "quota_describe", args: []string{"quota", "describe"}, golden: true},
		{name: "quota_describe_user", args: []string{"quota", "describe", "--user", "alice"}, golden: true},
		{name: "quota_describe_users", args: []string{"quota", "describe", "--entity-type", "users", "--entity-type", "clients"}, golden: true},
		{name: "quota_describe_json", args: []string{"quota", "describe", "--client-defaults", "--format", "json"}, golden: true},
		{name: "quota_delete", args: []string{"quota", "alter", "--user", "alice", "--delete-config", "consumer_byte_rate"},
			stdout: []string{"altered quotas of user=alice"}},
		{name: "quota_describe_after_delete", args: []string{"quota", "describe", "--user", "alice"}, stdout: []string{"user=alice  producer_byte_rate=1048576"}},
		{name: "quota_validate_only", args: []string{"quota", "alter", "--user", "bob", "--add-config", "producer_byte_rate=5", "--validate-only"},
			stdout: []string{"validated (not applied) quotas of user=bob"}},
		{name: "quota_describe_bob", args: []string{"quota", "describe", "--user", "bob"}, stdout: []string{"No client quotas."}},
		{name: "quota_bad_key", args: []string{"quota", "alter", "--user", "bob", "--add-config", "producer.byte.rate=5"}, wantFail: true,
			stderr: []string{"alter quotas of user=bob: INVALID_REQUEST", "invalid configuration key producer.byte.rate"}},
		{name: "quota_fraction", args: []string{"quota", "alter", "--client", "x", "--add-config", "consumer_byte_rate=1.5"}, wantFail: true,
			stderr: []string{"INVALID_REQUEST", "consumer_byte_rate cannot be a fractional value"}},
		{name: "quota_ip_with_user", args: []string{"quota", "alter", "--user", "bob", "--ip", "::1", "--add-config", "connection_creation_rate=5"}, wantFail: true,
			stderr: []string{"INVALID_REQUEST", "ip entity cannot be combined"}},
		{name: "quota_not_a_number", args: []string{"quota", "alter", "--user", "bob", "--add-config", "producer_byte_rate=fast"}, wantFail: true,
			stderr: []string{"--add-config producer_byte_rate=fast: the value is not a number"}},
		{name: "quota_no_entity", args: []string{"quota", "alter", "--add-config", "producer_byte_rate=5"}, wantFail: true,
			stderr: []string{"name the entity"}},
		{name: "quota_unpaired", args: []string{"quota", "alter", "--entity-type", "users", "--add-config", "producer_byte_rate=5"}, wantFail: true,
			stderr: []string{"1 --entity-type for 0 --entity-name/--entity-default"}},
	}
	for _, step := range steps {
		if !t.Run(step.name, func(t *testing.T) { runCLIStep(t, n, step) }) {
			t.FailNow()
		}
	}
}

// TestQuotaByUser: a quota set for a user applies to the principal its SASL authentication
// gave (KIP-55 user quotas): alice (PLAIN) is throttled for a produce her quota does not cover,
// carol (SCRAM) producing the same beside her is not, and the metric names alice's entity.
func TestQuotaByUser(t *testing.T) {
	b := startSASLBroker(t)
	runCLIStep(t, b.n, cliStep{name: "alice_quota", args: []string{"quota", "alter", "--user", "alice", "--add-config", "producer_byte_rate=10000"},
		stdout: []string{"altered quotas of user=alice"}})
	value := randomValue()
	value = append(value, randomValue()...) // 32 KiB
	produce := func(mech kgosasl.Mechanism) int64 {
		var throttles throttleCount
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.saslAddr), kgo.SASL(mech), kgo.DefaultProduceTopic(saslTopic),
			kgo.WithHooks(&throttles), kgo.ProducerBatchCompression(kgo.NoCompression()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for range 4 { // 128 KiB: 13 KB/s over the first 10 s, above alice's 10,000 B/s
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if throttles.n.Load() > 0 {
				break
			}
		}
		return throttles.n.Load()
	}
	if n := produce(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()); n == 0 {
		t.Error("alice was not throttled")
	}
	if n := produce(scram.Auth{User: "carol", Pass: "carol-secret"}.AsSha256Mechanism()); n != 0 {
		t.Errorf("carol was throttled %d times under alice's quota", n)
	}
	m := scrapeMetrics(t, b.n)
	if got := m[`sluice_quota_throttle_time_seconds_count{client_id="",type="produce",user="alice"}`]; got == 0 {
		t.Errorf("no throttle counted for user=alice")
	}
}

// TestQuotaControllerMutation: controller_mutation_rate set with the CLI applies to CreateTopics
// sent to a real broker (forwarded to its controller): with 0.01 partitions/s (a bucket of 0.11)
// the first topic goes through and takes the bucket below zero, the next is refused with
// THROTTLING_QUOTA_EXCEEDED (v6+, KIP-599). A throttled response mutes its connection, so each
// request has its own client.
func TestQuotaControllerMutation(t *testing.T) {
	n := startNode(t)
	runCLIStep(t, n, cliStep{name: "mutation_quota", args: []string{"quota", "alter", "--client", "quota-admin",
		"--add-config", "controller_mutation_rate=0.01"}, stdout: []string{"altered quotas of client-id=quota-admin"}})
	create := func(topic string) *kmsg.CreateTopicsResponse {
		cl := n.client(kgo.ClientID("quota-admin"))
		defer cl.Close()
		req := kmsg.NewPtrCreateTopicsRequest()
		req.Version, req.TimeoutMillis = 7, 10000
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 1, 1
		req.Topics = append(req.Topics, rt)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := create("mutation-a"); resp.Topics[0].ErrorCode != 0 || resp.ThrottleMillis <= 0 {
		t.Fatalf("first topic: code %d, throttle %d ms", resp.Topics[0].ErrorCode, resp.ThrottleMillis)
	}
	if resp := create("mutation-b"); resp.Topics[0].ErrorCode != kerr.ThrottlingQuotaExceeded.Code || resp.ThrottleMillis <= 0 {
		t.Fatalf("second topic: code %d, throttle %d ms", resp.Topics[0].ErrorCode, resp.ThrottleMillis)
	}
	// Another client id is not limited.
	cl := n.client(kgo.ClientID("other-admin"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "mutation-c"); err != nil || resp.Err != nil {
		t.Fatalf("other client: %v %v", err, resp.Err)
	}
}

// TestQuotaLibrdkafka: librdkafka (confluent-kafka) reads Sluice's throttle_time_ms: a producer
// whose client id has a producer_byte_rate quota sees its throttle_cb called, one without a
// quota does not.
func TestQuotaLibrdkafka(t *testing.T) {
	requirePython(t, "confluent_kafka")
	n := startNode(t)
	n.createTopic("quota-rd", 1, nil)
	runCLIStep(t, n, cliStep{name: "rd_quota", args: []string{"quota", "alter", "--client", "rd-limited", "--add-config", "producer_byte_rate=20000"},
		stdout: []string{"altered quotas of client-id=rd-limited"}})
	for _, c := range []struct {
		clientID string
		limited  bool
	}{{"rd-limited", true}, {"rd-free", false}} {
		out := runClient(t, 90*time.Second, "", "/usr/bin/python3", "python/confluent_quota.py", n.kafkaAddr, c.clientID, "quota-rd")
		var got struct {
			Throttles []float64 `json:"throttles"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: bad output %q: %v", c.clientID, out, err)
		}
		throttled := false
		for _, ms := range got.Throttles {
			throttled = throttled || ms > 0
		}
		if throttled != c.limited {
			t.Errorf("%s: throttle events %v, want throttled=%v", c.clientID, got.Throttles, c.limited)
		}
	}
}
