package tests

import (
	"context"
	"fmt"
	"maps"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// produceThroughProxy produces rounds×perRound records with distinct values
// through the fault proxy (every connection, not only the seed, goes
// through it) and fails on any record that is not acknowledged.
func produceThroughProxy(t *testing.T, ctx context.Context, proxy *faultProxy, topic string, rounds, perRound int, opts ...kgo.Opt) {
	t.Helper()
	var d net.Dialer
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(proxy.Addr()),
		kgo.Dialer(func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, proxy.Addr())
		}),
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for r := range rounds {
		for i := range perRound {
			v := strconv.Itoa(r*perRound + i)
			cl.Produce(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}, func(_ *kgo.Record, err error) {
				if err != nil {
					t.Errorf("produce %s: %v", v, err)
				}
			})
		}
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// consumeAll reads every partition of topic from the start to its end
// offset, directly from the broker, and counts each value.
func consumeAll(t *testing.T, ctx context.Context, n *node, topic string) map[string]int {
	t.Helper()
	ends, err := n.admin().ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	remaining := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("end offset of %s-%d: %v", o.Topic, o.Partition, o.Err)
		}
		if o.Offset > 0 {
			remaining[o.Partition] = o.Offset
		}
	})
	seen := map[string]int{}
	cl := n.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for len(remaining) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("partitions %v never reached their end offsets", remaining)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			seen[string(r.Value)]++
			if end, ok := remaining[r.Partition]; ok && r.Offset+1 >= end {
				delete(remaining, r.Partition)
			}
		})
	}
	return seen
}

// TestIdempotentProducerThroughDroppedConnections: franz-go's idempotent
// producer (its default) with acks=all writes through a proxy that cuts
// Produce responses in half after the broker appended the records, so the
// producer retries batches the log already holds. Every record must be in
// the log exactly once. The same traffic from a non-idempotent producer
// shows the proxy really causes re-sent batches: there, duplicates appear.
func TestIdempotentProducerThroughDroppedConnections(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const rounds, perRound = 24, 50
	cases := []struct {
		name       string
		opts       []kgo.Opt
		idempotent bool
	}{
		{"idempotent", nil, true},
		{"non-idempotent control", []kgo.Opt{kgo.DisableIdempotentWrite()}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			topic := "idem-" + strconv.FormatBool(tc.idempotent)
			n.createTopic(topic, 3, nil)
			proxy := startFaultProxy(t, n.kafkaAddr, 2, 10)
			produceThroughProxy(t, ctx, proxy, topic, rounds, perRound, tc.opts...)
			if proxy.Cuts() < 5 {
				t.Fatalf("only %d produce responses were cut; the test did not exercise retries", proxy.Cuts())
			}
			seen := consumeAll(t, ctx, n, topic)
			var missing, duplicated []string
			for i := range rounds * perRound {
				v := strconv.Itoa(i)
				switch seen[v] {
				case 0:
					missing = append(missing, v)
				case 1:
				default:
					duplicated = append(duplicated, fmt.Sprintf("%s×%d", v, seen[v]))
				}
			}
			if len(missing) > 0 {
				t.Fatalf("%d acknowledged records missing, first %v", len(missing), missing[:min(5, len(missing))])
			}
			if tc.idempotent && len(duplicated) > 0 {
				t.Fatalf("%d records duplicated after %d cut responses: %v", len(duplicated), proxy.Cuts(), duplicated[:min(5, len(duplicated))])
			}
			if !tc.idempotent && len(duplicated) == 0 {
				t.Fatalf("no duplicates without idempotence after %d cut responses: the proxy did not cause retries", proxy.Cuts())
			}
			if tc.idempotent {
				checkOneProducerPerPartition(t, ctx, n, topic, int64(rounds*perRound))
			}
			t.Logf("%d cut produce responses, %d duplicated records", proxy.Cuts(), len(duplicated))
		})
	}
}

// checkOneProducerPerPartition asks DescribeProducers (through kadm) who
// wrote topic: one idempotent producer id on every partition, whose last
// sequences account for exactly the records produced (sequences start at 0
// per partition, so the count is the last sequence + 1).
func checkOneProducerPerPartition(t *testing.T, ctx context.Context, n *node, topic string, records int64) {
	t.Helper()
	described, err := n.admin().DescribeProducers(ctx, kadm.TopicsSet{topic: nil})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	id := int64(-1)
	described.EachPartition(func(p kadm.DescribedProducersPartition) {
		if p.Err != nil {
			t.Fatalf("describe producers of %s-%d: %v", p.Topic, p.Partition, p.Err)
		}
		if len(p.ActiveProducers) != 1 {
			t.Fatalf("%s-%d: producers %+v, want one", p.Topic, p.Partition, p.ActiveProducers)
		}
		ap := p.ActiveProducers[0]
		if ap.ProducerID < 0 || (id >= 0 && ap.ProducerID != id) || ap.CurrentTxnStartOffset != -1 {
			t.Fatalf("%s-%d: producer %+v (another partition had %d)", p.Topic, p.Partition, ap, id)
		}
		id = ap.ProducerID
		total += int64(ap.LastSequence) + 1
	})
	if total != records {
		t.Fatalf("last sequences account for %d records, produced %d", total, records)
	}
}

// TestIdempotentRetryAfterBrokerRestart: a Produce response is cut after
// the broker appended the batch; while the producer's retry is held back
// the broker is SIGKILLed and restarted, so the retry meets producer state
// rebuilt from the log. The retry must be recognized as a duplicate.
func TestIdempotentRetryAfterBrokerRestart(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic, rounds, perRound = "idem-restart", 6, 40
	n.createTopic(topic, 1, nil)
	proxy := startFaultProxy(t, n.kafkaAddr, 1, 1) // cut the first produce response only
	proxy.HoldAfterNextCut()
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		select {
		case <-proxy.CutHappened():
		case <-ctx.Done():
			return
		}
		n.kill()
		if err := n.tryStart(); err != nil {
			t.Error(err)
		}
		proxy.Release()
	}()
	produceThroughProxy(t, ctx, proxy, topic, rounds, perRound)
	<-restarted
	if proxy.Cuts() != 1 {
		t.Fatalf("%d cuts, want 1", proxy.Cuts())
	}
	seen := consumeAll(t, ctx, n, topic)
	for i := range rounds * perRound {
		if v := strconv.Itoa(i); seen[v] != 1 {
			t.Fatalf("record %s is in the log %d times", v, seen[v])
		}
	}
	checkOneProducerPerPartition(t, ctx, n, topic, int64(rounds*perRound))
}

// TestReadCommittedSkipsAbortedTransactions: a transactional producer
// commits one transaction and aborts another on the same partitions; a
// read_committed consumer sees exactly the committed records, a
// read_uncommitted one sees both. While a transaction is open, the last
// stable offset holds read_committed consumers back.
func TestReadCommittedSkipsAbortedTransactions(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic = "txn-reads"
	n.createTopic(topic, 2, nil)
	producer := n.client(kgo.TransactionalID("txn-reads-producer"), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	write := func(prefix string, count int, commit kgo.TransactionEndTry) {
		t.Helper()
		if err := producer.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := range count {
			v := fmt.Sprintf("%s-%d", prefix, i)
			if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatalf("produce %s: %v", v, err)
			}
		}
		if err := producer.EndTransaction(ctx, commit); err != nil {
			t.Fatalf("end transaction %s: %v", prefix, err)
		}
	}
	write("committed", 10, kgo.TryCommit)
	write("aborted", 10, kgo.TryAbort)
	write("later", 4, kgo.TryCommit)

	// The "later" transaction was produced last on both partitions, so
	// once its records are all read everything before them has been too.
	count := func(isolation kgo.IsolationLevel) map[string]int {
		t.Helper()
		seen := map[string]int{}
		cl := n.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(isolation))
		for seen["later"] < 4 {
			fetches := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read %v before the deadline", seen)
			}
			fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
			fetches.EachRecord(func(r *kgo.Record) { seen[strings.SplitN(string(r.Value), "-", 2)[0]]++ })
		}
		return seen
	}
	for _, tc := range []struct {
		name      string
		isolation kgo.IsolationLevel
		want      map[string]int
	}{
		{"read_committed", kgo.ReadCommitted(), map[string]int{"committed": 10, "later": 4}},
		{"read_uncommitted", kgo.ReadUncommitted(), map[string]int{"committed": 10, "aborted": 10, "later": 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := count(tc.isolation)
			if !maps.Equal(got, tc.want) {
				t.Fatalf("read %v, want %v", got, tc.want)
			}
		})
	}

	// An open transaction holds read_committed ListOffsets at its start.
	if err := producer.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	open, err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte("open-0")}).First()
	if err != nil {
		t.Fatal(err)
	}
	uncommitted, err := n.admin().ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.IsolationLevel = 1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for p := range int32(2) {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = p, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, n.client())
	if err != nil {
		t.Fatal(err)
	}
	for _, rp := range resp.Topics[0].Partitions {
		end, _ := uncommitted.Lookup(topic, rp.Partition)
		// The open transaction's only record is the last one on its partition.
		if rp.Partition == open.Partition && rp.Offset != open.Offset {
			t.Fatalf("read_committed latest offset of partition %d is %d, want %d (the open transaction's start)", rp.Partition, rp.Offset, open.Offset)
		}
		if rp.Partition != open.Partition && rp.Offset != end.Offset {
			t.Fatalf("read_committed latest offset of partition %d is %d, want the end %d", rp.Partition, rp.Offset, end.Offset)
		}
	}
	if err := producer.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
}
