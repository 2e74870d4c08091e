package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// produceOptions are the flags of `sluice produce`.
type produceOptions struct {
	clientOptions
	keySeparator string
	headers      []string
	partition    int32
	compression  string
	acks         string
	maxLineBytes int
}

func newProduceCommand() *cobra.Command {
	var o produceOptions
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Produce one record per line of standard input",
		Long: "Produce one record per line of standard input. With -K, each line is split at the first\n" +
			"separator into key and value (a line without it has no key), as kcat -K does.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProduce(cmd.Context(), o, args[0], cmd.InOrStdin(), cmd.ErrOrStderr())
		},
	}
	o.register(cmd, false)
	f := cmd.Flags()
	f.StringVarP(&o.keySeparator, "key-separator", "K", "", "split each line into key and value at the first occurrence of this")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "record header key=value (repeatable)")
	f.Int32VarP(&o.partition, "partition", "p", -1, "partition to produce to (-1: by key hash, or sticky when no key)")
	f.StringVarP(&o.compression, "compression", "z", "none", "none, gzip, snappy, lz4 or zstd")
	f.StringVar(&o.acks, "acks", "all", "acks: 0, 1 or all")
	f.IntVar(&o.maxLineBytes, "max-line-bytes", 1<<20, "longest input line accepted")
	return cmd
}

// producerOpts turns the flags into client options.
func (o *produceOptions) producerOpts() ([]kgo.Opt, error) {
	codec, err := compressionCodec(o.compression)
	if err != nil {
		return nil, err
	}
	acks, err := requiredAcks(o.acks)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.ProducerBatchCompression(codec), kgo.RequiredAcks(acks)}
	if o.acks == "0" || o.acks == "1" {
		opts = append(opts, kgo.DisableIdempotentWrite()) // kgo's idempotence needs acks=all
	}
	if o.partition >= 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	return opts, nil
}

// splitLine splits an input line into key and value at the first sep; with no sep, or a line
// without it, the whole line is the value and the key is nil.
func splitLine(line []byte, sep string) (key, value []byte) {
	if sep == "" {
		return nil, line
	}
	i := strings.Index(string(line), sep)
	if i < 0 {
		return nil, line
	}
	return line[:i], line[i+len(sep):]
}

func runProduce(ctx context.Context, o produceOptions, topic string, in io.Reader, stderr io.Writer) error {
	hdrs, err := parseHeaders(o.headers)
	if err != nil {
		return err
	}
	opts, err := o.producerOpts()
	if err != nil {
		return err
	}
	cl, err := o.client(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	if ctx == nil {
		ctx = context.Background()
	}

	var mu sync.Mutex
	var firstErr error
	var produced int64
	done := func(_ *kgo.Record, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if err == nil {
			produced++
		}
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), o.maxLineBytes)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...) // the scanner reuses its buffer
		key, value := splitLine(line, o.keySeparator)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: o.partition, Key: key, Value: value, Headers: hdrs}, done)
	}
	scanErr := sc.Err()
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if scanErr != nil {
		if errors.Is(scanErr, bufio.ErrTooLong) {
			return fmt.Errorf("read stdin: a line is longer than %d bytes (raise --max-line-bytes)", o.maxLineBytes)
		}
		return fmt.Errorf("read stdin: %w", scanErr)
	}
	if errors.Is(firstErr, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("produce to %s (%d records written): %w", topic, produced, missingTopicError(topic, firstErr))
	}
	if firstErr != nil {
		return fmt.Errorf("produce to %s (%d records written): %w", topic, produced, o.explain(firstErr))
	}
	fmt.Fprintf(stderr, "produced %d records to %s\n", produced, topic)
	return nil
}

// parseHeaders parses -H key=value flags, keeping their order (headers may repeat a key).
func parseHeaders(pairs []string) ([]kgo.RecordHeader, error) {
	var out []kgo.RecordHeader
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--header %q: expected key=value", p)
		}
		out = append(out, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return out, nil
}
