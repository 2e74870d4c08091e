package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func newGroupCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "List, describe, inspect the lag of, move the offsets of and delete consumer and share groups"}
	cmd.AddCommand(newGroupListCommand(), newGroupDescribeCommand(), newGroupLagCommand(), newGroupSeekCommand(), newGroupDeleteCommand())
	return cmd
}

// groupSummary is one row of `group list`.
type groupSummary struct {
	Group        string `json:"group"`
	Type         string `json:"type"` // classic, consumer or share ("" when the cluster cannot tell)
	State        string `json:"state"`
	ProtocolType string `json:"protocol_type"`
}

func newGroupListCommand() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List consumer and share groups with their type, state and protocol type",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			listed, err := adm.ListGroups(ctx)
			if err != nil {
				return o.explain(err)
			}
			types := groupTypes(ctx, adm)
			rows := make([]groupSummary, 0, len(listed))
			for _, g := range listed.Sorted() {
				rows = append(rows, groupSummary{Group: g.Group, Type: types[g.Group], State: g.State, ProtocolType: g.ProtocolType})
			}
			if o.format == "json" {
				return writeJSON(cmd.OutOrStdout(), rows)
			}
			t := newTable(cmd.OutOrStdout(), "GROUP", "TYPE", "STATE", "PROTOCOL-TYPE")
			for _, r := range rows {
				t.row(r.Group, orDash(r.Type), r.State, orDash(r.ProtocolType))
			}
			return t.flush()
		},
	}
	o.register(cmd, true)
	return cmd
}

// groupDescription is what `group describe` prints for one group.
type groupDescription struct {
	Group        string         `json:"group"`
	State        string         `json:"state"`
	ProtocolType string         `json:"protocol_type"`
	Protocol     string         `json:"protocol"`
	Members      []groupMember  `json:"members"`
	Offsets      []partitionLag `json:"offsets"`
	TotalLag     int64          `json:"total_lag"`
}

type groupMember struct {
	MemberID   string          `json:"member_id"`
	InstanceID string          `json:"instance_id,omitempty"`
	ClientID   string          `json:"client_id"`
	Host       string          `json:"host"`
	Assignment []assignedTopic `json:"assignment"`
}

type assignedTopic struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
}

// partitionLag is one partition a group consumes or has committed: committed is nil where the
// group has no offset (lag unknown, as Kafka's tools print "-").
type partitionLag struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed *int64 `json:"committed"`
	LogEnd    int64  `json:"log_end"`
	Lag       *int64 `json:"lag"`
	Member    string `json:"member,omitempty"`
	Error     string `json:"error,omitempty"`
}

// groupError turns a per-group error from the cluster into one that says what to do.
func groupError(verb, group string, err error) error {
	switch {
	case errors.Is(err, kerr.GroupIDNotFound):
		return fmt.Errorf("%s group %s: %w (list groups with `sluice group list`)", verb, group, err)
	case errors.Is(err, kerr.NonEmptyGroup):
		return fmt.Errorf("%s group %s: %w (the group has members: stop its consumers, then retry)", verb, group, err)
	}
	return fmt.Errorf("%s group %s: %w", verb, group, err)
}

// describeGroup describes one group with its members, committed offsets and lag.
func describeGroup(ctx context.Context, adm *kadm.Client, group string) (groupDescription, error) {
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return groupDescription{}, err
	}
	d, ok := described[group]
	if !ok {
		return groupDescription{}, groupError("describe", group, errors.New("missing from the answer"))
	}
	if d.Err != nil {
		return groupDescription{}, groupError("describe", group, d.Err)
	}
	desc := groupDescription{Group: group, State: d.State, ProtocolType: d.ProtocolType, Protocol: d.Protocol, Members: []groupMember{}}
	owner := make(map[string]map[int32]string)
	for _, m := range d.Members {
		gm := groupMember{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, Assignment: []assignedTopic{}}
		if m.InstanceID != nil {
			gm.InstanceID = *m.InstanceID
		}
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range c.Topics {
				ps := slices.Clone(t.Partitions)
				slices.Sort(ps)
				gm.Assignment = append(gm.Assignment, assignedTopic{Topic: t.Topic, Partitions: ps})
				for _, p := range ps {
					if owner[t.Topic] == nil {
						owner[t.Topic] = make(map[int32]string)
					}
					owner[t.Topic][p] = m.MemberID
				}
			}
			slices.SortFunc(gm.Assignment, func(a, b assignedTopic) int { return strings.Compare(a.Topic, b.Topic) })
		}
		desc.Members = append(desc.Members, gm)
	}
	slices.SortFunc(desc.Members, func(a, b groupMember) int { return strings.Compare(a.MemberID, b.MemberID) })
	desc.Offsets, desc.TotalLag, err = groupLag(ctx, adm, group, d.AssignedPartitions())
	if err != nil {
		return groupDescription{}, err
	}
	for i := range desc.Offsets {
		r := &desc.Offsets[i]
		r.Member = owner[r.Topic][r.Partition]
	}
	return desc, nil
}

// groupLag lists every partition the group is assigned or has an offset for, sorted by topic
// and partition, with its committed offset, log end offset (high watermark) and lag, and the
// sum of the known lags.
func groupLag(ctx context.Context, adm *kadm.Client, group string, assigned kadm.TopicsSet) ([]partitionLag, int64, error) {
	commits, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, 0, groupError("fetch offsets of", group, err)
	}
	if err := commits.Error(); err != nil {
		return nil, 0, groupError("fetch offsets of", group, err)
	}
	parts := commits.Partitions()
	parts.Merge(assigned)
	rows := []partitionLag{}
	topics := parts.Topics()
	if len(topics) == 0 {
		return rows, 0, nil
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, 0, fmt.Errorf("log end offsets: %w", err)
	}
	var total int64
	for _, tp := range parts.Sorted() {
		for _, p := range tp.Partitions {
			row := partitionLag{Topic: tp.Topic, Partition: p, LogEnd: -1}
			end, ok := ends.Lookup(tp.Topic, p)
			switch {
			case !ok:
				row.Error = "no such partition"
			case end.Err != nil:
				row.Error = end.Err.Error()
			default:
				row.LogEnd = end.Offset
			}
			if c, ok := commits.Lookup(tp.Topic, p); ok && c.At >= 0 {
				at := c.At
				row.Committed = &at
				if row.LogEnd >= 0 {
					lag := max(0, row.LogEnd-at)
					row.Lag = &lag
					total += lag
				}
			}
			rows = append(rows, row)
		}
	}
	return rows, total, nil
}

func newGroupDescribeCommand() *cobra.Command {
	var o clientOptions
	var metrics string
	cmd := &cobra.Command{
		Use:   "describe GROUP...",
		Short: "Show groups' state, protocol, members (client id, host, assignment) and committed offsets with lag; for share groups the share-partitions' start offsets, lag and in-flight records",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, groups []string) error {
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			var scrape []string
			for _, m := range strings.Split(metrics, ",") {
				if m = strings.TrimSpace(m); m != "" {
					scrape = append(scrape, m)
				}
			}
			descs := make([]any, 0, len(groups))
			for _, g := range groups {
				sd, isShare, err := describeShareGroup(ctx, adm, g, scrape)
				if err != nil {
					return o.explain(err)
				}
				if isShare {
					descs = append(descs, sd)
					continue
				}
				d, err := describeGroup(ctx, adm, g)
				if err != nil {
					return o.explain(err)
				}
				descs = append(descs, d)
			}
			if o.format == "json" {
				return writeJSON(cmd.OutOrStdout(), descs)
			}
			w := cmd.OutOrStdout()
			for i, d := range descs {
				if i > 0 {
					fmt.Fprintln(w)
				}
				var err error
				switch d := d.(type) {
				case shareGroupDescription:
					err = printShareGroupDescription(w, d)
				case groupDescription:
					err = printGroupDescriptions(w, []groupDescription{d})
				}
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	o.register(cmd, true)
	cmd.Flags().StringVar(&metrics, "metrics", envOr("SLUICE_METRICS", ""),
		"comma-separated HTTP listeners (host:port) of the brokers, whose /metrics give share groups' in-flight records (env SLUICE_METRICS)")
	return cmd
}

func printGroupDescriptions(w io.Writer, descs []groupDescription) error {
	for i, d := range descs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "Group: %s\nState: %s\nProtocol type: %s\nProtocol: %s\nMembers: %d\n", d.Group, d.State,
			orDash(d.ProtocolType), orDash(d.Protocol), len(d.Members))
		if len(d.Members) > 0 {
			fmt.Fprintln(w)
			t := newTable(w, "MEMBER", "INSTANCE", "CLIENT-ID", "HOST", "ASSIGNMENT")
			for _, m := range d.Members {
				t.row(m.MemberID, orDash(m.InstanceID), m.ClientID, m.Host, formatAssignment(m.Assignment))
			}
			if err := t.flush(); err != nil {
				return err
			}
		}
		fmt.Fprintln(w)
		if err := printLagTable(w, d.Offsets, true); err != nil {
			return err
		}
		fmt.Fprintf(w, "Total lag: %d\n", d.TotalLag)
	}
	return nil
}

// printLagTable prints one row per partition; "-" where the group has no committed offset.
func printLagTable(w io.Writer, rows []partitionLag, withMember bool) error {
	header := []string{"TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG"}
	if withMember {
		header = append(header, "MEMBER")
	}
	withErrors := slices.ContainsFunc(rows, func(r partitionLag) bool { return r.Error != "" })
	if withErrors {
		header = append(header, "ERROR")
	}
	t := newTable(w, header...)
	for _, r := range rows {
		cells := []any{r.Topic, r.Partition, optOffset(r.Committed), r.LogEnd, optOffset(r.Lag)}
		if withMember {
			cells = append(cells, orDash(r.Member))
		}
		if withErrors {
			cells = append(cells, r.Error)
		}
		t.row(cells...)
	}
	return t.flush()
}

// formatAssignment prints an assignment as topic:0,1,2 topic2:0.
func formatAssignment(ts []assignedTopic) string {
	if len(ts) == 0 {
		return "-"
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.Topic + ":" + joinIDs(t.Partitions)
	}
	return strings.Join(parts, " ")
}

func optOffset(v *int64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// groupLagReport is what `group lag` prints.
type groupLagReport struct {
	Group      string         `json:"group"`
	Partitions []partitionLag `json:"partitions"`
	TotalLag   int64          `json:"total_lag"`
}

func newGroupLagCommand() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "lag GROUP",
		Short: "Show a group's committed offset, log end offset and lag per partition, and the total lag",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			d, err := describeGroup(ctx, adm, args[0])
			if err != nil {
				return o.explain(err)
			}
			for i := range d.Offsets {
				d.Offsets[i].Member = "" // describe shows owners; lag is about offsets
			}
			rep := groupLagReport{Group: d.Group, Partitions: d.Offsets, TotalLag: d.TotalLag}
			if o.format == "json" {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			if err := printLagTable(cmd.OutOrStdout(), rep.Partitions, false); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Total lag: %d\n", rep.TotalLag)
			return nil
		},
	}
	o.register(cmd, true)
	return cmd
}

func newGroupDeleteCommand() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "delete GROUP...",
		Short: "Delete consumer groups that have no members, with their committed offsets",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, groups []string) error {
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resps, err := adm.DeleteGroups(ctx, groups...)
			if err != nil {
				return o.explain(err)
			}
			var errs []error
			for _, r := range resps.Sorted() {
				if r.Err != nil {
					errs = append(errs, groupError("delete", r.Group, r.Err))
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted group %s\n", r.Group)
			}
			return errors.Join(errs...)
		},
	}
	o.register(cmd, false)
	return cmd
}
