package console

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Topics: /topics lists them (partitions, replication factor, size, messages per second, a
// name filter) with a create form; /topics/{name} shows a topic's partitions (leader,
// replicas, ISR, log start and end offsets) and configs with their sources, and edits them,
// adds partitions and deletes the topic. Every action is the signed-in user's Kafka request;
// a refusal shows Kafka's error.

func (c *Console) topicRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /topics", c.topics)
	mux.HandleFunc("POST /topics", c.createTopic)
	mux.HandleFunc("GET /topics/{name}", c.topic)
	mux.HandleFunc("POST /topics/{name}/configs", c.alterTopicConfig)
	mux.HandleFunc("POST /topics/{name}/partitions", c.addPartitions)
	mux.HandleFunc("POST /topics/{name}/delete", c.deleteTopic)
}

// topicsListMax bounds the rows of the topic list (the filter narrows it).
const topicsListMax = 5000

type topicRow struct {
	Name       string
	Internal   bool
	Partitions int
	RF         int
	Size       int64 // -1 unknown
	Rate       float64
	HasRate    bool
	URP        int
	Err        string
}

// createForm is the create form's values, kept when Kafka refuses them.
type createForm struct {
	Name       string
	Partitions string
	RF         string
	Configs    string
}

type topicsPage struct {
	Filter   string
	Topics   []topicRow
	Total    int
	Shown    int
	SizeErr  string
	Error    string
	Notice   string
	Form     createForm
	FormErr  string
	FormOpen bool
}

func (c *Console) topics(w http.ResponseWriter, r *http.Request) {
	c.renderTopics(w, r, topicsPage{Notice: r.URL.Query().Get("done"), Form: createForm{Partitions: "1", RF: "-1"}}, http.StatusOK)
}

func (c *Console) renderTopics(w http.ResponseWriter, r *http.Request, p topicsPage, status int) {
	s := sessionOf(r)
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	p.Filter = strings.TrimSpace(r.URL.Query().Get("q"))
	meta, err := s.Admin.Metadata(ctx)
	if err != nil {
		p.Error = err.Error()
		if status == http.StatusOK {
			status = http.StatusBadGateway
		}
		w.WriteHeader(status)
		c.render(w, r, "topics.html", "Topics", p)
		return
	}
	var names []string
	for _, t := range meta.Topics {
		if p.Filter == "" || strings.Contains(strings.ToLower(t.Topic), strings.ToLower(p.Filter)) {
			names = append(names, t.Topic)
		}
	}
	slices.Sort(names)
	p.Total = len(names)
	if len(names) > topicsListMax {
		names = names[:topicsListMax]
	}
	p.Shown = len(names)
	sizes := map[string]int64{}
	if len(names) > 0 {
		set := kadm.TopicsSet{}
		for _, n := range names {
			for _, pt := range meta.Topics[n].Partitions {
				set.Add(n, pt.Partition)
			}
		}
		// One DescribeLogDirs per broker; a topic's size is the sum over its replicas' leaders'
		// copies (the leader's replica, so a replicated topic is not counted RF times).
		dirs, err := s.Admin.DescribeAllLogDirs(ctx, set)
		if err != nil {
			p.SizeErr = err.Error()
		} else {
			leader := map[string]map[int32]int32{}
			for _, n := range names {
				t := meta.Topics[n]
				m := map[int32]int32{}
				for _, pt := range t.Partitions {
					m[pt.Partition] = pt.Leader
				}
				leader[n] = m
			}
			dirs.Each(func(d kadm.DescribedLogDir) {
				d.Topics.Each(func(pt kadm.DescribedLogDirPartition) {
					if leader[pt.Topic][pt.Partition] == pt.Broker {
						sizes[pt.Topic] += pt.Size
					}
				})
			})
		}
	}
	for _, n := range names {
		t := meta.Topics[n]
		row := topicRow{Name: n, Internal: t.IsInternal, Partitions: len(t.Partitions), Size: -1}
		if t.Err != nil {
			row.Err = t.Err.Error()
		}
		for _, pt := range t.Partitions {
			row.RF = max(row.RF, len(pt.Replicas))
			if len(pt.ISR) < len(pt.Replicas) {
				row.URP++
			}
		}
		if p.SizeErr == "" {
			row.Size = sizes[n]
		}
		row.Rate, row.HasRate = c.samp.topicRate(n)
		p.Topics = append(p.Topics, row)
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	c.render(w, r, "topics.html", "Topics", p)
}

// Bounds on the create form.
const (
	maxConfigText  = 64 << 10
	maxConfigLines = 200
)

// parseConfigLines reads "name=value" lines (blank lines and # comments skipped) into the
// configs of a CreateTopics request.
func parseConfigLines(text string) (map[string]*string, error) {
	if len(text) > maxConfigText {
		return nil, fmt.Errorf("configs: at most %d bytes", maxConfigText)
	}
	out := map[string]*string{}
	n := 0
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if n++; n > maxConfigLines {
			return nil, fmt.Errorf("configs: at most %d lines", maxConfigLines)
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("configs line %d: want name=value, got %q", i+1, truncate(line, 80))
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("configs line %d: %s is set twice", i+1, truncate(k, 80))
		}
		out[k] = &v
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// validTopicName applies Kafka's rule: 1-249 of [a-zA-Z0-9._-], not "." or "..".
func validTopicName(name string) error {
	if name == "" {
		return errors.New("enter a topic name")
	}
	if name == "." || name == ".." {
		return errors.New(`a topic cannot be named "." or ".."`)
	}
	if len(name) > 249 {
		return errors.New("a topic name has at most 249 characters")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("a topic name has only letters, digits, '.', '_' and '-' (not %q)", r)
		}
	}
	return nil
}

func (c *Console) createTopic(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	r.Body = http.MaxBytesReader(w, r.Body, maxConfigText+4096)
	f := createForm{Name: strings.TrimSpace(r.PostFormValue("name")), Partitions: strings.TrimSpace(r.PostFormValue("partitions")),
		RF: strings.TrimSpace(r.PostFormValue("replication_factor")), Configs: r.PostFormValue("configs")}
	fail := func(msg string) {
		c.renderTopics(w, r, topicsPage{Form: f, FormErr: msg, FormOpen: true}, http.StatusBadRequest)
	}
	if err := validTopicName(f.Name); err != nil {
		fail(err.Error())
		return
	}
	parts, err := strconv.ParseInt(f.Partitions, 10, 32)
	if err != nil || (parts < 1 && parts != -1) {
		fail("partitions: a whole number of at least 1 (or -1 for the cluster's default)")
		return
	}
	rf, err := strconv.ParseInt(f.RF, 10, 16)
	if err != nil || (rf < 1 && rf != -1) {
		fail("replication factor: a whole number of at least 1 (or -1 for the cluster's default)")
		return
	}
	configs, err := parseConfigLines(f.Configs)
	if err != nil {
		fail(err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	resp, err := s.Admin.CreateTopic(ctx, int32(parts), int16(rf), configs, f.Name)
	if err == nil && resp.Err != nil {
		err = errors.New(errText(resp.Err, resp.ErrMessage))
	}
	if err != nil {
		fail("Kafka refused: " + err.Error())
		return
	}
	http.Redirect(w, r, "/topics/"+url.PathEscape(f.Name)+"?done="+url.QueryEscape("created "+f.Name), http.StatusSeeOther)
}

type partitionRow struct {
	Partition int32
	Leader    int32
	Epoch     int32
	Replicas  []int32
	ISR       []int32
	Offline   []int32
	Start     int64
	End       int64
	Err       string
	URP       bool
}

type topicPage struct {
	Name       string
	Internal   bool
	ID         string
	Partitions []partitionRow
	Configs    []configRow
	ConfigErr  string
	OffsetsErr string
	Error      string
	Notice     string
	ActionErr  string
	Action     string // which form the error is about: configs, partitions, delete
	Rate       float64
	HasRate    bool
	Messages   int64
}

func ids(xs []int32) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(int(x))
	}
	return strings.Join(s, ", ")
}

func (r partitionRow) ReplicaList() string { return ids(r.Replicas) }
func (r partitionRow) ISRList() string     { return ids(r.ISR) }

func (c *Console) topic(w http.ResponseWriter, r *http.Request) {
	c.renderTopic(w, r, topicPage{Notice: r.URL.Query().Get("done")}, http.StatusOK)
}

func (c *Console) renderTopic(w http.ResponseWriter, r *http.Request, p topicPage, status int) {
	s := sessionOf(r)
	p.Name = r.PathValue("name")
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	meta, err := s.Admin.Metadata(ctx, p.Name)
	if err != nil {
		c.fail(w, r, http.StatusBadGateway, err.Error())
		return
	}
	t, ok := meta.Topics[p.Name]
	if !ok || t.Err != nil {
		msg := "no such topic: " + p.Name
		code := http.StatusNotFound
		if ok && t.Err != nil {
			msg = p.Name + ": " + t.Err.Error()
			if !strings.Contains(t.Err.Error(), "UNKNOWN_TOPIC_OR_PARTITION") {
				code = http.StatusForbidden
			}
		}
		c.fail(w, r, code, msg)
		return
	}
	p.Internal = t.IsInternal
	p.ID = base64.RawURLEncoding.EncodeToString(t.ID[:]) // as Kafka's tools print it
	starts, serr := s.Admin.ListStartOffsets(ctx, p.Name)
	ends, eerr := s.Admin.ListEndOffsets(ctx, p.Name)
	if err := errors.Join(serr, eerr); err != nil {
		p.OffsetsErr = err.Error()
	}
	for _, pt := range t.Partitions.Sorted() {
		row := partitionRow{Partition: pt.Partition, Leader: pt.Leader, Epoch: pt.LeaderEpoch, Replicas: pt.Replicas,
			ISR: pt.ISR, Offline: pt.OfflineReplicas, Start: -1, End: -1, URP: len(pt.ISR) < len(pt.Replicas)}
		if pt.Err != nil {
			row.Err = pt.Err.Error()
		}
		if o, ok := starts.Lookup(p.Name, pt.Partition); ok && o.Err == nil {
			row.Start = o.Offset
		} else if ok && o.Err != nil && row.Err == "" {
			row.Err = o.Err.Error()
		}
		if o, ok := ends.Lookup(p.Name, pt.Partition); ok && o.Err == nil {
			row.End = o.Offset
		}
		if row.Start >= 0 && row.End >= row.Start {
			p.Messages += row.End - row.Start
		}
		p.Partitions = append(p.Partitions, row)
	}
	rcs, err := s.Admin.DescribeTopicConfigs(ctx, p.Name)
	if err != nil {
		p.ConfigErr = err.Error()
	} else if rc, err := rcs.On(p.Name, nil); err != nil {
		p.ConfigErr = err.Error()
	} else if rc.Err != nil {
		p.ConfigErr = errText(rc.Err, rc.ErrMessage)
	} else {
		p.Configs = configRows(rc.Configs)
	}
	p.Rate, p.HasRate = c.samp.topicRate(p.Name)
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	c.render(w, r, "topic.html", p.Name, p)
}

// topicAction answers a topic form: back to the topic's page with a notice, or the page with
// Kafka's (or the form's) error next to the form.
func (c *Console) topicAction(w http.ResponseWriter, r *http.Request, action string, err error, notice string) {
	if err != nil {
		c.renderTopic(w, r, topicPage{Action: action, ActionErr: err.Error()}, http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, "/topics/"+url.PathEscape(r.PathValue("name"))+"?done="+url.QueryEscape(notice), http.StatusSeeOther)
}

// alterConfigResult is the error of one resource's IncrementalAlterConfigs answer.
func alterConfigResult(rs kadm.AlterConfigsResponses, err error) error {
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Err != nil {
			return errors.New(errText(r.Err, r.ErrMessage))
		}
	}
	return nil
}

func (c *Console) alterTopicConfig(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	r.Body = http.MaxBytesReader(w, r.Body, maxConfigText)
	name := r.PathValue("name")
	key, value, op := strings.TrimSpace(r.PostFormValue("config")), r.PostFormValue("value"), r.PostFormValue("op")
	if key == "" {
		c.topicAction(w, r, "configs", errors.New("enter a config name"), "")
		return
	}
	ac := kadm.AlterConfig{Name: key}
	var notice string
	switch op {
	case "set", "":
		ac.Op, ac.Value = kadm.SetConfig, &value
		notice = "set " + key + " = " + value
	case "delete":
		ac.Op = kadm.DeleteConfig
		notice = "reset " + key + " to its default"
	default:
		c.topicAction(w, r, "configs", fmt.Errorf("unknown operation %q: set or delete", op), "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	err := alterConfigResult(s.Admin.AlterTopicConfigs(ctx, []kadm.AlterConfig{ac}, name))
	if err != nil {
		err = fmt.Errorf("Kafka refused: %w", err)
	}
	c.topicAction(w, r, "configs", err, notice)
}

func (c *Console) addPartitions(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	name := r.PathValue("name")
	total, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("partitions")), 10, 32)
	if err != nil || total < 1 {
		c.topicAction(w, r, "partitions", errors.New("the new partition count: a whole number, more than the current one"), "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	rs, err := s.Admin.UpdatePartitions(ctx, int(total), name)
	if err == nil {
		if res, ok := rs[name]; ok && res.Err != nil {
			err = errors.New(errText(res.Err, res.ErrMessage))
		}
	}
	if err != nil {
		err = fmt.Errorf("Kafka refused: %w", err)
	}
	c.topicAction(w, r, "partitions", err, fmt.Sprintf("%s now has %d partitions", name, total))
}

func (c *Console) deleteTopic(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	name := r.PathValue("name")
	if r.PostFormValue("confirm") != name {
		c.topicAction(w, r, "delete", errors.New("type the topic's name to confirm the deletion"), "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	resp, err := s.Admin.DeleteTopic(ctx, name)
	if err == nil && resp.Err != nil {
		err = errors.New(errText(resp.Err, resp.ErrMessage))
	}
	if err != nil {
		c.topicAction(w, r, "delete", fmt.Errorf("Kafka refused: %w", err), "")
		return
	}
	// The deletion is in the metadata log once answered; wait (a little) until this broker's
	// metadata drops the topic too, so the list the user lands on does not show it.
	for i := 0; i < 50; i++ {
		meta, err := s.Admin.Metadata(ctx, name)
		if err != nil {
			break
		}
		if t, ok := meta.Topics[name]; !ok || t.Err != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	http.Redirect(w, r, "/topics?done="+url.QueryEscape("deleted "+name), http.StatusSeeOther)
}
