package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumeOptions are the flags of `sluice consume`.
type consumeOptions struct {
	clientOptions
	offset     string
	count      int64
	partitions []int32
	template   string
	isolation  string
	group      string
}

func newConsumeCommand() *cobra.Command {
	var o consumeOptions
	cmd := &cobra.Command{
		Use:   "consume TOPIC",
		Short: "Print a topic's records",
		Long: "Print a topic's records, one per line, until interrupted or, with -n, after N records.\n\n" +
			"--template is a Go text/template over .Topic .Partition .Offset .Key .Value .Headers\n" +
			"(a list of .Key/.Value) and .Timestamp (a time.Time), e.g.\n" +
			"  '{{.Partition}}:{{.Offset}} {{.Key}}={{.Value}}{{range .Headers}} {{.Key}}={{.Value}}{{end}}'\n" +
			"--format json prints one JSON object per record instead.\n\n" +
			"With -g GROUP it joins the consumer group and commits exactly the records it printed, so\n" +
			"`consume -g G -n 10` twice reads twenty records, ten each time.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(contextOf(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runConsume(ctx, o, args[0], cmd.OutOrStdout())
		},
	}
	o.register(cmd, true)
	f := cmd.Flags()
	f.StringVarP(&o.offset, "offset", "o", "end", "where to start: start, end, an offset, or @TIMESTAMP (Unix milliseconds)")
	f.Int64VarP(&o.count, "count", "n", 0, "exit after this many records (0: run until interrupted)")
	f.Int32SliceVarP(&o.partitions, "partition", "p", nil, "partitions to read, e.g. -p 0,2 (default: all)")
	f.StringVarP(&o.template, "template", "t", "{{.Value}}", "text output: a Go template per record (see above)")
	f.StringVar(&o.isolation, "isolation", "read_uncommitted", "read_committed or read_uncommitted")
	f.StringVarP(&o.group, "group", "g", "", "consume as a member of this consumer group, committing exactly the records printed (-o applies where the group has no committed offset)")
	return cmd
}

func contextOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// parseOffset parses -o: start, end, a non-negative offset, or @ followed by Unix milliseconds.
func parseOffset(spec string) (kgo.Offset, error) {
	switch spec {
	case "start", "beginning":
		return kgo.NewOffset().AtStart(), nil
	case "end":
		return kgo.NewOffset().AtEnd(), nil
	}
	if ms, ok := strings.CutPrefix(spec, "@"); ok {
		ts, err := strconv.ParseInt(ms, 10, 64)
		if err != nil || ts < 0 {
			return kgo.Offset{}, fmt.Errorf("--offset %q: after @ give a timestamp in Unix milliseconds, e.g. @%d", spec, time.Now().UnixMilli())
		}
		return kgo.NewOffset().AfterMilli(ts), nil
	}
	n, err := strconv.ParseInt(spec, 10, 64)
	if err != nil || n < 0 {
		return kgo.Offset{}, fmt.Errorf("--offset %q: use start, end, an offset (0 or more) or @TIMESTAMP", spec)
	}
	return kgo.NewOffset().At(n), nil
}

// consumerOpts turns the flags into client options.
func (o *consumeOptions) consumerOpts(topic string) ([]kgo.Opt, error) {
	offset, err := parseOffset(o.offset)
	if err != nil {
		return nil, err
	}
	var opts []kgo.Opt
	switch o.isolation {
	case "read_committed":
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	case "read_uncommitted":
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
	default:
		return nil, fmt.Errorf("--isolation %q: use read_committed or read_uncommitted", o.isolation)
	}
	if o.group != "" {
		if len(o.partitions) > 0 {
			return nil, errors.New("-p cannot be combined with -g: the group assigns partitions to its members")
		}
		return append(opts, kgo.ConsumerGroup(o.group), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(offset), kgo.DisableAutoCommit()), nil
	}
	if len(o.partitions) == 0 {
		return append(opts, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(offset)), nil
	}
	parts := make(map[int32]kgo.Offset, len(o.partitions))
	for _, p := range o.partitions {
		if p < 0 {
			return nil, fmt.Errorf("--partition %d: partitions are numbered from 0", p)
		}
		parts[p] = offset
	}
	return append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts})), nil
}

// printedRecord is what a template or the JSON output sees of a record.
type printedRecord struct {
	Topic     string          `json:"topic"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	Timestamp time.Time       `json:"-"`
	TimeMs    int64           `json:"timestamp"`
	Key       *string         `json:"key"`
	Value     *string         `json:"value"`
	Headers   []printedHeader `json:"headers"`
}

type printedHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func toPrinted(r *kgo.Record) printedRecord {
	p := printedRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp, TimeMs: r.Timestamp.UnixMilli(),
		Headers: make([]printedHeader, 0, len(r.Headers))}
	if r.Key != nil {
		k := string(r.Key)
		p.Key = &k
	}
	if r.Value != nil {
		v := string(r.Value)
		p.Value = &v
	}
	for _, h := range r.Headers {
		p.Headers = append(p.Headers, printedHeader{Key: h.Key, Value: string(h.Value)})
	}
	return p
}

// recordPrinter writes records in the chosen format.
type recordPrinter struct {
	w    io.Writer
	tmpl *template.Template // nil for JSON
	enc  *json.Encoder
}

func newRecordPrinter(w io.Writer, format, tmpl string) (*recordPrinter, error) {
	if format == "json" {
		return &recordPrinter{w: w, enc: json.NewEncoder(w)}, nil
	}
	// Keys and values print as text; a nil key prints as nothing rather than "<nil>".
	t, err := template.New("record").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return nil, fmt.Errorf("--template: %w", err)
	}
	return &recordPrinter{w: w, tmpl: t}, nil
}

func (p *recordPrinter) print(r *kgo.Record) error {
	pr := toPrinted(r)
	if p.enc != nil {
		return p.enc.Encode(pr)
	}
	view := struct {
		printedRecord
		Key, Value string
	}{printedRecord: pr, Key: string(r.Key), Value: string(r.Value)}
	if err := p.tmpl.Execute(p.w, view); err != nil {
		return fmt.Errorf("--template: %w", err)
	}
	_, err := io.WriteString(p.w, "\n")
	return err
}

// checkTopic fails early, saying what to do, when the topic or a requested partition does not
// exist; the client would otherwise wait for it silently.
func (o *consumeOptions) checkTopic(ctx context.Context, adm *kadm.Client, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return o.explain(err)
	}
	d, ok := md.Topics[topic]
	if !ok || d.Err != nil {
		return missingTopicError(topic, d.Err)
	}
	for _, p := range o.partitions {
		if _, ok := d.Partitions[p]; !ok {
			return fmt.Errorf("topic %s has no partition %d (it has %d; see `sluice topic describe %s`)", topic, p, len(d.Partitions), topic)
		}
	}
	return nil
}

func runConsume(ctx context.Context, o consumeOptions, topic string, out io.Writer) error {
	printer, err := newRecordPrinter(out, o.format, o.template)
	if err != nil {
		return err
	}
	opts, err := o.consumerOpts(topic)
	if err != nil {
		return err
	}
	cl, err := o.client(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := o.checkTopic(ctx, kadm.NewClient(cl), topic); err != nil {
		return err
	}
	var printed int64
	for o.count == 0 || printed < o.count {
		fetches := cl.PollRecords(ctx, int(max(0, o.count-printed)))
		if ctx.Err() != nil {
			return nil // interrupted: a normal way to stop
		}
		var fetchErr error
		fetches.EachError(func(t string, p int32, err error) {
			if fetchErr == nil && !errors.Is(err, context.Canceled) {
				fetchErr = fmt.Errorf("fetch %s partition %d: %w", t, p, o.explain(err))
			}
		})
		if fetchErr != nil {
			return fetchErr
		}
		recs := fetches.Records()
		for i, r := range recs {
			if err := printer.print(r); err != nil {
				return errors.Join(err, o.commit(cl, recs[:i]))
			}
			printed++
		}
		if err := o.commit(cl, recs); err != nil {
			return err
		}
	}
	return nil
}

// commit commits, for -g, exactly the records printed: PollRecords never hands out more than
// -n still allows, so nothing unprinted is committed. It has its own deadline so an interrupt
// still commits what was printed.
func (o *consumeOptions) commit(cl *kgo.Client, printed []*kgo.Record) error {
	if o.group == "" || len(printed) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if err := cl.CommitRecords(ctx, printed...); err != nil {
		return fmt.Errorf("commit offsets of group %s: %w", o.group, o.explain(err))
	}
	return nil
}
