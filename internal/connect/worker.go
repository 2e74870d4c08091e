package connect

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/connect/converter"
)

// States of connectors and tasks, as Kafka Connect reports them.
const (
	StateUnassigned = "UNASSIGNED"
	StateRunning    = "RUNNING"
	StatePaused     = "PAUSED"
	StateFailed     = "FAILED"
	StateStopped    = "STOPPED"
	StateRestarting = "RESTARTING"
)

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	Brokers       []string
	ClientOptions []kgo.Opt // security and the like, for every client the worker makes
	// ID is the worker id reported in statuses (Kafka Connect's: the REST host:port).
	ID string
	// Props are the worker's properties: key.converter, value.converter and their
	// key.converter.* / value.converter.* settings (defaults: JsonConverter with schemas),
	// offset.flush.interval.ms (default 60000), and any other worker-level setting.
	Props   map[string]string
	Offsets OffsetStore
	Logger  *slog.Logger
}

// Worker runs connectors and their tasks.
type Worker struct {
	cfg      WorkerConfig
	flushInt time.Duration
	log      *slog.Logger

	met *workerMetrics

	hooks workerHooks // set before any connector starts, then only read

	mu         sync.Mutex
	connectors map[string]*connState
	closed     bool
}

// workerHooks let distributed mode record what the worker's connectors and tasks do in the
// status topic; standalone leaves them nil.
type workerHooks struct {
	onState func(connector string, task int, state, trace string) // task -1: the connector
	onTopic func(connector, topic string, task int)
}

func (h workerHooks) state(connector string, task int, state, trace string) {
	if h.onState != nil {
		h.onState(connector, task, state, trace)
	}
}

type connState struct {
	w      *Worker
	name   string
	config map[string]string
	plugin *Plugin
	target string // RUNNING, PAUSED or STOPPED: what the user asked for
	state  string
	trace  string
	conn   Connector
	tasks  []*taskRunner
	// taskConfigs as last computed (kept while STOPPED, as Kafka Connect empties them)
	taskConfigs []map[string]string
	topics      map[string]struct{} // topics the connector used (GET /topics)
	reconfigure chan struct{}
	// reconfigureHook, when set (distributed mode), replaces restarting the connector and its
	// tasks here when the connector asks for a task reconfiguration.
	reconfigureHook func()
}

// NewWorker makes a worker; connectors are added with Create.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Props == nil {
		cfg.Props = map[string]string{}
	}
	if cfg.Offsets == nil {
		return nil, errors.New("connect: a worker needs an offset store")
	}
	if err := checkExactlyOnceWorker(cfg); err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg, connectors: map[string]*connState{}, log: cfg.Logger.With("component", "connect"), flushInt: time.Minute,
		met: newWorkerMetrics()}
	if v, ok := cfg.Props["offset.flush.interval.ms"]; ok {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			return nil, fmt.Errorf("connect: offset.flush.interval.ms %q is not a positive number", v)
		}
		w.flushInt = time.Duration(ms) * time.Millisecond
	}
	for _, side := range []string{"key", "value"} {
		if _, err := w.converter(nil, side); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// ID is the worker's id.
func (w *Worker) ID() string { return w.cfg.ID }

// Metrics is the registry of the worker's metrics (served at GET /metrics by Handler).
func (w *Worker) Metrics() *prometheus.Registry { return w.met.reg }

// converter makes the key or value converter of a connector: its own setting, else the
// worker's, else JsonConverter.
func (w *Worker) converter(connCfg map[string]string, side string) (converter.Converter, error) {
	prefix := side + ".converter"
	src := w.cfg.Props
	if _, ok := connCfg[prefix]; ok {
		src = connCfg
	}
	class := src[prefix]
	if class == "" {
		class = converter.JSONClass
	}
	sub := map[string]string{}
	for k, v := range src {
		if rest, ok := strings.CutPrefix(k, prefix+"."); ok {
			sub[rest] = v
		}
	}
	return converter.New(class, sub, side == "key")
}

// ConnectorInfo is a connector's name, configuration, tasks and kind (GET /connectors/{c}).
type ConnectorInfo struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Tasks  []TaskID          `json:"tasks"`
	Type   Kind              `json:"type"`
}

// TaskID names a task.
type TaskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

// Errors the REST API maps to HTTP statuses.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	ErrBadConfig     = errors.New("bad config")
	ErrNotStopped    = errors.New("not stopped")
)

// Create adds a connector and starts it in initialState (RUNNING, PAUSED or STOPPED; "" is
// RUNNING). It fails with ErrAlreadyExists if the name is taken.
func (w *Worker) Create(name string, config map[string]string, initialState string) (ConnectorInfo, error) {
	return w.put(name, config, initialState, false)
}

// PutConfig creates the connector or replaces its configuration (restarting it); created
// reports which.
func (w *Worker) PutConfig(name string, config map[string]string) (info ConnectorInfo, created bool, err error) {
	w.mu.Lock()
	_, exists := w.connectors[name]
	w.mu.Unlock()
	info, err = w.put(name, config, "", true)
	return info, !exists, err
}

// checkConnectorConfig returns a copy of config with its name set, or why it cannot be a
// connector's.
func checkConnectorConfig(w *Worker, name string, config map[string]string) (map[string]string, error) {
	config = maps.Clone(config)
	if config == nil {
		config = map[string]string{}
	}
	if n, ok := config["name"]; ok && n != name {
		return nil, fmt.Errorf("%w: Connector name configuration (%s) doesn't match connector name in the URL (%s)", ErrBadConfig, n, name)
	}
	config["name"] = name
	if name == "" || strings.ContainsAny(name, "/\x00") {
		return nil, fmt.Errorf("%w: connector name %q is invalid", ErrBadConfig, name)
	}
	if _, err := w.validate(config); err != nil {
		return nil, err
	}
	return config, nil
}

func (w *Worker) put(name string, config map[string]string, initialState string, replace bool) (ConnectorInfo, error) {
	config, err := checkConnectorConfig(w, name, config)
	if err != nil {
		return ConnectorInfo{}, err
	}
	plugin, err := LookupPlugin(config["connector.class"])
	if err != nil {
		return ConnectorInfo{}, err
	}
	switch initialState {
	case "":
		initialState = StateRunning
	case StateRunning, StatePaused, StateStopped:
	default:
		return ConnectorInfo{}, fmt.Errorf("%w: initial_state %q is not RUNNING, PAUSED or STOPPED", ErrBadConfig, initialState)
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ConnectorInfo{}, errors.New("connect: the worker is shutting down")
	}
	old, exists := w.connectors[name]
	if exists && !replace {
		w.mu.Unlock()
		return ConnectorInfo{}, fmt.Errorf("%w: Connector %s already exists", ErrAlreadyExists, name)
	}
	cs := &connState{w: w, name: name, config: config, plugin: plugin, target: initialState, state: StateUnassigned,
		topics: map[string]struct{}{}, reconfigure: make(chan struct{}, 1)}
	if exists {
		cs.target = old.target
		cs.topics = old.topics
	}
	w.connectors[name] = cs
	w.mu.Unlock()
	if exists {
		old.stopAll()
	}
	cs.start()
	return w.Info(name)
}

// validate checks the settings every connector has and the plugin's own.
func (w *Worker) validate(config map[string]string) (*Plugin, error) {
	res := w.Validate(config)
	if res.ErrorCount > 0 {
		var msgs []string
		for _, c := range res.Configs {
			for _, e := range c.Value.Errors {
				msgs = append(msgs, fmt.Sprintf("%s: %s", c.Value.Name, e))
			}
		}
		return nil, fmt.Errorf("%w: Connector configuration is invalid and contains the following %d error(s):\n%s\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`",
			ErrBadConfig, res.ErrorCount, strings.Join(msgs, "\n"))
	}
	if _, err := NewChain(config); err != nil {
		return nil, err
	}
	return LookupPlugin(config["connector.class"])
}

// Info describes a connector.
func (w *Worker) Info(name string) (ConnectorInfo, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cs, ok := w.connectors[name]
	if !ok {
		return ConnectorInfo{}, notFound(name)
	}
	info := ConnectorInfo{Name: name, Config: maps.Clone(cs.config), Type: cs.plugin.Kind, Tasks: []TaskID{}}
	for i := range cs.taskConfigs {
		info.Tasks = append(info.Tasks, TaskID{Connector: name, Task: i})
	}
	return info, nil
}

func notFound(name string) error { return fmt.Errorf("%w: Connector %s not found", ErrNotFound, name) }

func notStopped(name string) error {
	return fmt.Errorf("%w: Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/%s/stop' endpoint", ErrNotStopped, name)
}

// Names lists the connectors, sorted.
func (w *Worker) Names() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	names := slices.Collect(maps.Keys(w.connectors))
	sort.Strings(names)
	return names
}

// TaskStatus is one task's state.
type TaskStatus struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// ConnectorStatus is GET /connectors/{c}/status.
type ConnectorStatus struct {
	Name      string `json:"name"`
	Connector struct {
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace,omitempty"`
	} `json:"connector"`
	Tasks []TaskStatus `json:"tasks"`
	Type  Kind         `json:"type"`
}

// Status reports a connector's and its tasks' states.
func (w *Worker) Status(name string) (ConnectorStatus, error) {
	w.mu.Lock()
	cs, ok := w.connectors[name]
	w.mu.Unlock()
	if !ok {
		return ConnectorStatus{}, notFound(name)
	}
	var st ConnectorStatus
	st.Name, st.Type = name, cs.plugin.Kind
	st.Tasks = []TaskStatus{}
	cs.w.mu.Lock()
	st.Connector.State, st.Connector.Trace, st.Connector.WorkerID = cs.state, cs.trace, w.cfg.ID
	tasks := slices.Clone(cs.tasks)
	cs.w.mu.Unlock()
	for _, t := range tasks {
		st.Tasks = append(st.Tasks, t.status())
	}
	return st, nil
}

// TaskStatus reports one task's state.
func (w *Worker) TaskStatus(name string, task int) (TaskStatus, error) {
	st, err := w.Status(name)
	if err != nil {
		return TaskStatus{}, err
	}
	for _, t := range st.Tasks {
		if t.ID == task {
			return t, nil
		}
	}
	return TaskStatus{}, fmt.Errorf("%w: Task %s-%d not found", ErrNotFound, name, task)
}

// TaskConfigs returns the connector's task configurations.
func (w *Worker) TaskConfigs(name string) ([]map[string]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cs, ok := w.connectors[name]
	if !ok {
		return nil, notFound(name)
	}
	out := make([]map[string]string, len(cs.taskConfigs))
	for i, c := range cs.taskConfigs {
		out[i] = maps.Clone(c)
	}
	return out, nil
}

// Topics lists the topics the connector has used since it was created or its topics reset.
func (w *Worker) Topics(name string) ([]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cs, ok := w.connectors[name]
	if !ok {
		return nil, notFound(name)
	}
	out := slices.Collect(maps.Keys(cs.topics))
	sort.Strings(out)
	return out, nil
}

// ResetTopics forgets the connector's topics.
func (w *Worker) ResetTopics(name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	cs, ok := w.connectors[name]
	if !ok {
		return notFound(name)
	}
	clear(cs.topics)
	return nil
}

func (cs *connState) noteTopic(topic string) {
	cs.w.mu.Lock()
	cs.topics[topic] = struct{}{}
	cs.w.mu.Unlock()
}

// Delete stops and removes a connector.
func (w *Worker) Delete(name string) error {
	w.mu.Lock()
	cs, ok := w.connectors[name]
	delete(w.connectors, name)
	w.mu.Unlock()
	if !ok {
		return notFound(name)
	}
	cs.stopAll()
	w.met.forget(name)
	return nil
}

// SetTarget pauses (PAUSED), resumes (RUNNING) or stops (STOPPED) a connector.
func (w *Worker) SetTarget(name, target string) error {
	w.mu.Lock()
	cs, ok := w.connectors[name]
	if !ok {
		w.mu.Unlock()
		return notFound(name)
	}
	old := cs.target
	cs.target = target
	w.mu.Unlock()
	if old == target {
		return nil
	}
	switch {
	case target == StateStopped:
		cs.stopAll()
		w.mu.Lock()
		cs.state = StateStopped
		w.mu.Unlock()
	case old == StateStopped:
		cs.start()
	default: // PAUSED <-> RUNNING
		w.mu.Lock()
		cs.state = target
		tasks := slices.Clone(cs.tasks)
		w.mu.Unlock()
		for _, t := range tasks {
			t.setPaused(target == StatePaused)
		}
	}
	return nil
}

// Restart restarts a connector, and with includeTasks its tasks (onlyFailed: only those
// failed).
func (w *Worker) Restart(name string, includeTasks, onlyFailed bool) error {
	w.mu.Lock()
	cs, ok := w.connectors[name]
	w.mu.Unlock()
	if !ok {
		return notFound(name)
	}
	w.mu.Lock()
	connFailed := cs.state == StateFailed
	w.mu.Unlock()
	if !includeTasks {
		if onlyFailed && !connFailed {
			return nil
		}
		cs.restartConnector()
		return nil
	}
	if !onlyFailed || connFailed {
		cs.stopAll()
		cs.start()
		return nil
	}
	w.mu.Lock()
	tasks := slices.Clone(cs.tasks)
	w.mu.Unlock()
	for _, t := range tasks {
		if t.status().State == StateFailed {
			cs.restartTask(t.id)
		}
	}
	return nil
}

// RestartTask restarts one task.
func (w *Worker) RestartTask(name string, task int) error {
	w.mu.Lock()
	cs, ok := w.connectors[name]
	w.mu.Unlock()
	if !ok {
		return notFound(name)
	}
	if !cs.restartTask(task) {
		return fmt.Errorf("%w: Task %s-%d not found", ErrNotFound, name, task)
	}
	return nil
}

// Offsets returns a source connector's committed offsets (a sink's are its consumer group's).
func (w *Worker) Offsets(name string) ([]OffsetEntry, error) {
	w.mu.Lock()
	cs, ok := w.connectors[name]
	w.mu.Unlock()
	if !ok {
		return nil, notFound(name)
	}
	if cs.plugin.Kind == Sink {
		return cs.sinkOffsets()
	}
	entries, err := w.cfg.Offsets.All(name)
	if entries == nil {
		entries = []OffsetEntry{}
	}
	return entries, err
}

// AlterOffsets writes (or with nil offsets, removes) a stopped connector's offsets (KIP-875).
func (w *Worker) AlterOffsets(name string, entries []OffsetEntry) error {
	w.mu.Lock()
	cs, ok := w.connectors[name]
	stopped := ok && cs.state == StateStopped
	w.mu.Unlock()
	if !ok {
		return notFound(name)
	}
	if !stopped {
		return notStopped(name)
	}
	if cs.plugin.Kind == Sink {
		return cs.alterSinkOffsets(entries)
	}
	return w.cfg.Offsets.Commit(name, entries)
}

// ResetOffsets removes every offset of a stopped connector.
func (w *Worker) ResetOffsets(name string) error { return resetOffsets(w, name) }

// resetOffsets alters every offset of the connector to none.
func resetOffsets(h Herder, name string) error {
	entries, err := h.Offsets(name)
	if err != nil {
		return err
	}
	for i := range entries {
		entries[i].Offset = nil
	}
	return h.AlterOffsets(name, entries)
}

// Close stops every connector.
func (w *Worker) Close() {
	w.mu.Lock()
	w.closed = true
	all := slices.Collect(maps.Values(w.connectors))
	w.mu.Unlock()
	var wg sync.WaitGroup
	for _, cs := range all {
		wg.Add(1)
		go func() { defer wg.Done(); cs.stopAll() }()
	}
	wg.Wait()
}

// start starts the connector (unless its target is STOPPED) and its tasks.
func (cs *connState) start() {
	w := cs.w
	configs, ok := cs.startConnector()
	if !ok {
		return
	}
	var tasks []*taskRunner
	for i, tc := range configs {
		tasks = append(tasks, &taskRunner{cs: cs, id: i, config: taskRunConfig(cs.config, tc)})
	}
	w.mu.Lock()
	cs.taskConfigs, cs.tasks = configs, tasks
	target := cs.target
	w.mu.Unlock()
	for _, t := range tasks {
		t.start(target == StatePaused)
	}
	w.log.Info("connector started", "connector", cs.name, "class", cs.plugin.Class, "tasks", len(tasks), "state", target)
}

// startConnector starts the Connector instance, unless the target is STOPPED, and asks it
// for its task configurations (at most tasks.max). ok is false when it is stopped or failed.
func (cs *connState) startConnector() (configs []map[string]string, ok bool) {
	w := cs.w
	w.mu.Lock()
	target := cs.target
	w.mu.Unlock()
	if target == StateStopped {
		w.mu.Lock()
		cs.state = StateStopped
		w.mu.Unlock()
		return nil, false
	}
	conn := cs.plugin.New()
	if err := conn.Start(&connContext{cs: cs}, maps.Clone(cs.config)); err != nil {
		cs.fail(fmt.Errorf("starting the connector: %w", err))
		return nil, false
	}
	configs, err := cs.taskConfigsOf(conn)
	if err != nil {
		conn.Stop()
		cs.fail(err)
		return nil, false
	}
	w.mu.Lock()
	cs.conn, cs.state, cs.trace = conn, target, ""
	w.mu.Unlock()
	return configs, true
}

// taskConfigsOf asks a started connector for at most tasks.max task configurations.
func (cs *connState) taskConfigsOf(conn Connector) ([]map[string]string, error) {
	maxTasks := 1
	if v := cs.config["tasks.max"]; v != "" {
		maxTasks, _ = strconv.Atoi(v)
	}
	configs, err := conn.TaskConfigs(maxTasks)
	if err != nil {
		return nil, fmt.Errorf("computing task configurations: %w", err)
	}
	if len(configs) > maxTasks {
		configs = configs[:maxTasks]
	}
	return configs, nil
}

// taskRunConfig is what a task runs with: its own configuration, plus the connector's
// settings the worker uses for it (converters, transforms, topics, errors.*).
func taskRunConfig(connConfig, taskConfig map[string]string) map[string]string {
	tc := maps.Clone(taskConfig)
	if tc == nil {
		tc = map[string]string{}
	}
	for k, v := range connConfig {
		if _, ok := tc[k]; !ok {
			tc[k] = v
		}
	}
	return tc
}

func (cs *connState) fail(err error) {
	cs.w.mu.Lock()
	cs.state, cs.trace = StateFailed, err.Error()
	cs.w.mu.Unlock()
	cs.w.hooks.state(cs.name, connectorTaskID, StateFailed, err.Error())
	cs.w.log.Error("connector failed", "connector", cs.name, "err", err)
}

// stopAll stops the tasks, then the connector.
func (cs *connState) stopAll() {
	w := cs.w
	w.mu.Lock()
	tasks, conn := cs.tasks, cs.conn
	cs.tasks, cs.conn = nil, nil
	w.mu.Unlock()
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Add(1)
		go func() { defer wg.Done(); t.stop() }()
	}
	wg.Wait()
	if conn != nil {
		if err := conn.Stop(); err != nil {
			w.log.Warn("stopping a connector", "connector", cs.name, "err", err)
		}
	}
	w.mu.Lock()
	cs.state = StateUnassigned
	w.mu.Unlock()
}

func (cs *connState) restartConnector() {
	// Restarting the connector alone: stop and start the Connector instance, keeping tasks
	// unless the task configurations change.
	cs.stopAll()
	cs.start()
}

func (cs *connState) restartTask(id int) bool {
	w := cs.w
	w.mu.Lock()
	var t *taskRunner
	if id >= 0 && id < len(cs.tasks) {
		t = cs.tasks[id]
	}
	paused := cs.target == StatePaused
	w.mu.Unlock()
	if t == nil {
		return false
	}
	t.stop()
	nt := &taskRunner{cs: cs, id: id, config: t.config}
	w.mu.Lock()
	if id < len(cs.tasks) && cs.tasks[id] == t {
		cs.tasks[id] = nt
	}
	w.mu.Unlock()
	nt.start(paused)
	return true
}

type connContext struct{ cs *connState }

func (c *connContext) RequestTaskReconfiguration() {
	if c.cs.reconfigureHook != nil {
		go c.cs.reconfigureHook()
		return
	}
	go func() {
		c.cs.stopAll()
		c.cs.start()
	}()
}

func (c *connContext) RaiseError(err error) { c.cs.fail(err) }
func (c *connContext) Offsets() OffsetReader {
	return offsetReader{store: c.cs.w.cfg.Offsets, connector: c.cs.name}
}

type offsetReader struct {
	store     OffsetStore
	connector string
}

func (r offsetReader) Offset(partition map[string]any) (map[string]any, error) {
	return r.store.Get(r.connector, partition)
}

// clientOpts are the options of every client of the worker, then extra.
func (w *Worker) clientOpts(extra ...kgo.Opt) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(w.cfg.Brokers...)}
	opts = append(opts, w.cfg.ClientOptions...)
	return append(opts, extra...)
}

// flushInterval is offset.flush.interval.ms.
func (w *Worker) flushInterval() time.Duration { return w.flushInt }
