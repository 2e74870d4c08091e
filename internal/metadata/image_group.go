package metadata

import (
	"maps"
	"slices"
)

// Group configs (the GROUP config resource, Kafka's GroupConfig): ConfigRecords with resource
// type 32 and the group id as resource name, set by IncrementalAlterConfigs and read by the
// group coordinator on every broker.

// GroupConfigs returns the configs set on group id (nil when none). The map is read-only.
func (img *Image) GroupConfigs(id string) map[string]string { return img.groupConfigs[id] }

// GroupsWithConfigs lists the group ids that have configs, sorted.
func (img *Image) GroupsWithConfigs() []string { return slices.Sorted(maps.Keys(img.groupConfigs)) }

// groupConfig applies a ConfigRecord of a group, copying the map of groups and the group's
// own map at most once per batch.
func (b *builder) groupConfig(r *ConfigRecord) error {
	if r.ResourceName == "" {
		return errorf(ErrInvalidRecord, "group config %s without a group id", r.Name)
	}
	if !b.groupsCopied {
		b.next.groupConfigs = maps.Clone(b.next.groupConfigs)
		if b.next.groupConfigs == nil {
			b.next.groupConfigs = map[string]map[string]string{}
		}
		b.groupsCopied = true
	}
	if b.ownGroups == nil {
		b.ownGroups = map[string]bool{}
	}
	m := b.next.groupConfigs[r.ResourceName]
	if !b.ownGroups[r.ResourceName] {
		m = maps.Clone(m)
		b.ownGroups[r.ResourceName] = true
	}
	m = setConfig(m, r)
	if len(m) == 0 {
		delete(b.next.groupConfigs, r.ResourceName)
	} else {
		b.next.groupConfigs[r.ResourceName] = m
	}
	return nil
}
