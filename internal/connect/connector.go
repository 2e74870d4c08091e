// Package connect is Sluice's Kafka Connect: a worker that runs source and sink connectors
// against any Kafka-compatible cluster as a franz-go client, managed through Kafka Connect's
// REST API. Connectors are Go types registered by the Java class names Kafka Connect users
// configure (connector.class), so existing configurations work unchanged.
//
// This file is the plugin API: what a connector and its tasks implement.
package connect

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// Header is a record header as Connect passes it (the value's bytes as written).
type Header struct {
	Key   string
	Value []byte
}

// SourceRecord is a record a source task produces.
type SourceRecord struct {
	// SourcePartition and SourceOffset locate the record in the source system; the worker
	// commits the offset of a partition once every record before it is acknowledged, and
	// gives it back to the task (OffsetReader) after a restart. Values are JSON-able: string,
	// bool, float64/int64, nested maps.
	SourcePartition map[string]any
	SourceOffset    map[string]any
	Topic           string
	// Partition, if not nil, is the partition to write; nil lets the producer pick (murmur2 of
	// the key, as Kafka's).
	Partition   *int32
	KeySchema   *data.Schema
	Key         any
	ValueSchema *data.Schema
	Value       any
	// Timestamp in ms since the epoch; 0 lets the producer stamp it.
	Timestamp int64
	Headers   []Header
}

// SinkRecord is a record a sink task receives.
type SinkRecord struct {
	Topic       string
	Partition   int32
	Offset      int64
	KeySchema   *data.Schema
	Key         any
	ValueSchema *data.Schema
	Value       any
	Timestamp   int64
	Headers     []Header
}

// TopicPartition names a partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// ConfigKey describes one configuration property of a connector, for validation and the
// REST API's config/validate.
type ConfigKey struct {
	Name          string
	Type          string // STRING, INT, LONG, BOOLEAN, LIST, PASSWORD, CLASS, DOUBLE
	Default       *string
	Importance    string // HIGH, MEDIUM, LOW
	Documentation string
	Group         string
	Required      bool
	// Validate, if not nil, checks a value (only called when the property is set).
	Validate func(value string) error
}

// Str is a helper for ConfigKey.Default.
func Str(s string) *string { return &s }

// OffsetReader gives a task the committed offsets of its source partitions.
type OffsetReader interface {
	Offset(partition map[string]any) (map[string]any, error)
}

// ConnectorContext is what a connector may ask of the worker.
type ConnectorContext interface {
	// RequestTaskReconfiguration makes the worker ask TaskConfigs again (e.g. the tables to
	// capture changed).
	RequestTaskReconfiguration()
	// RaiseError fails the connector.
	RaiseError(err error)
	Offsets() OffsetReader
}

// Connector is a connector instance: it validates its configuration and splits the work into
// task configurations.
type Connector interface {
	Version() string
	Config() []ConfigKey
	Start(ctx ConnectorContext, cfg map[string]string) error
	// TaskConfigs returns at most maxTasks task configurations.
	TaskConfigs(maxTasks int) ([]map[string]string, error)
	Stop() error
}

// SourceTaskContext is what a source task may ask of the worker.
type SourceTaskContext interface {
	Offsets() OffsetReader
}

// SourceTask reads from an external system.
type SourceTask interface {
	Start(ctx SourceTaskContext, cfg map[string]string) error
	// Poll returns the next records (none is fine); it should return within about a second
	// when there is nothing, and promptly when ctx is done.
	Poll(ctx context.Context) ([]SourceRecord, error)
	// Commit is called after offsets were committed (up to the records acknowledged so far).
	Commit() error
	Stop() error
}

// SinkTaskContext is what a sink task may ask of the worker.
type SinkTaskContext interface {
	// Assignment is the task's current partitions.
	Assignment() []TopicPartition
}

// SinkTask writes to an external system.
type SinkTask interface {
	Start(ctx SinkTaskContext, cfg map[string]string) error
	// Put receives the next records, in partition order.
	Put(recs []SinkRecord) error
	// Flush makes everything Put so far durable; the worker then commits the consumer offsets.
	Flush(offsets map[TopicPartition]int64) error
	Stop() error
}

// Kind is a connector's kind.
type Kind string

const (
	Source Kind = "source"
	Sink   Kind = "sink"
)

// Plugin is a registered connector class.
type Plugin struct {
	Class   string
	Aliases []string // short names accepted in connector.class ("FileStreamSource")
	Kind    Kind
	Version string
	New     func() Connector
	// NewSourceTask or NewSinkTask makes a task (the one that fits Kind).
	NewSourceTask func() SourceTask
	NewSinkTask   func() SinkTask
	// ExactlyOnce: a source whose tasks resume exactly at a committed offset, so that with
	// exactly-once sources (KIP-618) nothing is written twice (ExactlyOnceSupport.SUPPORTED);
	// exactly.once.support=required refuses a source without it.
	ExactlyOnce bool
}

var plugins struct {
	sync.Mutex
	byName map[string]*Plugin
	all    []*Plugin
}

// RegisterPlugin adds a connector class; connector packages call it from init.
func RegisterPlugin(p *Plugin) {
	plugins.Lock()
	defer plugins.Unlock()
	if plugins.byName == nil {
		plugins.byName = map[string]*Plugin{}
	}
	for _, n := range append([]string{p.Class}, p.Aliases...) {
		if _, dup := plugins.byName[n]; dup {
			panic(fmt.Sprintf("connect: plugin %q registered twice", n))
		}
		plugins.byName[n] = p
	}
	plugins.all = append(plugins.all, p)
}

// LookupPlugin finds a connector class by its class name or an alias.
func LookupPlugin(name string) (*Plugin, error) {
	plugins.Lock()
	defer plugins.Unlock()
	if p, ok := plugins.byName[name]; ok {
		return p, nil
	}
	// Kafka Connect also accepts the simple class name and the name without "Connector".
	for _, p := range plugins.all {
		simple := p.Class[strings.LastIndexByte(p.Class, '.')+1:]
		if name == simple || name == strings.TrimSuffix(simple, "Connector") {
			return p, nil
		}
	}
	return nil, fmt.Errorf("Failed to find any class that implements Connector and which name matches %s", name)
}

// Plugins lists the registered connector classes, sorted by class.
func Plugins() []*Plugin {
	plugins.Lock()
	defer plugins.Unlock()
	out := append([]*Plugin(nil), plugins.all...)
	sort.Slice(out, func(i, j int) bool { return out[i].Class < out[j].Class })
	return out
}

// BasicConnector is the connector most connectors need: it checks and keeps its configuration
// and gives each task a copy of it (one task when OneTask, else tasks.max of them). A
// connector package returns one from Plugin.New.
type BasicConnector struct {
	Ver     string
	Keys    []ConfigKey
	OneTask bool
	// Check, if not nil, refuses a configuration at Start.
	Check func(cfg map[string]string) error
	cfg   map[string]string
}

func (c *BasicConnector) Version() string     { return c.Ver }
func (c *BasicConnector) Config() []ConfigKey { return c.Keys }
func (c *BasicConnector) Stop() error         { return nil }

func (c *BasicConnector) Start(_ ConnectorContext, cfg map[string]string) error {
	if c.Check != nil {
		if err := c.Check(cfg); err != nil {
			return err
		}
	}
	c.cfg = cfg
	return nil
}

func (c *BasicConnector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	n := max(maxTasks, 1)
	if c.OneTask {
		n = 1
	}
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = maps.Clone(c.cfg)
	}
	return out, nil
}

// SplitList splits a comma-separated setting, trimming spaces and dropping empty entries.
func SplitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
