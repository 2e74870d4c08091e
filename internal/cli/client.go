package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// clientOptions are the flags every client command shares.
type clientOptions struct {
	brokers string
	timeout time.Duration
	format  string // text or json, for commands whose output is tabular
	sec     securityOptions
}

func (o *clientOptions) register(cmd *cobra.Command, tabular bool) {
	f := cmd.Flags()
	f.StringVar(&o.brokers, "brokers", envOr("SLUICE_BROKERS", "localhost:9092"), "comma-separated bootstrap brokers (env SLUICE_BROKERS)")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for the cluster to answer")
	o.sec.register(f)
	if tabular {
		f.StringVar(&o.format, "format", "text", "output format: text or json")
	}
}

func (o *clientOptions) seeds() []string {
	var out []string
	for _, b := range strings.Split(o.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// client builds a franz-go client for the configured brokers.
func (o *clientOptions) client(extra ...kgo.Opt) (*kgo.Client, error) {
	if o.format != "" && o.format != "text" && o.format != "json" {
		return nil, fmt.Errorf("--format %q: use text or json", o.format)
	}
	seeds := o.seeds()
	if len(seeds) == 0 {
		return nil, errors.New("no brokers: pass --brokers host:port or set SLUICE_BROKERS")
	}
	sec, err := o.sec.opts()
	if err != nil {
		return nil, err
	}
	opts := append(append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ClientID("sluice-cli")}, sec...), extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", o.brokers, err)
	}
	return cl, nil
}

// admin returns an admin client and a context bounded by --timeout; call done when finished.
func (o *clientOptions) admin(parent context.Context) (adm *kadm.Client, ctx context.Context, done func(), err error) {
	cl, err := o.client()
	if err != nil {
		return nil, nil, nil, err
	}
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, o.timeout)
	return kadm.NewClient(cl), ctx, func() { cancel(); cl.Close() }, nil
}

// explain adds what to do to an error from the cluster: unreachable brokers and timeouts name
// the brokers tried and the flag that sets them.
func (o *clientOptions) explain(err error) error {
	if err == nil {
		return nil
	}
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &oe), errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w\ncannot reach a broker at %s: check that the cluster is running, or point --brokers (or SLUICE_BROKERS) at it", err, o.brokers)
	}
	return err
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(anySlice(header)...)
	return t
}

func (t *table) row(cells ...any) {
	for i, c := range cells {
		if i > 0 {
			fmt.Fprint(t.tw, "\t")
		}
		fmt.Fprint(t.tw, c)
	}
	fmt.Fprintln(t.tw)
}

func (t *table) flush() error { return t.tw.Flush() }

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// joinIDs formats broker ids as 1,2,3.
func joinIDs(ids []int32) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ",")
}

// parseKeyValues parses repeated key=value flags (topic configs, headers).
func parseKeyValues(flag string, pairs []string) (map[string]string, error) {
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: expected key=value", flag, p)
		}
		out[k] = v
	}
	return out, nil
}

// missingTopicError says how to create a topic that does not exist.
func missingTopicError(topic string, err error) error {
	if err == nil {
		err = errors.New("not found")
	}
	return fmt.Errorf("topic %s: %w (create it with `sluice topic create %s`, or list topics with `sluice topic list`)", topic, err, topic)
}

// compressionCodec parses a --compression flag.
func compressionCodec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("--compression %q: use none, gzip, snappy, lz4 or zstd", name)
}

// requiredAcks parses an --acks flag.
func requiredAcks(name string) (kgo.Acks, error) {
	switch name {
	case "0":
		return kgo.NoAck(), nil
	case "1":
		return kgo.LeaderAck(), nil
	case "all", "-1":
		return kgo.AllISRAcks(), nil
	}
	return kgo.Acks{}, fmt.Errorf("--acks %q: use 0, 1 or all", name)
}
