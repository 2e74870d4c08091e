package processor

import (
	"fmt"
	"slices"
	"sort"
)

// StoreKind is the kind of a state store.
type StoreKind uint8

const (
	KeyValueStore StoreKind = iota
	WindowStore
	SessionStore
)

func (k StoreKind) String() string {
	switch k {
	case KeyValueStore:
		return "key-value"
	case WindowStore:
		return "window"
	case SessionStore:
		return "session"
	}
	return fmt.Sprintf("StoreKind(%d)", uint8(k))
}

// StoreSpec describes a state store a topology uses. The runtime opens one per task, in the
// task's Pebble database (InMemory: in memory), logged to the compacted changelog topic
// "<application.id>-<Name>-changelog" unless LoggingDisabled.
type StoreSpec struct {
	Name string
	Kind StoreKind
	// Retention and SegmentInterval (ms) for window and session stores (see streams/state).
	Retention, SegmentInterval int64
	// RetainDuplicates keeps every put of a window store (stream-stream joins).
	RetainDuplicates bool
	InMemory         bool
	LoggingDisabled  bool
	// Caching puts a record cache in front of the store (Kafka Streams' withCachingEnabled)
	// when the application has one (statestore.cache.max.bytes > 0): the store is then a
	// state.CachingKeyValueStore or state.CachingWindowStore, whose writes reach the store,
	// its changelog and its flush listener at each commit, or when the cache evicts them.
	// Session stores and window stores with RetainDuplicates are not cached.
	Caching bool
	// ChangelogConfigs are topic configs for the changelog (cleanup.policy is compact, and
	// compact,delete with retention.ms for window and session stores, unless given here).
	ChangelogConfigs map[string]string
}

// NodeKind is the kind of a topology node.
type NodeKind uint8

const (
	SourceNode NodeKind = iota
	ProcessorNode
	SinkNode
)

// SourceOptions configure a source node.
type SourceOptions struct {
	Key, Value Deserializer
	// Timestamp, if not nil, gives each record its event time; nil uses the Kafka record's
	// timestamp.
	Timestamp TimestampExtractor
}

// SinkOptions configure a sink node.
type SinkOptions struct {
	Key, Value  Serializer
	Partitioner Partitioner
}

// Node is one node of a topology, as Topology.Subtopologies reports it.
type Node struct {
	Name string
	Kind NodeKind
	// Topics a source reads, or (one) a sink writes. Internal topics (Internal true) are
	// named without the "<application.id>-" prefix the runtime adds.
	Topics   []string
	Internal bool
	Source   SourceOptions
	Sink     SinkOptions
	Supplier Supplier
	// Stores the processor may use (connected with AddStore or ConnectStore).
	Stores   []string
	Parents  []string
	Children []string
}

// Global is a global store: every instance holds all of it, read from Topic (its own
// changelog) by Updater processors, one per instance.
type Global struct {
	Store   StoreSpec
	Topic   string
	Source  SourceOptions
	Updater Supplier
}

// InternalTopic is a topic the runtime creates for the application: a repartition topic.
type InternalTopic struct {
	// Name without the "<application.id>-" prefix.
	Name string
	// Partitions; 0 takes the largest partition count of the source topics of the
	// sub-topology that writes it (as Kafka Streams).
	Partitions int32
}

// Topology is a graph of sources, processors and sinks with their state stores. The Add
// methods record the first error, which Subtopologies returns. It is not safe for concurrent
// use while being built.
type Topology struct {
	nodes      []*Node
	byName     map[string]*Node
	stores     map[string]*StoreSpec
	storeOrder []string
	globals    []*Global
	internal   []InternalTopic
	copart     [][]string
	err        error
}

// NewTopology returns an empty topology.
func NewTopology() *Topology {
	return &Topology{byName: map[string]*Node{}, stores: map[string]*StoreSpec{}}
}

func (t *Topology) fail(format string, args ...any) {
	if t.err == nil {
		t.err = fmt.Errorf("topology: "+format, args...)
	}
}

func (t *Topology) add(n *Node, parents []string) {
	if n.Name == "" {
		t.fail("a %v node without a name", n.Kind)
		return
	}
	if _, dup := t.byName[n.Name]; dup {
		t.fail("two nodes named %q", n.Name)
		return
	}
	for _, p := range parents {
		pn, ok := t.byName[p]
		switch {
		case !ok:
			t.fail("node %q: parent %q is not defined (add parents first)", n.Name, p)
			return
		case pn.Kind == SinkNode:
			t.fail("node %q: parent %q is a sink", n.Name, p)
			return
		}
	}
	for _, p := range parents {
		pn := t.byName[p]
		pn.Children = append(pn.Children, n.Name)
	}
	n.Parents = slices.Clone(parents)
	t.nodes = append(t.nodes, n)
	t.byName[n.Name] = n
}

// AddSource adds a source reading topics.
func (t *Topology) AddSource(name string, opts SourceOptions, topics ...string) *Topology {
	if len(topics) == 0 {
		t.fail("source %q reads no topic", name)
		return t
	}
	t.add(&Node{Name: name, Kind: SourceNode, Topics: slices.Clone(topics), Source: opts}, nil)
	return t
}

// AddInternalSource adds a source reading the internal topic "<application.id>-"+topic.
func (t *Topology) AddInternalSource(name string, opts SourceOptions, topic string) *Topology {
	t.add(&Node{Name: name, Kind: SourceNode, Topics: []string{topic}, Internal: true, Source: opts}, nil)
	return t
}

// AddProcessor adds a processor made by s, a child of each of parents (at least one).
func (t *Topology) AddProcessor(name string, s Supplier, parents ...string) *Topology {
	if s == nil || len(parents) == 0 {
		t.fail("processor %q needs a supplier and a parent", name)
		return t
	}
	t.add(&Node{Name: name, Kind: ProcessorNode, Supplier: s}, parents)
	return t
}

// AddSink adds a sink writing topic.
func (t *Topology) AddSink(name, topic string, opts SinkOptions, parents ...string) *Topology {
	if topic == "" || len(parents) == 0 {
		t.fail("sink %q needs a topic and a parent", name)
		return t
	}
	t.add(&Node{Name: name, Kind: SinkNode, Topics: []string{topic}, Sink: opts}, parents)
	return t
}

// AddInternalSink adds a sink writing the internal topic "<application.id>-"+topic.
func (t *Topology) AddInternalSink(name, topic string, opts SinkOptions, parents ...string) *Topology {
	t.AddSink(name, topic, opts, parents...)
	if n := t.byName[name]; n != nil && n.Kind == SinkNode {
		n.Internal = true
	}
	return t
}

// AddRepartitionTopic declares an internal topic the runtime creates before starting.
func (t *Topology) AddRepartitionTopic(it InternalTopic) *Topology {
	t.internal = append(t.internal, it)
	return t
}

// AddStore adds a store and connects it to processors.
func (t *Topology) AddStore(spec StoreSpec, processors ...string) *Topology {
	if spec.Name == "" {
		t.fail("a store without a name")
		return t
	}
	if _, dup := t.stores[spec.Name]; dup {
		t.fail("two stores named %q", spec.Name)
		return t
	}
	if spec.Kind != KeyValueStore && spec.Retention <= 0 {
		t.fail("%v store %q needs a retention", spec.Kind, spec.Name)
		return t
	}
	s := spec
	t.stores[spec.Name] = &s
	t.storeOrder = append(t.storeOrder, spec.Name)
	return t.ConnectStore(spec.Name, processors...)
}

// ConnectStore gives processors access to a store added before.
func (t *Topology) ConnectStore(store string, processors ...string) *Topology {
	if _, ok := t.stores[store]; !ok {
		t.fail("store %q is not defined", store)
		return t
	}
	for _, p := range processors {
		n, ok := t.byName[p]
		if !ok || n.Kind != ProcessorNode {
			t.fail("store %q: %q is not a processor", store, p)
			return t
		}
		if !slices.Contains(n.Stores, store) {
			n.Stores = append(n.Stores, store)
		}
	}
	return t
}

// AddGlobalStore adds a global store read from topic by processors made by updater, which
// Put what they receive into the store (available to them through Context).
func (t *Topology) AddGlobalStore(spec StoreSpec, topic string, opts SourceOptions, updater Supplier) *Topology {
	if spec.Name == "" || topic == "" || updater == nil {
		t.fail("a global store needs a name, a topic and an updater")
		return t
	}
	if _, dup := t.stores[spec.Name]; dup {
		t.fail("two stores named %q", spec.Name)
		return t
	}
	spec.LoggingDisabled = true // the topic is its changelog
	s := spec
	t.stores[spec.Name] = &s
	t.globals = append(t.globals, &Global{Store: spec, Topic: topic, Source: opts, Updater: updater})
	return t
}

// Copartition records that topics must have the same number of partitions (the inputs of a
// join or cogroup); the runtime checks it at start. Internal topics are named as in
// AddInternalSource.
func (t *Topology) Copartition(topics ...string) *Topology {
	t.copart = append(t.copart, slices.Clone(topics))
	return t
}

// Err is the first error recorded while building.
func (t *Topology) Err() error { return t.err }

// Subtopology is a connected part of a topology: nodes linked by parent/child edges or by a
// shared store. A task runs one sub-topology for one partition of its source topics.
type Subtopology struct {
	ID int32
	// Nodes in the order they were added (parents before children).
	Nodes []*Node
	// SourceTopics and SinkTopics, sorted; internal ones carry no prefix and are listed in
	// InternalSources / InternalSinks too.
	SourceTopics, InternalSources []string
	SinkTopics, InternalSinks     []string
	Stores                        []StoreSpec
}

// Program is a checked topology, cut into sub-topologies.
type Program struct {
	Subtopologies []*Subtopology
	Globals       []*Global
	Internal      []InternalTopic
	Copartition   [][]string
	// SourceOf maps each source topic (internal ones unprefixed) to its sub-topology.
	SourceOf map[string]int32
}

// Build checks the topology and cuts it into sub-topologies, numbered in the order of their
// first node.
func (t *Topology) Build() (*Program, error) {
	if t.err != nil {
		return nil, t.err
	}
	// Union-find over nodes: edges and shared stores join components.
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	union := func(a, b string) { parent[find(a)] = find(b) }
	for _, n := range t.nodes {
		parent[n.Name] = n.Name
	}
	storeUser := map[string]string{}
	for _, n := range t.nodes {
		for _, p := range n.Parents {
			union(n.Name, p)
		}
		for _, s := range n.Stores {
			if u, ok := storeUser[s]; ok {
				union(n.Name, u)
			} else {
				storeUser[s] = n.Name
			}
		}
	}
	prog := &Program{Globals: t.globals, Internal: t.internal, Copartition: t.copart, SourceOf: map[string]int32{}}
	byRoot := map[string]*Subtopology{}
	for _, n := range t.nodes {
		r := find(n.Name)
		st := byRoot[r]
		if st == nil {
			st = &Subtopology{ID: int32(len(prog.Subtopologies))}
			byRoot[r] = st
			prog.Subtopologies = append(prog.Subtopologies, st)
		}
		st.Nodes = append(st.Nodes, n)
		switch n.Kind {
		case SourceNode:
			for _, topic := range n.Topics {
				if other, dup := prog.SourceOf[topic]; dup {
					return nil, fmt.Errorf("topology: topic %q is read by two sources (sub-topologies %d and %d)", topic, other, st.ID)
				}
				prog.SourceOf[topic] = st.ID
				st.SourceTopics = append(st.SourceTopics, topic)
				if n.Internal {
					st.InternalSources = append(st.InternalSources, topic)
				}
			}
		case SinkNode:
			st.SinkTopics = append(st.SinkTopics, n.Topics[0])
			if n.Internal {
				st.InternalSinks = append(st.InternalSinks, n.Topics[0])
			}
		}
	}
	for _, name := range t.storeOrder {
		u, ok := storeUser[name]
		if !ok {
			return nil, fmt.Errorf("topology: store %q is connected to no processor", name)
		}
		st := byRoot[find(u)]
		st.Stores = append(st.Stores, *t.stores[name])
	}
	for _, st := range prog.Subtopologies {
		if len(st.SourceTopics) == 0 {
			return nil, fmt.Errorf("topology: sub-topology %d (node %q) has no source", st.ID, st.Nodes[0].Name)
		}
		for _, l := range [][]string{st.SourceTopics, st.InternalSources, st.SinkTopics, st.InternalSinks} {
			sort.Strings(l)
		}
		st.SinkTopics, st.InternalSinks = slices.Compact(st.SinkTopics), slices.Compact(st.InternalSinks)
	}
	for _, g := range t.globals {
		if _, dup := prog.SourceOf[g.Topic]; dup {
			return nil, fmt.Errorf("topology: topic %q is both a global store's and a source's", g.Topic)
		}
	}
	for _, it := range t.internal {
		if _, ok := prog.SourceOf[it.Name]; !ok {
			return nil, fmt.Errorf("topology: repartition topic %q is read by no source", it.Name)
		}
	}
	return prog, nil
}

// Store returns the spec of a store added to the topology (global ones included).
func (t *Topology) Store(name string) (StoreSpec, bool) {
	s, ok := t.stores[name]
	if !ok {
		return StoreSpec{}, false
	}
	return *s, true
}
