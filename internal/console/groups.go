package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/groupseek"
)

// Consumer groups: /groups lists them, /groups/{id} shows members, offsets and lag (with a
// chart fed by /api/groups/{id}/lag), /groups/{id}/reset previews and applies an offset reset
// (groupseek, as `sluice group seek` does), and POSTs delete a topic's offsets or the group.
// Everything runs with the session's admin client, so the cluster decides what a user may do.

// maxListedGroups bounds how many groups /groups describes for members and lag; the rest are
// listed without them.
const maxListedGroups = 200

// groupTimeout bounds each group page's requests to the cluster.
const groupTimeout = 15 * time.Second

func (c *Console) groupRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /groups", c.groupList)
	mux.HandleFunc("GET /groups/{id}", c.groupPage)
	mux.HandleFunc("GET /api/groups/{id}/lag", c.groupLagAPI)
	mux.HandleFunc("GET /groups/{id}/reset", c.groupResetPreview)
	mux.HandleFunc("POST /groups/{id}/reset", c.groupResetApply)
	mux.HandleFunc("POST /groups/{id}/delete-offsets", c.groupDeleteOffsets)
	mux.HandleFunc("POST /groups/{id}/delete", c.groupDelete)
}

// listedGroup is one row of /groups.
type listedGroup struct {
	ID, State, Type, ProtocolType, Protocol string
	Members                                 int
	Lag                                     int64 // -1: unknown
	Err                                     string
}

type groupListData struct {
	Query, State string
	States       []string
	Groups       []listedGroup
	Total        int
	Truncated    bool
	Done         string
}

func (c *Console) groupList(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx, cancel := context.WithTimeout(r.Context(), groupTimeout)
	defer cancel()
	q := r.URL.Query()
	d := groupListData{Query: strings.TrimSpace(q.Get("q")), State: q.Get("state"), Done: q.Get("done")}
	req := kmsg.NewPtrListGroupsRequest()
	shards := s.Kafka.RequestSharded(ctx, req)
	states := map[string]bool{}
	var firstErr error
	for _, sh := range shards {
		if sh.Err != nil {
			firstErr = keepFirst(firstErr, sh.Err)
			continue
		}
		resp := sh.Resp.(*kmsg.ListGroupsResponse)
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			firstErr = keepFirst(firstErr, err)
			continue
		}
		for _, g := range resp.Groups {
			states[g.GroupState] = true
			if d.Query != "" && !strings.Contains(strings.ToLower(g.Group), strings.ToLower(d.Query)) {
				continue
			}
			if d.State != "" && !strings.EqualFold(g.GroupState, d.State) {
				continue
			}
			typ := g.GroupType
			if typ == "" {
				typ = "classic"
			}
			d.Groups = append(d.Groups, listedGroup{ID: g.Group, State: g.GroupState, Type: typ, ProtocolType: g.ProtocolType, Lag: -1})
		}
	}
	if firstErr != nil && len(d.Groups) == 0 {
		c.fail(w, r, apiErrStatus(firstErr), "list groups: "+firstErr.Error())
		return
	}
	for st := range states {
		d.States = append(d.States, st)
	}
	slices.Sort(d.States)
	slices.SortFunc(d.Groups, func(a, b listedGroup) int { return strings.Compare(a.ID, b.ID) })
	d.Total = len(d.Groups)
	var ids []string
	for i, g := range d.Groups {
		if i == maxListedGroups {
			d.Truncated = true
			break
		}
		if g.Type == "share" { // share groups have no committed offsets to lag behind
			continue
		}
		ids = append(ids, g.ID)
	}
	if len(ids) > 0 {
		lags, err := s.Admin.Lag(ctx, ids...)
		if err == nil {
			for i := range d.Groups {
				l, ok := lags[d.Groups[i].ID]
				if !ok {
					continue
				}
				g := &d.Groups[i]
				g.Members, g.Protocol = len(l.Members), l.Protocol
				if e := l.Error(); e != nil {
					g.Err = e.Error()
					continue
				}
				g.Lag = l.Lag.Total()
			}
		}
	}
	c.render(w, r, "groups.html", "Consumer groups", d)
}

// keepFirst keeps the first error.
func keepFirst(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// groupMember is a member of /groups/{id}.
type groupMember struct {
	MemberID, InstanceID, ClientID, Host string
	Assignment                           []string // "topic: 0, 1"
}

// partitionLag is a partition's committed offset and lag.
type partitionLag struct {
	Topic      string `json:"topic"`
	Partition  int32  `json:"partition"`
	Committed  int64  `json:"committed"` // -1: none
	LogStart   int64  `json:"log_start"`
	LogEnd     int64  `json:"log_end"`
	Lag        int64  `json:"lag"` // -1: unknown
	Member     string `json:"member,omitempty"`
	Err        string `json:"error,omitempty"`
	BarPercent int    `json:"-"`
}

type groupData struct {
	ID, State, ProtocolType, Protocol string
	Members                           []groupMember
	Partitions                        []partitionLag
	Topics                            []string
	TotalLag                          int64
	Done, Error                       string
}

// describeGroupLag describes the group with its lag; a described-but-unknown group is an error.
func describeGroupLag(ctx context.Context, adm *kadm.Client, id string) (kadm.DescribedGroupLag, error) {
	lags, err := adm.Lag(ctx, id)
	if err != nil {
		return kadm.DescribedGroupLag{}, err
	}
	l, ok := lags[id]
	if !ok {
		return l, kerr.GroupIDNotFound
	}
	if l.DescribeErr != nil {
		return l, l.DescribeErr
	}
	if l.State == "Dead" {
		return l, kerr.GroupIDNotFound
	}
	return l, l.FetchErr
}

// lagRows are the group's partitions, sorted, with the largest lag's bar at 100%.
func lagRows(l kadm.DescribedGroupLag) ([]partitionLag, int64) {
	var rows []partitionLag
	var maxLag int64
	for _, m := range l.Lag.Sorted() {
		p := partitionLag{Topic: m.Topic, Partition: m.Partition, Committed: m.Commit.At,
			LogStart: m.Start.Offset, LogEnd: m.End.Offset, Lag: m.Lag}
		if m.Member != nil {
			p.Member = m.Member.ClientID
		}
		if m.Err != nil {
			p.Err = m.Err.Error()
		}
		maxLag = max(maxLag, p.Lag)
		rows = append(rows, p)
	}
	for i := range rows {
		if maxLag > 0 && rows[i].Lag > 0 {
			rows[i].BarPercent = int((rows[i].Lag*100 + maxLag - 1) / maxLag)
		}
	}
	return rows, l.Lag.Total()
}

func (c *Console) groupPage(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), groupTimeout)
	defer cancel()
	l, err := describeGroupLag(ctx, s.Admin, id)
	if err != nil {
		c.fail(w, r, apiErrStatus(err), fmt.Sprintf("group %s: %v", id, err))
		return
	}
	d := groupData{ID: id, State: l.State, ProtocolType: l.ProtocolType, Protocol: l.Protocol,
		Done: r.URL.Query().Get("done"), Error: r.URL.Query().Get("error")}
	for _, m := range l.Members {
		gm := groupMember{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
		if m.InstanceID != nil {
			gm.InstanceID = *m.InstanceID
		}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				ps := slices.Clone(t.Partitions)
				slices.Sort(ps)
				gm.Assignment = append(gm.Assignment, t.Topic+": "+joinInt32(ps))
			}
			slices.Sort(gm.Assignment)
		}
		d.Members = append(d.Members, gm)
	}
	d.Partitions, d.TotalLag = lagRows(l)
	for _, p := range d.Partitions {
		if !slices.Contains(d.Topics, p.Topic) {
			d.Topics = append(d.Topics, p.Topic)
		}
	}
	c.render(w, r, "group.html", "Group "+id, d)
}

func joinInt32(ps []int32) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ", ")
}

// groupLagAPI is the group's lag now, for the page's chart.
func (c *Console) groupLagAPI(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), groupTimeout)
	defer cancel()
	l, err := describeGroupLag(ctx, s.Admin, id)
	if err != nil {
		writeJSON(w, apiErrStatus(err), map[string]string{"error": err.Error()})
		return
	}
	rows, total := lagRows(l)
	writeJSON(w, http.StatusOK, map[string]any{"time": time.Now().UnixMilli(), "state": l.State,
		"members": len(l.Members), "total": total, "partitions": rows})
}

// resetForm is the reset's parameters, carried in the preview's URL and the apply form.
type resetForm struct {
	Topic     string // "": every topic the group has offsets for
	Partition int32  // -1: all
	To        string // start, end, offset, time
	Value     string // the offset, or the time (Unix milliseconds or 2006-01-02T15:04[:05] UTC)
}

// parseResetForm reads and checks the reset's parameters.
func parseResetForm(v url.Values) (resetForm, groupseek.Target, error) {
	f := resetForm{Topic: strings.TrimSpace(v.Get("topic")), Partition: -1, To: v.Get("to"), Value: strings.TrimSpace(v.Get("value"))}
	if p := strings.TrimSpace(v.Get("partition")); p != "" && p != "all" {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n < 0 {
			return f, groupseek.Target{}, fmt.Errorf("partition %q: give a partition number (0 or more) or all", p)
		}
		if f.Topic == "" {
			return f, groupseek.Target{}, errors.New("choose the topic of the partition")
		}
		f.Partition = int32(n)
	}
	switch f.To {
	case "start", "":
		f.To = "start"
		return f, groupseek.Target{Kind: groupseek.Start}, nil
	case "end":
		return f, groupseek.Target{Kind: groupseek.End}, nil
	case "offset":
		n, err := strconv.ParseInt(f.Value, 10, 64)
		if err != nil || n < 0 {
			return f, groupseek.Target{}, fmt.Errorf("offset %q: give an offset, 0 or more", f.Value)
		}
		return f, groupseek.Target{Kind: groupseek.Offset, N: n}, nil
	case "time":
		ms, err := parseResetTime(f.Value)
		if err != nil {
			return f, groupseek.Target{}, err
		}
		return f, groupseek.Target{Kind: groupseek.Time, N: ms}, nil
	}
	return f, groupseek.Target{}, fmt.Errorf("reset to %q: choose start, end, offset or time", f.To)
}

// parseResetTime reads Unix milliseconds or a UTC date and time (as a datetime-local input sends).
func parseResetTime(v string) (int64, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms >= 0 {
		return ms, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02T15:04:05.000", time.RFC3339Nano} {
		if t, err := time.Parse(layout, v); err == nil && t.UnixMilli() >= 0 {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("time %q: give Unix milliseconds or a UTC date and time such as 2026-12-07T09:30", v)
}

// resetRow is a preview row: the partition's offset and lag now and after the reset.
type resetRow struct {
	Topic            string
	Partition        int32
	Current          string // "-" when the group has no committed offset
	New              int64
	LagNow, LagAfter string
	LogStart, LogEnd int64
	Changes          bool
}

type resetData struct {
	ID, State string
	Members   int
	Form      resetForm
	Topics    []string
	Rows      []resetRow
	Error     string // why the reset cannot be (or was not) applied
}

// planReset computes the preview; a refusal (members present, no rights) is in d.Error.
func (c *Console) planReset(ctx context.Context, s *Session, id string, v url.Values) (resetData, []groupseek.Row, int) {
	d := resetData{ID: id}
	form, target, err := parseResetForm(v)
	d.Form = form
	if err != nil {
		d.Error = err.Error()
		return d, nil, http.StatusBadRequest
	}
	l, err := describeGroupLag(ctx, s.Admin, id)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		d.Error = err.Error()
		return d, nil, apiErrStatus(err)
	}
	d.State, d.Members = l.State, len(l.Members)
	for _, m := range l.Lag.Sorted() {
		if !slices.Contains(d.Topics, m.Topic) {
			d.Topics = append(d.Topics, m.Topic)
		}
	}
	if form.Topic != "" && !slices.Contains(d.Topics, form.Topic) {
		d.Topics = append(d.Topics, form.Topic)
	}
	commits, err := s.Admin.FetchOffsets(ctx, id)
	if err == nil {
		err = commits.Error()
	}
	if err != nil {
		d.Error = err.Error()
		return d, nil, apiErrStatus(err)
	}
	var topics []string
	if form.Topic != "" {
		topics = []string{form.Topic}
	}
	plan, err := groupseek.Plan(ctx, s.Admin, target, topics, form.Partition, commits)
	if err != nil {
		if errors.Is(err, groupseek.ErrNoCommits) {
			err = fmt.Errorf("group %s has no committed offsets: choose a topic to reset", id)
		}
		d.Error = err.Error()
		return d, nil, apiErrStatus(err)
	}
	for _, p := range plan {
		row := resetRow{Topic: p.Topic, Partition: p.Partition, New: p.New, Current: "-", LagNow: "-",
			LagAfter: strconv.FormatInt(p.LogEnd-p.New, 10), LogStart: p.LogStart, LogEnd: p.LogEnd, Changes: true}
		if p.Current != nil {
			row.Current = strconv.FormatInt(*p.Current, 10)
			row.LagNow = strconv.FormatInt(max(p.LogEnd-*p.Current, 0), 10)
			row.Changes = *p.Current != p.New
		}
		d.Rows = append(d.Rows, row)
	}
	if d.Members > 0 {
		d.Error = fmt.Sprintf("%v: group %s has %d active members (state %s); stop its consumers, then reset: they would overwrite the new offsets",
			kerr.NonEmptyGroup, id, d.Members, d.State)
		return d, plan, http.StatusConflict
	}
	return d, plan, http.StatusOK
}

func (c *Console) groupResetPreview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), groupTimeout)
	defer cancel()
	id := r.PathValue("id")
	d, _, _ := c.planReset(ctx, sessionOf(r), id, r.URL.Query())
	c.render(w, r, "group_reset.html", "Reset offsets of "+id, d)
}

func (c *Console) groupResetApply(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx, cancel := context.WithTimeout(r.Context(), groupTimeout)
	defer cancel()
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	d, plan, status := c.planReset(ctx, s, id, r.PostForm)
	if d.Error == "" && len(plan) > 0 {
		if err := groupseek.Commit(ctx, s.Admin, id, plan); err != nil {
			d.Error, status = fmt.Sprintf("commit offsets of group %s: %v", id, err), apiErrStatus(err)
		}
	}
	if d.Error != "" {
		w.WriteHeader(status)
		c.render(w, r, "group_reset.html", "Reset offsets of "+id, d)
		return
	}
	done := fmt.Sprintf("moved %d partitions to %s", len(plan), d.Form.To)
	http.Redirect(w, r, "/groups/"+url.PathEscape(id)+"?done="+url.QueryEscape(done), http.StatusSeeOther)
}

func (c *Console) groupDeleteOffsets(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx, cancel := context.WithTimeout(r.Context(), groupTimeout)
	defer cancel()
	id, topic := r.PathValue("id"), strings.TrimSpace(r.FormValue("topic"))
	back := "/groups/" + url.PathEscape(id)
	if topic == "" {
		http.Redirect(w, r, back+"?error="+url.QueryEscape("choose a topic whose offsets to delete"), http.StatusSeeOther)
		return
	}
	commits, err := s.Admin.FetchOffsets(ctx, id)
	if err == nil {
		err = commits.Error()
	}
	set := make(kadm.TopicsSet)
	if err == nil {
		commits.Each(func(o kadm.OffsetResponse) {
			if o.Topic == topic {
				set.Add(o.Topic, o.Partition)
			}
		})
		if len(set) == 0 {
			err = fmt.Errorf("group %s has no committed offsets for topic %s", id, topic)
		}
	}
	if err == nil {
		var resps kadm.DeleteOffsetsResponses
		resps, err = s.Admin.DeleteOffsets(ctx, id, set)
		if err == nil {
			err = resps.Error()
		}
	}
	if err != nil {
		http.Redirect(w, r, back+"?error="+url.QueryEscape(fmt.Sprintf("delete offsets of %s: %v", topic, err)), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, back+"?done="+url.QueryEscape("deleted the offsets of "+topic), http.StatusSeeOther)
}

func (c *Console) groupDelete(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx, cancel := context.WithTimeout(r.Context(), groupTimeout)
	defer cancel()
	id := r.PathValue("id")
	resp, err := s.Admin.DeleteGroup(ctx, id)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		http.Redirect(w, r, "/groups/"+url.PathEscape(id)+"?error="+url.QueryEscape("delete group: "+err.Error()), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/groups?done="+url.QueryEscape("deleted group "+id), http.StatusSeeOther)
}

// apiErrStatus is the HTTP status for a cluster's error: 403 for authorization failures, 404 for
// unknown groups and topics, 409 for a non-empty group, else 502.
func apiErrStatus(err error) int {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		switch ke {
		case kerr.GroupAuthorizationFailed, kerr.TopicAuthorizationFailed, kerr.ClusterAuthorizationFailed,
			kerr.TransactionalIDAuthorizationFailed:
			return http.StatusForbidden
		case kerr.GroupIDNotFound, kerr.UnknownTopicOrPartition:
			return http.StatusNotFound
		case kerr.NonEmptyGroup:
			return http.StatusConflict
		}
	}
	var he *HTTPError
	if errors.As(err, &he) && he.Status >= 400 && he.Status < 500 {
		return he.Status
	}
	return http.StatusBadGateway
}
