// Command oldsarama drives sarama 1.22 (the client Debian's Burrow 1.2.1 is built on) against a
// broker at one of sarama's Kafka versions, which decide the request versions and message
// format it uses: it produces, then consumes in a consumer group and commits (0.10.2 and
// later), or consumes a partition and commits through an offset manager (earlier versions),
// then produces more and consumes again from the committed offsets. It prints a JSON report;
// the end-to-end test in tests/ checks it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

type report struct {
	Produced int `json:"produced"`
	// Phase1 and Phase2 are the records consumed before and after the second production,
	// key to value; Repeats counts keys consumed twice within or across phases.
	Phase1  map[string]string `json:"phase1"`
	Phase2  map[string]string `json:"phase2"`
	Repeats int               `json:"repeats"`
	// Timestamps counts consumed records with a non-zero timestamp (message format v1+).
	Timestamps int `json:"timestamps"`
}

func main() {
	brokers := flag.String("brokers", "", "bootstrap address")
	topic := flag.String("topic", "", "topic (must exist)")
	group := flag.String("group", "", "consumer group")
	version := flag.String("version", "0.10.2.0", "sarama's Kafka version")
	count := flag.Int("count", 100, "records in the first production")
	more := flag.Int("more", 20, "records in the second production")
	codec := flag.String("compression", "none", "none, gzip, snappy or lz4")
	flag.Parse()
	if err := run(*brokers, *topic, *group, *version, *codec, *count, *more); err != nil {
		fmt.Fprintln(os.Stderr, "oldsarama:", err)
		os.Exit(1)
	}
}

func config(version, codec string) (*sarama.Config, error) {
	v, err := sarama.ParseKafkaVersion(version)
	if err != nil {
		return nil, err
	}
	cfg := sarama.NewConfig()
	cfg.Version = v
	cfg.ClientID = "oldsarama"
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Partitioner = sarama.NewHashPartitioner
	switch codec {
	case "none":
	case "gzip":
		cfg.Producer.Compression = sarama.CompressionGZIP
	case "snappy":
		cfg.Producer.Compression = sarama.CompressionSnappy
	case "lz4":
		cfg.Producer.Compression = sarama.CompressionLZ4
	default:
		return nil, fmt.Errorf("unknown compression %q", codec)
	}
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.CommitInterval = 200 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	cfg.Metadata.Retry.Max = 10
	cfg.Metadata.Retry.Backoff = 200 * time.Millisecond
	return cfg, nil
}

func run(brokers, topic, group, version, codec string, count, more int) error {
	cfg, err := config(version, codec)
	if err != nil {
		return err
	}
	r := &report{Phase1: map[string]string{}, Phase2: map[string]string{}}
	if err := produce(brokers, cfg, topic, 0, count); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	r.Produced = count
	consume := consumeGroup
	if !cfg.Version.IsAtLeast(sarama.V0_10_2_0) {
		consume = consumePartitions
	}
	if err := consume(brokers, cfg, topic, group, count, r, r.Phase1); err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	if err := produce(brokers, cfg, topic, count, more); err != nil {
		return fmt.Errorf("produce more: %w", err)
	}
	r.Produced += more
	if err := consume(brokers, cfg, topic, group, more, r, r.Phase2); err != nil {
		return fmt.Errorf("consume again: %w", err)
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

func produce(brokers string, cfg *sarama.Config, topic string, from, n int) error {
	p, err := sarama.NewSyncProducer([]string{brokers}, cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, 0, n)
	for i := from; i < from+n; i++ {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)),
			Value: sarama.StringEncoder(fmt.Sprintf("v%d", i)), Timestamp: time.Now()})
	}
	return p.SendMessages(msgs)
}

// record notes a consumed message in phase; it reports whether want were consumed.
func (r *report) record(mu *sync.Mutex, phase map[string]string, msg *sarama.ConsumerMessage, want int) bool {
	mu.Lock()
	defer mu.Unlock()
	k := string(msg.Key)
	_, again1 := r.Phase1[k]
	_, again2 := r.Phase2[k]
	if again1 || again2 {
		r.Repeats++
	}
	phase[k] = string(msg.Value)
	if !msg.Timestamp.IsZero() && msg.Timestamp.Unix() > 0 {
		r.Timestamps++
	}
	return len(phase) >= want
}

type handler struct {
	r     *report
	mu    *sync.Mutex
	phase map[string]string
	want  int
	done  func()
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for msg := range c.Messages() {
		s.MarkMessage(msg, "")
		if h.r.record(h.mu, h.phase, msg, h.want) {
			h.done()
		}
	}
	return nil
}

// consumeGroup consumes want records in group (JoinGroup, SyncGroup, Heartbeat, OffsetFetch,
// OffsetCommit at the version's request versions) and leaves, committing on the way out.
func consumeGroup(brokers string, cfg *sarama.Config, topic, group string, want int, r *report, phase map[string]string) error {
	cg, err := sarama.NewConsumerGroup([]string{brokers}, group, cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var once sync.Once
	h := &handler{r: r, mu: &sync.Mutex{}, phase: phase, want: want, done: func() { once.Do(cancel) }}
	go func() {
		for err := range cg.Errors() {
			fmt.Fprintln(os.Stderr, "consumer group error:", err)
		}
	}()
	for ctx.Err() == nil {
		if err := cg.Consume(ctx, []string{topic}, h); err != nil {
			cg.Close()
			return err
		}
	}
	// Let the offset manager's ticker commit what was marked, then close (which commits too).
	time.Sleep(2 * cfg.Consumer.Offsets.CommitInterval)
	if err := cg.Close(); err != nil {
		return err
	}
	if len(phase) < want {
		return fmt.Errorf("consumed %d of %d records in time", len(phase), want)
	}
	return nil
}

// consumePartitions consumes want records from every partition of topic, starting at group's
// committed offsets (OffsetFetch through an offset manager), and commits what it consumed.
func consumePartitions(brokers string, cfg *sarama.Config, topic, group string, want int, r *report, phase map[string]string) error {
	client, err := sarama.NewClient([]string{brokers}, cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	om, err := sarama.NewOffsetManagerFromClient(group, client)
	if err != nil {
		return err
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return err
	}
	partitions, err := client.Partitions(topic)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var pcs []sarama.PartitionConsumer
	var poms []sarama.PartitionOffsetManager
	for _, p := range partitions {
		pom, err := om.ManagePartition(topic, p)
		if err != nil {
			return err
		}
		poms = append(poms, pom)
		next, _ := pom.NextOffset()
		pc, err := consumer.ConsumePartition(topic, p, next)
		if err != nil {
			return err
		}
		pcs = append(pcs, pc)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case msg := <-pc.Messages():
					pom.MarkOffset(msg.Offset+1, "")
					if r.record(&mu, phase, msg, want) {
						cancel()
					}
				case err := <-pc.Errors():
					fmt.Fprintln(os.Stderr, "partition consumer error:", err)
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, pc := range pcs {
		pc.Close()
	}
	time.Sleep(2 * cfg.Consumer.Offsets.CommitInterval)
	for _, pom := range poms {
		pom.Close()
	}
	if err := om.Close(); err != nil {
		return err
	}
	if len(phase) < want {
		return fmt.Errorf("consumed %d of %d records in time", len(phase), want)
	}
	return nil
}
