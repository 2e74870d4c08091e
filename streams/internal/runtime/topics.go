package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams/internal/engine"
	"github.com/sluicehq/sluice/streams/processor"
)

// windowChangelogExtraRetention is Kafka Streams' windowstore.changelog.additional.retention.ms
// default: a windowed changelog keeps records a day longer than the store.
const windowChangelogExtraRetention = 24 * 60 * 60 * 1000

// InternalTopicPlan says which internal topics an application needs and how many partitions
// each has, from the partition counts of its external source topics.
type InternalTopicPlan struct {
	// Repartition and Changelog map topic names (prefixed) to partition counts.
	Repartition map[string]int32
	Changelog   map[string]int32
	// ChangelogConfigs are the topic configs of each changelog.
	ChangelogConfigs map[string]map[string]string
	// SubPartitions is each sub-topology's task count.
	SubPartitions []int32
}

// PlanInternalTopics computes the internal topics of prog given the partition counts of the
// external source topics, and checks co-partitioning: every Copartition group's topics must
// have the same count, else the error names the topics and their counts.
func PlanInternalTopics(appID string, prog *processor.Program, external map[string]int32) (*InternalTopicPlan, error) {
	plan := &InternalTopicPlan{Repartition: map[string]int32{}, Changelog: map[string]int32{},
		ChangelogConfigs: map[string]map[string]string{}, SubPartitions: make([]int32, len(prog.Subtopologies))}
	count := func(sub *processor.Subtopology, topic string) (int32, bool) {
		if slices.Contains(sub.InternalSources, topic) {
			n, ok := plan.Repartition[engine.InternalTopic(appID, topic)]
			return n, ok
		}
		n, ok := external[topic]
		return n, ok
	}
	for _, sub := range prog.Subtopologies {
		for _, t := range sub.SourceTopics {
			if slices.Contains(sub.InternalSources, t) {
				continue
			}
			if _, ok := external[t]; !ok {
				return nil, fmt.Errorf("runtime: source topic %q does not exist", t)
			}
		}
	}
	// Repartition topics: a fixed count, or the largest count among the source topics of the
	// sub-topology writing it, which may be another repartition topic: iterate to a fixed
	// point.
	writer := map[string]*processor.Subtopology{}
	for _, sub := range prog.Subtopologies {
		for _, t := range sub.InternalSinks {
			writer[t] = sub
		}
	}
	fixed := map[string]bool{} // counts given, or set by a co-partition group
	derive := func() error {
		for range len(prog.Internal) + 1 {
			for _, it := range prog.Internal {
				name := engine.InternalTopic(appID, it.Name)
				if it.Partitions > 0 {
					plan.Repartition[name], fixed[name] = it.Partitions, true
				}
				if fixed[name] {
					continue
				}
				w := writer[it.Name]
				if w == nil {
					return fmt.Errorf("runtime: repartition topic %q is written by no sink and has no partition count", it.Name)
				}
				var n int32
				for _, t := range w.SourceTopics {
					c, _ := count(w, t)
					n = max(n, c)
				}
				if n > 0 {
					plan.Repartition[name] = n
				}
			}
		}
		return nil
	}
	if err := derive(); err != nil {
		return nil, err
	}
	// A repartition topic in a co-partition group (a rekeyed side of a join or cogroup) takes
	// the group's partition count: that of its other topics when some are not repartition
	// topics (which must agree, as checked below), else the largest of the group's — as Kafka
	// Streams' CopartitionedTopicsEnforcer does. Then the counts derived from them again.
	resized := false
	for _, group := range prog.Copartition {
		var extN, maxN int32
		var internal []string
		for _, t := range group {
			if c, ok := external[t]; ok {
				extN = c
				continue
			}
			name := engine.InternalTopic(appID, t)
			if c, ok := plan.Repartition[name]; ok {
				maxN = max(maxN, c)
				if !slices.ContainsFunc(prog.Internal, func(it processor.InternalTopic) bool { return it.Name == t && it.Partitions > 0 }) {
					internal = append(internal, name)
				}
			}
		}
		n := maxN
		if extN > 0 {
			n = extN
		}
		for _, name := range internal {
			if plan.Repartition[name] != n {
				plan.Repartition[name], resized = n, true
			}
			fixed[name] = true
		}
	}
	if resized {
		if err := derive(); err != nil {
			return nil, err
		}
	}
	for _, it := range prog.Internal {
		if plan.Repartition[engine.InternalTopic(appID, it.Name)] <= 0 {
			return nil, fmt.Errorf("runtime: the partition count of repartition topic %q cannot be derived (a cycle of repartition topics?)", it.Name)
		}
	}
	for _, sub := range prog.Subtopologies {
		var n int32
		for _, t := range sub.SourceTopics {
			c, _ := count(sub, t)
			n = max(n, c)
		}
		plan.SubPartitions[sub.ID] = n
		for _, s := range sub.Stores {
			if s.LoggingDisabled {
				continue
			}
			name := engine.ChangelogTopic(appID, s.Name)
			plan.Changelog[name] = n
			configs := map[string]string{"cleanup.policy": "compact"}
			if s.Kind != processor.KeyValueStore {
				configs["cleanup.policy"] = "compact,delete"
				configs["retention.ms"] = strconv.FormatInt(s.Retention+windowChangelogExtraRetention, 10)
			}
			for k, v := range s.ChangelogConfigs {
				configs[k] = v
			}
			plan.ChangelogConfigs[name] = configs
		}
	}
	for _, group := range prog.Copartition {
		var desc []string
		var first int32 = -1
		same := true
		for _, t := range group {
			name, n := t, int32(0)
			if c, ok := external[t]; ok {
				n = c
			} else if c, ok := plan.Repartition[engine.InternalTopic(appID, t)]; ok {
				name, n = engine.InternalTopic(appID, t), c
			} else {
				return nil, fmt.Errorf("runtime: co-partitioned topic %q does not exist", t)
			}
			desc = append(desc, fmt.Sprintf("%s (%d)", name, n))
			if first >= 0 && n != first {
				same = false
			}
			first = n
		}
		if !same {
			return nil, fmt.Errorf("runtime: topics joined or co-grouped must have the same number of partitions: %s", strings.Join(desc, ", "))
		}
	}
	return plan, nil
}

// prepareTopics looks up the source topics, creates the internal topics that do not exist
// and checks those that do.
func (r *Runtime) prepareTopics(ctx context.Context) error {
	var external []string
	for _, sub := range r.cfg.Program.Subtopologies {
		for _, t := range sub.SourceTopics {
			if !slices.Contains(sub.InternalSources, t) {
				external = append(external, t)
			}
		}
	}
	for _, g := range r.cfg.Program.Copartition {
		external = append(external, g...)
	}
	for _, g := range r.cfg.Program.Globals {
		external = append(external, g.Topic)
	}
	details, err := r.admin.ListTopics(ctx, external...)
	if err != nil {
		return fmt.Errorf("runtime: metadata of the source topics: %w", err)
	}
	for _, g := range r.cfg.Program.Globals {
		if d, ok := details[g.Topic]; !ok || d.Err != nil {
			return fmt.Errorf("runtime: topic %q of global store %q does not exist", g.Topic, g.Store.Name)
		}
	}
	counts := map[string]int32{}
	for _, d := range details {
		if d.Err == nil {
			counts[d.Topic] = int32(len(d.Partitions))
		}
	}
	plan, err := PlanInternalTopics(r.cfg.AppID, r.cfg.Program, counts)
	if err != nil {
		return err
	}
	r.iq.Lock()
	r.iq.subPartitions = plan.SubPartitions
	r.iq.Unlock()
	for name, n := range plan.Repartition {
		if err := r.ensureTopic(ctx, name, n, map[string]string{"cleanup.policy": "delete"}); err != nil {
			return err
		}
	}
	for name, n := range plan.Changelog {
		if err := r.ensureTopic(ctx, name, n, plan.ChangelogConfigs[name]); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runtime) ensureTopic(ctx context.Context, name string, partitions int32, configs map[string]string) error {
	cfgs := map[string]*string{}
	for k, v := range configs {
		cfgs[k] = kadm.StringPtr(v)
	}
	resp, err := r.admin.CreateTopic(ctx, partitions, r.cfg.ReplicationFactor, cfgs, name)
	if err == nil {
		err = resp.Err
	}
	switch {
	case err == nil:
		r.log.Info("created internal topic", "topic", name, "partitions", partitions)
		r.parts.set(name, partitions)
		return nil
	case errors.Is(err, kerr.TopicAlreadyExists):
		n, err := r.parts.lookup(ctx, name)
		if err != nil {
			return err
		}
		if n != partitions {
			return fmt.Errorf("runtime: internal topic %s has %d partitions, the topology needs %d", name, n, partitions)
		}
		return nil
	default:
		return fmt.Errorf("runtime: create internal topic %s: %w", name, err)
	}
}

// partitionCounts caches the partition counts of the topics tasks write.
type partitionCounts struct {
	admin *kadm.Client
	mu    sync.Mutex
	n     map[string]int32
}

func (p *partitionCounts) set(topic string, n int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == nil {
		p.n = map[string]int32{}
	}
	p.n[topic] = n
}

// get is the partition count of topic, looked up once.
func (p *partitionCounts) get(topic string) (int32, error) {
	p.mu.Lock()
	n, ok := p.n[topic]
	p.mu.Unlock()
	if ok {
		return n, nil
	}
	return p.lookup(context.Background(), topic)
}

func (p *partitionCounts) lookup(ctx context.Context, topic string) (int32, error) {
	details, err := p.admin.ListTopics(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("runtime: metadata of %s: %w", topic, err)
	}
	d, ok := details[topic]
	if !ok || d.Err != nil {
		return 0, fmt.Errorf("runtime: topic %s: %v", topic, d.Err)
	}
	n := int32(len(d.Partitions))
	p.set(topic, n)
	return n, nil
}

// partitioner sends a record to its Partition when it is set (>= 0), else as Kafka's default
// partitioner: murmur2 of the key, round robin for a nil key.
type partitioner struct{}

func (partitioner) ForTopic(string) kgo.TopicPartitioner { return &topicPartitioner{} }

type topicPartitioner struct{ next int }

func (*topicPartitioner) RequiresConsistency(*kgo.Record) bool { return true }

func (p *topicPartitioner) Partition(r *kgo.Record, n int) int {
	switch {
	case r.Partition >= 0:
		return int(r.Partition)
	case r.Key != nil:
		return int(Murmur2(r.Key)&0x7fffffff) % n
	}
	p.next++
	return p.next % n
}

// Murmur2 is Kafka's murmur2 hash (Utils.murmur2), which its default partitioner applies to
// a record's key bytes.
func Murmur2(data []byte) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	length := len(data)
	h := seed ^ uint32(length)
	for i := 0; i+4 <= length; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := data[length&^3:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}
