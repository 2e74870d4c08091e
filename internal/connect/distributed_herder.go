package connect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The REST side of a distributed worker. Reads come from this worker's view of the config and
// status topics. DistributedHandler forwards every change to the group's leader, so the
// methods that write the config topic below run on the leader only.

// Kafka Connect's answer while the group has no leader (409).
const rebalanceMessage = "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"

// forwardedHeader marks a request one worker forwarded to another; it is not forwarded again.
const forwardedHeader = "X-Sluice-Connect-Forwarded"

var errRebalancing = errors.New(rebalanceMessage)

// Names lists the connectors, sorted.
func (d *Distributed) Names() []string {
	names, _ := d.view.snapshot()
	if names == nil {
		names = []string{}
	}
	return names
}

// Info describes a connector.
func (d *Distributed) Info(name string) (ConnectorInfo, error) {
	config, _, tasks, ok := d.view.connector(name)
	if !ok {
		return ConnectorInfo{}, notFound(name)
	}
	info := ConnectorInfo{Name: name, Config: config, Tasks: []TaskID{}}
	if p, err := LookupPlugin(config["connector.class"]); err == nil {
		info.Type = p.Kind
	}
	for i := range tasks {
		info.Tasks = append(info.Tasks, TaskID{Connector: name, Task: i})
	}
	return info, nil
}

// TaskConfigs returns the connector's committed task configurations.
func (d *Distributed) TaskConfigs(name string) ([]map[string]string, error) {
	_, _, tasks, ok := d.view.connector(name)
	if !ok {
		return nil, notFound(name)
	}
	return tasks, nil
}

// Status reports the connector's and its tasks' states as the status topic has them.
func (d *Distributed) Status(name string) (ConnectorStatus, error) {
	info, err := d.Info(name)
	if err != nil {
		return ConnectorStatus{}, err
	}
	st := ConnectorStatus{Name: name, Type: info.Type, Tasks: []TaskStatus{}}
	d.status.mu.Lock()
	defer d.status.mu.Unlock()
	st.Connector.State = StateUnassigned
	if v, ok := d.status.connectors[name]; ok {
		st.Connector.State, st.Connector.WorkerID = v.State, v.WorkerID
		if v.Trace != nil {
			st.Connector.Trace = *v.Trace
		}
	}
	for _, id := range info.Tasks {
		ts := TaskStatus{ID: id.Task, State: StateUnassigned}
		if v, ok := d.status.tasks[id]; ok {
			ts.State, ts.WorkerID = v.State, v.WorkerID
			if v.Trace != nil {
				ts.Trace = *v.Trace
			}
		}
		st.Tasks = append(st.Tasks, ts)
	}
	return st, nil
}

// TaskStatus reports one task's state.
func (d *Distributed) TaskStatus(name string, task int) (TaskStatus, error) {
	st, err := d.Status(name)
	if err != nil {
		return TaskStatus{}, err
	}
	if task < 0 || task >= len(st.Tasks) {
		return TaskStatus{}, fmt.Errorf("%w: Task %s-%d not found", ErrNotFound, name, task)
	}
	return st.Tasks[task], nil
}

// Topics lists the topics the connector used, from the status topic (KIP-558).
func (d *Distributed) Topics(name string) ([]string, error) {
	if _, _, _, ok := d.view.connector(name); !ok {
		return nil, notFound(name)
	}
	d.status.mu.Lock()
	defer d.status.mu.Unlock()
	out := slices.Collect(maps.Keys(d.status.topics[name]))
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// Validate checks a connector configuration.
func (d *Distributed) Validate(config map[string]string) ConfigInfos { return d.w.Validate(config) }

// Offsets returns a source connector's offsets from the offsets topic, a sink's from its
// consumer group.
func (d *Distributed) Offsets(name string) ([]OffsetEntry, error) {
	config, _, _, ok := d.view.connector(name)
	if !ok {
		return nil, notFound(name)
	}
	if p, err := LookupPlugin(config["connector.class"]); err == nil && p.Kind == Sink {
		return (&connState{w: d.w, name: name}).sinkOffsets()
	}
	entries, err := d.offsets.All(name)
	if entries == nil {
		entries = []OffsetEntry{}
	}
	return entries, err
}

// The changes: run on the leader.

// leaderWrite reads the config topic to its end (so the checks below see every change made
// so far), then runs write.
func (d *Distributed) leaderWrite(write func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if err := d.configs.readToEnd(ctx); err != nil {
		return err
	}
	if err := write(ctx); err != nil {
		return err
	}
	return d.configs.readToEnd(ctx) // so the answer reflects the change
}

func configRec(key string, value []byte) *kgo.Record {
	return &kgo.Record{Key: []byte(key), Value: value}
}

// Create adds a connector, in initialState (RUNNING, PAUSED or STOPPED; "" is RUNNING).
func (d *Distributed) Create(name string, config map[string]string, initialState string) (ConnectorInfo, error) {
	return d.put(name, config, initialState, false)
}

// PutConfig creates the connector or replaces its configuration.
func (d *Distributed) PutConfig(name string, config map[string]string) (ConnectorInfo, bool, error) {
	_, _, _, exists := d.view.connector(name)
	info, err := d.put(name, config, "", true)
	return info, !exists, err
}

func (d *Distributed) put(name string, config map[string]string, initialState string, replace bool) (ConnectorInfo, error) {
	config, err := checkConnectorConfig(d.w, name, config)
	if err != nil {
		return ConnectorInfo{}, err
	}
	switch initialState {
	case "", StateRunning, StatePaused, StateStopped:
	default:
		return ConnectorInfo{}, fmt.Errorf("%w: initial_state %q is not RUNNING, PAUSED or STOPPED", ErrBadConfig, initialState)
	}
	err = d.leaderWrite(func(ctx context.Context) error {
		_, _, _, exists := d.view.connector(name)
		if exists && !replace {
			return fmt.Errorf("%w: Connector %s already exists", ErrAlreadyExists, name)
		}
		var recs []*kgo.Record
		if !exists && initialState != "" && initialState != StateRunning {
			recs = append(recs, configRec(targetStateKey(name), targetJSON(initialState)))
		}
		recs = append(recs, configRec(connectorConfigKey(name), propsJSON(config)))
		return d.configs.send(ctx, recs...)
	})
	if err != nil {
		return ConnectorInfo{}, err
	}
	return d.Info(name)
}

// Delete removes a connector: tombstones for its configuration, target state and statuses.
func (d *Distributed) Delete(name string) error {
	return d.leaderWrite(func(ctx context.Context) error {
		_, _, tasks, ok := d.view.connector(name)
		if !ok {
			return notFound(name)
		}
		if err := d.configs.send(ctx, configRec(connectorConfigKey(name), nil), configRec(targetStateKey(name), nil)); err != nil {
			return err
		}
		statuses := []*kgo.Record{configRec(connectorStatusKey(name), nil)}
		for i := range tasks {
			statuses = append(statuses, configRec(taskStatusKey(name, i), nil))
		}
		return d.statuses.send(ctx, statuses...)
	})
}

// SetTarget pauses, resumes or stops a connector. Stopping also empties its task
// configurations, as Kafka Connect does: a stopped connector has no tasks.
func (d *Distributed) SetTarget(name, target string) error {
	return d.leaderWrite(func(ctx context.Context) error {
		if _, _, _, ok := d.view.connector(name); !ok {
			return notFound(name)
		}
		var recs []*kgo.Record
		if target == StateStopped {
			recs = append(recs, configRec(commitKey(name), commitJSON(0)))
		}
		return d.configs.send(ctx, append(recs, configRec(targetStateKey(name), targetJSON(target)))...)
	})
}

// Restart asks the workers running the connector and its tasks to restart them (a restart
// request in the config topic, as Kafka Connect's KIP-745).
func (d *Distributed) Restart(name string, includeTasks, onlyFailed bool) error {
	return d.leaderWrite(func(ctx context.Context) error {
		if _, _, _, ok := d.view.connector(name); !ok {
			return notFound(name)
		}
		return d.configs.send(ctx, configRec(restartKey(name), restartJSON(includeTasks, onlyFailed)))
	})
}

// RestartTask restarts a task running on this worker; DistributedHandler sends the request
// to the worker that runs it.
func (d *Distributed) RestartTask(name string, task int) error {
	id := TaskID{Connector: name, Task: task}
	d.work.Lock()
	t := d.work.tasks[id]
	d.work.Unlock()
	if t == nil {
		if _, err := d.TaskStatus(name, task); err != nil {
			return err
		}
		return errRebalancing
	}
	d.restartLocalTask(id, t)
	return nil
}

// ResetTopics forgets the topics the connector used.
func (d *Distributed) ResetTopics(name string) error {
	topics, err := d.Topics(name)
	if err != nil {
		return err
	}
	var recs []*kgo.Record
	for _, t := range topics {
		recs = append(recs, configRec(topicStatusKey(t, name), nil))
	}
	if len(recs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if err := d.statuses.send(ctx, recs...); err != nil {
		return err
	}
	return d.statuses.readToEnd(ctx)
}

// AlterOffsets changes a stopped connector's offsets (KIP-875).
func (d *Distributed) AlterOffsets(name string, entries []OffsetEntry) error {
	config, target, _, ok := d.view.connector(name)
	if !ok {
		return notFound(name)
	}
	if target != StateStopped {
		return notStopped(name)
	}
	if p, err := LookupPlugin(config["connector.class"]); err == nil && p.Kind == Sink {
		return (&connState{w: d.w, name: name}).alterSinkOffsets(entries)
	}
	return d.offsets.Commit(name, entries)
}

// ResetOffsets removes every offset of a stopped connector.
func (d *Distributed) ResetOffsets(name string) error { return resetOffsets(d, name) }

// putTaskConfigs is the leader's: it writes a connector's new task configurations and the
// commit that applies them.
func (d *Distributed) putTaskConfigs(name string, configs []map[string]string) error {
	return d.leaderWrite(func(ctx context.Context) error {
		_, target, committed, ok := d.view.connector(name)
		if !ok {
			return notFound(name)
		}
		if target == StateStopped || sameTaskConfigs(configs, committed) {
			return nil
		}
		var recs []*kgo.Record
		for i, c := range configs {
			recs = append(recs, configRec(taskConfigKey(name, i), propsJSON(c)))
		}
		return d.configs.send(ctx, append(recs, configRec(commitKey(name), commitJSON(len(configs))))...)
	})
}

// sendTaskConfigs hands a connector's task configurations to the leader, retrying while this
// worker's generation lasts.
func (d *Distributed) sendTaskConfigs(name string, configs []map[string]string) {
	d.member.Lock()
	gen := d.member.generation
	d.member.Unlock()
	for attempt := 0; ; attempt++ {
		d.member.Lock()
		leaderURL, leader, now := d.member.leaderURL, d.member.leader, d.member.generation
		d.member.Unlock()
		if now != gen || attempt == 10 {
			return // a rebalance restarts the connector, which sends them again
		}
		var err error
		switch {
		case leader:
			err = d.putTaskConfigs(name, configs)
		case leaderURL != "":
			err = forwardJSON(http.MethodPost, strings.TrimRight(leaderURL, "/")+"/connectors/"+name+"/tasks", configs)
		default:
			err = errRebalancing
		}
		if err == nil {
			return
		}
		d.log.Warn("sending task configurations to the leader", "connector", name, "err", err)
		time.Sleep(time.Second)
	}
}

var forwardClient = &http.Client{Timeout: 60 * time.Second}

func forwardJSON(method, url string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(forwardedHeader, "1")
	resp, err := forwardClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// DistributedHandler serves Kafka Connect's REST API for a distributed worker: reads here,
// changes on the leader (forwarded to it, or 409 while there is none), a task restart on
// the worker running the task.
func DistributedHandler(d *Distributed, clusterID func() string) http.Handler {
	api := Handler(d, clusterID)
	internal := http.NewServeMux()
	// Kafka Connect's internal endpoint: a connector's worker hands its task configurations
	// to the leader.
	internal.HandleFunc("POST /connectors/{c}/tasks", func(rw http.ResponseWriter, r *http.Request) {
		var configs []map[string]string
		if !readJSON(rw, r, &configs) {
			return
		}
		if err := d.putTaskConfigs(r.PathValue("c"), configs); err != nil {
			fail(rw, err)
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	})
	internal.HandleFunc("POST /connectors/{c}/tasks/{t}/restart", func(rw http.ResponseWriter, r *http.Request) {
		d.restartTask(rw, r, api)
	})
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_, internalPattern := internal.Handler(r)
		switch {
		case r.Method == http.MethodGet || r.Method == http.MethodHead ||
			r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/connector-plugins/"):
			api.ServeHTTP(rw, r)
		case strings.HasSuffix(internalPattern, "/restart"):
			internal.ServeHTTP(rw, r)
		default:
			d.member.Lock()
			leaderURL, leader := d.member.leaderURL, d.member.leader
			d.member.Unlock()
			switch {
			case leader && internalPattern != "":
				internal.ServeHTTP(rw, r)
			case leader:
				api.ServeHTTP(rw, r)
			case leaderURL == "" || r.Header.Get(forwardedHeader) != "":
				writeError(rw, http.StatusConflict, rebalanceMessage)
			default:
				proxy(rw, r, leaderURL)
			}
		}
	})
}

// restartTask restarts a task here if it runs here, else forwards to the worker its status
// names (worker ids are REST host:port, as Kafka Connect's).
func (d *Distributed) restartTask(rw http.ResponseWriter, r *http.Request, api http.Handler) {
	t, err := strconv.Atoi(r.PathValue("t"))
	name := r.PathValue("c")
	d.work.Lock()
	local := err == nil && d.work.tasks[TaskID{name, t}] != nil
	d.work.Unlock()
	if local || err != nil {
		api.ServeHTTP(rw, r)
		return
	}
	st, serr := d.TaskStatus(name, t)
	switch {
	case serr != nil:
		fail(rw, serr)
	case st.WorkerID == "" || st.WorkerID == d.w.ID() || r.Header.Get(forwardedHeader) != "":
		writeError(rw, http.StatusConflict, rebalanceMessage)
	default:
		proxy(rw, r, "http://"+st.WorkerID)
	}
}

// proxy sends the request on to another worker and relays its answer.
func proxy(rw http.ResponseWriter, r *http.Request, baseURL string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeError(rw, http.StatusBadRequest, "reading the request body")
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, strings.TrimRight(baseURL, "/")+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		writeError(rw, http.StatusInternalServerError, err.Error())
		return
	}
	req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	req.Header.Set(forwardedHeader, "1")
	resp, err := forwardClient.Do(req)
	if err != nil {
		writeError(rw, http.StatusConflict, rebalanceMessage)
		return
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", "Location"} {
		if v := resp.Header.Get(h); v != "" {
			rw.Header().Set(h, v)
		}
	}
	rw.WriteHeader(resp.StatusCode)
	io.Copy(rw, resp.Body)
}
