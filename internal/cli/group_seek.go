package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// seekTarget is a parsed --to: start, end, an offset, or @ Unix milliseconds.
type seekTarget struct {
	kind string // "start", "end", "offset", "time"
	n    int64  // the offset or the timestamp
}

func parseSeekTarget(spec string) (seekTarget, error) {
	switch spec {
	case "start", "beginning", "earliest":
		return seekTarget{kind: "start"}, nil
	case "end", "latest":
		return seekTarget{kind: "end"}, nil
	case "":
		return seekTarget{}, errors.New("--to: say where to move the group: start, end, an offset or @TIMESTAMP")
	}
	if ms, ok := strings.CutPrefix(spec, "@"); ok {
		ts, err := strconv.ParseInt(ms, 10, 64)
		if err != nil || ts < 0 {
			return seekTarget{}, fmt.Errorf("--to %q: after @ give a timestamp in Unix milliseconds, e.g. @%d", spec, time.Now().UnixMilli())
		}
		return seekTarget{kind: "time", n: ts}, nil
	}
	n, err := strconv.ParseInt(spec, 10, 64)
	if err != nil || n < 0 {
		return seekTarget{}, fmt.Errorf("--to %q: use start, end, an offset (0 or more) or @TIMESTAMP", spec)
	}
	return seekTarget{kind: "offset", n: n}, nil
}

// seekRow is one partition of a seek plan.
type seekRow struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Current   *int64 `json:"current"`
	New       int64  `json:"new"`
}

// seekReport is what `group seek` prints.
type seekReport struct {
	Group     string    `json:"group"`
	To        string    `json:"to"`
	DryRun    bool      `json:"dry_run"`
	Committed bool      `json:"committed"`
	Plan      []seekRow `json:"plan"`
}

func newGroupSeekCommand() *cobra.Command {
	var o clientOptions
	var to string
	var topics []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "seek GROUP --to start|end|OFFSET|@TIMESTAMP",
		Short: "Move a group's committed offsets (the group must have no active members)",
		Long: "Move a group's committed offsets, as kafka-consumer-groups --reset-offsets does.\n\n" +
			"--to start or end moves to each partition's log start or end; an OFFSET is clamped to\n" +
			"[log start, log end]; @TIMESTAMP (Unix milliseconds) moves to the first record at or after\n" +
			"that time (the log end if there is none). By default every topic the group has offsets\n" +
			"for is moved; --topic T moves all partitions of T instead. --dry-run prints the plan\n" +
			"without committing. The group must have no members: stop its consumers first.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := parseSeekTarget(to)
			if err != nil {
				return err
			}
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			rep, err := runGroupSeek(ctx, adm, args[0], target, topics, dryRun)
			if err != nil {
				return o.explain(err)
			}
			rep.To = to
			return printSeekReport(cmd.OutOrStdout(), o.format, rep)
		},
	}
	o.register(cmd, true)
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "where to move: start, end, an offset, or @TIMESTAMP (Unix milliseconds)")
	f.StringArrayVar(&topics, "topic", nil, "move all partitions of this topic (repeatable; default: every topic the group has offsets for)")
	f.BoolVar(&dryRun, "dry-run", false, "print the plan without committing it")
	return cmd
}

// checkGroupInactive refuses to move the offsets of a group that has members: they would
// overwrite the new offsets with their own next commit. A group never seen is inactive.
func checkGroupInactive(ctx context.Context, adm *kadm.Client, group string) error {
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return err
	}
	d := described[group]
	if d.Err != nil && !errors.Is(d.Err, kerr.GroupIDNotFound) {
		return groupError("describe", group, d.Err)
	}
	if len(d.Members) > 0 {
		return fmt.Errorf("group %s has %d active members (state %s): offsets can only be moved while the group is inactive, "+
			"because its members would overwrite them; stop its consumers, check with `sluice group describe %s` that it is Empty, then retry",
			group, len(d.Members), d.State, group)
	}
	return nil
}

func runGroupSeek(ctx context.Context, adm *kadm.Client, group string, target seekTarget, topics []string, dryRun bool) (seekReport, error) {
	rep := seekReport{Group: group, DryRun: dryRun, Plan: []seekRow{}}
	if err := checkGroupInactive(ctx, adm, group); err != nil {
		return rep, err
	}
	commits, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = commits.Error()
	}
	if err != nil {
		return rep, groupError("fetch offsets of", group, err)
	}
	plan, err := planSeek(ctx, adm, group, target, topics, commits)
	if err != nil {
		return rep, err
	}
	rep.Plan = plan
	if dryRun || len(plan) == 0 {
		return rep, nil
	}
	var offsets kadm.Offsets
	for _, r := range plan {
		offsets.Add(kadm.Offset{Topic: r.Topic, Partition: r.Partition, At: r.New, LeaderEpoch: -1})
	}
	resps, err := adm.CommitOffsets(ctx, group, offsets)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		return rep, groupError("commit offsets of", group, err)
	}
	rep.Committed = true
	return rep, nil
}

// planSeek computes the new offset of every partition to move.
func planSeek(ctx context.Context, adm *kadm.Client, group string, target seekTarget, topics []string, commits kadm.OffsetResponses) ([]seekRow, error) {
	parts := make(kadm.TopicsSet)
	if len(topics) == 0 {
		commits.Each(func(o kadm.OffsetResponse) {
			if o.At >= 0 {
				parts.Add(o.Topic, o.Partition)
			}
		})
		if len(parts) == 0 {
			return nil, fmt.Errorf("group %s has no committed offsets: name the topics to move with --topic", group)
		}
		topics = parts.Topics()
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("log start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("log end offsets: %w", err)
	}
	var atTime kadm.ListedOffsets
	if target.kind == "time" {
		if atTime, err = adm.ListOffsetsAfterMilli(ctx, target.n, topics...); err != nil {
			return nil, fmt.Errorf("offsets at %d: %w", target.n, err)
		}
	}
	if len(parts) == 0 { // --topic: every partition of each named topic
		for _, t := range topics {
			ps, ok := ends[t]
			if bad, isBad := ps[-1]; !ok || isBad {
				return nil, missingTopicError(t, bad.Err)
			}
			for p := range ps {
				parts.Add(t, p)
			}
		}
	}
	var plan []seekRow
	for _, tp := range parts.Sorted() {
		for _, p := range tp.Partitions {
			start, okS := starts.Lookup(tp.Topic, p)
			end, okE := ends.Lookup(tp.Topic, p)
			if !okS || !okE || start.Err != nil || end.Err != nil {
				return nil, fmt.Errorf("topic %s partition %d: cannot list its offsets (%v) (see `sluice topic describe %s`)",
					tp.Topic, p, errors.Join(start.Err, end.Err), tp.Topic)
			}
			row := seekRow{Topic: tp.Topic, Partition: p}
			if c, ok := commits.Lookup(tp.Topic, p); ok && c.At >= 0 {
				at := c.At
				row.Current = &at
			}
			switch target.kind {
			case "start":
				row.New = start.Offset
			case "end":
				row.New = end.Offset
			case "offset":
				row.New = min(max(target.n, start.Offset), end.Offset)
			case "time":
				o, ok := atTime.Lookup(tp.Topic, p)
				if !ok || o.Err != nil || o.Offset < 0 {
					row.New = end.Offset
				} else {
					row.New = o.Offset
				}
			}
			plan = append(plan, row)
		}
	}
	slices.SortFunc(plan, func(a, b seekRow) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return plan, nil
}

func printSeekReport(w io.Writer, format string, rep seekReport) error {
	if format == "json" {
		return writeJSON(w, rep)
	}
	t := newTable(w, "TOPIC", "PARTITION", "CURRENT", "NEW")
	for _, r := range rep.Plan {
		t.row(r.Topic, r.Partition, optOffset(r.Current), r.New)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if rep.DryRun {
		fmt.Fprintf(w, "dry run: nothing committed (run again without --dry-run to move group %s)\n", rep.Group)
		return nil
	}
	noun := "partitions"
	if len(rep.Plan) == 1 {
		noun = "partition"
	}
	fmt.Fprintf(w, "moved group %s to %s on %d %s\n", rep.Group, rep.To, len(rep.Plan), noun)
	return nil
}
