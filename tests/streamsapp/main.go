// Command streamsapp is the streams application of the streams runtime tests
// (tests/streams_runtime_*_test.go): a stateful count built with processor.Topology. For each
// input record (key: a word, value: the record's id) it increments the key's count in the
// key-value store "counts" and writes the key with the value "COUNT:ID" to the output topic,
// so that a test can check every input was counted (once, under exactly-once) from the output.
//
// It prints "state NAME" on stdout at each state change and exits 0 after SIGTERM once the
// App closed cleanly.
//
// Usage: streamsapp -brokers HOST:PORT -app ID -input TOPIC -output TOPIC -state-dir DIR [-eos]
// [-commit-ms N] [-standbys N] [-in-memory] [-log debug|info]
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
	a, err := streams.NewApp(CountTopology(*input, *output, *inMemory), cfg)
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
func CountTopology(input, output string, inMemory bool) *processor.Topology {
	t := processor.NewTopology()
	t.AddSource("source", processor.SourceOptions{}, input)
	t.AddProcessor("count", func() processor.Processor { return &counter{} }, "source")
	t.AddStore(processor.StoreSpec{Name: "counts", Kind: processor.KeyValueStore, InMemory: inMemory}, "count")
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
