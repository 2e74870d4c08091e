package metadata

// TopicsDelta is what changed between two Images, topic by topic.
type TopicsDelta struct {
	Created []*Topic      // in next, not in prev (by topic id)
	Deleted []*Topic      // in prev, not in next (by topic id)
	Changed []TopicChange // in both, with different partitions or configs
}

// TopicChange is a topic present in both Images that changed. Compare partitions by
// PartitionEpoch: every change to a partition bumps it.
type TopicChange struct {
	Prev, Next *Topic
}

// IsEmpty reports whether no topic changed.
func (d TopicsDelta) IsEmpty() bool {
	return len(d.Created) == 0 && len(d.Deleted) == 0 && len(d.Changed) == 0
}

// DiffTopics compares the topics of two Images, typically consecutive ones handed to a
// subscriber. Because Images share unchanged topics, it costs one map scan when topics changed
// and nothing when none did. A topic deleted and re-created under the same name has a new id
// and so appears in both Deleted and Created.
func DiffTopics(prev, next *Image) TopicsDelta {
	var d TopicsDelta
	if prev == nil {
		prev = Empty()
	}
	if prev.topicsOffset == next.topicsOffset && len(prev.topicsByID) == len(next.topicsByID) {
		return d
	}
	for id, t := range next.topicsByID {
		old, ok := prev.topicsByID[id]
		switch {
		case !ok:
			d.Created = append(d.Created, t)
		case old != t:
			d.Changed = append(d.Changed, TopicChange{Prev: old, Next: t})
		}
	}
	for id, t := range prev.topicsByID {
		if _, ok := next.topicsByID[id]; !ok {
			d.Deleted = append(d.Deleted, t)
		}
	}
	return d
}
