package cli

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func newTopicCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "topic", Short: "Create, list, describe, delete and configure topics"}
	cmd.AddCommand(newTopicCreateCommand(), newTopicListCommand(), newTopicDescribeCommand(),
		newTopicDeleteCommand(), newTopicAlterConfigCommand(), newTopicAddPartitionsCommand(),
		newTopicReassignCommand(), newTopicElectLeadersCommand())
	return cmd
}

// topicResultError turns a per-topic error from the cluster into one that names the topic.
func topicResultError(verb, topic string, err error, msg string) error {
	if err == nil {
		return nil
	}
	if msg != "" {
		return fmt.Errorf("%s topic %s: %w: %s", verb, topic, err, msg)
	}
	return fmt.Errorf("%s topic %s: %w", verb, topic, err)
}

func newTopicCreateCommand() *cobra.Command {
	var o clientOptions
	var partitions int32
	var replicas int16
	var configs []string
	var ifNotExists bool
	cmd := &cobra.Command{
		Use:   "create TOPIC...",
		Short: "Create topics",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, topics []string) error {
			cfg, err := parseKeyValues("--config", configs)
			if err != nil {
				return err
			}
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			ptrs := make(map[string]*string, len(cfg))
			for k, v := range cfg {
				ptrs[k] = &v
			}
			resps, err := adm.CreateTopics(ctx, partitions, replicas, ptrs, topics...)
			if err != nil {
				return o.explain(err)
			}
			var errs []error
			for _, r := range resps.Sorted() {
				if ifNotExists && errors.Is(r.Err, kerr.TopicAlreadyExists) {
					fmt.Fprintf(cmd.OutOrStdout(), "topic %s already exists\n", r.Topic)
					continue
				}
				if err := topicResultError("create", r.Topic, r.Err, r.ErrMessage); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created topic %s: %d partitions, replication factor %d\n", r.Topic, r.NumPartitions, r.ReplicationFactor)
			}
			return errors.Join(errs...)
		},
	}
	o.register(cmd, false)
	f := cmd.Flags()
	f.Int32VarP(&partitions, "partitions", "p", -1, "number of partitions (-1: the broker's num.partitions)")
	f.Int16VarP(&replicas, "replicas", "r", -1, "replication factor (-1: the broker's default.replication.factor)")
	f.StringArrayVarP(&configs, "config", "c", nil, "topic config key=value (repeatable), e.g. -c retention.ms=86400000")
	f.BoolVar(&ifNotExists, "if-not-exists", false, "a topic that already exists is not an error (as kafka-topics.sh --if-not-exists); its settings are left as they are")
	return cmd
}

// topicSummary is one row of `topic list`.
type topicSummary struct {
	Topic             string `json:"topic"`
	ID                string `json:"id"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
	Internal          bool   `json:"internal"`
}

func newTopicListCommand() *cobra.Command {
	var o clientOptions
	var internal bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List topics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			list := adm.ListTopics
			if internal {
				list = adm.ListTopicsWithInternal
			}
			details, err := list(ctx)
			if err != nil {
				return o.explain(err)
			}
			rows := make([]topicSummary, 0, len(details))
			for _, d := range details.Sorted() {
				rf := 0
				if p, ok := d.Partitions[0]; ok {
					rf = len(p.Replicas)
				}
				rows = append(rows, topicSummary{Topic: d.Topic, ID: d.ID.String(), Partitions: len(d.Partitions), ReplicationFactor: rf, Internal: d.IsInternal})
			}
			return printTopicList(cmd.OutOrStdout(), o.format, rows)
		},
	}
	o.register(cmd, true)
	cmd.Flags().BoolVar(&internal, "internal", false, "include internal topics")
	return cmd
}

func printTopicList(w io.Writer, format string, rows []topicSummary) error {
	if format == "json" {
		return writeJSON(w, rows)
	}
	t := newTable(w, "TOPIC", "PARTITIONS", "REPLICATION-FACTOR", "ID")
	for _, r := range rows {
		t.row(r.Topic, r.Partitions, r.ReplicationFactor, r.ID)
	}
	return t.flush()
}

func newTopicDeleteCommand() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "delete TOPIC...",
		Short: "Delete topics and their data",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, topics []string) error {
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resps, err := adm.DeleteTopics(ctx, topics...)
			if err != nil {
				return o.explain(err)
			}
			var errs []error
			for _, r := range resps.Sorted() {
				if err := topicResultError("delete", r.Topic, r.Err, r.ErrMessage); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted topic %s\n", r.Topic)
			}
			return errors.Join(errs...)
		},
	}
	o.register(cmd, false)
	return cmd
}

func newTopicAlterConfigCommand() *cobra.Command {
	var o clientOptions
	var set, del []string
	cmd := &cobra.Command{
		Use:   "alter-config TOPIC... [--set key=value]... [--delete key]...",
		Short: "Set or remove topic config overrides",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, topics []string) error {
			alters, err := topicAlterations(set, del)
			if err != nil {
				return err
			}
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resps, err := adm.AlterTopicConfigs(ctx, alters, topics...)
			if err != nil {
				return o.explain(err)
			}
			sort.Slice(resps, func(i, j int) bool { return resps[i].Name < resps[j].Name })
			var errs []error
			for _, r := range resps {
				if err := topicResultError("alter configs of", r.Name, r.Err, r.ErrMessage); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "altered configs of topic %s\n", r.Name)
			}
			return errors.Join(errs...)
		},
	}
	o.register(cmd, false)
	f := cmd.Flags()
	f.StringArrayVarP(&set, "set", "c", nil, "set a config: key=value (repeatable)")
	f.StringArrayVar(&del, "delete", nil, "remove a config override, back to the broker's default (repeatable)")
	return cmd
}

// topicAlterations turns --set and --delete into incremental alter operations.
func topicAlterations(set, del []string) ([]kadm.AlterConfig, error) {
	if len(set) == 0 && len(del) == 0 {
		return nil, errors.New("nothing to change: pass --set key=value or --delete key")
	}
	kv, err := parseKeyValues("--set", set)
	if err != nil {
		return nil, err
	}
	var out []kadm.AlterConfig
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := kv[k]
		out = append(out, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: &v})
	}
	for _, k := range del {
		out = append(out, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	return out, nil
}

func newTopicAddPartitionsCommand() *cobra.Command {
	var o clientOptions
	var add int
	cmd := &cobra.Command{
		Use:   "add-partitions TOPIC... --count N",
		Short: "Add partitions to topics (records keep their partitions; keyed records may map elsewhere from now on)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, topics []string) error {
			if add < 1 {
				return errors.New("--count: pass the number of partitions to add (at least 1)")
			}
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resps, err := adm.CreatePartitions(ctx, add, topics...)
			if err != nil {
				return o.explain(err)
			}
			var errs []error
			for _, r := range resps.Sorted() {
				if err := topicResultError("add partitions to", r.Topic, r.Err, r.ErrMessage); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added %d partitions to topic %s\n", add, r.Topic)
			}
			return errors.Join(errs...)
		},
	}
	o.register(cmd, false)
	cmd.Flags().IntVarP(&add, "count", "n", 0, "number of partitions to add")
	return cmd
}
