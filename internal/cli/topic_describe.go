package cli

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
)

// topicDescription is what `topic describe` prints for one topic.
type topicDescription struct {
	Topic             string                 `json:"topic"`
	ID                string                 `json:"id"`
	Internal          bool                   `json:"internal"`
	ReplicationFactor int                    `json:"replication_factor"`
	Partitions        []partitionDescription `json:"partitions"`
	Configs           []configEntry          `json:"configs"`
}

type partitionDescription struct {
	Partition   int32   `json:"partition"`
	Leader      int32   `json:"leader"`
	LeaderEpoch int32   `json:"leader_epoch"`
	Replicas    []int32 `json:"replicas"`
	ISR         []int32 `json:"isr"`
	// OfflineReplicas are the replicas on brokers that are fenced or not registered (Metadata's
	// OfflineReplicas).
	OfflineReplicas []int32 `json:"offline_replicas"`
	LogStartOffset  int64   `json:"log_start_offset"`
	LogEndOffset    int64   `json:"log_end_offset"`
	Error           string  `json:"error,omitempty"`
}

// configEntry is one config with where its value comes from (Kafka's source names, e.g.
// DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG).
type configEntry struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Source    string `json:"source"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

func configEntries(cs []kadm.Config) []configEntry {
	out := make([]configEntry, 0, len(cs))
	for _, c := range cs {
		v := c.MaybeValue()
		if c.Sensitive {
			v = "(sensitive)"
		}
		out = append(out, configEntry{Name: c.Key, Value: v, Source: c.Source.String(), Sensitive: c.Sensitive})
	}
	return out
}

func newTopicDescribeCommand() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "describe TOPIC...",
		Short: "Show topics' partitions (leader, replicas, ISR, log start and end offsets) and configs with their sources",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, topics []string) error {
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			descs, err := describeTopics(ctx, adm, topics)
			if err != nil {
				return o.explain(err)
			}
			return printTopicDescriptions(cmd.OutOrStdout(), o.format, descs)
		},
	}
	o.register(cmd, true)
	return cmd
}

func describeTopics(ctx context.Context, adm *kadm.Client, topics []string) ([]topicDescription, error) {
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return nil, err
	}
	for _, name := range topics {
		if d, ok := md.Topics[name]; !ok || d.Err != nil {
			return nil, fmt.Errorf("topic %s: %w (list topics with `sluice topic list`)", name, d.Err)
		}
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("log start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("log end offsets: %w", err)
	}
	configs, err := adm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("topic configs: %w", err)
	}
	out := make([]topicDescription, 0, len(topics))
	for _, name := range topics {
		d := md.Topics[name]
		desc := topicDescription{Topic: name, ID: d.ID.String(), Internal: d.IsInternal}
		for _, p := range d.Partitions.Sorted() {
			pd := partitionDescription{Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, Replicas: p.Replicas, ISR: p.ISR,
				OfflineReplicas: nonNil(p.OfflineReplicas), LogStartOffset: -1, LogEndOffset: -1}
			if p.Err != nil {
				pd.Error = p.Err.Error()
			}
			if o, ok := starts.Lookup(name, p.Partition); ok && o.Err == nil {
				pd.LogStartOffset = o.Offset
			}
			if o, ok := ends.Lookup(name, p.Partition); ok && o.Err == nil {
				pd.LogEndOffset = o.Offset
			}
			desc.ReplicationFactor = max(desc.ReplicationFactor, len(p.Replicas))
			desc.Partitions = append(desc.Partitions, pd)
		}
		rc, err := configs.On(name, nil)
		if err != nil {
			return nil, fmt.Errorf("configs of topic %s: %w", name, err)
		}
		if rc.Err != nil {
			return nil, fmt.Errorf("configs of topic %s: %w", name, rc.Err)
		}
		desc.Configs = configEntries(rc.Configs)
		out = append(out, desc)
	}
	return out, nil
}

func printTopicDescriptions(w io.Writer, format string, descs []topicDescription) error {
	if format == "json" {
		return writeJSON(w, descs)
	}
	for i, d := range descs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "Topic: %s\nID: %s\nPartitions: %d\nReplication factor: %d\n\n", d.Topic, d.ID, len(d.Partitions), d.ReplicationFactor)
		header := []string{"PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "OFFLINE", "LOG-START", "LOG-END"}
		withErrors := slices.ContainsFunc(d.Partitions, func(p partitionDescription) bool { return p.Error != "" })
		if withErrors {
			header = append(header, "ERROR")
		}
		t := newTable(w, header...)
		for _, p := range d.Partitions {
			cells := []any{p.Partition, p.Leader, p.LeaderEpoch, joinIDs(p.Replicas), joinIDs(p.ISR), orDash(joinIDs(p.OfflineReplicas)), p.LogStartOffset, p.LogEndOffset}
			if withErrors {
				cells = append(cells, p.Error)
			}
			t.row(cells...)
		}
		if err := t.flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
		if err := printConfigs(w, d.Configs); err != nil {
			return err
		}
	}
	return nil
}

func printConfigs(w io.Writer, cs []configEntry) error {
	t := newTable(w, "CONFIG", "VALUE", "SOURCE")
	for _, c := range cs {
		t.row(c.Name, c.Value, c.Source)
	}
	return t.flush()
}

// nonNil makes an empty list print as [] rather than null in JSON.
func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}
