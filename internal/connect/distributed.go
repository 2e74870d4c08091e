package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DistributedConfig configures a distributed worker.
type DistributedConfig struct {
	// Worker is the worker's configuration; its Offsets is ignored (the offsets topic is the
	// store) and its Props also hold the distributed settings (group.id, the *.storage.*
	// topics, session.timeout.ms, heartbeat.interval.ms, rebalance.timeout.ms,
	// worker.sync.timeout.ms).
	Worker WorkerConfig
	// URL is the worker's REST API as the other workers reach it (rest.advertised.*).
	URL string
}

// distributedSettings are the distributed worker properties, with Kafka Connect's defaults.
type distributedSettings struct {
	groupID                                 string
	configTopic, offsetTopic, statusTopic   string
	configRF, offsetRF, statusRF            int16
	offsetPartitions, statusPartitions      int32
	session, heartbeat, rebalance, syncWait time.Duration
}

func parseDistributedSettings(props map[string]string) (distributedSettings, error) {
	s := distributedSettings{groupID: props["group.id"], configTopic: "connect-configs", offsetTopic: "connect-offsets",
		statusTopic: "connect-status"}
	if s.groupID == "" {
		return s, errors.New("connect: distributed mode needs group.id (--group-id)")
	}
	for key, dst := range map[string]*string{"config.storage.topic": &s.configTopic, "offset.storage.topic": &s.offsetTopic,
		"status.storage.topic": &s.statusTopic} {
		if v := props[key]; v != "" {
			*dst = v
		}
	}
	var errs []error
	num := func(key string, dflt, lo, hi int64) int64 {
		v, err := intProp(props, key, dflt)
		if err == nil && (v < lo || v > hi) {
			err = fmt.Errorf("connect: %s %d is out of range [%d, %d]", key, v, lo, hi)
		}
		errs = append(errs, err)
		return v
	}
	rf := func(key string) int16 {
		v := num(key, -1, -1, 32767)
		if v == 0 {
			errs = append(errs, fmt.Errorf("connect: %s must be -1 (the broker's default) or at least 1", key))
		}
		return int16(v)
	}
	s.configRF, s.offsetRF, s.statusRF = rf("config.storage.replication.factor"), rf("offset.storage.replication.factor"), rf("status.storage.replication.factor")
	s.offsetPartitions = int32(num("offset.storage.partitions", 25, 1, 100000))
	s.statusPartitions = int32(num("status.storage.partitions", 5, 1, 100000))
	ms := func(key string, dflt int64) time.Duration {
		return time.Duration(num(key, dflt, 1, 1<<31-1)) * time.Millisecond
	}
	s.session, s.heartbeat = ms("session.timeout.ms", 10000), ms("heartbeat.interval.ms", 3000)
	s.rebalance, s.syncWait = ms("rebalance.timeout.ms", 60000), ms("worker.sync.timeout.ms", 3000)
	return s, errors.Join(errs...)
}

// Distributed is a worker of a Kafka Connect cluster: the workers with the same group.id share
// the connectors and their tasks through a group on the Kafka cluster (protocol type
// "connect"), and keep configurations, offsets and statuses in the internal topics. Every
// worker answers every REST request: reads from its view of the config and status topics,
// changes forwarded to the group's leader, which alone writes the config topic.
type Distributed struct {
	w        *Worker // runs the connectors and tasks assigned here
	set      distributedSettings
	url      string
	log      *slog.Logger
	producer *kgo.Client
	group    *kgo.Client // raw group requests (kgo finds the coordinator)
	configs  *topicLog
	statuses *topicLog
	offsets  *TopicOffsets

	view   clusterView
	status statusView

	// member is the group membership as the REST API needs it; the loop owns the rest.
	member struct {
		sync.Mutex
		generation int32
		leaderURL  string // "" while rebalancing or not yet joined
		leader     bool
	}
	// work is what runs here; the membership loop changes it, REST task restarts read it.
	work struct {
		sync.Mutex
		conns map[string]*connState // connectors with anything running here
		tasks map[TaskID]*taskRunner
		// instances are the connectors whose Connector instance runs here
		instances map[string]bool
	}
	// events are config records the membership loop acts on, queued by the config reader
	// (which must never block on the loop: the loop waits for the reader).
	events struct {
		sync.Mutex
		queue []configRecord
	}
	wake chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

// clusterView is the config topic as read so far.
type clusterView struct {
	mu         sync.Mutex
	connectors map[string]map[string]string
	targets    map[string]string
	tasks      map[string][]map[string]string       // committed task configs
	pending    map[string]map[int]map[string]string // task configs read, not yet committed
}

// statusView is the status topic as read so far.
type statusView struct {
	mu         sync.Mutex
	connectors map[string]statusValue
	tasks      map[TaskID]statusValue
	topics     map[string]map[string]bool // connector → topics
}

// NewDistributed creates the internal topics if missing, reads them, and starts the worker's
// membership in its group. Close leaves the group.
func NewDistributed(cfg DistributedConfig) (*Distributed, error) {
	set, err := parseDistributedSettings(cfg.Worker.Props)
	if err != nil {
		return nil, err
	}
	d := &Distributed{set: set, url: cfg.URL, offsets: newTopicOffsets(), wake: make(chan struct{}, 1), done: make(chan struct{})}
	cfg.Worker.Offsets = d.offsets
	if d.w, err = NewWorker(cfg.Worker); err != nil {
		return nil, err
	}
	d.log = d.w.log.With("group", set.groupID)
	d.w.hooks = workerHooks{onState: d.writeStatus, onTopic: d.writeTopic}
	d.view = clusterView{connectors: map[string]map[string]string{}, targets: map[string]string{},
		tasks: map[string][]map[string]string{}, pending: map[string]map[int]map[string]string{}}
	d.status = statusView{connectors: map[string]statusValue{}, tasks: map[TaskID]statusValue{}, topics: map[string]map[string]bool{}}
	d.work.conns, d.work.tasks, d.work.instances = map[string]*connState{}, map[TaskID]*taskRunner{}, map[string]bool{}
	if err := d.open(); err != nil {
		d.closeClients()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go d.run(ctx)
	return d, nil
}

func (d *Distributed) open() error {
	var err error
	if d.producer, err = kgo.NewClient(d.w.clientOpts(kgo.ClientID("connect-"+d.set.groupID), kgo.ProducerLinger(0))...); err != nil {
		return err
	}
	if d.group, err = kgo.NewClient(d.w.clientOpts(kgo.ClientID("connect-" + d.set.groupID))...); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	err = ensureTopics(ctx, kadm.NewClient(d.group), []internalTopic{
		{d.set.configTopic, 1, d.set.configRF},
		{d.set.offsetTopic, d.set.offsetPartitions, d.set.offsetRF},
		{d.set.statusTopic, d.set.statusPartitions, d.set.statusRF},
	})
	if err != nil {
		return err
	}
	opts := d.w.clientOpts()
	if d.configs, err = openTopicLog(d.set.configTopic, opts, d.producer, d.log, d.applyConfig); err != nil {
		return err
	}
	if d.statuses, err = openTopicLog(d.set.statusTopic, opts, d.producer, d.log, d.applyStatus); err != nil {
		return err
	}
	if d.offsets.log, err = openTopicLog(d.set.offsetTopic, opts, d.producer, d.log, d.offsets.applyRecord); err != nil {
		return err
	}
	for _, l := range []*topicLog{d.configs, d.statuses, d.offsets.log} {
		if err := l.readToEnd(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (d *Distributed) closeClients() {
	if d.producer != nil { // the last statuses (UNASSIGNED) reach the status topic
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		d.producer.Flush(ctx)
		cancel()
	}
	for _, l := range []*topicLog{d.configs, d.statuses, d.offsets.log} {
		if l != nil {
			l.close()
		}
	}
	if d.producer != nil {
		d.producer.Close()
	}
	if d.group != nil {
		d.group.Close()
	}
}

// Close stops the work running here, leaves the group (so the work moves at once) and closes
// the clients.
func (d *Distributed) Close() {
	d.cancel()
	<-d.done
	d.closeClients()
}

// ID is the worker's id (its REST host:port), as statuses report it.
func (d *Distributed) ID() string { return d.w.ID() }

// Metrics is the registry of the worker's metrics.
func (d *Distributed) Metrics() *prometheus.Registry { return d.w.Metrics() }

// applyConfig is the config reader's: it updates the view and queues what the loop must act
// on.
func (d *Distributed) applyConfig(r *kgo.Record) {
	rec, err := parseConfigRecord(string(r.Key), r.Value)
	if err != nil {
		d.log.Warn("skipping a config record", "offset", r.Offset, "err", err)
		return
	}
	if rec.Kind == configOther {
		return
	}
	rec.Offset = r.Offset
	v := &d.view
	v.mu.Lock()
	switch rec.Kind {
	case configConnector:
		if rec.Props == nil {
			delete(v.connectors, rec.Connector)
			delete(v.targets, rec.Connector)
			delete(v.tasks, rec.Connector)
			delete(v.pending, rec.Connector)
		} else {
			v.connectors[rec.Connector] = rec.Props
		}
	case configTask:
		if rec.Props != nil {
			if v.pending[rec.Connector] == nil {
				v.pending[rec.Connector] = map[int]map[string]string{}
			}
			v.pending[rec.Connector][rec.Task] = rec.Props
		}
	case configCommit:
		// The commit applies tasks 0..N-1 read since the last one; ones it names that were
		// not read again keep their earlier configuration (compaction may have removed
		// the rewritten ones, as Kafka Connect allows).
		old, pend := v.tasks[rec.Connector], v.pending[rec.Connector]
		tasks := make([]map[string]string, 0, rec.Tasks)
		for i := range rec.Tasks {
			switch {
			case pend[i] != nil:
				tasks = append(tasks, pend[i])
			case i < len(old):
				tasks = append(tasks, old[i])
			default:
				tasks = append(tasks, map[string]string{})
				d.log.Warn("a task configuration commit names a task never written", "connector", rec.Connector, "task", i)
			}
		}
		v.tasks[rec.Connector] = tasks
		delete(v.pending, rec.Connector)
	case configTarget:
		if rec.Target == "" {
			delete(v.targets, rec.Connector)
		} else {
			v.targets[rec.Connector] = rec.Target
		}
	}
	v.mu.Unlock()
	d.events.Lock()
	d.events.queue = append(d.events.queue, rec)
	d.events.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// applyStatus is the status reader's. An UNASSIGNED from an older generation than the one
// recorded is dropped: it is a worker that stopped a task after another had started it.
func (d *Distributed) applyStatus(r *kgo.Record) {
	rec, ok, err := parseStatusRecord(string(r.Key), r.Value)
	if err != nil {
		d.log.Warn("skipping a status record", "offset", r.Offset, "err", err)
		return
	}
	if !ok {
		return
	}
	s := &d.status
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case rec.Topic != "":
		if rec.Tombstone {
			delete(s.topics[rec.Connector], rec.Topic)
		} else {
			if s.topics[rec.Connector] == nil {
				s.topics[rec.Connector] = map[string]bool{}
			}
			s.topics[rec.Connector][rec.Topic] = true
		}
	case rec.Task < 0:
		putStatus(s.connectors, rec.Connector, rec.Value)
	default:
		putStatus(s.tasks, TaskID{rec.Connector, rec.Task}, rec.Value)
	}
}

func putStatus[K comparable](m map[K]statusValue, k K, v *statusValue) {
	if v == nil {
		delete(m, k)
		return
	}
	if old, ok := m[k]; ok && v.State == StateUnassigned && v.Generation < old.Generation {
		return
	}
	m[k] = *v
}

// writeStatus records a state of a connector (task -1) or task running here.
func (d *Distributed) writeStatus(connector string, task int, state, trace string) {
	d.member.Lock()
	gen := d.member.generation
	d.member.Unlock()
	key := connectorStatusKey(connector)
	if task >= 0 {
		key = taskStatusKey(connector, task)
	}
	d.statuses.sendAsync(&kgo.Record{Key: []byte(key), Value: statusJSON(state, trace, d.w.ID(), gen)})
}

func (d *Distributed) writeTopic(connector, topic string, task int) {
	d.statuses.sendAsync(&kgo.Record{Key: []byte(topicStatusKey(topic, connector)),
		Value: topicStatusJSON(topic, connector, task, time.Now().UnixMilli())})
}

// snapshot is a consistent copy of the view for an assignment.
func (v *clusterView) snapshot() (connectors []string, taskCounts map[string]int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	taskCounts = map[string]int{}
	for name := range v.connectors {
		connectors = append(connectors, name)
		taskCounts[name] = len(v.tasks[name])
	}
	sort.Strings(connectors)
	return connectors, taskCounts
}

// connector returns a connector's configuration, target and committed task configurations.
func (v *clusterView) connector(name string) (config map[string]string, target string, tasks []map[string]string, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	config, ok = v.connectors[name]
	if !ok {
		return nil, "", nil, false
	}
	target = v.targets[name]
	if target == "" {
		target = StateRunning
	}
	return maps.Clone(config), target, slices.Clone(v.tasks[name]), true
}
