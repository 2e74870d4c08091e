package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
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
	var cancelIt, list, noRFChange, verify bool
	var throttle int64
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
			for _, on := range []bool{replicas != "" && !verify, cancelIt && file == "", list, file != "" && !verify, verify} {
				if on {
					modes++
				}
			}
			if modes != 1 {
				return errors.New("pass exactly one of --replicas, --cancel, --list, --verify or --reassignment-json-file (with --cancel to cancel the file's partitions)")
			}
			if throttle < 0 || throttle > 0 && (cancelIt || list || verify) {
				return errors.New("--throttle: a rate in bytes per second, with the moves it applies to")
			}
			if list {
				return listReassignments(cmd, &o, topic, partitions)
			}
			var req kadm.AlterPartitionAssignmentsReq
			if verify && file == "" && replicas == "" {
				return errors.New("--verify: give the moves, with --reassignment-json-file or --topic, --partition and --replicas")
			}
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
			adm, ctx, done, err := adminClient(cmd.Context(), &o)
			if err != nil {
				return err
			}
			defer done()
			if verify {
				return verifyReassignments(ctx, cmd.OutOrStdout(), &o, adm, req)
			}
			if throttle > 0 {
				if err := throttleMoves(ctx, cmd.OutOrStdout(), &o, adm, req, throttle); err != nil {
					return err
				}
			}
			if noRFChange {
				ctx = kadm.ForbidAlterRf(ctx)
			}
			var resps kadm.AlterPartitionAssignmentsResponses
			err = retryNotController(ctx, func() error {
				var err error
				if resps, err = adm.AlterPartitionAssignments(ctx, req); err == nil && errors.Is(resps.Error(), kerr.NotController) {
					return resps.Error()
				}
				return err
			})
			if err != nil && !errors.Is(err, kerr.NotController) {
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
	f.Int64Var(&throttle, "throttle", 0, "limit the copying of the moved partitions to this many bytes per second (per broker, leader and follower side); --verify removes it")
	f.BoolVar(&verify, "verify", false, "report whether the given moves are complete; once all are, remove the throttles --throttle set")
	return cmd
}

// throttleMoves sets Kafka's reassignment throttle for the moves of req: on each topic, the
// partitions' current replicas as leader.replication.throttled.replicas and the replicas being
// added as follower.replication.throttled.replicas (appended to what is there), and on every
// broker involved leader.replication.throttled.rate and follower.replication.throttled.rate.
// Only replicas out of the ISR are throttled, so in-sync traffic is never slowed.
func throttleMoves(ctx context.Context, w io.Writer, o *clientOptions, adm *kadm.Client, req kadm.AlterPartitionAssignmentsReq, rate int64) error {
	topics := make([]string, 0, len(req))
	for t := range req {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	md, err := knownMetadata(ctx, adm, topics...)
	if err != nil {
		return o.explain(err)
	}
	brokers := map[int32]bool{}
	for _, topic := range topics {
		td, ok := md.Topics[topic]
		if !ok || td.Err != nil {
			return missingTopicError(topic, td.Err)
		}
		var leaders, followers []string
		for p, target := range req[topic] {
			pd, ok := td.Partitions[p]
			if !ok {
				return fmt.Errorf("topic %s has no partition %d", topic, p)
			}
			for _, b := range pd.Replicas {
				leaders = append(leaders, fmt.Sprintf("%d:%d", p, b))
				brokers[b] = true
			}
			for _, b := range target {
				if !slices.Contains(pd.Replicas, b) {
					followers = append(followers, fmt.Sprintf("%d:%d", p, b))
				}
				brokers[b] = true
			}
		}
		sort.Strings(leaders)
		sort.Strings(followers)
		alter := []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "leader.replication.throttled.replicas", Value: kadm.StringPtr(strings.Join(leaders, ","))}}
		if len(followers) > 0 {
			alter = append(alter, kadm.AlterConfig{Op: kadm.AppendConfig, Name: "follower.replication.throttled.replicas", Value: kadm.StringPtr(strings.Join(followers, ","))})
		}
		if err := retryNotController(ctx, func() error { return configResult(adm.AlterTopicConfigs(ctx, alter, topic)) }); err != nil {
			return fmt.Errorf("throttle topic %s: %w", topic, o.explain(err))
		}
	}
	ids := make([]int32, 0, len(brokers))
	for b := range brokers {
		ids = append(ids, b)
	}
	slices.Sort(ids)
	v := strconv.FormatInt(rate, 10)
	rates := []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "leader.replication.throttled.rate", Value: &v},
		{Op: kadm.SetConfig, Name: "follower.replication.throttled.rate", Value: &v}}
	if err := retryNotController(ctx, func() error { return configResult(adm.AlterBrokerConfigs(ctx, rates, ids...)) }); err != nil {
		return fmt.Errorf("throttle brokers %s: %w", joinIDs(ids), o.explain(err))
	}
	fmt.Fprintf(w, "throttled the moves to %d B/s on brokers %s; once they are done, `sluice topic reassign --verify` with the same moves removes the throttle\n", rate, joinIDs(ids))
	return nil
}

// verifyReassignments reports each move of req as in progress, complete (the partition's
// replicas are the target) or not at its target; when every one is complete it removes the
// throttles of throttleMoves from the topics and from every broker.
func verifyReassignments(ctx context.Context, w io.Writer, o *clientOptions, adm *kadm.Client, req kadm.AlterPartitionAssignmentsReq) error {
	set := kadm.TopicsSet{}
	topics := make([]string, 0, len(req))
	for t, ps := range req {
		topics = append(topics, t)
		for p := range ps {
			set.Add(t, p)
		}
	}
	sort.Strings(topics)
	ongoing, err := adm.ListPartitionReassignments(ctx, set)
	if err != nil {
		return o.explain(err)
	}
	md, err := knownMetadata(ctx, adm, topics...)
	if err != nil {
		return o.explain(err)
	}
	done := true
	for _, topic := range topics {
		parts := make([]int32, 0, len(req[topic]))
		for p := range req[topic] {
			parts = append(parts, p)
		}
		slices.Sort(parts)
		for _, p := range parts {
			target := req[topic][p]
			current := md.Topics[topic].Partitions[p].Replicas
			switch _, moving := ongoing[topic][p]; {
			case moving:
				done = false
				fmt.Fprintf(w, "%s-%d: in progress (replicas %s)\n", topic, p, joinIDs(ongoing[topic][p].Replicas))
			case target != nil && slices.Equal(current, target):
				fmt.Fprintf(w, "%s-%d: complete\n", topic, p)
			default:
				done = false
				fmt.Fprintf(w, "%s-%d: not moving, replicas %s instead of %s\n", topic, p, joinIDs(current), joinIDs(target))
			}
		}
	}
	if !done {
		return nil
	}
	del := []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "leader.replication.throttled.replicas"},
		{Op: kadm.DeleteConfig, Name: "follower.replication.throttled.replicas"}}
	if err := retryNotController(ctx, func() error { return configResult(adm.AlterTopicConfigs(ctx, del, topics...)) }); err != nil {
		return fmt.Errorf("remove the topics' throttles: %w", o.explain(err))
	}
	ids := make([]int32, 0, len(md.Brokers))
	for _, b := range md.Brokers {
		ids = append(ids, b.NodeID)
	}
	slices.Sort(ids)
	rates := []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "leader.replication.throttled.rate"},
		{Op: kadm.DeleteConfig, Name: "follower.replication.throttled.rate"}}
	if err := retryNotController(ctx, func() error { return configResult(adm.AlterBrokerConfigs(ctx, rates, ids...)) }); err != nil {
		return fmt.Errorf("remove the brokers' throttles: %w", o.explain(err))
	}
	fmt.Fprintln(w, "throttles removed")
	return nil
}

// knownMetadata is Metadata for topics, asked again (10 times, 200 ms apart) while one of them
// is unknown: the broker answering may not have applied a topic created a moment ago. The admin
// client must have a short metadata cache (adminClient), or it would answer from it.
func knownMetadata(ctx context.Context, adm *kadm.Client, topics ...string) (kadm.Metadata, error) {
	for attempt := 1; ; attempt++ {
		md, err := adm.Metadata(ctx, topics...)
		if err != nil {
			return md, err
		}
		known := true
		for _, topic := range topics {
			if td, ok := md.Topics[topic]; !ok || td.Err != nil {
				known = false
			}
		}
		if known || attempt == 10 {
			return md, nil
		}
		select {
		case <-ctx.Done():
			return md, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// adminClient is clientOptions.admin with a metadata cache of 100 ms, for knownMetadata.
func adminClient(parent context.Context, o *clientOptions) (adm *kadm.Client, ctx context.Context, done func(), err error) {
	cl, err := o.client(kgo.MetadataMinAge(100 * time.Millisecond))
	if err != nil {
		return nil, nil, nil, err
	}
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, o.timeout)
	return kadm.NewClient(cl), ctx, func() { cancel(); cl.Close() }, nil
}

// retryNotController runs f again (up to 5 times, 200 ms apart) while it fails with
// NOT_CONTROLLER: the controller moved while the request was forwarded; the operations here
// are idempotent, so asking again is safe.
func retryNotController(ctx context.Context, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !errors.Is(err, kerr.NotController) || attempt == 5 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// configResult is the first error of an alter-configs call.
func configResult(rs kadm.AlterConfigsResponses, err error) error {
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Err != nil {
			if r.ErrMessage != "" {
				return fmt.Errorf("%s: %w: %s", r.Name, r.Err, r.ErrMessage)
			}
			return fmt.Errorf("%s: %w", r.Name, r.Err)
		}
	}
	return nil
}

// listReassignments prints the reassignments in progress: all of them, or those of topic
// (and partitions).
func listReassignments(cmd *cobra.Command, o *clientOptions, topic string, partitions []int32) error {
	cl, err := o.client(kgo.MetadataMinAge(100 * time.Millisecond))
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
			md, err := knownMetadata(ctx, kadm.NewClient(cl), topic)
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
			adm, ctx, done, err := adminClient(cmd.Context(), &o)
			if err != nil {
				return err
			}
			defer done()
			var set kadm.TopicsSet
			if topic != "" {
				ps := partitions
				if len(ps) == 0 {
					md, err := knownMetadata(ctx, adm, topic)
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
			var res kadm.ElectLeadersResults
			err = retryNotController(ctx, func() error {
				var err error
				if res, err = adm.ElectLeaders(ctx, how, set); err == nil {
					for _, ps := range res {
						for _, r := range ps {
							if errors.Is(r.Err, kerr.NotController) {
								return r.Err
							}
						}
					}
				}
				return err
			})
			if err != nil && !errors.Is(err, kerr.NotController) {
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
