// Command streamsapp is the streams application of the streams runtime tests
// (tests/streams_runtime_*_test.go): a stateful count built with processor.Topology. For each
// input record (key: a word, value: the record's id) it increments the key's count in the
// key-value store "counts" and writes the key with the value "COUNT:ID" to the output topic,
// so that a test can check every input was counted (once, under exactly-once) from the output.
//
// It prints "state NAME" on stdout at each state change and exits 0 after SIGTERM once the
// App closed cleanly.
//
// With -window-ms N it counts per key and tumbling event-time window of N ms instead, in the
// window store "wcounts", and writes the key "KEY@WINDOWSTART". With -caching its store is
// behind the record cache (processor.StoreSpec.Caching): writes reach the store and its
// changelog at commits, while the outputs are still written per record.
//
// Usage: streamsapp -brokers HOST:PORT -app ID -input TOPIC -output TOPIC -state-dir DIR [-eos]
// [-commit-ms N] [-standbys N] [-in-memory] [-window-ms N] [-caching] [-log debug|info]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

func main() {
	brokers := flag.String("brokers", "", "bootstrap servers")
	app := flag.String("app", "", "application.id")
	input := flag.String("input", "", "input topic")
	output := flag.String("output", "", "output topic")
	stateDir := flag.String("state-dir", "", "state.dir")
	eos := flag.Bool("eos", false, "exactly-once")
	commitMS := flag.Int("commit-ms", 0, "commit.interval.ms (0: default)")
	standbys := flag.Int("standbys", 0, "num.standby.replicas")
	inMemory := flag.Bool("in-memory", false, "in-memory store")
	sessionMS := flag.Int("session-ms", 6000, "session.timeout.ms")
	logLevel := flag.String("log", "", "log level on stderr (debug, info)")
	windowMS := flag.Int64("window-ms", 0, "count per tumbling window of this size (0: per key)")
	caching := flag.Bool("caching", false, "the store behind the record cache")
	flag.Parse()

	logger := slog.New(slog.DiscardHandler)
	if *logLevel != "" {
		var lvl slog.Level
		lvl.UnmarshalText([]byte(*logLevel))
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	}
	cfg := streams.Config{
		ApplicationID:      *app,
		Brokers:            []string{*brokers},
		StateDir:           *stateDir,
		CommitInterval:     time.Duration(*commitMS) * time.Millisecond,
		NumStandbyReplicas: *standbys,
		Logger:             logger,
		ClientOptions: []kgo.Opt{
			kgo.SessionTimeout(time.Duration(*sessionMS) * time.Millisecond),
			kgo.HeartbeatInterval(time.Duration(*sessionMS/6) * time.Millisecond),
			kgo.RebalanceTimeout(10 * time.Second),
		},
	}
	if *eos {
		cfg.ProcessingGuarantee = streams.ExactlyOnce
	}
	topo := CountTopology(*input, *output, *inMemory, *caching)
	if *windowMS > 0 {
		topo = WindowedCountTopology(*input, *output, *windowMS, *caching)
	}
	a, err := streams.NewApp(topo, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "streamsapp:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() { // report state changes
		last := streams.State(-1)
		for {
			if s := a.State(); s != last {
				fmt.Println("state", s)
				last = s
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "streamsapp:", err)
		os.Exit(1)
	}
	fmt.Println("state", a.State())
}

// CountTopology counts records per key in the store "counts" and writes "COUNT:ID".
func CountTopology(input, output string, inMemory, caching bool) *processor.Topology {
	t := processor.NewTopology()
	t.AddSource("source", processor.SourceOptions{}, input)
	t.AddProcessor("count", func() processor.Processor { return &counter{} }, "source")
	t.AddStore(processor.StoreSpec{Name: "counts", Kind: processor.KeyValueStore, InMemory: inMemory, Caching: caching}, "count")
	t.AddSink("sink", output, processor.SinkOptions{}, "count")
	return t
}

type counter struct {
	ctx   processor.Context
	store state.KeyValueStore
}

func (c *counter) Init(ctx processor.Context) error {
	c.ctx = ctx
	var err error
	c.store, err = ctx.KeyValueStore("counts")
	return err
}

func (c *counter) Process(rec processor.Record) error {
	key, _ := rec.Key.([]byte)
	id, _ := rec.Value.([]byte)
	old, err := c.store.Get(key)
	if err != nil {
		return err
	}
	var n int64
	if old != nil {
		n, _ = strconv.ParseInt(string(old), 10, 64)
	}
	n++
	if err := c.store.Put(key, []byte(strconv.FormatInt(n, 10))); err != nil {
		return err
	}
	return c.ctx.Forward(rec.WithValue([]byte(strconv.FormatInt(n, 10) + ":" + string(id))))
}

func (c *counter) Close() error { return nil }

// WindowedCountTopology counts records per key and tumbling window in the window store
// "wcounts" and writes "COUNT:ID" under the key "KEY@WINDOWSTART".
func WindowedCountTopology(input, output string, size int64, caching bool) *processor.Topology {
	t := processor.NewTopology()
	t.AddSource("source", processor.SourceOptions{}, input)
	t.AddProcessor("count", func() processor.Processor { return &windowCounter{size: size} }, "source")
	t.AddStore(processor.StoreSpec{Name: "wcounts", Kind: processor.WindowStore, Retention: 100 * 365 * 24 * 3600 * 1000, Caching: caching}, "count")
	t.AddSink("sink", output, processor.SinkOptions{}, "count")
	return t
}

type windowCounter struct {
	size  int64
	ctx   processor.Context
	store state.WindowStore
}

func (c *windowCounter) Init(ctx processor.Context) error {
	c.ctx = ctx
	var err error
	c.store, err = ctx.WindowStore("wcounts")
	return err
}

func (c *windowCounter) Process(rec processor.Record) error {
	key, _ := rec.Key.([]byte)
	id, _ := rec.Value.([]byte)
	start := rec.Timestamp - rec.Timestamp%c.size
	old, err := c.store.Fetch(key, start)
	if err != nil {
		return err
	}
	var n int64
	if old != nil {
		n, _ = strconv.ParseInt(string(old), 10, 64)
	}
	n++
	if err := c.store.Put(key, start, []byte(strconv.FormatInt(n, 10))); err != nil {
		return err
	}
	out := processor.Record{Key: []byte(string(key) + "@" + strconv.FormatInt(start, 10)), Value: []byte(strconv.FormatInt(n, 10) + ":" + string(id)), Timestamp: rec.Timestamp}
	return c.ctx.Forward(out)
}

func (c *windowCounter) Close() error { return nil }
