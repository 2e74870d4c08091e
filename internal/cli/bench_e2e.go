package cli

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func newBenchE2ECommand() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "e2e",
		Short: "Produce at a fixed rate and consume at once; report end-to-end latency from produce call to consume",
		Long: "One producer writes records carrying their send time (the first 8 bytes of the value, Unix\n" +
			"nanoseconds, taken just before the produce call) at --throughput records per second; one\n" +
			"consumer in the same process reads them from the log end as it was before the first send.\n" +
			"Latency is the consumer's clock at delivery minus the send time: produce, replication to the\n" +
			"high watermark, fetch and delivery included.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchE2E(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.registerCommon(cmd)
	o.registerProduce(cmd, 10000)
	return cmd
}

// endOffsets lists the topic's partitions' high watermarks, retrying while a freshly created
// topic has no leaders yet.
func endOffsets(ctx context.Context, adm *kadm.Client, topic string) (map[int32]kgo.Offset, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
		if err == nil && len(ends[topic]) > 0 {
			out := make(map[int32]kgo.Offset, len(ends[topic]))
			for p, lo := range ends[topic] {
				out[p] = kgo.NewOffset().At(lo.Offset)
			}
			return out, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("list end offsets of %s: %w", topic, errors.Join(err, ctx.Err()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// e2eConsumer reads the records the producer sends and keeps their latencies. Only its own
// goroutine touches latencies until done is closed.
type e2eConsumer struct {
	cl             *kgo.Client
	records, bytes atomic.Int64
	last           atomic.Int64 // Unix nanoseconds of the latest delivery
	latencies      []time.Duration
	done           chan struct{}
}

// run consumes until ctx ends or, once the producer has sent the number of acknowledged
// records on produced, every one of them has arrived.
func (c *e2eConsumer) run(ctx context.Context, produced <-chan int64) {
	defer close(c.done)
	want := int64(-1)
	for want < 0 || c.records.Load() < want {
		pollCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fetches := c.cl.PollFetches(pollCtx)
		cancel()
		now := time.Now().UnixNano()
		fetches.EachRecord(func(r *kgo.Record) {
			if len(r.Value) >= 8 {
				sent := int64(binary.BigEndian.Uint64(r.Value))
				c.latencies = append(c.latencies, time.Duration(now-sent))
			}
			c.records.Add(1)
			c.bytes.Add(int64(len(r.Value) + len(r.Key)))
			c.last.Store(now)
		})
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return
		}
		if want < 0 {
			select {
			case n := <-produced:
				want = n
			default:
			}
		}
	}
}

func runBenchE2E(ctx context.Context, o benchOptions, stdout, stderr io.Writer) error {
	if o.recordBytes < 8 {
		return fmt.Errorf("--record-bytes %d: e2e needs at least 8 bytes per record for the send time", o.recordBytes)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	producer, err := o.newProducer(ctx)
	if err != nil {
		return err
	}
	defer producer.Close()
	starts, err := endOffsets(ctx, kadm.NewClient(producer), o.topic)
	if err != nil {
		return err
	}
	consumer, err := o.newClient(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.topic: starts}), kgo.FetchMaxWait(time.Second))
	if err != nil {
		return err
	}
	defer consumer.Close()
	c := &e2eConsumer{cl: consumer, latencies: make([]time.Duration, 0, 1<<16), done: make(chan struct{})}
	produced := make(chan int64, 1)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.run(runCtx, produced)

	var acked, failures atomic.Int64
	// Values are 's' after the send time, as in `bench produce`; buffers are reused once acked.
	pool := sync.Pool{New: func() any { b := []byte(strings.Repeat("s", o.recordBytes)); return &b }}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go progress(stderr, "e2e", &c.records, &c.bytes, stop, &wg)
	start := time.Now()
	deadline := start.Add(o.duration)
	pace := newPacer(start, o.throughput)
	for i := int64(0); !o.finished(i, deadline); i++ {
		pace.wait(i)
		buf := pool.Get().(*[]byte)
		binary.BigEndian.PutUint64(*buf, uint64(time.Now().UnixNano()))
		producer.Produce(ctx, &kgo.Record{Value: *buf}, func(_ *kgo.Record, err error) {
			pool.Put(buf) // kgo holds no reference once the promise runs
			if err != nil {
				failures.Add(1)
				return
			}
			acked.Add(1)
		})
	}
	flushErr := producer.Flush(ctx)
	produced <- acked.Load()
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		cancel()
		<-c.done
	}
	// The rate is over the time from the first send to the last delivery, not the drain wait.
	elapsed := time.Since(start)
	if last := c.last.Load(); last > 0 {
		elapsed = time.Unix(0, last).Sub(start)
	}
	close(stop)
	wg.Wait()
	res := benchResult{Mode: "e2e", Records: c.records.Load(), Bytes: c.bytes.Load(), Errors: failures.Load()}
	if missing := acked.Load() - res.Records; missing > 0 {
		res.Errors += missing
	}
	res.finish(elapsed, c.latencies)
	if flushErr != nil {
		return errors.Join(flushErr, res.print(stdout, o.json))
	}
	return res.print(stdout, o.json)
}
