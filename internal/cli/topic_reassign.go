package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// reassignmentFile is kafka-reassign-partitions' --reassignment-json-file format (log_dirs is
// accepted and ignored: Sluice has one log directory per broker).
type reassignmentFile struct {
	Version    int `json:"version"`
	Partitions []struct {
		Topic     string   `json:"topic"`
		Partition *int32   `json:"partition"`
		Replicas  []int32  `json:"replicas"`
		LogDirs   []string `json:"log_dirs,omitempty"`
	} `json:"partitions"`
}

// readReassignmentFile parses a reassignment JSON file into a request; with cancel, the
// partitions it names are cancelled instead.
func readReassignmentFile(r io.Reader, cancel bool) (kadm.AlterPartitionAssignmentsReq, error) {
	var f reassignmentFile
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("reassignment file: %w", err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("reassignment file: version %d; only version 1 is known", f.Version)
	}
	if len(f.Partitions) == 0 {
		return nil, errors.New("reassignment file: no partitions")
	}
	var req kadm.AlterPartitionAssignmentsReq
	for i, p := range f.Partitions {
		if p.Topic == "" || p.Partition == nil {
			return nil, fmt.Errorf("reassignment file: partition entry %d needs a topic and a partition", i)
		}
		if cancel {
			req.CancelAssign(p.Topic, *p.Partition)
			continue
		}
		if len(p.Replicas) == 0 {
			return nil, fmt.Errorf("reassignment file: %s-%d has no replicas", p.Topic, *p.Partition)
		}
		req.Assign(p.Topic, *p.Partition, p.Replicas)
	}
	return req, nil
}

// parseBrokerList parses "1,2,3" into broker ids.
func parseBrokerList(s string) ([]int32, error) {
	var out []int32
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		id, err := strconv.ParseInt(f, 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("--replicas %q: use broker ids separated by commas, e.g. 1,2,3", s)
		}
		out = append(out, int32(id))
	}
	return out, nil
}

// reassignmentRow is one row of `topic reassign --list`.
type reassignmentRow struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas"`
	Adding    []int32 `json:"adding_replicas"`
	Removing  []int32 `json:"removing_replicas"`
}

func newTopicReassignCommand() *cobra.Command {
	var o clientOptions
	var topic, replicas, file string
	var partitions []int32
	var cancelIt, list, noRFChange bool
	cmd := &cobra.Command{
		Use:   "reassign --topic T --partition P... --replicas 1,2,3 | --cancel | --list | --reassignment-json-file FILE",
		Short: "Move partitions to other brokers, cancel a move, or list the moves in progress",
		Long: "Moves partitions to a new replica list (KIP-455): the new replicas copy the partition from its\n" +
			"leader, and once all of them are in sync the old ones are dropped (the first replica is the\n" +
			"preferred leader). --cancel reverts moves in progress; --list shows them (all, or --topic's).\n" +
			"--reassignment-json-file takes kafka-reassign-partitions' JSON format.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			modes := 0
			for _, on := range []bool{replicas != "", cancelIt && file == "", list, file != ""} {
				if on {
					modes++
				}
			}
			if modes != 1 {
				return errors.New("pass exactly one of --replicas, --cancel, --list or --reassignment-json-file (with --cancel to cancel the file's partitions)")
			}
			if list {
				return listReassignments(cmd, &o, topic, partitions)
			}
			var req kadm.AlterPartitionAssignmentsReq
			if file != "" {
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				req, err = readReassignmentFile(f, cancelIt)
				f.Close()
				if err != nil {
					return err
				}
			} else {
				if topic == "" || len(partitions) == 0 {
					return errors.New("--topic and --partition are required")
				}
				var target []int32
				if !cancelIt {
					var err error
					if target, err = parseBrokerList(replicas); err != nil {
						return err
					}
				}
				for _, p := range partitions {
					req.Assign(topic, p, target)
				}
			}
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if noRFChange {
				ctx = kadm.ForbidAlterRf(ctx)
			}
			resps, err := adm.AlterPartitionAssignments(ctx, req)
			if err != nil {
				return o.explain(err)
			}
			var errs []error
			for _, r := range resps.Sorted() {
				if r.Err != nil {
					msg := r.ErrMessage
					if msg == "" {
						msg = r.Err.Error()
					}
					errs = append(errs, fmt.Errorf("%s-%d: %s", r.Topic, r.Partition, msg))
					continue
				}
				if target := req[r.Topic][r.Partition]; target == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "cancelled the reassignment of %s-%d\n", r.Topic, r.Partition)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "reassigning %s-%d to replicas %s\n", r.Topic, r.Partition, joinIDs(target))
				}
			}
			return errors.Join(errs...)
		},
	}
	o.register(cmd, true)
	f := cmd.Flags()
	f.StringVarP(&topic, "topic", "t", "", "topic to reassign (or to list, with --list)")
	f.Int32SliceVarP(&partitions, "partition", "p", nil, "partitions of --topic (comma-separated or repeated)")
	f.StringVar(&replicas, "replicas", "", "target broker ids, the first the preferred leader, e.g. 1,2,3")
	f.BoolVar(&cancelIt, "cancel", false, "cancel the reassignments of the given partitions (or of the file's)")
	f.BoolVar(&list, "list", false, "list the reassignments in progress")
	f.StringVar(&file, "reassignment-json-file", "", `JSON file of moves: {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}`)
	f.BoolVar(&noRFChange, "disallow-replication-factor-change", false, "refuse moves that change a partition's replication factor (KIP-860)")
	return cmd
}

// listReassignments prints the reassignments in progress: all of them, or those of topic
// (and partitions).
func listReassignments(cmd *cobra.Command, o *clientOptions, topic string, partitions []int32) error {
	cl, err := o.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, o.timeout)
	defer cancel()
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	req.TimeoutMillis = int32(o.timeout.Milliseconds())
	if topic != "" {
		rt := kmsg.NewListPartitionReassignmentsRequestTopic()
		rt.Topic, rt.Partitions = topic, partitions
		if len(partitions) == 0 {
			// No partitions named: every partition of the topic.
			adm := kadm.NewClient(cl)
			md, err := adm.Metadata(ctx, topic)
			if err != nil {
				return o.explain(err)
			}
			td, ok := md.Topics[topic]
			if !ok || td.Err != nil {
				return missingTopicError(topic, td.Err)
			}
			for p := range td.Partitions {
				rt.Partitions = append(rt.Partitions, p)
			}
			sort.Slice(rt.Partitions, func(i, j int) bool { return rt.Partitions[i] < rt.Partitions[j] })
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return o.explain(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		if resp.ErrorMessage != nil {
			return fmt.Errorf("list reassignments: %w: %s", err, *resp.ErrorMessage)
		}
		return fmt.Errorf("list reassignments: %w", err)
	}
	rows := []reassignmentRow{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			rows = append(rows, reassignmentRow{Topic: t.Topic, Partition: p.Partition, Replicas: nonNil(p.Replicas),
				Adding: nonNil(p.AddingReplicas), Removing: nonNil(p.RemovingReplicas)})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].Topic < rows[j].Topic || rows[i].Topic == rows[j].Topic && rows[i].Partition < rows[j].Partition
	})
	w := cmd.OutOrStdout()
	if o.format == "json" {
		return writeJSON(w, rows)
	}
	t := newTable(w, "TOPIC", "PARTITION", "REPLICAS", "ADDING", "REMOVING")
	for _, r := range rows {
		t.row(r.Topic, r.Partition, joinIDs(r.Replicas), joinIDs(r.Adding), joinIDs(r.Removing))
	}
	return t.flush()
}

func newTopicElectLeadersCommand() *cobra.Command {
	var o clientOptions
	var topic, typ string
	var partitions []int32
	cmd := &cobra.Command{
		Use:   "elect-leaders [--topic T [--partition P...]] [--type preferred|unclean]",
		Short: "Elect partition leaders: the preferred replica, or (unclean) any live replica of a leaderless partition",
		Long: "preferred (default): each partition's first replica becomes leader if it is alive and in sync.\n" +
			"unclean: a partition without a leader takes an in-sync replica, else any live replica, which can lose\n" +
			"acknowledged records. Without --topic, every partition of the cluster.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var how kadm.ElectLeadersHow
			switch typ {
			case "preferred":
				how = kadm.ElectPreferredReplica
			case "unclean":
				how = kadm.ElectLiveReplica
			default:
				return fmt.Errorf("--type %q: use preferred or unclean", typ)
			}
			if topic == "" && len(partitions) > 0 {
				return errors.New("--partition needs --topic")
			}
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			var set kadm.TopicsSet
			if topic != "" {
				ps := partitions
				if len(ps) == 0 {
					md, err := adm.Metadata(ctx, topic)
					if err != nil {
						return o.explain(err)
					}
					td, ok := md.Topics[topic]
					if !ok || td.Err != nil {
						return missingTopicError(topic, td.Err)
					}
					for p := range td.Partitions {
						ps = append(ps, p)
					}
				}
				set = kadm.TopicsSet{}
				set.Add(topic, ps...)
			}
			res, err := adm.ElectLeaders(ctx, how, set)
			if err != nil {
				return o.explain(err)
			}
			var all []kadm.ElectLeadersResult
			for _, ps := range res {
				for _, r := range ps {
					all = append(all, r)
				}
			}
			sort.Slice(all, func(i, j int) bool {
				return all[i].Topic < all[j].Topic || all[i].Topic == all[j].Topic && all[i].Partition < all[j].Partition
			})
			var errs []error
			out := cmd.OutOrStdout()
			for _, r := range all {
				switch {
				case r.Err == nil:
					fmt.Fprintf(out, "elected a new leader for %s-%d\n", r.Topic, r.Partition)
				case errors.Is(r.Err, kerr.ElectionNotNeeded):
					fmt.Fprintf(out, "%s-%d: no election needed\n", r.Topic, r.Partition)
				default:
					msg := r.ErrMessage
					if msg == "" {
						msg = r.Err.Error()
					}
					errs = append(errs, fmt.Errorf("%s-%d: %s", r.Topic, r.Partition, msg))
				}
			}
			if len(all) == 0 {
				fmt.Fprintln(out, "no partition needed an election")
			}
			return errors.Join(errs...)
		},
	}
	o.register(cmd, false)
	f := cmd.Flags()
	f.StringVarP(&topic, "topic", "t", "", "topic whose partitions to elect (default: every partition)")
	f.Int32SliceVarP(&partitions, "partition", "p", nil, "partitions of --topic (comma-separated or repeated; default: all)")
	f.StringVar(&typ, "type", "preferred", "election type: preferred or unclean")
	return cmd
}
