package group

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"

	"github.com/sluicehq/sluice/internal/kschema"
)

// Consumer group records in __consumer_offsets, in Kafka's schemas
// (docs/format/consumer-offsets.md): keys are non-flexible (int16 version = record type, then
// int16-length strings); values are flexible version 0 (compact strings and arrays, uvarint
// lengths + 1, a trailing tagged-field section that decoders skip).

// Key versions (record types) of consumer group records.
const (
	keyConsumerGroup     = 3 // ConsumerGroupMetadata: the group epoch
	keyPartitionMetadata = 4 // ConsumerGroupPartitionMetadata: not written (recomputed from metadata)
	keyConsumerMember    = 5 // ConsumerGroupMemberMetadata: a member's subscription
	keyTargetMetadata    = 6 // ConsumerGroupTargetAssignmentMetadata: the assignment epoch
	keyTargetMember      = 7 // ConsumerGroupTargetAssignmentMember: a member's target
	keyCurrentAssignment = 8 // ConsumerGroupCurrentMemberAssignment: a member's current assignment
)

// kv is one record: a nil value is a tombstone.
type kv struct{ key, value []byte }

// ConsumerMemberValue is a ConsumerGroupMemberMetadataValue ("" is written as null for the
// nullable strings).
type ConsumerMemberValue struct {
	InstanceID, RackID, ClientID, ClientHost string
	SubscribedTopicNames                     []string
	SubscribedTopicRegex                     string
	RebalanceTimeoutMs                       int32
	ServerAssignor                           string
}

// CurrentAssignmentValue is a ConsumerGroupCurrentMemberAssignmentValue.
type CurrentAssignmentValue struct {
	MemberEpoch, PreviousMemberEpoch int32
	State                            int8
	Assigned, PendingRevocation      Assignment
}

func (a CurrentAssignmentValue) equal(b CurrentAssignmentValue) bool {
	return a.MemberEpoch == b.MemberEpoch && a.PreviousMemberEpoch == b.PreviousMemberEpoch && a.State == b.State &&
		a.Assigned.equal(b.Assigned) && a.PendingRevocation.equal(b.PendingRevocation)
}

func (m *consumerMember) snapshot() CurrentAssignmentValue {
	return CurrentAssignmentValue{MemberEpoch: m.epoch, PreviousMemberEpoch: m.previousEpoch, State: int8(m.state),
		Assigned: m.assigned.clone(), PendingRevocation: m.pending.clone()}
}

func (m *consumerMember) metadata() ConsumerMemberValue {
	return ConsumerMemberValue{InstanceID: m.instanceID, RackID: m.rackID, ClientID: m.clientID, ClientHost: m.clientHost,
		SubscribedTopicNames: m.topicNames, SubscribedTopicRegex: m.regex,
		RebalanceTimeoutMs: int32(m.rebalanceTimeout.Milliseconds()), ServerAssignor: m.serverAssignor}
}

// appendConsumerKey appends the key of a consumer group record; member is written only for
// the per-member types (5, 7, 8).
func appendConsumerKey(dst []byte, kind int16, group, member string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(kind))
	dst = kschema.AppendString(dst, group)
	if kind == keyConsumerMember || kind == keyTargetMember || kind == keyCurrentAssignment {
		dst = kschema.AppendString(dst, member)
	}
	return dst
}

// AppendConsumerEpochValue appends a ConsumerGroupMetadataValue or a
// ConsumerGroupTargetAssignmentMetadataValue: both are version 0 with one int32 epoch.
func AppendConsumerEpochValue(dst []byte, epoch int32) []byte {
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(epoch))
	return append(dst, 0) // no tagged fields
}

// DecodeConsumerEpochValue decodes what AppendConsumerEpochValue writes.
func DecodeConsumerEpochValue(b []byte) (int32, error) {
	r := reader{B: b, Bad: ErrBadRecord}
	version0(&r)
	e := r.Int32()
	r.SkipTags()
	return e, r.Done("consumer group epoch value")
}

// AppendConsumerMemberValue appends a ConsumerGroupMemberMetadataValue (version 0).
func AppendConsumerMemberValue(dst []byte, v ConsumerMemberValue) []byte {
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = kschema.AppendCompactNullable(dst, v.InstanceID)
	dst = kschema.AppendCompactNullable(dst, v.RackID)
	dst = kschema.AppendCompactString(dst, v.ClientID)
	dst = kschema.AppendCompactString(dst, v.ClientHost)
	dst = binary.AppendUvarint(dst, uint64(len(v.SubscribedTopicNames))+1)
	for _, t := range v.SubscribedTopicNames {
		dst = kschema.AppendCompactString(dst, t)
	}
	dst = kschema.AppendCompactNullable(dst, v.SubscribedTopicRegex)
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.RebalanceTimeoutMs))
	dst = kschema.AppendCompactNullable(dst, v.ServerAssignor)
	return append(dst, 0)
}

// DecodeConsumerMemberValue decodes a ConsumerGroupMemberMetadataValue; tagged fields (the
// classic member metadata of members that use the classic protocol) are skipped.
func DecodeConsumerMemberValue(b []byte) (ConsumerMemberValue, error) {
	r := reader{B: b, Bad: ErrBadRecord}
	var v ConsumerMemberValue
	version0(&r)
	v.InstanceID, v.RackID = r.CompactNullableString(), r.CompactNullableString()
	v.ClientID, v.ClientHost = r.CompactNullableString(), r.CompactNullableString()
	n := r.CompactLen()
	for range n {
		v.SubscribedTopicNames = append(v.SubscribedTopicNames, r.CompactNullableString())
	}
	v.SubscribedTopicRegex = r.CompactNullableString()
	v.RebalanceTimeoutMs = r.Int32()
	v.ServerAssignor = r.CompactNullableString()
	r.SkipTags()
	return v, r.Done("consumer member value")
}

// AppendTargetMemberValue appends a ConsumerGroupTargetAssignmentMemberValue (version 0).
func AppendTargetMemberValue(dst []byte, a Assignment) []byte {
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = appendTopicPartitions(dst, a)
	return append(dst, 0)
}

// DecodeTargetMemberValue decodes a ConsumerGroupTargetAssignmentMemberValue.
func DecodeTargetMemberValue(b []byte) (Assignment, error) {
	r := reader{B: b, Bad: ErrBadRecord}
	version0(&r)
	a := topicPartitions(&r)
	r.SkipTags()
	return a, r.Done("target assignment value")
}

// AppendCurrentAssignmentValue appends a ConsumerGroupCurrentMemberAssignmentValue (version 0).
func AppendCurrentAssignmentValue(dst []byte, v CurrentAssignmentValue) []byte {
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.MemberEpoch))
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.PreviousMemberEpoch))
	dst = append(dst, byte(v.State))
	dst = appendTopicPartitions(dst, v.Assigned)
	dst = appendTopicPartitions(dst, v.PendingRevocation)
	return append(dst, 0)
}

// DecodeCurrentAssignmentValue decodes a ConsumerGroupCurrentMemberAssignmentValue.
func DecodeCurrentAssignmentValue(b []byte) (CurrentAssignmentValue, error) {
	r := reader{B: b, Bad: ErrBadRecord}
	var v CurrentAssignmentValue
	version0(&r)
	v.MemberEpoch, v.PreviousMemberEpoch = r.Int32(), r.Int32()
	if s := r.Need(1); s != nil {
		v.State = int8(s[0])
	}
	v.Assigned, v.PendingRevocation = topicPartitions(&r), topicPartitions(&r)
	r.SkipTags()
	return v, r.Done("current assignment value")
}

// appendTopicPartitions writes an assignment as a compact array of (uuid, compact []int32,
// tagged fields), topics in id order.
func appendTopicPartitions(dst []byte, a Assignment) []byte {
	ids := make([]TopicID, 0, len(a))
	for id, ps := range a {
		if len(ps) > 0 {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return string(ids[i][:]) < string(ids[j][:]) })
	dst = binary.AppendUvarint(dst, uint64(len(ids))+1)
	for _, id := range ids {
		dst = append(dst, id[:]...)
		dst = binary.AppendUvarint(dst, uint64(len(a[id]))+1)
		for _, p := range a[id] {
			dst = binary.BigEndian.AppendUint32(dst, uint32(p))
		}
		dst = append(dst, 0)
	}
	return dst
}

func version0(r *reader) {
	if v := r.Int16(); v != 0 && r.Err == nil {
		r.Err = fmt.Errorf("%w: value version %d", ErrBadRecord, v)
	}
}

func topicPartitions(r *reader) Assignment {
	a := Assignment{}
	n := r.CompactLen()
	for range n {
		var id TopicID
		copy(id[:], r.Need(16))
		m := r.CompactLen()
		for range m {
			a.add(id, r.Int32())
		}
		r.SkipTags()
		if r.Err != nil {
			break
		}
	}
	return a
}

// enqueueLocked queues records for the group's next flush and returns the sequence a caller
// waits for with flushRecords (0: nothing queued).
func (c *Coordinator) enqueueLocked(g *group, recs []kv) uint64 {
	if c.cfg.Log == nil || len(recs) == 0 {
		return 0
	}
	g.queued = append(g.queued, recs...)
	g.queuedSeq++
	return g.queuedSeq
}

// flushRecords returns once the records queued up to seq are durable: under the group's
// store mutex (which orders every write of the group) the first caller appends everything
// queued so far as one batch, in order, and later callers find their records written.
func (c *Coordinator) flushRecords(ctx context.Context, g *group, seq uint64) error {
	if seq == 0 || c.cfg.Log == nil {
		return nil
	}
	st := g.store
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.flushed >= seq {
		return st.flushErr
	}
	g.mu.Lock()
	recs, last := g.queued, g.queuedSeq
	g.queued = nil
	g.mu.Unlock()
	st.flushed = last
	st.flushErr = nil
	if len(recs) == 0 {
		return nil
	}
	b := newBuilder(c.cfg.Compression)
	now := c.now().UnixMilli()
	for _, r := range recs {
		b.Add(now, r.key, r.value)
	}
	batch, err := b.Build(nil)
	if err == nil {
		err = c.appendLog(ctx, Partition(g.id, c.cfg.NumPartitions), batch)
	}
	if err != nil {
		st.flushErr = fmt.Errorf("store consumer group %s: %w: %w", g.id, ErrCoordinatorUnavailable, err)
		return st.flushErr
	}
	return nil
}

// applyConsumerRecordLocked replays one consumer group record at load into g (locked; nil
// when the group does not exist and the record is a tombstone).
func (c *Coordinator) applyConsumerRecordLocked(g *group, k RecordKey, value []byte) bool {
	if value == nil {
		c.applyConsumerTombstoneLocked(g, k)
		return true
	}
	if g.consumer == nil {
		for _, m := range g.members {
			g.dropLocked(m)
		}
		g.consumer = newConsumerGroup()
		g.state, g.protocolType = Empty, "consumer"
	}
	cg := g.consumer
	member := func() *consumerMember {
		m := cg.members[k.Member]
		if m == nil {
			m = &consumerMember{id: k.Member, assigned: Assignment{}, pending: Assignment{}}
			cg.members[m.id] = m
			c.resetConsumerSessionLocked(g, m)
		}
		return m
	}
	switch k.Kind {
	case keyConsumerGroup, keyTargetMetadata:
		e, err := DecodeConsumerEpochValue(value)
		if err != nil {
			return false
		}
		if k.Kind == keyConsumerGroup {
			cg.epoch = e
		} else {
			cg.assignmentEpoch = e
		}
	case keyPartitionMetadata:
		// Subscription metadata is recomputed from the metadata Image at the next heartbeat.
	case keyConsumerMember:
		v, err := DecodeConsumerMemberValue(value)
		if err != nil {
			return false
		}
		m := member()
		req := ConsumerHeartbeatRequest{SubscribedTopicNames: v.SubscribedTopicNames, SubscribedTopicRegex: &v.SubscribedTopicRegex,
			ServerAssignor: &v.ServerAssignor, InstanceID: &v.InstanceID, RackID: &v.RackID,
			RebalanceTimeout: msDuration(v.RebalanceTimeoutMs), ClientID: v.ClientID, ClientHost: v.ClientHost}
		if v.SubscribedTopicNames == nil {
			req.SubscribedTopicNames = []string{}
		}
		if _, err := m.update(req); err != nil {
			return false
		}
		if m.instanceID != "" {
			cg.static[m.instanceID] = m.id
		}
	case keyTargetMember:
		a, err := DecodeTargetMemberValue(value)
		if err != nil {
			return false
		}
		cg.target[k.Member] = a
	case keyCurrentAssignment:
		v, err := DecodeCurrentAssignmentValue(value)
		if err != nil {
			return false
		}
		m := member()
		cg.release(m)
		m.epoch, m.previousEpoch, m.state = v.MemberEpoch, v.PreviousMemberEpoch, memberState(v.State)
		m.assigned, m.pending = v.Assigned, v.PendingRevocation
		cg.own(m)
	}
	cg.sigImage, cg.sigUnknown = nil, true
	return true
}

// applyConsumerTombstoneLocked replays the deletion of a consumer group record.
func (c *Coordinator) applyConsumerTombstoneLocked(g *group, k RecordKey) {
	if g == nil || g.consumer == nil {
		return
	}
	cg := g.consumer
	switch k.Kind {
	case keyConsumerGroup:
		cg.stopTimersLocked()
		g.consumer = nil
		g.protocolType = ""
		if len(g.offsets) == 0 {
			c.removeLocked(g)
		}
	case keyConsumerMember:
		if m := cg.members[k.Member]; m != nil {
			if cg.static[m.instanceID] == m.id {
				delete(cg.static, m.instanceID)
			}
			cg.release(m)
			if m.session != nil {
				m.session.Stop()
			}
			delete(cg.members, k.Member)
		}
	case keyTargetMember:
		delete(cg.target, k.Member)
	case keyCurrentAssignment:
		if m := cg.members[k.Member]; m != nil {
			cg.release(m)
			m.assigned, m.pending, m.epoch, m.previousEpoch, m.state = Assignment{}, Assignment{}, 0, 0, memberStable
		}
	}
}

// consumerMemberIDs lists a consumer group's member ids, sorted.
func (cg *consumerGroup) memberIDs() []string {
	ids := make([]string, 0, len(cg.members))
	for id := range cg.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
