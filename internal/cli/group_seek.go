package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/groupseek"
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
type seekRow = groupseek.Row

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
	plan, err := groupseek.Plan(ctx, adm, groupseek.Target{Kind: groupseek.Kind(target.kind), N: target.n}, topics, -1, commits)
	if err != nil {
		return rep, seekPlanError(group, err)
	}
	rep.Plan = plan
	if dryRun || len(plan) == 0 {
		return rep, nil
	}
	if err := groupseek.Commit(ctx, adm, group, plan); err != nil {
		return rep, groupError("commit offsets of", group, err)
	}
	rep.Committed = true
	return rep, nil
}

// seekPlanError says what to do about a plan that could not be made.
func seekPlanError(group string, err error) error {
	var te *groupseek.TopicError
	switch {
	case errors.Is(err, groupseek.ErrNoCommits):
		return fmt.Errorf("group %s has no committed offsets: name the topics to move with --topic", group)
	case errors.As(err, &te) && te.Partition < 0:
		return missingTopicError(te.Topic, te.Err)
	case errors.As(err, &te):
		return fmt.Errorf("%w (see `sluice topic describe %s`)", te, te.Topic)
	}
	return err
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
