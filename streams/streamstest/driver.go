// Package streamstest runs a topology without a broker, as Kafka Streams' TopologyTestDriver
// does: pipe input records in, advance a mock wall clock, read what the sinks wrote and look at
// the stores.
//
// Every topic has one partition, so each sub-topology runs as one task (partition 0) and
// global stores are updated as their topics are piped. Records a sink writes to one of the
// application's internal (repartition) topics are fed to the sub-topology that reads it at
// once, before Pipe returns, in the order they were written. Stores are in memory; the changes
// of logged stores are readable as records of their changelog topics
// ("<application id>-<store>-changelog"), as is everything else a sink wrote.
//
// A Driver is not safe for concurrent use.
package streamstest

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/sluicehq/sluice/streams/internal/engine"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/state"
)

// Config configures a Driver.
type Config struct {
	// ApplicationID prefixes internal topic names ("test-app" when empty).
	ApplicationID string
	// WallClock is the mock wall clock's start (time.Now() when zero).
	WallClock time.Time
	// StateStoreCacheMaxBytes (statestore.cache.max.bytes) is the record cache of the
	// caching stores: state.DefaultCacheMaxBytes when zero, none when negative. The driver
	// commits after every record, as Kafka Streams' does, so the caches only merge the
	// updates one piped record makes (and those of the records it leads to).
	StateStoreCacheMaxBytes int64
}

// Record is a record a sink (or a store's changelog) wrote.
type Record struct {
	Topic     string
	Key       []byte
	Value     []byte
	Timestamp int64
	Headers   []processor.Header
}

// Driver runs a topology in memory.
type Driver struct {
	appID   string
	clock   time.Time
	tasks   []*engine.Task
	byTopic map[string]*engine.Task // resolved source topic → its task
	globals map[string]*engine.Task // global store topic → its updater
	stores  map[string]any
	outputs map[string][]Record
	pending []engine.Output // written to internal topics, not yet processed
	offsets map[string]int64
	closed  bool
}

// New builds t and starts its tasks (processors' Init runs here).
func New(t *processor.Topology, cfg Config) (*Driver, error) {
	prog, err := t.Build()
	if err != nil {
		return nil, err
	}
	d := &Driver{appID: cfg.ApplicationID, clock: cfg.WallClock, byTopic: map[string]*engine.Task{}, globals: map[string]*engine.Task{},
		stores: map[string]any{}, outputs: map[string][]Record{}, offsets: map[string]int64{}}
	if d.appID == "" {
		d.appID = "test-app"
	}
	if d.clock.IsZero() {
		d.clock = time.Now()
	}
	clock := func() time.Time { return d.clock }
	globalStores := map[string]any{}
	for _, g := range prog.Globals {
		s, err := engine.OpenStores(nil, []processor.StoreSpec{g.Store}, nil, nil)
		if err != nil {
			d.Close()
			return nil, err
		}
		globalStores[g.Store.Name] = s[g.Store.Name]
		d.stores[g.Store.Name] = s[g.Store.Name]
		gt, err := engine.NewGlobalTask(engine.GlobalConfig{AppID: d.appID, Global: g, Store: s[g.Store.Name], Clock: clock})
		if err != nil {
			d.Close()
			return nil, err
		}
		d.globals[g.Topic] = gt
	}
	var cache *state.Cache
	switch {
	case cfg.StateStoreCacheMaxBytes == 0:
		cache = state.NewCache(state.DefaultCacheMaxBytes)
	case cfg.StateStoreCacheMaxBytes > 0:
		cache = state.NewCache(cfg.StateStoreCacheMaxBytes)
	}
	for _, sub := range prog.Subtopologies {
		stores, err := engine.OpenStores(nil, sub.Stores, func(spec processor.StoreSpec) state.ChangeLogger {
			return &changelog{d: d, topic: engine.ChangelogTopic(d.appID, spec.Name)}
		}, cache)
		if err != nil {
			d.Close()
			return nil, err
		}
		for name, s := range stores {
			d.stores[name] = s
		}
		task, err := engine.NewTask(engine.Config{
			AppID: d.appID, ID: processor.TaskID{Subtopology: sub.ID}, Sub: sub, Stores: stores, Globals: globalStores,
			Send:       d.send,
			Partitions: func(string) (int32, error) { return 1, nil },
			Clock:      clock,
		})
		if err != nil {
			d.Close()
			return nil, err
		}
		d.tasks = append(d.tasks, task)
		for _, topic := range sub.SourceTopics {
			if slices.Contains(sub.InternalSources, topic) {
				topic = engine.InternalTopic(d.appID, topic)
			}
			d.byTopic[topic] = task
		}
	}
	return d, nil
}

type changelog struct {
	d     *Driver
	topic string
}

func (c *changelog) Log(key, value []byte) {
	rec := Record{Topic: c.topic, Key: slices.Clone(key), Timestamp: c.d.clock.UnixMilli()}
	if value != nil {
		rec.Value = slices.Clone(value)
	}
	c.d.outputs[c.topic] = append(c.d.outputs[c.topic], rec)
}

func (d *Driver) send(o engine.Output) error {
	d.outputs[o.Topic] = append(d.outputs[o.Topic], Record{Topic: o.Topic, Key: o.Key, Value: o.Value, Timestamp: o.Timestamp, Headers: o.Headers})
	if _, internal := d.byTopic[o.Topic]; internal {
		d.pending = append(d.pending, o)
	}
	return nil
}

// ErrClosed is returned by a closed Driver.
var ErrClosed = errors.New("streamstest: driver closed")

// Pipe processes one record of topic (a source or global store topic; internal topics by their
// full name) and everything it causes in the application's internal topics.
func (d *Driver) Pipe(topic string, key, value []byte, timestamp int64, headers ...processor.Header) error {
	if d.closed {
		return ErrClosed
	}
	if gt := d.globals[topic]; gt != nil {
		return gt.Process(d.input(topic, key, value, timestamp, headers))
	}
	task := d.byTopic[topic]
	if task == nil {
		return fmt.Errorf("streamstest: no source reads topic %q (sources: %v)", topic, d.SourceTopics())
	}
	if err := task.Process(d.input(topic, key, value, timestamp, headers)); err != nil {
		d.pending = d.pending[:0]
		return err
	}
	return d.drain()
}

func (d *Driver) input(topic string, key, value []byte, ts int64, headers []processor.Header) engine.Input {
	off := d.offsets[topic]
	d.offsets[topic] = off + 1
	return engine.Input{Topic: topic, Offset: off, Key: key, Value: value, Timestamp: ts, Headers: headers}
}

// drain feeds the records written to internal topics to their readers, oldest first, then
// commits: every task's caches are flushed (what they forward may feed internal topics
// again).
func (d *Driver) drain() error {
	for {
		for len(d.pending) > 0 {
			o := d.pending[0]
			d.pending = d.pending[1:]
			if err := d.byTopic[o.Topic].Process(d.input(o.Topic, o.Key, o.Value, o.Timestamp, o.Headers)); err != nil {
				d.pending = d.pending[:0]
				return err
			}
		}
		for _, t := range d.tasks {
			if err := t.Flush(); err != nil {
				d.pending = d.pending[:0]
				return err
			}
		}
		if len(d.pending) == 0 {
			return nil
		}
	}
}

// SourceTopics lists the topics Pipe accepts, sorted.
func (d *Driver) SourceTopics() []string {
	var ts []string
	for t := range d.byTopic {
		ts = append(ts, t)
	}
	for t := range d.globals {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// WallClock is the mock wall clock.
func (d *Driver) WallClock() time.Time { return d.clock }

// AdvanceWallClock moves the mock wall clock forward by by and fires the wall-clock punctuators
// that became due.
func (d *Driver) AdvanceWallClock(by time.Duration) error {
	if d.closed {
		return ErrClosed
	}
	if by < 0 {
		return errors.New("streamstest: the wall clock does not go back")
	}
	d.clock = d.clock.Add(by)
	for _, t := range d.tasks {
		if err := t.Punctuate(d.clock); err != nil {
			return err
		}
		if err := d.drain(); err != nil {
			return err
		}
	}
	return nil
}

// Read returns the records written to topic since the last Read of it, and forgets them.
func (d *Driver) Read(topic string) []Record {
	recs := d.outputs[topic]
	delete(d.outputs, topic)
	return recs
}

// Topics lists the topics with records not read yet, sorted.
func (d *Driver) Topics() []string {
	var ts []string
	for t, recs := range d.outputs {
		if len(recs) > 0 {
			ts = append(ts, t)
		}
	}
	sort.Strings(ts)
	return ts
}

// KeyValueStore returns a key-value store of the topology (global ones included).
func (d *Driver) KeyValueStore(name string) (state.KeyValueStore, error) {
	s, ok := d.stores[name].(state.KeyValueStore)
	if !ok {
		return nil, fmt.Errorf("streamstest: no key-value store %q", name)
	}
	return s, nil
}

// WindowStore returns a window store of the topology.
func (d *Driver) WindowStore(name string) (state.WindowStore, error) {
	s, ok := d.stores[name].(state.WindowStore)
	if !ok {
		return nil, fmt.Errorf("streamstest: no window store %q", name)
	}
	return s, nil
}

// SessionStore returns a session store of the topology.
func (d *Driver) SessionStore(name string) (state.SessionStore, error) {
	s, ok := d.stores[name].(state.SessionStore)
	if !ok {
		return nil, fmt.Errorf("streamstest: no session store %q", name)
	}
	return s, nil
}

// StreamTime is the stream time of the task reading topic (math.MinInt64 before any record).
func (d *Driver) StreamTime(topic string) (int64, error) {
	t := d.byTopic[topic]
	if t == nil {
		return 0, fmt.Errorf("streamstest: no source reads topic %q", topic)
	}
	return t.StreamTime(), nil
}

// Skipped counts the records the tasks dropped (ErrSkip from a deserializer, negative
// timestamps).
func (d *Driver) Skipped() int64 {
	var n int64
	for _, t := range d.tasks {
		n += t.Skipped()
	}
	return n
}

// Close flushes the caches, then closes the processors and the stores.
func (d *Driver) Close() error {
	if d.closed {
		return nil
	}
	errs := []error{d.drain()}
	d.closed = true
	for _, t := range d.tasks {
		errs = append(errs, t.Close())
	}
	for _, t := range d.globals {
		errs = append(errs, t.Close())
	}
	errs = append(errs, engine.CloseStores(d.stores))
	return errors.Join(errs...)
}

// KeyValue is a typed record read from an output topic.
type KeyValue[K, V any] struct {
	Key       K
	Value     V
	Timestamp int64
	Headers   []processor.Header
	// Tombstone is set when the record's value was null.
	Tombstone bool
}

// Input pipes typed records into one topic.
type Input[K, V any] struct {
	d     *Driver
	topic string
	ks    serde.Serde[K]
	vs    serde.Serde[V]
}

// NewInput returns an Input of topic that serializes with ks and vs.
func NewInput[K, V any](d *Driver, topic string, ks serde.Serde[K], vs serde.Serde[V]) *Input[K, V] {
	return &Input[K, V]{d: d, topic: topic, ks: ks, vs: vs}
}

// Pipe serializes and pipes one record.
func (in *Input[K, V]) Pipe(key K, value V, timestamp int64, headers ...processor.Header) error {
	kb, err := in.ks.Serialize(in.topic, key)
	if err != nil {
		return fmt.Errorf("streamstest: serializing a key for %s: %w", in.topic, err)
	}
	vb, err := in.vs.Serialize(in.topic, value)
	if err != nil {
		return fmt.Errorf("streamstest: serializing a value for %s: %w", in.topic, err)
	}
	return in.d.Pipe(in.topic, kb, vb, timestamp, headers...)
}

// PipeTombstone pipes a record with a null value.
func (in *Input[K, V]) PipeTombstone(key K, timestamp int64) error {
	kb, err := in.ks.Serialize(in.topic, key)
	if err != nil {
		return fmt.Errorf("streamstest: serializing a key for %s: %w", in.topic, err)
	}
	return in.d.Pipe(in.topic, kb, nil, timestamp)
}

// Output reads typed records of one topic.
type Output[K, V any] struct {
	d     *Driver
	topic string
	ks    serde.Serde[K]
	vs    serde.Serde[V]
}

// NewOutput returns an Output of topic that deserializes with ks and vs.
func NewOutput[K, V any](d *Driver, topic string, ks serde.Serde[K], vs serde.Serde[V]) *Output[K, V] {
	return &Output[K, V]{d: d, topic: topic, ks: ks, vs: vs}
}

// Read deserializes and returns the records written since the last Read of the topic. A null
// value is not passed to the value serde: it reads as V's zero value with Tombstone set.
func (o *Output[K, V]) Read() ([]KeyValue[K, V], error) {
	var out []KeyValue[K, V]
	for _, r := range o.d.Read(o.topic) {
		kv := KeyValue[K, V]{Timestamp: r.Timestamp, Headers: r.Headers, Tombstone: r.Value == nil}
		var err error
		if kv.Key, err = o.ks.Deserialize(o.topic, r.Key); err != nil {
			return out, fmt.Errorf("streamstest: deserializing a key of %s: %w", o.topic, err)
		}
		if !kv.Tombstone {
			if kv.Value, err = o.vs.Deserialize(o.topic, r.Value); err != nil {
				return out, fmt.Errorf("streamstest: deserializing a value of %s: %w", o.topic, err)
			}
		}
		out = append(out, kv)
	}
	return out, nil
}

// ReadTable reads o like Read and keeps each key's last value (a tombstone removes the key): the
// table the records describe.
func ReadTable[K comparable, V any](o *Output[K, V]) (map[K]V, error) {
	recs, err := o.Read()
	m := make(map[K]V, len(recs))
	for _, r := range recs {
		if r.Tombstone {
			delete(m, r.Key)
		} else {
			m[r.Key] = r.Value
		}
	}
	return m, err
}
