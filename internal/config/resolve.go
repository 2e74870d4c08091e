package config

import (
	"fmt"
	"math"
)

// Layers are the places a value can come from. Resolution takes, for each config, the first of:
// the topic's own override, this broker's dynamic config, the cluster-wide dynamic default, the
// static broker config, the built-in default — looking at the broker synonyms in their order
// within each layer. Any map may be nil.
type Layers struct {
	Topic          map[string]string // DYNAMIC_TOPIC_CONFIG: the topic's overrides
	DynamicBroker  map[string]string // DYNAMIC_BROKER_CONFIG: set at run time on this broker
	DynamicDefault map[string]string // DYNAMIC_DEFAULT_BROKER_CONFIG: set at run time for all brokers
	Static         map[string]string // STATIC_BROKER_CONFIG: this broker's start-up configuration
}

// Entry is one resolved config.
type Entry struct {
	Def    *Def
	Value  string // canonical form; "" when Null
	Null   bool   // a broker config with no default that nobody set
	Source Source
	// Synonyms lists every layer that has a value for this config or one of its synonyms, in
	// Kafka's DescribeConfigs order: by source (topic, dynamic broker, dynamic default, static,
	// default), and within a source by synonym precedence. Values are as set, unconverted.
	Synonyms []SynonymValue
	parsed   value
}

// SynonymValue is one entry of Entry.Synonyms.
type SynonymValue struct {
	Name   Name
	Value  string
	Source Source
}

// Resolved is the effective configuration of one topic or one broker. It is immutable.
type Resolved struct {
	entries  []Entry
	index    map[Name]int
	problems []error
}

// ResolveTopic returns the effective value of every topic config.
func ResolveTopic(l Layers) *Resolved {
	r := &Resolved{entries: make([]Entry, 0, len(topicTable)), index: make(map[Name]int, len(topicTable))}
	for i := range topicTable {
		r.add(r.resolveTopicEntry(&topicTable[i], l))
	}
	return r
}

// ResolveBroker returns the effective value of every broker config. l.Topic is ignored.
func ResolveBroker(l Layers) *Resolved {
	r := &Resolved{entries: make([]Entry, 0, len(brokerTable)), index: make(map[Name]int, len(brokerTable))}
	for i := range brokerTable {
		r.add(r.resolveBrokerEntry(&brokerTable[i], l))
	}
	return r
}

func (r *Resolved) add(e Entry) {
	r.index[e.Def.Name] = len(r.entries)
	r.entries = append(r.entries, e)
}

type layer struct {
	kv     map[string]string
	source Source
}

func brokerLayers(l Layers) [3]layer {
	return [3]layer{
		{l.DynamicBroker, SourceDynamicBroker},
		{l.DynamicDefault, SourceDynamicDefaultBroker},
		{l.Static, SourceStaticBroker},
	}
}

func (r *Resolved) resolveTopicEntry(d *Def, l Layers) Entry {
	e := Entry{Def: d}
	found := false
	if raw, ok := l.Topic[string(d.Name)]; ok {
		if v, err := d.parse(raw); err != nil {
			r.problems = append(r.problems, fmt.Errorf("topic override ignored: %w", err))
		} else {
			e.Synonyms = append(e.Synonyms, SynonymValue{d.Name, v.canonical(d.Type), SourceDynamicTopic})
			e.Value, e.Source, e.parsed, found = v.canonical(d.Type), SourceDynamicTopic, v, true
		}
	}
	for _, ly := range brokerLayers(l) {
		for _, syn := range d.Synonyms {
			raw, ok := ly.kv[string(syn.Name)]
			if !ok {
				continue
			}
			bd := brokerDefs[syn.Name]
			v, err := bd.parse(raw)
			if err != nil {
				r.problems = append(r.problems, fmt.Errorf("%s value ignored: %w", ly.source, err))
				continue
			}
			e.Synonyms = append(e.Synonyms, SynonymValue{syn.Name, v.canonical(bd.Type), ly.source})
			if !found {
				cv := convert(v, syn.Convert)
				e.Value, e.Source, e.parsed, found = cv.canonical(d.Type), ly.source, cv, true
			}
		}
	}
	for _, syn := range d.Synonyms {
		bd := brokerDefs[syn.Name]
		if bd.NoDefault {
			continue
		}
		e.Synonyms = append(e.Synonyms, SynonymValue{syn.Name, bd.Default, SourceDefault})
	}
	if !found {
		// The built-in topic default equals every synonym's converted default (a test holds the
		// table to that), so it is the right value whether or not the config has synonyms.
		e.Value, e.Source, e.parsed = d.Default, SourceDefault, mustParseDefault(d)
	}
	return e
}

func (r *Resolved) resolveBrokerEntry(d *Def, l Layers) Entry {
	e := Entry{Def: d}
	chain := brokerGroup[d.Name]
	if chain == nil {
		chain = []Synonym{{Name: d.Name}}
	}
	found := false
	for _, ly := range brokerLayers(l) {
		for _, syn := range chain {
			raw, ok := ly.kv[string(syn.Name)]
			if !ok {
				continue
			}
			sd := brokerDefs[syn.Name]
			v, err := sd.parse(raw)
			if err != nil {
				r.problems = append(r.problems, fmt.Errorf("%s value ignored: %w", ly.source, err))
				continue
			}
			e.Synonyms = append(e.Synonyms, SynonymValue{syn.Name, v.canonical(sd.Type), ly.source})
			if !found && syn.Name == d.Name {
				e.Value, e.Source, e.parsed, found = v.canonical(d.Type), ly.source, v, true
			}
		}
	}
	for _, syn := range chain {
		if sd := brokerDefs[syn.Name]; !sd.NoDefault {
			e.Synonyms = append(e.Synonyms, SynonymValue{syn.Name, sd.Default, SourceDefault})
		}
	}
	if !found {
		e.Source = SourceDefault
		if d.NoDefault {
			e.Null = true
		} else {
			e.Value, e.parsed = d.Default, mustParseDefault(d)
		}
	}
	return e
}

// convert turns a broker synonym's value into the topic config's unit.
func convert(v value, c Conversion) value {
	var factor int64
	switch c {
	case HoursToMs:
		factor = 3600 * 1000
	case MinutesToMs:
		factor = 60 * 1000
	default:
		return v
	}
	if v.i < 0 {
		return value{i: -1}
	}
	if v.i > math.MaxInt64/factor {
		return value{i: math.MaxInt64}
	}
	return value{i: v.i * factor}
}

// mustParseDefault parses a built-in default. The table's tests parse every default, so a
// failure here is a bug in the table, never a consequence of input.
func mustParseDefault(d *Def) value {
	v, err := d.parse(d.Default)
	if err != nil {
		panic(fmt.Sprintf("config: bad built-in default: %v", err))
	}
	return v
}

// Entries returns every resolved config in table order. Callers must not modify it.
func (r *Resolved) Entries() []Entry { return r.entries }

// Entry returns the resolved config name.
func (r *Resolved) Entry(name Name) (Entry, bool) {
	i, ok := r.index[name]
	if !ok {
		return Entry{}, false
	}
	return r.entries[i], true
}

// Problems lists values in the layers that did not parse or validate and were skipped (a
// stored value written by a newer, more permissive version, for example). Resolution never
// fails; the broker should log these.
func (r *Resolved) Problems() []error { return r.problems }

// The typed getters below take a name constant of this package. Asking for a name that is not
// in the table, or with the wrong type, is a programming error and panics; the tests of each
// caller catch it. A Null entry reads as the zero value.

// Bool returns a boolean config.
func (r *Resolved) Bool(name Name) bool { return r.get(name, TypeBoolean).b }

// Int returns an int or short config.
func (r *Resolved) Int(name Name) int32 { return int32(r.get(name, TypeInt, TypeShort).i) }

// Int64 returns a long, int or short config.
func (r *Resolved) Int64(name Name) int64 { return r.get(name, TypeLong, TypeInt, TypeShort).i }

// Float64 returns a double config.
func (r *Resolved) Float64(name Name) float64 { return r.get(name, TypeDouble).f }

// String returns a string, class or password config.
func (r *Resolved) String(name Name) string {
	return r.get(name, TypeString, TypeClass, TypePassword).s
}

// List returns a list config. Callers must not modify the slice.
func (r *Resolved) List(name Name) []string { return r.get(name, TypeList).list }

func (r *Resolved) get(name Name, types ...Type) value {
	i, ok := r.index[name]
	if !ok {
		panic("config: no config named " + string(name))
	}
	e := &r.entries[i]
	for _, t := range types {
		if e.Def.Type == t {
			return e.parsed
		}
	}
	panic(fmt.Sprintf("config: %s is a %s config", name, e.Def.Type))
}

// Override returns a topic's own value of a config (its canonical form from the metadata
// Image's Topic.Configs), or "" when the topic does not set it: for configs read on hot paths
// that have no broker default to resolve against (the replication throttle lists).
func Override(topicConfigs map[string]string, name Name) string { return topicConfigs[string(name)] }
