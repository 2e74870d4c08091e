package config

import (
	"errors"
	"fmt"
	"sort"
)

// Sentinel errors. Every error this package returns wraps one of them and names the key (and the
// value, when a value is at fault), so a user can act on the message alone.
var (
	// ErrUnknownConfig: the key is not a config of the resource it was given for.
	ErrUnknownConfig = errors.New("config: unknown config")
	// ErrInvalidValue: the value does not parse as the config's type or fails its validator.
	ErrInvalidValue = errors.New("config: invalid value")
	// ErrReadOnly: a broker config that cannot be changed while the broker runs.
	ErrReadOnly = errors.New("config: read-only config")
)

// Type is the value type of a config. The numbering is Kafka's ConfigType (DescribeConfigs v3+),
// so internal/api can send it as is.
type Type int8

const (
	TypeBoolean  Type = 1
	TypeString   Type = 2
	TypeInt      Type = 3 // 32-bit
	TypeShort    Type = 4 // 16-bit
	TypeLong     Type = 5 // 64-bit
	TypeDouble   Type = 6
	TypeList     Type = 7 // comma-separated strings
	TypeClass    Type = 8
	TypePassword Type = 9 // a string that DescribeConfigs never reveals
)

func (t Type) String() string {
	switch t {
	case TypeBoolean:
		return "boolean"
	case TypeString:
		return "string"
	case TypeInt:
		return "int"
	case TypeShort:
		return "short"
	case TypeLong:
		return "long"
	case TypeDouble:
		return "double"
	case TypeList:
		return "list"
	case TypeClass:
		return "class"
	case TypePassword:
		return "password"
	}
	return "unknown"
}

// Source says where an effective value came from. The numbering is Kafka's ConfigSource.
type Source int8

const (
	SourceDynamicTopic         Source = 1 // DYNAMIC_TOPIC_CONFIG: set on the topic
	SourceDynamicBroker        Source = 2 // DYNAMIC_BROKER_CONFIG: set on this broker at run time
	SourceDynamicDefaultBroker Source = 3 // DYNAMIC_DEFAULT_BROKER_CONFIG: cluster-wide default set at run time
	SourceStaticBroker         Source = 4 // STATIC_BROKER_CONFIG: config file, flag or environment at start
	SourceDefault              Source = 5 // DEFAULT_CONFIG: built in
)

func (s Source) String() string {
	switch s {
	case SourceDynamicTopic:
		return "DYNAMIC_TOPIC_CONFIG"
	case SourceDynamicBroker:
		return "DYNAMIC_BROKER_CONFIG"
	case SourceDynamicDefaultBroker:
		return "DYNAMIC_DEFAULT_BROKER_CONFIG"
	case SourceStaticBroker:
		return "STATIC_BROKER_CONFIG"
	case SourceDefault:
		return "DEFAULT_CONFIG"
	}
	return "UNKNOWN"
}

// Mode says whether and where a config may change while the cluster runs. Topic configs are
// always dynamic (ModeTopic); broker configs follow Kafka's read-only / per-broker /
// cluster-wide split.
type Mode int8

const (
	ModeTopic       Mode = iota // a topic config: set per topic at any time
	ModeReadOnly                // broker config read at start; change it and restart
	ModePerBroker               // dynamic, but only on one broker (resource name = broker id)
	ModeClusterWide             // dynamic, on one broker or as the cluster-wide default
)

func (m Mode) String() string {
	switch m {
	case ModeTopic:
		return "per-topic"
	case ModeReadOnly:
		return "read-only"
	case ModePerBroker:
		return "per-broker"
	case ModeClusterWide:
		return "cluster-wide"
	}
	return "unknown"
}

// Name is a config name. Every config of the tables has a constant of this type
// (config.RetentionMs, config.LogCleanerThreads, ...), and the getters of Resolved take a Name,
// so a misspelt config is a compile error instead of a panic at run time. Names that arrive from
// clients are strings and are looked up with Topic and Broker.
type Name string

// Def defines one config: a row of the table.
type Def struct {
	Name Name
	Type Type
	// Default is the built-in value in its canonical string form; NoDefault means Kafka's null
	// (the config is unset unless someone sets it, and a synonym supplies the value).
	Default   string
	NoDefault bool
	Valid     Validator // nil: any value of the type
	Mode      Mode
	// Synonyms (topic configs only) are the broker configs whose value a topic inherits when it
	// has no override, highest precedence first, with the conversion into this config's unit.
	Synonyms []Synonym
	Doc      string
	// NoEffect marks a config Sluice accepts (validates, stores, describes) without acting on
	// it, such as the tiered-storage configs; docs/configs.md says so. TestEveryConfigIsRead
	// fails for a config that nothing reads unless it carries this mark, and for a marked config
	// that something reads.
	NoEffect bool
	// scope is set when the table is indexed.
	scope scope
}

// Synonym is a broker config a topic config inherits from.
type Synonym struct {
	Name    Name
	Convert Conversion
}

// Conversion turns a broker synonym's value into the topic config's unit.
type Conversion int8

const (
	Same        Conversion = iota // same unit
	HoursToMs                     // log.*.hours → *.ms; negative means "no limit" (-1)
	MinutesToMs                   // log.*.minutes → *.ms; negative means "no limit" (-1)
)

type scope int8

const (
	scopeTopic scope = iota + 1
	scopeBroker
	scopeGroup
)

// Sensitive reports whether the value must never be shown (DescribeConfigs returns null).
func (d *Def) Sensitive() bool { return d.Type == TypePassword }

// ReadOnly reports whether DescribeConfigs marks the config read-only.
func (d *Def) ReadOnly() bool { return d.Mode == ModeReadOnly }

// ValidValues describes the accepted values for documentation ("[1,...]", "[delete, compact]").
func (d *Def) ValidValues() string {
	if d.Valid == nil {
		return ""
	}
	return d.Valid.String()
}

var (
	topicDefs   = indexTable(topicTable, scopeTopic)
	brokerDefs  = indexTable(brokerTable, scopeBroker)
	brokerGroup = indexBrokerSynonyms()
)

func indexTable(table []Def, s scope) map[Name]*Def {
	m := make(map[Name]*Def, len(table))
	for i := range table {
		d := &table[i]
		d.scope = s
		if _, dup := m[d.Name]; dup {
			panic("config: duplicate definition of " + d.Name) // a bug in the table, found by any test
		}
		m[d.Name] = d
	}
	return m
}

// indexBrokerSynonyms records, for every broker config that is a synonym of a topic config, the
// chain of lower-precedence broker configs that stand in for it (log.retention.ms →
// log.retention.minutes → log.retention.hours), which is what DescribeConfigs lists for a broker.
func indexBrokerSynonyms() map[Name][]Synonym {
	m := make(map[Name][]Synonym)
	for i := range topicTable {
		syns := topicTable[i].Synonyms
		for j := range syns {
			m[syns[j].Name] = syns[j:]
		}
	}
	return m
}

// Topic returns the definition of a topic config.
func Topic(name string) (*Def, bool) {
	d, ok := topicDefs[Name(name)]
	return d, ok
}

// Broker returns the definition of a broker config.
func Broker(name string) (*Def, bool) {
	d, ok := brokerDefs[Name(name)]
	return d, ok
}

// TopicDefs returns every topic config definition in table order. Callers must not modify them.
func TopicDefs() []*Def { return defs(topicTable) }

// BrokerDefs returns every broker config definition in table order. Callers must not modify them.
func BrokerDefs() []*Def { return defs(brokerTable) }

func defs(table []Def) []*Def {
	out := make([]*Def, len(table))
	for i := range table {
		out[i] = &table[i]
	}
	return out
}

// Normalize parses value as this config's type, runs the validator and returns the canonical
// string form (trimmed, booleans lower-case, lists joined with ","), which is what gets stored.
func (d *Def) Normalize(value string) (string, error) {
	v, err := d.parse(value)
	if err != nil {
		return "", err
	}
	return v.canonical(d.Type), nil
}

// ValidateTopic checks a set of topic config overrides (CreateTopics, AlterConfigs) and returns
// them in canonical form. The error names the first offending key (in sorted order, so the
// message is stable) and wraps ErrUnknownConfig or ErrInvalidValue.
func ValidateTopic(kv map[string]string) (map[string]string, error) {
	return validate(kv, func(name string) (*Def, error) {
		d, ok := topicDefs[Name(name)]
		if !ok {
			return nil, errorf(ErrUnknownConfig, "unknown topic config name: %s", name)
		}
		return d, nil
	}, topicCrossChecks)
}

// ValidateBrokerDynamic checks broker configs being set while the cluster runs. perBroker is
// true when the resource names one broker and false for the cluster-wide default; read-only
// configs, and per-broker configs set cluster-wide, wrap ErrReadOnly.
func ValidateBrokerDynamic(kv map[string]string, perBroker bool) (map[string]string, error) {
	return validate(kv, func(name string) (*Def, error) {
		d, ok := brokerDefs[Name(name)]
		if !ok {
			return nil, errorf(ErrUnknownConfig, "unknown broker config name: %s", name)
		}
		switch {
		case d.Mode == ModeReadOnly:
			return nil, errorf(ErrReadOnly, "%s cannot be changed while the broker runs; set it in the broker's configuration and restart", name)
		case d.Mode == ModePerBroker && !perBroker:
			return nil, errorf(ErrReadOnly, "%s can only be set on one broker, not as a cluster-wide default", name)
		}
		return d, nil
	}, nil)
}

// ValidateBrokerStatic checks the broker configuration read at start (file, flags,
// environment): every key known and every value valid, read-only configs included.
func ValidateBrokerStatic(kv map[string]string) (map[string]string, error) {
	return validate(kv, func(name string) (*Def, error) {
		d, ok := brokerDefs[Name(name)]
		if !ok {
			d, ok = listenerConfigDef(name) // listener.name.<listener>.ssl.* and the like
		}
		if !ok {
			return nil, errorf(ErrUnknownConfig, "unknown broker config name: %s", name)
		}
		return d, nil
	}, brokerCrossChecks)
}

func validate(kv map[string]string, lookup func(string) (*Def, error), cross func(map[string]string) error) (map[string]string, error) {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(kv))
	for _, k := range keys {
		d, err := lookup(k)
		if err != nil {
			return nil, err
		}
		v, err := d.Normalize(kv[k])
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	if cross != nil {
		if err := cross(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// topicCrossChecks are the rules that involve two configs of one topic's overrides.
func topicCrossChecks(kv map[string]string) error {
	minLag, hasMin := kv[string(MinCompactionLagMs)]
	maxLag, hasMax := kv[string(MaxCompactionLagMs)]
	if hasMin && hasMax {
		lo, _ := parseInt(minLag, 64)
		hi, _ := parseInt(maxLag, 64)
		if lo > hi {
			return errorf(ErrInvalidValue, "%s=%s is greater than %s=%s", MinCompactionLagMs, minLag, MaxCompactionLagMs, maxLag)
		}
	}
	return nil
}

func brokerCrossChecks(kv map[string]string) error {
	if b, ok := kv[string(BrokerID)]; ok && b != "-1" {
		if n, ok := kv[string(NodeID)]; ok && n != b {
			return errorf(ErrInvalidValue, "%s=%s differs from %s=%s; set only %s", BrokerID, b, NodeID, n, NodeID)
		}
	}
	return nil
}

// opError carries a message for the user and the sentinel it is a case of. Its text is the
// message alone (no "config: ..." prefix), because it reaches clients as the
// Kafka error message; errors.Is still finds the sentinel and any error wrapped in the message.
type opError struct {
	kind error
	err  error
}

func (e *opError) Error() string   { return e.err.Error() }
func (e *opError) Unwrap() []error { return []error{e.kind, e.err} }

// errorf returns an error of the given kind; format may wrap a cause with %w.
func errorf(kind error, format string, args ...any) error {
	return &opError{kind: kind, err: fmt.Errorf(format, args...)}
}
