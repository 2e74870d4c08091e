package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Share groups (KIP-932) in `sluice group`: `list` types every group, `describe` shows a share
// group's members and assignment and, per share-partition, its start offset, lag and (from
// the brokers' /metrics, --metrics) the records its consumers hold in flight.

// shareGroupDescription is what `group describe` prints for a share group.
type shareGroupDescription struct {
	Group           string              `json:"group"`
	Type            string              `json:"type"`
	State           string              `json:"state"`
	GroupEpoch      int32               `json:"group_epoch"`
	AssignmentEpoch int32               `json:"assignment_epoch"`
	Assignor        string              `json:"assignor"`
	Members         []groupMember       `json:"members"`
	Partitions      []sharePartitionRow `json:"partitions"`
	TotalLag        int64               `json:"total_lag"`
}

// sharePartitionRow is one share-partition: StartOffset nil where the group has no state for
// it yet, Lag nil where unknown, InFlight nil where no broker's metrics were read.
type sharePartitionRow struct {
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	StartOffset *int64 `json:"start_offset"`
	Lag         *int64 `json:"lag"`
	InFlight    *int64 `json:"in_flight"`
	Members     int    `json:"members"` // members assigned the partition (several may share it)
	Error       string `json:"error,omitempty"`
}

// groupTypes returns each listed group's type (classic, consumer, share) as ListGroups' type
// filter (KIP-848, KIP-932) tells them apart; groups of a broker without the filter are left
// out (their type is unknown).
func groupTypes(ctx context.Context, adm *kadm.Client) map[string]string {
	out := map[string]string{}
	for _, typ := range []string{"classic", "consumer", "share"} {
		listed, err := adm.ListGroupsByType(ctx, []string{typ})
		if err != nil && listed == nil {
			continue
		}
		for g := range listed {
			out[g] = typ
		}
	}
	return out
}

// describeShareGroup describes group if it is a share group; ok false when it is not (or the
// cluster has no share groups), so the caller describes it as a consumer group.
func describeShareGroup(ctx context.Context, adm *kadm.Client, group string, metrics []string) (shareGroupDescription, bool, error) {
	described, err := adm.DescribeShareGroups(ctx, group)
	if err != nil {
		var ae *kadm.AuthError
		if errors.As(err, &ae) {
			return shareGroupDescription{}, false, err
		}
		return shareGroupDescription{}, false, nil // no ShareGroupDescribe here: not a share group
	}
	d, ok := described[group]
	if !ok || d.Err != nil || d.GroupState == "Dead" {
		if d.Err != nil && !errors.Is(d.Err, kerr.GroupIDNotFound) && !errors.Is(d.Err, kerr.UnsupportedVersion) {
			return shareGroupDescription{}, false, groupError("describe", group, d.Err)
		}
		return shareGroupDescription{}, false, nil
	}
	desc := shareGroupDescription{Group: group, Type: "share", State: d.GroupState, GroupEpoch: d.GroupEpoch,
		AssignmentEpoch: d.AssignmentEpoch, Assignor: d.Assignor, Members: []groupMember{}, Partitions: []sharePartitionRow{}}
	assigned := map[string]map[int32]int{}
	for _, m := range d.Members {
		gm := groupMember{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, Assignment: []assignedTopic{}}
		for _, t := range m.Assignment.Sorted() {
			gm.Assignment = append(gm.Assignment, assignedTopic{Topic: t.Topic, Partitions: t.Partitions})
			for _, p := range t.Partitions {
				if assigned[t.Topic] == nil {
					assigned[t.Topic] = map[int32]int{}
				}
				assigned[t.Topic][p]++
			}
		}
		desc.Members = append(desc.Members, gm)
	}
	slices.SortFunc(desc.Members, func(a, b groupMember) int { return strings.Compare(a.MemberID, b.MemberID) })

	offsets, err := adm.DescribeShareGroupOffsets(ctx, group)
	if err != nil {
		return desc, true, groupError("describe the offsets of", group, err)
	}
	if o, ok := offsets[group]; ok && o.Err != nil {
		return desc, true, groupError("describe the offsets of", group, o.Err)
	}
	rows := map[string]map[int32]*sharePartitionRow{}
	row := func(topic string, p int32) *sharePartitionRow {
		if rows[topic] == nil {
			rows[topic] = map[int32]*sharePartitionRow{}
		}
		r := rows[topic][p]
		if r == nil {
			r = &sharePartitionRow{Topic: topic, Partition: p, Members: assigned[topic][p]}
			rows[topic][p] = r
		}
		return r
	}
	for topic, ps := range assigned {
		for p := range ps {
			row(topic, p)
		}
	}
	for topic, ps := range offsets[group].Offsets {
		for p, o := range ps {
			r := row(topic, p)
			if o.Err != nil {
				r.Error = o.Err.Error()
				continue
			}
			if o.StartOffset >= 0 {
				start := o.StartOffset
				r.StartOffset = &start
			}
			if o.Lag >= 0 {
				lag := o.Lag
				r.Lag = &lag
				desc.TotalLag += lag
			}
		}
	}
	if len(metrics) > 0 {
		inFlight, err := scrapeInFlight(ctx, metrics, group)
		if err != nil {
			return desc, true, err
		}
		for topic, ps := range rows {
			for p, r := range ps {
				n := inFlight[topic][p]
				r.InFlight = &n
			}
		}
	}
	for _, ps := range rows {
		for _, r := range ps {
			desc.Partitions = append(desc.Partitions, *r)
		}
	}
	slices.SortFunc(desc.Partitions, func(a, b sharePartitionRow) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition) - int(b.Partition)
	})
	return desc, true, nil
}

// acquiredMetric is the share-partition leaders' gauge of records in flight.
const acquiredMetric = "sluice_share_partition_acquired_records"

// scrapeInFlight reads acquiredMetric of group from each broker's HTTP listener (host:port or
// a URL) and sums it per topic and partition (only a partition's leader reports it).
func scrapeInFlight(ctx context.Context, addrs []string, group string) (map[string]map[int32]int64, error) {
	out := map[string]map[int32]int64{}
	hc := &http.Client{Timeout: 10 * time.Second}
	for _, a := range addrs {
		url := a
		if !strings.Contains(url, "://") {
			url = "http://" + url
		}
		if !strings.HasSuffix(url, "/metrics") {
			url = strings.TrimSuffix(url, "/") + "/metrics"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, fmt.Errorf("--metrics %s: %w", a, err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("--metrics %s: %w", a, err)
		}
		err = parseInFlight(resp.Body, group, out)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = errors.New(resp.Status)
		}
		if err != nil {
			return nil, fmt.Errorf("--metrics %s: %w", a, err)
		}
	}
	return out, nil
}

// parseInFlight adds group's acquiredMetric samples of a Prometheus text exposition to out.
func parseInFlight(r io.Reader, group string, out map[string]map[int32]int64) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, acquiredMetric+"{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		if end < 0 {
			continue
		}
		labels, ok := parseLabels(line[len(acquiredMetric)+1 : end])
		if !ok || labels["group"] != group {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(line[end+1:] + " x")[0], 64)
		p, perr := strconv.ParseInt(labels["partition"], 10, 32)
		if err != nil || perr != nil {
			continue
		}
		if out[labels["topic"]] == nil {
			out[labels["topic"]] = map[int32]int64{}
		}
		out[labels["topic"]][int32(p)] += int64(v)
	}
	return sc.Err()
}

// parseLabels parses `name="value",...` with Prometheus' escapes (\\, \", \n).
func parseLabels(s string) (map[string]string, bool) {
	out := map[string]string{}
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return nil, false
		}
		name := strings.TrimSpace(s[:eq])
		var b strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					b.WriteByte('\n')
				default:
					b.WriteByte(s[i])
				}
				continue
			}
			b.WriteByte(s[i])
		}
		if i >= len(s) {
			return nil, false
		}
		out[name] = b.String()
		s = strings.TrimPrefix(s[i+1:], ",")
	}
	return out, true
}

func printShareGroupDescription(w io.Writer, d shareGroupDescription) error {
	fmt.Fprintf(w, "Group: %s\nType: share\nState: %s\nGroup epoch: %d\nAssignment epoch: %d\nAssignor: %s\nMembers: %d\n",
		d.Group, d.State, d.GroupEpoch, d.AssignmentEpoch, orDash(d.Assignor), len(d.Members))
	if len(d.Members) > 0 {
		fmt.Fprintln(w)
		t := newTable(w, "MEMBER", "CLIENT-ID", "HOST", "ASSIGNMENT")
		for _, m := range d.Members {
			t.row(m.MemberID, m.ClientID, m.Host, formatAssignment(m.Assignment))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	withErrors := slices.ContainsFunc(d.Partitions, func(r sharePartitionRow) bool { return r.Error != "" })
	header := []string{"TOPIC", "PARTITION", "START-OFFSET", "LAG", "IN-FLIGHT", "MEMBERS"}
	if withErrors {
		header = append(header, "ERROR")
	}
	t := newTable(w, header...)
	for _, r := range d.Partitions {
		cells := []any{r.Topic, r.Partition, optOffset(r.StartOffset), optOffset(r.Lag), optOffset(r.InFlight), r.Members}
		if withErrors {
			cells = append(cells, orDash(r.Error))
		}
		t.row(cells...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "Total lag: %d\n", d.TotalLag)
	return nil
}
