package tests

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// produceSync writes count records "key-i"/"value-i" with franz-go and fails on any error.
func produceSync(t *testing.T, cl *kgo.Client, topic string, count int) []*kgo.Record {
	t.Helper()
	recs := make([]*kgo.Record, count)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("key-%d", i)), Value: []byte(fmt.Sprintf("value-%d", i))}
	}
	if err := cl.ProduceSync(ctxTimeout(t, 30*time.Second), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	return recs
}

// consumeN reads count records from the start of topic with franz-go.
func consumeN(t *testing.T, n *node, topic string, count int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl := n.client(append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	ctx := ctxTimeout(t, 30*time.Second)
	var got []*kgo.Record
	for len(got) < count {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records before timeout", len(got), count)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		got = append(got, fetches.Records()...)
	}
	return got
}

// TestFranzGo covers produce (acks=all, several codecs), consume, and the admin APIs kadm
// drives: list offsets by time, delete records, create partitions, configs.
func TestFranzGo(t *testing.T) {
	n := startNode(t)
	adm := n.admin()
	ctx := ctxTimeout(t, 60*time.Second)
	n.createTopic("orders", 6, map[string]*string{"retention.ms": kadm.StringPtr("86400000")})

	for _, codec := range []kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()} {
		cl := n.client(kgo.ProducerBatchCompression(codec), kgo.RequiredAcks(kgo.AllISRAcks()))
		produceSync(t, cl, "orders", 200)
	}
	got := consumeN(t, n, "orders", 1000)
	if len(got) != 1000 {
		t.Fatalf("consumed %d, want 1000", len(got))
	}

	ends, err := adm.ListEndOffsets(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != 1000 {
		t.Fatalf("sum of end offsets %d, want 1000", total)
	}

	// DeleteRecords moves the log start offset of partition 0.
	end0, _ := ends.Lookup("orders", 0)
	if end0.Offset < 2 {
		t.Fatalf("partition 0 has %d records; the hash should spread 1000 keys", end0.Offset)
	}
	toDelete := kadm.Offsets{}
	toDelete.Add(kadm.Offset{Topic: "orders", Partition: 0, At: end0.Offset / 2})
	deleted, err := adm.DeleteRecords(ctx, toDelete)
	if err != nil || deleted.Error() != nil {
		t.Fatalf("delete records: %v %v", err, deleted.Error())
	}
	starts, err := adm.ListStartOffsets(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := starts.Lookup("orders", 0); s.Offset != end0.Offset/2 {
		t.Fatalf("log start offset of orders/0 = %d, want %d", s.Offset, end0.Offset/2)
	}

	// Configs: describe shows the override, alter changes it.
	rc, err := adm.DescribeTopicConfigs(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := rc.On("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range cfg.Configs {
		if c.Key == "retention.ms" {
			found = true
			if c.MaybeValue() != "86400000" || c.Source.String() != "DYNAMIC_TOPIC_CONFIG" {
				t.Fatalf("retention.ms = %q from %v", c.MaybeValue(), c.Source)
			}
		}
	}
	if !found {
		t.Fatal("retention.ms missing from DescribeConfigs")
	}
	alter, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("1000")}}, "orders")
	if err != nil || alter[0].Err != nil {
		t.Fatalf("alter configs: %v %v", err, alter)
	}

	// CreatePartitions grows the topic.
	if _, err := adm.CreatePartitions(ctx, 2, "orders"); err != nil {
		t.Fatal(err)
	}
	td, err := adm.ListTopics(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if p := len(td["orders"].Partitions); p != 8 {
		t.Fatalf("orders has %d partitions after adding 2, want 8", p)
	}

	// Delete the topic; it disappears from metadata.
	if _, err := adm.DeleteTopics(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	td, err = adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if td.Has("orders") {
		t.Fatal("orders still listed after DeleteTopics")
	}
}

// TestSarama produces with a sarama SyncProducer and reads back with a partition consumer.
func TestSarama(t *testing.T) {
	n := startNode(t)
	n.createTopic("sarama", 1, nil)
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Compression = sarama.CompressionSnappy
	producer, err := sarama.NewSyncProducer([]string{n.kafkaAddr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const count = 200
	for i := 0; i < count; i++ {
		_, offset, err := producer.SendMessage(&sarama.ProducerMessage{Topic: "sarama", Key: sarama.StringEncoder(fmt.Sprint(i)), Value: sarama.StringEncoder(fmt.Sprintf("v%d", i))})
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if offset != int64(i) {
			t.Fatalf("send %d got offset %d", i, offset)
		}
	}
	producer.Close()

	consumer, err := sarama.NewConsumer([]string{n.kafkaAddr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition("sarama", 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for i := 0; i < count; i++ {
		select {
		case msg := <-pc.Messages():
			if string(msg.Value) != fmt.Sprintf("v%d", i) || msg.Offset != int64(i) {
				t.Fatalf("message %d = %q at %d", i, msg.Value, msg.Offset)
			}
		case err := <-pc.Errors():
			t.Fatal(err)
		case <-time.After(20 * time.Second):
			t.Fatalf("timed out after %d messages", i)
		}
	}
}

// TestKafkaGo writes with segmentio/kafka-go's Writer and reads with a partition Reader.
func TestKafkaGo(t *testing.T) {
	n := startNode(t)
	n.createTopic("kafkago", 1, nil)
	w := &kafka.Writer{Addr: kafka.TCP(n.kafkaAddr), Topic: "kafkago", RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, Compression: kafka.Zstd}
	const count = 200
	msgs := make([]kafka.Message, count)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("v%d", i))}
	}
	if err := w.WriteMessages(ctxTimeout(t, 30*time.Second), msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{n.kafkaAddr}, Topic: "kafkago", Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx := ctxTimeout(t, 30*time.Second)
	for i := 0; i < count; i++ {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if string(m.Value) != fmt.Sprintf("v%d", i) || m.Offset != int64(i) {
			t.Fatalf("message %d = %q at %d", i, m.Value, m.Offset)
		}
	}
}
