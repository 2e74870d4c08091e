package metadata

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/config"
)

// ConfigResource names a topic, a broker ("<id>") or the cluster-wide broker default ("").
type ConfigResource struct {
	Type ConfigResourceType
	Name string
}

// AlterConfigs replaces every dynamic config of a resource (the legacy AlterConfigs API):
// keys not in Configs are removed.
type AlterConfigs struct {
	Resource ConfigResource
	Configs  map[string]string
}

// ConfigOp is Kafka's IncrementalAlterConfigs operation.
type ConfigOp int8

const (
	OpSet      ConfigOp = 0
	OpDelete   ConfigOp = 1
	OpAppend   ConfigOp = 2 // add values to a list config
	OpSubtract ConfigOp = 3 // remove values from a list config
)

// ConfigChange is one operation of IncrementalAlterConfigs.
type ConfigChange struct {
	Name  string
	Op    ConfigOp
	Value string // for APPEND/SUBTRACT a comma-separated list
}

// IncrementalAlterConfigs changes some dynamic configs of a resource.
type IncrementalAlterConfigs struct {
	Resource ConfigResource
	Changes  []ConfigChange
}

// ConfigResult is the outcome for one resource, in request order.
type ConfigResult struct {
	Resource ConfigResource
	Err      error // ErrUnknownTopic, ErrInvalidTopic, ErrInvalidConfig, ErrInvalidRequest, ...
}

// AlterConfigs replaces the dynamic configs of each resource; with validateOnly it only
// validates. Resources are independent: a bad one does not stop the others.
func (c *Controller) AlterConfigs(ctx context.Context, reqs []AlterConfigs, validateOnly bool) []ConfigResult {
	ops := make([]resourceOp, len(reqs))
	for i, r := range reqs {
		ops[i] = resourceOp{resource: r.Resource, next: func(map[string]string) (map[string]string, error) {
			return maps.Clone(r.Configs), nil
		}}
	}
	return c.alterResources(ctx, ops, validateOnly)
}

// IncrementalAlterConfigs applies SET, DELETE, APPEND and SUBTRACT operations to the dynamic
// configs of each resource; with validateOnly it only validates.
func (c *Controller) IncrementalAlterConfigs(ctx context.Context, reqs []IncrementalAlterConfigs, validateOnly bool) []ConfigResult {
	ops := make([]resourceOp, len(reqs))
	for i, r := range reqs {
		ops[i] = resourceOp{resource: r.Resource, next: func(current map[string]string) (map[string]string, error) {
			return applyChanges(r.Resource.Type, current, r.Changes)
		}}
	}
	return c.alterResources(ctx, ops, validateOnly)
}

// resourceOp computes a resource's new set of dynamic configs from its current one.
type resourceOp struct {
	resource ConfigResource
	next     func(current map[string]string) (map[string]string, error)
	// broker is this node's broker configuration: group configs are held to its bounds.
	broker *config.Resolved
}

func (c *Controller) alterResources(ctx context.Context, ops []resourceOp, validateOnly bool) []ConfigResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	results := make([]ConfigResult, len(ops))
	img, err := c.log.LeaderImage(ctx)
	if err != nil {
		for i, op := range ops {
			results[i] = ConfigResult{Resource: op.resource, Err: err}
		}
		return results
	}
	seen := map[ConfigResource]int{}
	for _, op := range ops {
		seen[op.resource]++
	}
	var records []Record
	for i, op := range ops {
		results[i].Resource = op.resource
		if seen[op.resource] > 1 {
			results[i].Err = errorf(ErrInvalidRequest, "resource %s appears more than once in the request", describeResource(op.resource))
			continue
		}
		if op.resource.Type == ConfigResourceGroup {
			op.broker = c.brokerConfig(img)
		}
		recs, err := planConfigs(img, op)
		if err != nil {
			results[i].Err = err
			continue
		}
		records = append(records, recs...)
	}
	if validateOnly || len(records) == 0 {
		return results
	}
	if _, err := c.log.Propose(ctx, records); err != nil {
		for i := range results {
			if results[i].Err == nil {
				results[i].Err = err
			}
		}
	}
	return results
}

func describeResource(r ConfigResource) string {
	switch {
	case r.Type == ConfigResourceTopic:
		return "topic " + r.Name
	case r.Type == ConfigResourceBroker && r.Name == "":
		return "the cluster-wide broker default"
	case r.Type == ConfigResourceBroker:
		return "broker " + r.Name
	case r.Type == ConfigResourceGroup:
		return "group " + r.Name
	}
	return fmt.Sprintf("resource type %d %q", r.Type, r.Name)
}

// planConfigs validates one resource's new configs and returns the records that turn the
// current set into it.
func planConfigs(img *Image, op resourceOp) ([]Record, error) {
	var current map[string]string
	var validated map[string]string
	r := op.resource
	switch r.Type {
	case ConfigResourceTopic:
		if err := ValidateTopicName(r.Name); err != nil {
			return nil, err
		}
		t, ok := img.Topic(r.Name)
		if !ok {
			return nil, errorf(ErrUnknownTopic, "%s", r.Name)
		}
		current = t.Configs
		next, err := op.next(current)
		if err != nil {
			return nil, err
		}
		if validated, err = config.ValidateTopic(next); err != nil {
			return nil, errorf(ErrInvalidConfig, "%s: %w", describeResource(r), err)
		}
	case ConfigResourceBroker:
		if !brokerResourceName(r.Name) {
			return nil, errorf(ErrInvalidRequest, "broker config resource %q is not a broker id (or \"\" for the cluster-wide default)", r.Name)
		}
		current = img.BrokerConfigs(r.Name)
		next, err := op.next(current)
		if err != nil {
			return nil, err
		}
		if validated, err = config.ValidateBrokerDynamic(next, r.Name != ""); err != nil {
			return nil, errorf(ErrInvalidConfig, "%s: %w", describeResource(r), err)
		}
	case ConfigResourceGroup:
		if r.Name == "" {
			return nil, errorf(ErrInvalidRequest, "Group name must not be empty")
		}
		current = img.GroupConfigs(r.Name)
		next, err := op.next(current)
		if err != nil {
			return nil, err
		}
		if validated, err = config.ValidateGroup(next, op.broker); err != nil {
			return nil, errorf(ErrInvalidConfig, "%s: %w", describeResource(r), err)
		}
	default:
		return nil, errorf(ErrInvalidRequest, "configs of resource type %d are not supported", r.Type)
	}
	var recs []Record
	for _, k := range sortedKeys(current) {
		if _, keep := validated[k]; !keep {
			recs = append(recs, &ConfigRecord{ResourceType: r.Type, ResourceName: r.Name, Name: k, Delete: true})
		}
	}
	for _, k := range sortedKeys(validated) {
		if old, ok := current[k]; !ok || old != validated[k] {
			recs = append(recs, &ConfigRecord{ResourceType: r.Type, ResourceName: r.Name, Name: k, Value: validated[k]})
		}
	}
	return recs, nil
}

// applyChanges applies IncrementalAlterConfigs operations to a copy of current.
func applyChanges(typ ConfigResourceType, current map[string]string, changes []ConfigChange) (map[string]string, error) {
	next := maps.Clone(current)
	if next == nil {
		next = map[string]string{}
	}
	seen := map[string]bool{}
	for _, ch := range changes {
		if seen[ch.Name] {
			return nil, errorf(ErrInvalidRequest, "config %s appears more than once", ch.Name)
		}
		seen[ch.Name] = true
		def, err := lookupDef(typ, ch.Name)
		if err != nil {
			return nil, err
		}
		switch ch.Op {
		case OpSet:
			next[ch.Name] = ch.Value
		case OpDelete:
			delete(next, ch.Name)
		case OpAppend, OpSubtract:
			if def.Type != config.TypeList {
				return nil, errorf(ErrInvalidConfig, "%s is not a list config, so values cannot be appended or subtracted", ch.Name)
			}
			base, ok := next[ch.Name]
			if !ok && !def.NoDefault {
				base = def.Default
			}
			next[ch.Name] = editList(base, ch.Value, ch.Op == OpAppend)
		default:
			return nil, errorf(ErrInvalidRequest, "unknown config operation %d for %s", ch.Op, ch.Name)
		}
	}
	return next, nil
}

func lookupDef(typ ConfigResourceType, name string) (*config.Def, error) {
	var def *config.Def
	var ok bool
	switch typ {
	case ConfigResourceTopic:
		def, ok = config.Topic(name)
	case ConfigResourceBroker:
		def, ok = config.Broker(name)
	case ConfigResourceGroup:
		def, ok = config.Group(name)
	default:
		return nil, errorf(ErrInvalidRequest, "configs of resource type %d are not supported", typ)
	}
	if !ok {
		return nil, errorf(ErrInvalidConfig, "unknown %s config name: %s%.0w", resourceKind(typ), name, config.ErrUnknownConfig)
	}
	return def, nil
}

// editList adds (or removes) the comma-separated values to (from) a comma-separated list,
// keeping order and never duplicating an element.
func editList(base, values string, add bool) string {
	list := splitNonEmpty(base)
	for _, v := range splitNonEmpty(values) {
		i := slices.Index(list, v)
		switch {
		case add && i < 0:
			list = append(list, v)
		case !add && i >= 0:
			list = slices.Delete(list, i, i+1)
		}
	}
	return strings.Join(list, ",")
}

func splitNonEmpty(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func resourceKind(typ ConfigResourceType) string {
	switch typ {
	case ConfigResourceTopic:
		return "topic"
	case ConfigResourceGroup:
		return "group"
	}
	return "broker"
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// FeatureUpgradeType is Kafka's UpdateFeatures upgrade type.
type FeatureUpgradeType int8

const (
	FeatureUpgrade         FeatureUpgradeType = 1
	FeatureSafeDowngrade   FeatureUpgradeType = 2
	FeatureUnsafeDowngrade FeatureUpgradeType = 3
)

// FeatureUpdate asks for a feature to be finalized at MaxLevel (0 removes it).
type FeatureUpdate struct {
	Name        string
	MaxLevel    int16
	UpgradeType FeatureUpgradeType
}

// FeatureResult is the outcome for one feature, in request order.
type FeatureResult struct {
	Name string
	Err  error // ErrInvalidUpdateVersion, ErrInvalidRequest, ...
}

// UpdateFeatures finalizes feature levels. As in Kafka, the request is all or nothing: if any
// update is invalid, none is applied (the valid ones report ErrFeatureUpdateFailed).
func (c *Controller) UpdateFeatures(ctx context.Context, updates []FeatureUpdate, validateOnly bool) []FeatureResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	results := make([]FeatureResult, len(updates))
	img, err := c.log.LeaderImage(ctx)
	if err != nil {
		for i, u := range updates {
			results[i] = FeatureResult{Name: u.Name, Err: err}
		}
		return results
	}
	seen := map[string]int{}
	for _, u := range updates {
		seen[u.Name]++
	}
	var records []Record
	failed := false
	for i, u := range updates {
		results[i].Name = u.Name
		err := checkFeatureUpdate(img, u)
		if err == nil && seen[u.Name] > 1 {
			err = errorf(ErrInvalidRequest, "feature %s appears more than once", u.Name)
		}
		if err != nil {
			results[i].Err, failed = err, true
			continue
		}
		if img.FeatureLevel(u.Name) != u.MaxLevel {
			records = append(records, &FeatureLevelRecord{Name: u.Name, Level: u.MaxLevel})
		}
	}
	if failed {
		for i := range results {
			if results[i].Err == nil {
				results[i].Err = errorf(ErrFeatureUpdateFailed, "another feature in the request is invalid")
			}
		}
		return results
	}
	if validateOnly || len(records) == 0 {
		return results
	}
	if _, err := c.log.Propose(ctx, records); err != nil {
		for i := range results {
			results[i].Err = err
		}
	}
	return results
}

func checkFeatureUpdate(img *Image, u FeatureUpdate) error {
	f, ok := SupportedFeature(u.Name)
	if !ok {
		return errorf(ErrInvalidUpdateVersion, "feature %q is not supported by this cluster", u.Name)
	}
	current := img.FeatureLevel(u.Name)
	switch {
	case u.UpgradeType < FeatureUpgrade || u.UpgradeType > FeatureUnsafeDowngrade:
		return errorf(ErrInvalidRequest, "unknown upgrade type %d", u.UpgradeType)
	case u.MaxLevel == 0 && u.Name == MetadataVersionFeature:
		return errorf(ErrInvalidUpdateVersion, "%s cannot be removed", u.Name)
	case u.MaxLevel != 0 && (u.MaxLevel < f.MinLevel || u.MaxLevel > f.MaxLevel):
		return errorf(ErrInvalidUpdateVersion, "%s level %d is outside the supported range %d..%d", u.Name, u.MaxLevel, f.MinLevel, f.MaxLevel)
	case u.MaxLevel < current && u.UpgradeType == FeatureUpgrade:
		return errorf(ErrInvalidUpdateVersion, "%s is at %d; lowering it to %d needs a downgrade upgrade type", u.Name, current, u.MaxLevel)
	case u.MaxLevel > current && u.UpgradeType != FeatureUpgrade:
		return errorf(ErrInvalidUpdateVersion, "%s is at %d; raising it to %d is an upgrade, not a downgrade", u.Name, current, u.MaxLevel)
	}
	return nil
}
