// Package engine runs one sub-topology for one partition: a task. It deserializes input records
// with their source's deserializers, passes them depth first through the processors, serializes
// what reaches a sink and hands it to the caller, keeps the task's stream time and fires its
// punctuators. It does no I/O of its own: the runtime (package streams) feeds it from Kafka and
// sends its output with a producer; the test driver (streams/streamstest) feeds it from memory.
//
// A Task is used from one goroutine at a time.
package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// Input is one record read from a source topic.
type Input struct {
	Topic     string // as read: internal topics carry the "<application.id>-" prefix
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Timestamp int64
	Headers   []processor.Header
}

// Output is one record a sink writes.
type Output struct {
	Topic     string // resolved: internal topics carry the prefix
	Partition int32  // -1: the producer's default partitioner (murmur2 of Key, as Kafka's)
	Key       []byte
	Value     []byte
	Timestamp int64
	Headers   []processor.Header
}

// Config is what a task runs and with what.
type Config struct {
	AppID string
	ID    processor.TaskID
	Sub   *processor.Subtopology
	// Stores holds every store of Sub, opened by the caller: state.KeyValueStore,
	// state.WindowStore or state.SessionStore by the spec's Kind.
	Stores map[string]any
	// Globals holds the global stores, readable by every processor.
	Globals map[string]any
	// Send receives each record a sink writes, in order.
	Send func(Output) error
	// Partitions gives the partition count of an output topic, for sinks with a Partitioner.
	Partitions func(topic string) (int32, error)
	// Clock is the wall clock (time.Now when nil).
	Clock  func() time.Time
	Logger *slog.Logger
}

// InternalTopic is the name of an application's internal topic.
func InternalTopic(appID, name string) string { return appID + "-" + name }

// ChangelogTopic is the changelog topic of an application's store.
func ChangelogTopic(appID, store string) string { return appID + "-" + store + "-changelog" }

// Task runs one sub-topology for one partition.
type Task struct {
	cfg        Config
	nodes      []*node // in topology order
	sources    map[string]*node
	streamTime int64
	schedules  []*schedule
	commitReq  bool
	cur        struct {
		topic     string
		partition int32
		offset    int64
	}
	skipped int64
	closed  bool
	// caching are the task's caching stores, in the topology order of the first processor
	// connected to each: a flush forwards downstream, where a later store may take writes.
	caching []state.CachingStore
}

type node struct {
	t        *Task
	spec     *processor.Node
	proc     processor.Processor
	children []*node
	byName   map[string]*node
	topic    string // resolved sink topic
	stores   map[string]bool
}

type schedule struct {
	n         *node
	interval  int64
	typ       processor.PunctuationType
	fn        processor.Punctuator
	next      int64 // math.MinInt64: a stream-time schedule waiting for its first record
	cancelled bool
}

// NewTask makes the task's processors and calls their Init in topology order.
func NewTask(cfg Config) (*Task, error) {
	if cfg.Sub == nil || cfg.Send == nil {
		return nil, errors.New("engine: a task needs a sub-topology and a Send")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Task{cfg: cfg, sources: map[string]*node{}, streamTime: math.MinInt64}
	t.cur.partition, t.cur.offset = -1, -1
	byName := map[string]*node{}
	for _, spec := range cfg.Sub.Nodes {
		n := &node{t: t, spec: spec, byName: map[string]*node{}, stores: map[string]bool{}}
		for _, s := range spec.Stores {
			if _, ok := cfg.Stores[s]; !ok {
				return nil, fmt.Errorf("engine: task %v: store %q of processor %q was not opened", cfg.ID, s, spec.Name)
			}
			n.stores[s] = true
			if c, ok := cfg.Stores[s].(state.CachingStore); ok && !slices.Contains(t.caching, c) {
				t.caching = append(t.caching, c)
			}
		}
		switch spec.Kind {
		case processor.SourceNode:
			for _, topic := range spec.Topics {
				if spec.Internal {
					topic = InternalTopic(cfg.AppID, topic)
				}
				t.sources[topic] = n
			}
		case processor.SinkNode:
			n.topic = spec.Topics[0]
			if spec.Internal {
				n.topic = InternalTopic(cfg.AppID, n.topic)
			}
		}
		byName[spec.Name] = n
		t.nodes = append(t.nodes, n)
	}
	for _, n := range t.nodes {
		for _, c := range n.spec.Children {
			child := byName[c]
			if child == nil {
				return nil, fmt.Errorf("engine: node %q: child %q is not in sub-topology %d", n.spec.Name, c, cfg.Sub.ID)
			}
			n.children = append(n.children, child)
			n.byName[c] = child
		}
	}
	for i, n := range t.nodes {
		if n.spec.Kind != processor.ProcessorNode {
			continue
		}
		n.proc = n.spec.Supplier()
		if n.proc == nil {
			return nil, fmt.Errorf("engine: the supplier of processor %q returned nil", n.spec.Name)
		}
		if err := n.proc.Init(n); err != nil {
			for _, m := range t.nodes[:i] {
				if m.proc != nil {
					m.proc.Close()
				}
			}
			return nil, fmt.Errorf("engine: task %v: init of %q: %w", cfg.ID, n.spec.Name, err)
		}
	}
	return t, nil
}

// ID is the task's id.
func (t *Task) ID() processor.TaskID { return t.cfg.ID }

// StreamTime is the largest timestamp the task has processed (math.MinInt64 before any).
func (t *Task) StreamTime() int64 { return t.streamTime }

// Skipped counts the records dropped: ErrSkip from a deserializer, a negative timestamp, or a
// record a processor dropped (RecordDropped: a null key or value, a late record).
func (t *Task) Skipped() int64 { return t.skipped }

// CommitRequested reports whether a processor asked for a commit since the last call.
func (t *Task) CommitRequested() bool {
	r := t.commitReq
	t.commitReq = false
	return r
}

// Process runs one input record through the task, then the stream-time punctuators it made due.
func (t *Task) Process(in Input) error {
	src := t.sources[in.Topic]
	if src == nil {
		return fmt.Errorf("engine: task %v reads no topic %q", t.cfg.ID, in.Topic)
	}
	opts := &src.spec.Source
	key, err := deserialize(opts.Key, in.Topic, in.Key)
	if err == nil {
		var value any
		if value, err = deserialize(opts.Value, in.Topic, in.Value); err == nil {
			rec := processor.Record{Key: key, Value: value, Timestamp: in.Timestamp, Headers: in.Headers}
			return t.processRecord(src, in, rec)
		}
	}
	if errors.Is(err, processor.ErrSkip) {
		t.skipped++
		t.cfg.Logger.Debug("skipping a record that does not deserialize", "topic", in.Topic, "partition", in.Partition, "offset", in.Offset, "err", err)
		return nil
	}
	return fmt.Errorf("engine: task %v: deserializing %s-%d@%d: %w", t.cfg.ID, in.Topic, in.Partition, in.Offset, err)
}

func deserialize(d processor.Deserializer, topic string, b []byte) (any, error) {
	if d == nil {
		if b == nil {
			return nil, nil
		}
		return b, nil
	}
	return d(topic, b)
}

func (t *Task) processRecord(src *node, in Input, rec processor.Record) error {
	if ex := src.spec.Source.Timestamp; ex != nil {
		rec.Timestamp = ex(rec, in.Timestamp)
	}
	if rec.Timestamp < 0 {
		t.skipped++
		t.cfg.Logger.Debug("skipping a record with a negative timestamp", "topic", in.Topic, "partition", in.Partition, "offset", in.Offset, "timestamp", rec.Timestamp)
		return nil
	}
	t.streamTime = max(t.streamTime, rec.Timestamp)
	t.cur.topic, t.cur.partition, t.cur.offset = in.Topic, in.Partition, in.Offset
	err := src.Forward(rec)
	t.cur.topic, t.cur.partition, t.cur.offset = "", -1, -1
	if err != nil {
		return err
	}
	return t.fire(processor.StreamTime, t.streamTime)
}

// Punctuate fires the wall-clock punctuators due by now.
func (t *Task) Punctuate(now time.Time) error {
	return t.fire(processor.WallClockTime, now.UnixMilli())
}

func (t *Task) fire(typ processor.PunctuationType, now int64) error {
	fired := false
	for i := 0; i < len(t.schedules); i++ { // a punctuator may schedule more
		s := t.schedules[i]
		if s.typ != typ || s.cancelled {
			continue
		}
		if s.next == math.MinInt64 {
			s.next = now + s.interval
			continue
		}
		if now < s.next {
			continue
		}
		s.next += s.interval
		if s.next <= now { // time jumped: fire once, then keep to the interval from now
			s.next = now + s.interval
		}
		fired = true
		if err := s.fn(now); err != nil {
			return fmt.Errorf("engine: task %v: punctuator of %q: %w", t.cfg.ID, s.n.spec.Name, err)
		}
	}
	if fired {
		live := t.schedules[:0]
		for _, s := range t.schedules {
			if !s.cancelled {
				live = append(live, s)
			}
		}
		clear(t.schedules[len(live):])
		t.schedules = live
	}
	return nil
}

// Flush writes the dirty entries of the task's caching stores to the stores (and so to
// their changelogs) and forwards them downstream through their processors' flush listeners,
// store by store in topology order. The runtime calls it at every commit, before the
// producer is flushed or the transaction ended, so that what it writes is in that commit;
// the test driver after every record. A no-op without caching stores.
func (t *Task) Flush() error {
	for _, c := range t.caching {
		if err := c.FlushCache(); err != nil {
			return fmt.Errorf("engine: task %v: flushing a store's cache: %w", t.cfg.ID, err)
		}
	}
	return nil
}

// ClearCaches drops what the task's caching stores hold, dirty or not (the state is being
// thrown away or restored again).
func (t *Task) ClearCaches() {
	for _, c := range t.caching {
		c.ClearCache()
	}
}

// Close closes every processor, in topology order, and returns the first error. The stores are
// the caller's to close.
func (t *Task) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	var first error
	for _, n := range t.nodes {
		if n.proc != nil {
			if err := n.proc.Close(); err != nil && first == nil {
				first = fmt.Errorf("engine: task %v: close of %q: %w", t.cfg.ID, n.spec.Name, err)
			}
		}
	}
	return first
}

// process hands rec to n: a processor's Process, or a sink's output.
func (n *node) process(rec processor.Record) error {
	switch n.spec.Kind {
	case processor.ProcessorNode:
		return n.proc.Process(rec)
	case processor.SinkNode:
		return n.sink(rec)
	}
	return n.Forward(rec) // a source reached by ForwardTo: pass through
}

func (n *node) sink(rec processor.Record) error {
	opts := &n.spec.Sink
	var key, value []byte
	var err error
	if key, err = serialize(opts.Key, n.topic, rec.Key); err != nil {
		return fmt.Errorf("engine: sink %q: serializing the key for %s: %w", n.spec.Name, n.topic, err)
	}
	if value, err = serialize(opts.Value, n.topic, rec.Value); err != nil {
		return fmt.Errorf("engine: sink %q: serializing the value for %s: %w", n.spec.Name, n.topic, err)
	}
	out := Output{Topic: n.topic, Partition: -1, Key: key, Value: value, Timestamp: rec.Timestamp, Headers: rec.Headers}
	if opts.Partitioner != nil {
		if n.t.cfg.Partitions == nil {
			return fmt.Errorf("engine: sink %q has a partitioner but the task knows no partition counts", n.spec.Name)
		}
		count, err := n.t.cfg.Partitions(n.topic)
		if err != nil {
			return fmt.Errorf("engine: sink %q: partitions of %s: %w", n.spec.Name, n.topic, err)
		}
		if p, ok := opts.Partitioner(n.topic, rec.Key, rec.Value, key, count); ok {
			if p < 0 || p >= count {
				return fmt.Errorf("engine: sink %q: partitioner chose partition %d of %s's %d", n.spec.Name, p, n.topic, count)
			}
			out.Partition = p
		}
	}
	return n.t.cfg.Send(out)
}

func serialize(s processor.Serializer, topic string, v any) ([]byte, error) {
	if s != nil {
		return s(topic, v)
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		return v, nil
	case string:
		return []byte(v), nil
	}
	return nil, fmt.Errorf("no serializer for a %T", v)
}

// The processor.Context of the node's processor.

func (n *node) ApplicationID() string    { return n.t.cfg.AppID }
func (n *node) TaskID() processor.TaskID { return n.t.cfg.ID }
func (n *node) Topic() string            { return n.t.cur.topic }
func (n *node) Partition() int32         { return n.t.cur.partition }
func (n *node) Offset() int64            { return n.t.cur.offset }
func (n *node) StreamTime() int64        { return n.t.streamTime }
func (n *node) WallClock() time.Time     { return n.t.cfg.Clock() }
func (n *node) Commit()                  { n.t.commitReq = true }

// RecordDropped counts a record a processor dropped (a null key or value, a record too late
// for its window) with the task's skipped records: Kafka Streams' dropped-records. The DSL's
// processors call it through an interface check, so processor.Context stays as it is.
func (n *node) RecordDropped() { n.t.skipped++ }
func (n *node) Forward(rec processor.Record) error {
	for _, c := range n.children {
		if err := c.process(rec); err != nil {
			return err
		}
	}
	return nil
}

func (n *node) ForwardTo(child string, rec processor.Record) error {
	c := n.byName[child]
	if c == nil {
		return fmt.Errorf("engine: %q has no child %q", n.spec.Name, child)
	}
	return c.process(rec)
}

func (n *node) store(name string) (any, error) {
	if n.stores[name] {
		return n.t.cfg.Stores[name], nil
	}
	if s, ok := n.t.cfg.Globals[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("engine: processor %q is not connected to a store %q", n.spec.Name, name)
}

func (n *node) KeyValueStore(name string) (state.KeyValueStore, error) {
	s, err := n.store(name)
	if err != nil {
		return nil, err
	}
	kv, ok := s.(state.KeyValueStore)
	if !ok {
		return nil, fmt.Errorf("engine: store %q is a %T, not a key-value store", name, s)
	}
	return kv, nil
}

func (n *node) WindowStore(name string) (state.WindowStore, error) {
	s, err := n.store(name)
	if err != nil {
		return nil, err
	}
	w, ok := s.(state.WindowStore)
	if !ok {
		return nil, fmt.Errorf("engine: store %q is a %T, not a window store", name, s)
	}
	return w, nil
}

func (n *node) SessionStore(name string) (state.SessionStore, error) {
	s, err := n.store(name)
	if err != nil {
		return nil, err
	}
	ss, ok := s.(state.SessionStore)
	if !ok {
		return nil, fmt.Errorf("engine: store %q is a %T, not a session store", name, s)
	}
	return ss, nil
}

func (n *node) Schedule(interval time.Duration, typ processor.PunctuationType, p processor.Punctuator) (cancel func()) {
	ms := max(interval.Milliseconds(), 1)
	s := &schedule{n: n, interval: ms, typ: typ, fn: p, next: math.MinInt64}
	switch {
	case typ == processor.WallClockTime:
		s.next = n.t.cfg.Clock().UnixMilli() + ms
	case n.t.streamTime != math.MinInt64:
		s.next = n.t.streamTime + ms
	}
	n.t.schedules = append(n.t.schedules, s)
	return func() { s.cancelled = true }
}

// GlobalConfig is what a global task runs: the updater of one global store.
type GlobalConfig struct {
	AppID  string
	Global *processor.Global
	// Store is the opened global store (its Kind as Global.Store says).
	Store  any
	Clock  func() time.Time
	Logger *slog.Logger
}

// NewGlobalTask makes the task that keeps a global store: its topic's records go to the
// updater processor, which writes the store. It has no sinks; Forward reaches nothing.
func NewGlobalTask(cfg GlobalConfig) (*Task, error) {
	g := cfg.Global
	src := &processor.Node{Name: "global-source-" + g.Store.Name, Kind: processor.SourceNode, Topics: []string{g.Topic}, Source: g.Source}
	upd := &processor.Node{Name: "global-updater-" + g.Store.Name, Kind: processor.ProcessorNode, Supplier: g.Updater,
		Stores: []string{g.Store.Name}, Parents: []string{src.Name}}
	src.Children = []string{upd.Name}
	sub := &processor.Subtopology{ID: -1, Nodes: []*processor.Node{src, upd}, SourceTopics: []string{g.Topic}}
	return NewTask(Config{
		AppID: cfg.AppID, ID: processor.TaskID{Subtopology: -1, Partition: -1}, Sub: sub,
		Stores: map[string]any{g.Store.Name: cfg.Store},
		Send: func(Output) error {
			return fmt.Errorf("engine: the updater of global store %q has no sink", g.Store.Name)
		},
		Clock: cfg.Clock, Logger: cfg.Logger,
	})
}
