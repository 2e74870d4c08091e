package connect

import (
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// Record is what single message transforms and predicates see: a source record before it is
// converted, or a sink record after.
type Record struct {
	Topic string
	// Partition is -1 when not chosen (source records without one).
	Partition   int32
	KeySchema   *data.Schema
	Key         any
	ValueSchema *data.Schema
	Value       any
	Timestamp   int64
	Headers     []Header
	// Offset is the Kafka offset of a sink record (-1 for source records).
	Offset int64
}

// Transform is a single message transform (Kafka Connect's Transformation).
type Transform interface {
	Configure(cfg map[string]string) error
	// Apply returns the transformed record, or nil to drop it. It may modify r.
	Apply(r *Record) (*Record, error)
}

// Predicate decides whether a transform applies to a record (KIP-585).
type Predicate interface {
	Configure(cfg map[string]string) error
	Test(r *Record) bool
}

var transforms struct {
	sync.Mutex
	t map[string]func() Transform
	p map[string]func() Predicate
}

// RegisterTransform adds a transform class; transform packages call it from init.
func RegisterTransform(class string, mk func() Transform) {
	transforms.Lock()
	defer transforms.Unlock()
	if transforms.t == nil {
		transforms.t = map[string]func() Transform{}
	}
	transforms.t[class] = mk
}

// RegisterPredicate adds a predicate class.
func RegisterPredicate(class string, mk func() Predicate) {
	transforms.Lock()
	defer transforms.Unlock()
	if transforms.p == nil {
		transforms.p = map[string]func() Predicate{}
	}
	transforms.p[class] = mk
}

// TransformClasses lists the registered transform and predicate classes, sorted.
func TransformClasses() (ts, ps []string) {
	transforms.Lock()
	defer transforms.Unlock()
	for c := range transforms.t {
		ts = append(ts, c)
	}
	for c := range transforms.p {
		ps = append(ps, c)
	}
	sort.Strings(ts)
	sort.Strings(ps)
	return ts, ps
}

// chainLink is one configured transform with its predicate.
type chainLink struct {
	alias  string
	t      Transform
	pred   Predicate
	negate bool
}

// Chain is a connector's transforms, applied in order.
type Chain []chainLink

// subConfig is every key of cfg under prefix, without it.
func subConfig(cfg map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range cfg {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out
}

// NewChain builds the transforms a connector configuration names (transforms, transforms.<alias>.*,
// predicates, predicates.<alias>.*), as Kafka Connect does.
func NewChain(cfg map[string]string) (Chain, error) {
	transforms.Lock()
	tclasses, pclasses := maps.Clone(transforms.t), maps.Clone(transforms.p)
	transforms.Unlock()
	preds := map[string]Predicate{}
	for _, alias := range SplitList(cfg["predicates"]) {
		class := cfg["predicates."+alias+".type"]
		mk, ok := pclasses[class]
		if !ok {
			return nil, fmt.Errorf("%w: predicates.%s.type: unknown predicate class %q", ErrBadConfig, alias, class)
		}
		p := mk()
		if err := p.Configure(subConfig(cfg, "predicates."+alias+".")); err != nil {
			return nil, fmt.Errorf("%w: predicate %s: %v", ErrBadConfig, alias, err)
		}
		preds[alias] = p
	}
	var chain Chain
	for _, alias := range SplitList(cfg["transforms"]) {
		class := cfg["transforms."+alias+".type"]
		mk, ok := tclasses[class]
		if !ok {
			return nil, fmt.Errorf("%w: transforms.%s.type: unknown transformation class %q", ErrBadConfig, alias, class)
		}
		t := mk()
		sub := subConfig(cfg, "transforms."+alias+".")
		if err := t.Configure(sub); err != nil {
			return nil, fmt.Errorf("%w: transform %s: %v", ErrBadConfig, alias, err)
		}
		link := chainLink{alias: alias, t: t, negate: sub["negate"] == "true"}
		if pa := sub["predicate"]; pa != "" {
			if link.pred = preds[pa]; link.pred == nil {
				return nil, fmt.Errorf("%w: transforms.%s.predicate: no predicate %q in predicates", ErrBadConfig, alias, pa)
			}
		}
		chain = append(chain, link)
	}
	return chain, nil
}

// Apply runs the chain; nil means the record was dropped.
func (c Chain) Apply(r *Record) (*Record, error) {
	for _, l := range c {
		if l.pred != nil && l.pred.Test(r) == l.negate {
			continue
		}
		var err error
		if r, err = l.t.Apply(r); err != nil {
			return nil, fmt.Errorf("transform %s: %w", l.alias, err)
		}
		if r == nil {
			return nil, nil
		}
	}
	return r, nil
}
