package group

import (
	"encoding/binary"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/internal/kschema"
)

// Share group records in __consumer_offsets, in Kafka's schemas (Kafka 4.1+): keys are
// non-flexible (int16 version = record type, then int16-length strings), values flexible
// version 0, as for consumer groups (consumer_records.go).

// Key versions (record types) of share group records.
const (
	keyShareMember            = 10 // ShareGroupMemberMetadata: a member's subscription and client
	keyShareGroup             = 11 // ShareGroupMetadata: the group epoch and metadata hash
	keyShareTargetMetadata    = 12 // ShareGroupTargetAssignmentMetadata: the assignment epoch
	keyShareTargetMember      = 13 // ShareGroupTargetAssignmentMember: a member's target
	keyShareCurrentAssignment = 14 // ShareGroupCurrentMemberAssignment: a member's assignment
	keyShareStatePartitions   = 15 // ShareGroupStatePartitionMetadata: share-partitions with state
)

// isShareKind reports whether a key version is a share group record type.
func isShareKind(kind int16) bool { return kind >= keyShareMember && kind <= keyShareStatePartitions }

// isShareMemberKind reports whether a share record type's key carries a member id.
func isShareMemberKind(kind int16) bool {
	return kind == keyShareMember || kind == keyShareTargetMember || kind == keyShareCurrentAssignment
}

// appendShareKey appends the key of a share group record; member is written only for the
// per-member types (10, 13, 14).
func appendShareKey(dst []byte, kind int16, group, member string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(kind))
	dst = kschema.AppendString(dst, group)
	if isShareMemberKind(kind) {
		dst = kschema.AppendString(dst, member)
	}
	return dst
}

// ShareMemberValue is a ShareGroupMemberMetadataValue ("" RackID is written as null).
type ShareMemberValue struct {
	RackID, ClientID, ClientHost string
	SubscribedTopicNames         []string
}

func (m *shareMember) metadata() ShareMemberValue {
	return ShareMemberValue{RackID: m.rackID, ClientID: m.clientID, ClientHost: m.clientHost, SubscribedTopicNames: m.topicNames}
}

// ShareCurrentAssignmentValue is a ShareGroupCurrentMemberAssignmentValue.
type ShareCurrentAssignmentValue struct {
	MemberEpoch, PreviousMemberEpoch int32
	State                            int8 // always 0 (stable): share members never revoke
	Assigned                         Assignment
}

func (m *shareMember) snapshot() ShareCurrentAssignmentValue {
	return ShareCurrentAssignmentValue{MemberEpoch: m.epoch, PreviousMemberEpoch: m.previousEpoch, Assigned: m.assigned.clone()}
}

// AppendShareMemberValue appends a ShareGroupMemberMetadataValue (version 0).
func AppendShareMemberValue(dst []byte, v ShareMemberValue) []byte {
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = kschema.AppendCompactNullable(dst, v.RackID)
	dst = kschema.AppendCompactString(dst, v.ClientID)
	dst = kschema.AppendCompactString(dst, v.ClientHost)
	dst = binary.AppendUvarint(dst, uint64(len(v.SubscribedTopicNames))+1)
	for _, t := range v.SubscribedTopicNames {
		dst = kschema.AppendCompactString(dst, t)
	}
	return append(dst, 0)
}

// DecodeShareMemberValue decodes a ShareGroupMemberMetadataValue.
func DecodeShareMemberValue(b []byte) (ShareMemberValue, error) {
	r := reader{B: b, Bad: ErrBadRecord}
	var v ShareMemberValue
	version0(&r)
	v.RackID, v.ClientID, v.ClientHost = r.CompactNullableString(), r.CompactNullableString(), r.CompactNullableString()
	n := r.CompactLen()
	v.SubscribedTopicNames = []string{}
	for range n {
		v.SubscribedTopicNames = append(v.SubscribedTopicNames, r.CompactNullableString())
		if r.Err != nil {
			break
		}
	}
	r.SkipTags()
	return v, r.Done("share member value")
}

// AppendShareGroupValue appends a ShareGroupMetadataValue (version 0): the group epoch and
// the hash of the subscribed topics' metadata.
func AppendShareGroupValue(dst []byte, epoch int32, metadataHash int64) []byte {
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(epoch))
	dst = binary.BigEndian.AppendUint64(dst, uint64(metadataHash))
	return append(dst, 0)
}

// DecodeShareGroupValue decodes a ShareGroupMetadataValue.
func DecodeShareGroupValue(b []byte) (epoch int32, metadataHash int64, err error) {
	r := reader{B: b, Bad: ErrBadRecord}
	version0(&r)
	epoch, metadataHash = r.Int32(), r.Int64()
	r.SkipTags()
	return epoch, metadataHash, r.Done("share group value")
}

// AppendShareCurrentAssignmentValue appends a ShareGroupCurrentMemberAssignmentValue (version 0).
func AppendShareCurrentAssignmentValue(dst []byte, v ShareCurrentAssignmentValue) []byte {
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.MemberEpoch))
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.PreviousMemberEpoch))
	dst = append(dst, byte(v.State))
	dst = appendTopicPartitions(dst, v.Assigned)
	return append(dst, 0)
}

// DecodeShareCurrentAssignmentValue decodes a ShareGroupCurrentMemberAssignmentValue.
func DecodeShareCurrentAssignmentValue(b []byte) (ShareCurrentAssignmentValue, error) {
	r := reader{B: b, Bad: ErrBadRecord}
	var v ShareCurrentAssignmentValue
	version0(&r)
	v.MemberEpoch, v.PreviousMemberEpoch = r.Int32(), r.Int32()
	if s := r.Need(1); s != nil {
		v.State = int8(s[0])
	}
	v.Assigned = topicPartitions(&r)
	r.SkipTags()
	return v, r.Done("share current assignment value")
}

// AppendShareStatePartitionsValue appends a ShareGroupStatePartitionMetadataValue (version 0)
// with every share-partition of the group as initialized (none initializing or deleting:
// the share-partition leader initializes state at its first fetch).
func AppendShareStatePartitionsValue(dst []byte, initialized map[TopicID]shareTopicInfo) []byte {
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = binary.AppendUvarint(dst, 1) // InitializingTopics: empty
	ids := make([]TopicID, 0, len(initialized))
	for id := range initialized {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b TopicID) int { return strings.Compare(string(a[:]), string(b[:])) })
	dst = binary.AppendUvarint(dst, uint64(len(ids))+1)
	for _, id := range ids {
		info := initialized[id]
		dst = append(dst, id[:]...)
		dst = kschema.AppendCompactString(dst, info.name)
		dst = binary.AppendUvarint(dst, uint64(len(info.partitions))+1)
		for _, p := range info.partitions {
			dst = binary.BigEndian.AppendUint32(dst, uint32(p))
		}
		dst = binary.BigEndian.AppendUint64(dst, uint64(info.created))
		dst = append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, 1) // DeletingTopics: empty
	return append(dst, 0)
}

// DecodeShareStatePartitionsValue decodes a ShareGroupStatePartitionMetadataValue: the
// initializing and initialized topics together (both have state to delete with the group).
func DecodeShareStatePartitionsValue(b []byte) (map[TopicID]shareTopicInfo, error) {
	r := reader{B: b, Bad: ErrBadRecord}
	out := map[TopicID]shareTopicInfo{}
	version0(&r)
	for range 2 { // InitializingTopics, InitializedTopics
		n := r.CompactLen()
		for range n {
			var id TopicID
			copy(id[:], r.Need(16))
			info := out[id]
			info.name = r.CompactNullableString()
			m := r.CompactLen()
			for range m {
				info.partitions = append(info.partitions, r.Int32())
				if r.Err != nil {
					break
				}
			}
			info.created = r.Int64()
			r.SkipTags()
			if r.Err != nil {
				return nil, r.Done("share state partitions value")
			}
			slices.Sort(info.partitions)
			info.partitions = slices.Compact(info.partitions)
			out[id] = info
		}
	}
	n := r.CompactLen() // DeletingTopics: their state is being deleted already
	for range n {
		r.Need(16)
		r.CompactNullableString()
		r.SkipTags()
		if r.Err != nil {
			break
		}
	}
	r.SkipTags()
	return out, r.Done("share state partitions value")
}

// applyShareRecordLocked replays one share group record at load into g (locked; nil when the
// group does not exist and the record is a tombstone).
func (c *Coordinator) applyShareRecordLocked(g *group, k RecordKey, value []byte) bool {
	if value == nil {
		c.applyShareTombstoneLocked(g, k)
		return true
	}
	if g.share == nil {
		for _, m := range g.members {
			g.dropLocked(m)
		}
		if g.consumer != nil {
			g.consumer.stopTimersLocked()
			g.consumer = nil
		}
		g.share = newShareGroup()
		g.state, g.protocolType = Empty, "share"
	}
	sg := g.share
	member := func() *shareMember {
		m := sg.members[k.Member]
		if m == nil {
			m = &shareMember{id: k.Member, assigned: Assignment{}}
			sg.members[m.id] = m
			c.resetShareSessionLocked(g, m)
		}
		return m
	}
	switch k.Kind {
	case keyShareGroup:
		e, _, err := DecodeShareGroupValue(value)
		if err != nil {
			return false
		}
		sg.epoch = e
	case keyShareTargetMetadata:
		e, err := DecodeConsumerEpochValue(value)
		if err != nil {
			return false
		}
		sg.assignmentEpoch = e
	case keyShareMember:
		v, err := DecodeShareMemberValue(value)
		if err != nil {
			return false
		}
		m := member()
		m.rackID, m.clientID, m.clientHost = v.RackID, v.ClientID, v.ClientHost
		names := slices.Clone(v.SubscribedTopicNames)
		slices.Sort(names)
		m.topicNames = slices.Compact(names)
	case keyShareTargetMember:
		a, err := DecodeTargetMemberValue(value)
		if err != nil {
			return false
		}
		sg.target[k.Member] = a
	case keyShareCurrentAssignment:
		v, err := DecodeShareCurrentAssignmentValue(value)
		if err != nil {
			return false
		}
		m := member()
		m.epoch, m.previousEpoch, m.assigned = v.MemberEpoch, v.PreviousMemberEpoch, v.Assigned
	case keyShareStatePartitions:
		init, err := DecodeShareStatePartitionsValue(value)
		if err != nil {
			return false
		}
		sg.initialized = init
	}
	sg.sigUnknown = true
	return true
}

// applyShareTombstoneLocked replays the deletion of a share group record.
func (c *Coordinator) applyShareTombstoneLocked(g *group, k RecordKey) {
	if g == nil || g.share == nil {
		return
	}
	sg := g.share
	switch k.Kind {
	case keyShareGroup:
		sg.stopTimersLocked()
		g.share = nil
		g.protocolType = ""
		if len(g.offsets) == 0 {
			c.removeLocked(g)
		}
	case keyShareMember:
		if m := sg.members[k.Member]; m != nil {
			if m.session != nil {
				m.session.Stop()
			}
			delete(sg.members, k.Member)
		}
	case keyShareTargetMember:
		delete(sg.target, k.Member)
	case keyShareCurrentAssignment:
		if m := sg.members[k.Member]; m != nil {
			m.assigned, m.epoch, m.previousEpoch = Assignment{}, 0, 0
		}
	case keyShareStatePartitions:
		sg.initialized = map[TopicID]shareTopicInfo{}
	}
}
