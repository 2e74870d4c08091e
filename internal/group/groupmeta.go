package group

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/kschema"
)

// GroupMetadata is a group's persisted state (the group metadata value, version 3): written
// when a generation becomes Stable and when the group becomes Empty, restored at load.
type GroupMetadata struct {
	ProtocolType string
	Generation   int32
	Protocol     string // "" is written as null
	Leader       string // "" is written as null
	StateTime    int64  // ms since the epoch
	Members      []MemberMetadata
}

// MemberMetadata is one member inside GroupMetadata.
type MemberMetadata struct {
	MemberID, InstanceID, ClientID, ClientHost string
	RebalanceTimeout, SessionTimeout           int32 // ms
	Subscription, Assignment                   []byte
}

// AppendGroupValue appends a group metadata value (version 3).
func AppendGroupValue(dst []byte, g GroupMetadata) []byte {
	dst = binary.BigEndian.AppendUint16(dst, groupMetadataValueV3)
	dst = kschema.AppendString(dst, g.ProtocolType)
	dst = binary.BigEndian.AppendUint32(dst, uint32(g.Generation))
	dst = kschema.AppendNullableString(dst, g.Protocol)
	dst = kschema.AppendNullableString(dst, g.Leader)
	dst = binary.BigEndian.AppendUint64(dst, uint64(g.StateTime))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(g.Members)))
	for _, m := range g.Members {
		dst = kschema.AppendString(dst, m.MemberID)
		dst = kschema.AppendNullableString(dst, m.InstanceID)
		dst = kschema.AppendString(dst, m.ClientID)
		dst = kschema.AppendString(dst, m.ClientHost)
		dst = binary.BigEndian.AppendUint32(dst, uint32(m.RebalanceTimeout))
		dst = binary.BigEndian.AppendUint32(dst, uint32(m.SessionTimeout))
		dst = kschema.AppendBytes(dst, m.Subscription)
		dst = kschema.AppendBytes(dst, m.Assignment)
	}
	return dst
}

// DecodeGroupValue decodes a group metadata value of version 3 (Kafka 2.1+; version 4 adds
// tagged fields this decoder does not read and rejects).
func DecodeGroupValue(b []byte) (GroupMetadata, error) {
	r := reader{B: b, Bad: ErrBadRecord}
	var g GroupMetadata
	if v := r.Int16(); v != groupMetadataValueV3 && r.Err == nil {
		return g, fmt.Errorf("%w: group value version %d", ErrBadRecord, v)
	}
	g.ProtocolType, g.Generation = r.NullableString(), r.Int32()
	g.Protocol, g.Leader, g.StateTime = r.NullableString(), r.NullableString(), r.Int64()
	n := r.Int32()
	if n < 0 || int(n) > len(r.B) { // each member takes well over one byte
		return g, fmt.Errorf("%w: %d members", ErrBadRecord, n)
	}
	for range n {
		var m MemberMetadata
		m.MemberID, m.InstanceID, m.ClientID, m.ClientHost = r.NullableString(), r.NullableString(), r.NullableString(), r.NullableString()
		m.RebalanceTimeout, m.SessionTimeout = r.Int32(), r.Int32()
		m.Subscription, m.Assignment = r.Bytes(), r.Bytes()
		if r.Err != nil {
			break
		}
		g.Members = append(g.Members, m)
	}
	return g, r.Done("group value")
}

// snapshotLocked is the group's persisted form.
func (g *group) snapshotLocked(now time.Time) GroupMetadata {
	md := GroupMetadata{ProtocolType: g.protocolType, Generation: g.generation, Protocol: g.protocolName,
		Leader: g.leaderID, StateTime: now.UnixMilli()}
	for _, m := range g.members {
		md.Members = append(md.Members, MemberMetadata{MemberID: m.id, InstanceID: m.instanceID, ClientID: m.clientID,
			ClientHost: m.clientHost, RebalanceTimeout: int32(m.rebalanceTimeout / time.Millisecond),
			SessionTimeout: int32(m.sessionTimeout / time.Millisecond), Subscription: m.protocolMetadata(g.protocolName),
			Assignment: m.assignment})
	}
	return md
}

// pendingSync is a SyncGroup answer held back until the generation's metadata is durable.
type pendingSync struct {
	ch  chan SyncResult
	res SyncResult
}

// storeGroupLocked writes the group's metadata record in the background: a later snapshot of
// the same group supersedes one not yet written (snapshots carry a sequence number), so the log
// never ends on stale state. Close cancels writes still waiting. The answers are sent once the
// record is durable (or superseded by a newer snapshot, which the group's store mutex orders
// before this one finishes), as Kafka answers SyncGroup after its append; a failed write
// answers them with ErrCoordinatorUnavailable. Without a log they are sent at once.
func (c *Coordinator) storeGroupLocked(g *group, answers ...pendingSync) {
	if c.cfg.Log == nil {
		for _, a := range answers {
			a.ch <- a.res
		}
		return
	}
	g.storeSeq++
	seq, gid, md := g.storeSeq, g.id, g.snapshotLocked(c.now())
	st := g.store
	c.writers.Add(1)
	go func() {
		defer c.writers.Done()
		err := c.writeGroupRecord(st, seq, gid, md)
		for _, a := range answers { // buffered, one slot each: never blocks
			if err != nil {
				a.res = SyncResult{Err: err}
			}
			a.ch <- a.res
		}
	}()
}

// writeGroupRecord appends snapshot seq of group gid unless a newer one was written. A panic
// is recovered into ErrCoordinatorUnavailable for the waiting SyncGroups.
func (c *Coordinator) writeGroupRecord(st *groupStore, seq uint64, gid string, md GroupMetadata) (err error) {
	defer c.guard("group.writer", &err)
	st.mu.Lock()
	defer st.mu.Unlock()
	if seq <= st.written {
		return nil
	}
	st.written = seq
	value := AppendGroupValue(nil, md)
	if err := c.appendRecord(c.ctx, gid, AppendGroupKey(nil, gid), value); err != nil {
		c.cfg.Logger.Warn("storing group metadata", "group", gid, "generation", md.Generation, "err", err)
		return fmt.Errorf("store group %s: %w: %w", gid, ErrCoordinatorUnavailable, err)
	}
	return nil
}

func (c *Coordinator) appendRecord(ctx context.Context, gid string, key, value []byte) error {
	b := newBuilder(c.cfg.Compression)
	b.Add(time.Now().UnixMilli(), key, value)
	batch, err := b.Build(nil)
	if err != nil {
		return err
	}
	return c.appendLog(ctx, Partition(gid, c.cfg.NumPartitions), batch)
}

// restoreLocked applies a loaded group metadata record: the group comes back with its
// generation, protocol, leader and members (session timers armed afresh), Stable if it had
// members and Empty otherwise. A tombstone removes the group's membership state. g is the
// group, locked (nil for a tombstone of a group already gone).
func (c *Coordinator) restoreLocked(g *group, value []byte) bool {
	if g == nil {
		return true // tombstone of a group already gone
	}
	for _, m := range g.members {
		g.dropLocked(m)
	}
	if value == nil {
		g.state, g.protocolType, g.protocolName = Empty, "", ""
		if len(g.offsets) == 0 {
			c.removeLocked(g)
		}
		return true
	}
	md, err := DecodeGroupValue(value)
	if err != nil {
		return false
	}
	if g.consumer != nil { // the group was converted back to a classic group
		g.consumer.stopTimersLocked()
		g.consumer = nil
	}
	g.protocolType, g.generation, g.protocolName, g.leaderID = md.ProtocolType, md.Generation, md.Protocol, md.Leader
	g.state = Empty
	if len(md.Members) == 0 {
		g.emptySince = md.StateTime // offset retention counts from when the group became empty
	}
	for _, mm := range md.Members {
		m := &member{id: mm.MemberID, instanceID: mm.InstanceID, clientID: mm.ClientID, clientHost: mm.ClientHost,
			protocolType: md.ProtocolType, protocols: []Protocol{{Name: md.Protocol, Metadata: mm.Subscription}},
			sessionTimeout:   time.Duration(mm.SessionTimeout) * time.Millisecond,
			rebalanceTimeout: time.Duration(mm.RebalanceTimeout) * time.Millisecond, assignment: mm.Assignment}
		g.members[m.id] = m
		if m.instanceID != "" {
			g.static[m.instanceID] = m.id
		}
		c.resetSessionLocked(g, m)
		g.state = Stable
	}
	return true
}
