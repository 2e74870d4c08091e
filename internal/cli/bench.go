package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// benchOptions are the flags shared by `sluice bench produce` and `consume`.
type benchOptions struct {
	brokers     string
	sec         securityOptions
	topic       string
	recordBytes int
	keys        int64
	numRecords  int64
	duration    time.Duration
	throughput  int64
	acks        string
	partitions  int32
	compression string
	idempotent  bool
	maxInFlight int
	json        bool
}

func newBenchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure throughput and latency (produce, consume, end to end), rebalance time, offset-commit throughput and schema registry requests against any Kafka-compatible cluster",
	}
	cmd.AddCommand(newBenchProduceCommand(), newBenchConsumeCommand(), newBenchE2ECommand(), newBenchRebalanceCommand(), newBenchCommitCommand(), newBenchRegistryCommand())
	return cmd
}

func (o *benchOptions) registerCommon(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.brokers, "brokers", envOr("SLUICE_BROKERS", "localhost:9092"), "comma-separated bootstrap brokers (env SLUICE_BROKERS)")
	o.sec.register(f)
	f.StringVar(&o.topic, "topic", "sluice-bench", "topic to use")
	f.Int64Var(&o.numRecords, "num-records", 0, "stop after this many records (0: run for --duration)")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "how long to run when --num-records is 0")
	f.BoolVar(&o.json, "json", false, "print the result as one JSON object")
}

func newBenchProduceCommand() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "produce",
		Short: "Produce records as fast as allowed and report throughput and ack latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchProduce(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.registerCommon(cmd)
	o.registerProduce(cmd, 0)
	cmd.Flags().Int64Var(&o.keys, "keys", 0, "give records keys key-0 .. key-(N-1) in turn, as updates to a compacted topic (0: no keys)")
	return cmd
}

// registerProduce adds the producer flags shared by `bench produce` and `bench e2e`.
func (o *benchOptions) registerProduce(cmd *cobra.Command, throughput int64) {
	f := cmd.Flags()
	f.IntVar(&o.recordBytes, "record-bytes", 1024, "value size of each record")
	f.Int64Var(&o.throughput, "throughput", throughput, "target records per second (0: as fast as possible)")
	f.StringVar(&o.acks, "acks", "all", "acks: 0, 1 or all")
	f.Int32Var(&o.partitions, "partitions", 6, "partitions of the topic if it has to be created")
	f.StringVar(&o.compression, "compression", "none", "none, gzip, snappy, lz4 or zstd")
	f.BoolVar(&o.idempotent, "idempotent", false, "idempotent producer (needs acks=all and a broker with InitProducerId)")
	f.IntVar(&o.maxInFlight, "max-in-flight", 5, "produce requests in flight per broker when not idempotent (max.in.flight.requests.per.connection)")
}

func newBenchConsumeCommand() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "consume",
		Short: "Read a topic from the start and report throughput",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchConsume(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.registerCommon(cmd)
	return cmd
}

// benchResult is what a bench run reports; JSON names are stable for scripts.
type benchResult struct {
	Mode          string     `json:"mode"`
	Records       int64      `json:"records"`
	Bytes         int64      `json:"bytes"`
	Seconds       float64    `json:"seconds"`
	RecordsPerSec float64    `json:"records_per_sec"`
	MBPerSec      float64    `json:"mb_per_sec"`
	Errors        int64      `json:"errors"`
	LatencyMs     *latencyMs `json:"latency_ms,omitempty"`
}

// latencyMs summarizes a latency distribution in milliseconds.
type latencyMs struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// summarize sorts latencies and returns their percentiles, nil when there are none.
func summarize(latencies []time.Duration) *latencyMs {
	if len(latencies) == 0 {
		return nil
	}
	slices.Sort(latencies)
	at := func(q float64) float64 {
		i := int(q * float64(len(latencies)-1))
		return float64(latencies[i].Microseconds()) / 1000
	}
	return &latencyMs{at(0.50), at(0.95), at(0.99), at(0.999), at(1)}
}

func (l *latencyMs) String() string {
	return fmt.Sprintf("p50 %.2f  p95 %.2f  p99 %.2f  p99.9 %.2f  max %.2f", l.P50, l.P95, l.P99, l.P999, l.Max)
}

func (r *benchResult) finish(elapsed time.Duration, latencies []time.Duration) {
	r.Seconds = elapsed.Seconds()
	if r.Seconds > 0 {
		r.RecordsPerSec = float64(r.Records) / r.Seconds
		r.MBPerSec = float64(r.Bytes) / r.Seconds / 1e6
	}
	r.LatencyMs = summarize(latencies)
}

func (r *benchResult) print(w io.Writer, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	fmt.Fprintf(w, "%s: %d records, %.1f MB in %.2fs: %.0f records/s, %.2f MB/s, %d errors\n",
		r.Mode, r.Records, float64(r.Bytes)/1e6, r.Seconds, r.RecordsPerSec, r.MBPerSec, r.Errors)
	if l := r.LatencyMs; l != nil {
		fmt.Fprintf(w, "latency ms: %s\n", l)
	}
	return nil
}

// ensureTopic creates the topic with the requested partitions unless it exists.
func ensureTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32) error {
	resps, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, -1, nil, topic)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	resp, err := resps.On(topic, nil)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	var kafkaErr *kerr.Error
	if resp.Err != nil && !(errors.As(resp.Err, &kafkaErr) && kafkaErr.Code == kerr.TopicAlreadyExists.Code) {
		return fmt.Errorf("create topic %s: %w", topic, resp.Err)
	}
	return nil
}

// progress prints a line each second to w until stop is closed.
func progress(w io.Writer, mode string, records, bytes *atomic.Int64, stop <-chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastRecords, lastBytes int64
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			r, b := records.Load(), bytes.Load()
			fmt.Fprintf(w, "%s: %d records/s, %.2f MB/s, %d total\n", mode, r-lastRecords, float64(b-lastBytes)/1e6, r)
			lastRecords, lastBytes = r, b
		}
	}
}

// newProducer builds the producing client from the flags and creates the topic unless it
// exists.
func (o *benchOptions) newProducer(ctx context.Context) (*kgo.Client, error) {
	codec, err := compressionCodec(o.compression)
	if err != nil {
		return nil, err
	}
	acks, err := requiredAcks(o.acks)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.RequiredAcks(acks),
		kgo.ProducerBatchCompression(codec), kgo.DefaultProduceTopic(o.topic), kgo.ProducerLinger(time.Millisecond)}
	// The same client settings against every broker, so that a comparison measures brokers:
	// without idempotence kgo keeps --max-in-flight requests per broker; with it, up to 5
	// only when the broker grants a producer id.
	if !o.idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(o.maxInFlight))
	} else if o.acks != "all" && o.acks != "-1" {
		return nil, errors.New("--idempotent needs --acks all")
	}
	cl, err := o.newClient(opts...)
	if err != nil {
		return nil, err
	}
	if err := ensureTopic(ctx, cl, o.topic, o.partitions); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

// pacer spaces sends at a fixed rate from start; it does not wait when the rate is 0. A sender
// that falls behind catches up without waiting, so the average rate holds.
type pacer struct {
	start    time.Time
	interval time.Duration
}

func newPacer(start time.Time, perSecond int64) pacer {
	p := pacer{start: start}
	if perSecond > 0 {
		p.interval = time.Second / time.Duration(perSecond)
	}
	return p
}

// wait sleeps until record i is due.
func (p pacer) wait(i int64) {
	if p.interval > 0 {
		if d := time.Until(p.start.Add(time.Duration(i) * p.interval)); d > 0 {
			time.Sleep(d)
		}
	}
}

// finished says whether record i should not be sent: past --num-records, or past the deadline
// when counting by --duration.
func (o *benchOptions) finished(i int64, deadline time.Time) bool {
	if o.numRecords > 0 {
		return i >= o.numRecords
	}
	return time.Now().After(deadline)
}

// benchKey is the key of the n-th record of a keyed run. It allocates; keyed runs measure
// compacted topics, where the key is part of the workload.
func benchKey(n int64) []byte { return strconv.AppendInt([]byte("key-"), n, 10) }

func runBenchProduce(ctx context.Context, o benchOptions, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	cl, err := o.newProducer(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	value := []byte(strings.Repeat("s", o.recordBytes))
	var (
		records, bytes, failures atomic.Int64
		mu                       sync.Mutex
		latencies                = make([]time.Duration, 0, 1<<16)
		stop                     = make(chan struct{})
		wg                       sync.WaitGroup
	)
	wg.Add(1)
	go progress(stderr, "produce", &records, &bytes, stop, &wg)
	start := time.Now()
	deadline := start.Add(o.duration)
	pace := newPacer(start, o.throughput)
	for i := int64(0); !o.finished(i, deadline); i++ {
		pace.wait(i)
		sent := time.Now()
		rec := &kgo.Record{Value: value}
		if o.keys > 0 {
			rec.Key = benchKey(i % o.keys)
		}
		cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
			if err != nil {
				failures.Add(1)
				return
			}
			lat := time.Since(sent)
			mu.Lock()
			latencies = append(latencies, lat)
			mu.Unlock()
			records.Add(1)
			bytes.Add(int64(len(r.Key) + len(r.Value)))
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	res := benchResult{Mode: "produce", Records: records.Load(), Bytes: bytes.Load(), Errors: failures.Load()}
	res.finish(elapsed, latencies)
	return res.print(stdout, o.json)
}

func runBenchConsume(ctx context.Context, o benchOptions, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	admin, err := o.newClient()
	if err != nil {
		return err
	}
	ends, err := kadm.NewClient(admin).ListEndOffsets(ctx, o.topic)
	admin.Close()
	if err != nil {
		return fmt.Errorf("list end offsets of %s: %w", o.topic, err)
	}
	var available int64
	ends.Each(func(lo kadm.ListedOffset) { available += lo.Offset })
	want := available
	if o.numRecords > 0 && o.numRecords < want {
		want = o.numRecords
	}
	cl, err := o.newClient(kgo.ConsumeTopics(o.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(8<<20))
	if err != nil {
		return err
	}
	defer cl.Close()
	var records, bytes atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go progress(stderr, "consume", &records, &bytes, stop, &wg)
	start := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, o.duration+time.Minute)
	defer cancel()
	for records.Load() < want {
		fetches := cl.PollFetches(runCtx)
		if runCtx.Err() != nil {
			break
		}
		fetches.EachRecord(func(r *kgo.Record) {
			records.Add(1)
			bytes.Add(int64(len(r.Value) + len(r.Key)))
		})
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	res := benchResult{Mode: "consume", Records: records.Load(), Bytes: bytes.Load()}
	res.finish(elapsed, nil)
	if res.Records < want {
		res.Errors = want - res.Records
	}
	return res.print(stdout, o.json)
}

// newClient is a client of the benchmarked cluster: --brokers, --command-config, then opts.
func (o *benchOptions) newClient(opts ...kgo.Opt) (*kgo.Client, error) {
	sec, err := o.sec.opts()
	if err != nil {
		return nil, err
	}
	base := append([]kgo.Opt{kgo.SeedBrokers(strings.Split(o.brokers, ",")...)}, sec...)
	return kgo.NewClient(append(base, opts...)...)
}
