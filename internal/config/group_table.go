package config

import (
	"fmt"
	"strings"
	"time"
)

// Group configs: Kafka's GroupConfig, the GROUP config resource (resource type 32) that
// DescribeConfigs and IncrementalAlterConfigs read and set per group id. A group without its
// own value takes its broker synonym's (group.consumer.* / group.share.*), as Kafka's
// GroupConfig.fromProps does; values are held to the broker's min/max configs
// (ValidateGroup).

// SourceGroup is Kafka's GROUP_CONFIG source: set on the group.
const SourceGroup Source = 8

// Group config names.
const (
	GroupConfigConsumerSessionTimeoutMs     Name = "consumer.session.timeout.ms"
	GroupConfigConsumerHeartbeatIntervalMs  Name = "consumer.heartbeat.interval.ms"
	GroupConfigShareSessionTimeoutMs        Name = "share.session.timeout.ms"
	GroupConfigShareHeartbeatIntervalMs     Name = "share.heartbeat.interval.ms"
	GroupConfigShareRecordLockDurationMs    Name = "share.record.lock.duration.ms"
	GroupConfigShareAutoOffsetReset         Name = "share.auto.offset.reset"
	GroupConfigShareIsolationLevel          Name = "share.isolation.level"
	GroupConfigShareDeliveryCountLimit      Name = "share.delivery.count.limit"
	GroupConfigSharePartitionMaxRecordLocks Name = "share.partition.max.record.locks"
)

var groupTable = []Def{
	{Name: GroupConfigConsumerSessionTimeoutMs, Type: TypeInt, Default: "45000", Valid: AtLeast(1), Mode: ModeTopic,
		Synonyms: []Synonym{{GroupConsumerSessionTimeoutMs, Same}},
		Doc:      "The timeout to detect client failures when using the consumer group protocol."},
	{Name: GroupConfigConsumerHeartbeatIntervalMs, Type: TypeInt, Default: "5000", Valid: AtLeast(1), Mode: ModeTopic,
		Synonyms: []Synonym{{GroupConsumerHeartbeatIntervalMs, Same}},
		Doc:      "The heartbeat interval given to the members of a consumer group."},
	{Name: GroupConfigShareAutoOffsetReset, Type: TypeString, Default: "latest", Valid: autoOffsetReset{}, Mode: ModeTopic,
		Doc: "The strategy to initialize the share-partition start offset: earliest, latest, or by_duration:<ISO-8601 duration>."},
	{Name: GroupConfigShareDeliveryCountLimit, Type: TypeInt, Default: "5", Valid: Between(2, 10), Mode: ModeTopic,
		Synonyms: []Synonym{{GroupShareDeliveryCountLimit, Same}},
		Doc:      "The maximum number of delivery attempts for a record delivered to a share group (Kafka 4.3, KIP-1240)."},
	{Name: GroupConfigShareHeartbeatIntervalMs, Type: TypeInt, Default: "5000", Valid: AtLeast(1), Mode: ModeTopic,
		Synonyms: []Synonym{{GroupShareHeartbeatIntervalMs, Same}},
		Doc:      "The heartbeat interval given to the members of a share group."},
	{Name: GroupConfigShareIsolationLevel, Type: TypeString, Default: "read_uncommitted", Valid: OneOf("read_committed", "read_uncommitted"), Mode: ModeTopic,
		Doc: "Controls how to read records written transactionally: read_committed delivers only committed transactional records."},
	{Name: GroupConfigSharePartitionMaxRecordLocks, Type: TypeInt, Default: "2000", Valid: Between(100, 10000), Mode: ModeTopic,
		Synonyms: []Synonym{{GroupSharePartitionMaxRecordLocks, Same}},
		Doc:      "Share-group record lock limit per share-partition (Kafka 4.3, KIP-1240)."},
	{Name: GroupConfigShareRecordLockDurationMs, Type: TypeInt, Default: "30000", Valid: AtLeast(1000), Mode: ModeTopic,
		Synonyms: []Synonym{{GroupShareRecordLockDurationMs, Same}},
		Doc:      "The record acquisition lock duration in milliseconds for share groups."},
	{Name: GroupConfigShareSessionTimeoutMs, Type: TypeInt, Default: "45000", Valid: AtLeast(1), Mode: ModeTopic,
		Synonyms: []Synonym{{GroupShareSessionTimeoutMs, Same}},
		Doc:      "The timeout to detect client failures when using the share group protocol."},
}

var groupDefs = indexTable(groupTable, scopeGroup)

// Group returns the definition of a group config.
func Group(name string) (*Def, bool) {
	d, ok := groupDefs[Name(name)]
	return d, ok
}

// GroupDefs returns every group config definition in table order. Callers must not modify them.
func GroupDefs() []*Def { return defs(groupTable) }

// ResolveGroup returns the effective value of every group config: the group's own (l.Topic
// holds them, source GROUP_CONFIG), else its broker synonym's, else the default.
func ResolveGroup(l Layers) *Resolved {
	r := &Resolved{entries: make([]Entry, 0, len(groupTable)), index: make(map[Name]int, len(groupTable))}
	for i := range groupTable {
		e := r.resolveTopicEntry(&groupTable[i], l)
		if e.Source == SourceDynamicTopic {
			e.Source = SourceGroup
		}
		for j := range e.Synonyms {
			if e.Synonyms[j].Source == SourceDynamicTopic {
				e.Synonyms[j].Source = SourceGroup
			}
		}
		r.add(e)
	}
	return r
}

// groupBounds are the broker configs that bound a group config, as Kafka's GroupConfig checks.
var groupBounds = map[Name][2]Name{
	GroupConfigConsumerSessionTimeoutMs:    {GroupConsumerMinSessionTimeoutMs, GroupConsumerMaxSessionTimeoutMs},
	GroupConfigConsumerHeartbeatIntervalMs: {GroupConsumerMinHeartbeatIntervalMs, GroupConsumerMaxHeartbeatIntervalMs},
	GroupConfigShareSessionTimeoutMs:       {GroupShareMinSessionTimeoutMs, GroupShareMaxSessionTimeoutMs},
	GroupConfigShareHeartbeatIntervalMs:    {GroupShareMinHeartbeatIntervalMs, GroupShareMaxHeartbeatIntervalMs},
	GroupConfigShareRecordLockDurationMs:   {GroupShareMinRecordLockDurationMs, GroupShareMaxRecordLockDurationMs},
}

// ValidateGroup checks a group's configs (every name a group config, every value valid and
// within broker's min/max configs, each session timeout above its heartbeat interval, the
// unset ones taking broker's values) and returns them in canonical form.
func ValidateGroup(kv map[string]string, broker *Resolved) (map[string]string, error) {
	return validate(kv, func(name string) (*Def, error) {
		d, ok := groupDefs[Name(name)]
		if !ok {
			return nil, errorf(ErrUnknownConfig, "Unknown group config name: %s", name)
		}
		return d, nil
	}, func(out map[string]string) error {
		eff := ResolveGroup(Layers{Topic: out, Static: brokerStatic(broker)})
		for _, d := range groupTable {
			b, ok := groupBounds[d.Name]
			if !ok {
				continue
			}
			if _, set := out[string(d.Name)]; !set {
				continue
			}
			v := eff.Int64(d.Name)
			if lo := broker.Int64(b[0]); v < lo {
				return errorf(ErrInvalidValue, "%s must be greater than or equal to %s", d.Name, b[0])
			}
			if hi := broker.Int64(b[1]); v > hi {
				return errorf(ErrInvalidValue, "%s must be less than or equal to %s", d.Name, b[1])
			}
		}
		for _, p := range [][2]Name{
			{GroupConfigConsumerSessionTimeoutMs, GroupConfigConsumerHeartbeatIntervalMs},
			{GroupConfigShareSessionTimeoutMs, GroupConfigShareHeartbeatIntervalMs},
		} {
			_, s1 := out[string(p[0])]
			_, s2 := out[string(p[1])]
			if (s1 || s2) && eff.Int64(p[0]) <= eff.Int64(p[1]) {
				return errorf(ErrInvalidValue, "%s must be greater than %s", p[0], p[1])
			}
		}
		return nil
	})
}

// brokerStatic flattens a resolved broker configuration into the values a group's synonyms
// read (only the group.* configs matter).
func brokerStatic(r *Resolved) map[string]string {
	out := map[string]string{}
	if r == nil {
		return out
	}
	for _, e := range r.Entries() {
		if strings.HasPrefix(string(e.Def.Name), "group.") && e.Source != SourceDefault {
			out[string(e.Def.Name)] = e.Value
		}
	}
	return out
}

// autoOffsetReset accepts share.auto.offset.reset's values: latest, earliest, or
// by_duration:<ISO-8601 duration> (PnDTnHnMn.nS, not negative).
type autoOffsetReset struct{}

func (autoOffsetReset) check(v value) error {
	switch s := v.s; {
	case s == "latest" || s == "earliest":
		return nil
	case strings.HasPrefix(s, "by_duration:"):
		if _, err := ParseISODuration(strings.TrimPrefix(s, "by_duration:")); err != nil {
			return err
		}
		return nil
	}
	return fmt.Errorf("must be latest, earliest or by_duration:<ISO-8601 duration>")
}

func (autoOffsetReset) String() string { return "[latest, earliest, by_duration:PnDTnHnMn.nS]" }

// ParseISODuration parses the ISO-8601 durations Java's Duration.parse accepts
// (PnDTnHnMn.nS, each part optional, at least one present); negative durations are refused,
// as share.auto.offset.reset refuses them.
func ParseISODuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not an ISO-8601 duration (PnDTnHnMn.nS)", s)
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("negative duration %q is not allowed", s)
	}
	s = strings.TrimPrefix(s, "+")
	if len(s) < 2 || (s[0] != 'P' && s[0] != 'p') {
		return 0, bad
	}
	s = s[1:]
	var total time.Duration
	inTime, parts := false, 0
	for len(s) > 0 {
		if s[0] == 'T' || s[0] == 't' {
			if inTime {
				return 0, bad
			}
			inTime, s = true, s[1:]
			if len(s) == 0 {
				return 0, bad
			}
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, bad
		}
		num, unit := s[:i], s[i]
		s = s[i+1:]
		var scale time.Duration
		switch {
		case !inTime && (unit == 'D' || unit == 'd'):
			scale = 24 * time.Hour
		case inTime && (unit == 'H' || unit == 'h'):
			scale = time.Hour
		case inTime && (unit == 'M' || unit == 'm'):
			scale = time.Minute
		case inTime && (unit == 'S' || unit == 's'):
			scale = time.Second
		default:
			return 0, bad
		}
		var whole, frac int64
		var fracDigits int
		w, f, hasFrac := strings.Cut(num, ".")
		if w == "" || (hasFrac && (scale != time.Second || f == "" || len(f) > 9)) {
			return 0, bad
		}
		for _, c := range w {
			if c == '.' {
				return 0, bad
			}
			whole = whole*10 + int64(c-'0')
			if whole > int64(1<<62)/int64(scale) {
				return 0, bad
			}
		}
		for _, c := range f {
			if c == '.' {
				return 0, bad
			}
			frac, fracDigits = frac*10+int64(c-'0'), fracDigits+1
		}
		for ; fracDigits < 9; fracDigits++ {
			frac *= 10
		}
		total += time.Duration(whole)*scale + time.Duration(frac)
		parts++
	}
	if parts == 0 {
		return 0, bad
	}
	return total, nil
}
