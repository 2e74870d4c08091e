// Command word-count counts the words of the lines written to "text-lines" and writes each
// word's new count to "word-counts" (key: the word; value: the count as a decimal string)
// every time it changes, so the latest record of each word is its count so far.
//
// Words are the runs of letters and digits of a line, lower-cased. Counting by word needs the
// records keyed by word: the application writes them to its repartition topic
// "<application-id>-counts-repartition" and counts them in the store "counts", backed by the
// changelog topic "<application-id>-counts-changelog". Both are created at start.
//
// Usage:
//
//	go run ./examples/word-count --brokers localhost:9092
//
// The topics "text-lines" and "word-counts" must exist. It runs until interrupted (SIGINT or
// SIGTERM), then commits and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode"

	"github.com/sluicehq/sluice/streams"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
)

// Topology is the application's processing: lines in, counts out.
func Topology() (*processor.Topology, error) {
	b := streams.NewBuilder()
	lines := streams.NewStream(b, "text-lines", streams.Consumed(serde.String(), serde.String()))
	words := streams.FlatMapValues(lines, Words)
	counts := streams.GroupBy(words, func(_, word string) string { return word },
		streams.Grouped(serde.String(), serde.String()).WithName("counts")).
		Count(streams.Materialized("counts", serde.Int64()))
	counts.ToStream().To("word-counts", streams.Produced(serde.String(), serde.Int64String()))
	return b.Build()
}

// Words splits a line into lower-case words.
func Words(line string) []string {
	return strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

func main() {
	brokers := flag.String("brokers", "localhost:9092", "bootstrap servers, host:port")
	appID := flag.String("application-id", "word-count", "application.id: consumer group and prefix of internal topics")
	stateDir := flag.String("state-dir", "", "state.dir (default: a directory under the system's temporary directory)")
	flag.Parse()

	topo, err := Topology()
	if err != nil {
		fail(err)
	}
	app, err := streams.NewApp(topo, streams.Config{
		ApplicationID: *appID,
		Brokers:       []string{*brokers},
		StateDir:      *stateDir,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "word-count:", err)
	os.Exit(1)
}
