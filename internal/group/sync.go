package group

import (
	"bytes"
	"context"
	"fmt"
)

// SyncRequest is one SyncGroup call; Assignments is set by the leader only.
type SyncRequest struct {
	Group, MemberID, InstanceID string
	Generation                  int32
	// ProtocolType and ProtocolName, when set (SyncGroup v5), must match the group's.
	ProtocolType, ProtocolName string
	Assignments                map[string][]byte
}

// SyncResult answers a sync with the member's assignment.
type SyncResult struct {
	Err                        error
	ProtocolType, ProtocolName string
	Assignment                 []byte
}

// Sync waits for the leader's assignment of the current generation and answers with this
// member's share. The channel receives exactly one result.
func (c *Coordinator) Sync(req SyncRequest) <-chan SyncResult {
	ch := make(chan SyncResult, 1)
	g := c.lockGroup(req.Group, false)
	if g != nil {
		defer g.mu.Unlock()
	}
	m, err := c.memberLocked(g, req.MemberID, req.InstanceID, req.Generation)
	if err != nil {
		ch <- SyncResult{Err: err}
		return ch
	}
	if (req.ProtocolType != "" && req.ProtocolType != g.protocolType) || (req.ProtocolName != "" && req.ProtocolName != g.protocolName) {
		ch <- SyncResult{Err: ErrInconsistentProtocol}
		return ch
	}
	c.resetSessionLocked(g, m)
	switch g.state {
	case PreparingRebalance:
		ch <- SyncResult{Err: ErrRebalanceInProgress}
	case Stable:
		ch <- SyncResult{ProtocolType: g.protocolType, ProtocolName: g.protocolName, Assignment: m.assignment}
	case CompletingRebalance:
		m.answerSyncLocked(SyncResult{Err: ErrRebalanceInProgress}) // a retried sync replaces the old one
		m.syncCh = ch
		if m.id == g.leaderID {
			for _, o := range g.members {
				o.assignment = bytes.Clone(req.Assignments[o.id]) // may alias the request buffer
			}
			g.state = Stable
			if g.rebalance != nil {
				g.rebalance.Stop() // the sync deadline is met
				g.rebalance = nil
			}
			// Members waiting in this sync are answered once the generation is durable.
			var answers []pendingSync
			for _, o := range g.members {
				if o.syncCh != nil {
					answers = append(answers, pendingSync{o.syncCh, SyncResult{ProtocolType: g.protocolType, ProtocolName: g.protocolName, Assignment: o.assignment}})
					o.syncCh = nil
				}
			}
			c.storeGroupLocked(g, answers...)
		}
	default:
		ch <- SyncResult{Err: ErrUnknownMemberID}
	}
	return ch
}

// memberLocked finds a member of the current generation of g (locked by the caller; nil: no
// such group); a static member's instance id must map to mid (FENCED_INSTANCE_ID otherwise).
func (c *Coordinator) memberLocked(g *group, mid, instanceID string, generation int32) (*member, error) {
	if c.closed.Load() {
		return nil, ErrCoordinatorUnavailable
	}
	if g == nil || g.state == Dead {
		return nil, ErrUnknownMemberID
	}
	if current, ok := g.static[instanceID]; instanceID != "" && ok && current != mid {
		return nil, ErrFencedInstanceID
	}
	m := g.members[mid]
	if m == nil {
		return nil, ErrUnknownMemberID
	}
	if generation != g.generation {
		return nil, ErrIllegalGeneration
	}
	return m, nil
}

// Heartbeat keeps a member's session alive; during a rebalance it answers
// ErrRebalanceInProgress so the member rejoins.
func (c *Coordinator) Heartbeat(gid, mid, instanceID string, generation int32) error {
	g := c.lockGroup(gid, false)
	if g != nil {
		defer g.mu.Unlock()
	}
	m, err := c.memberLocked(g, mid, instanceID, generation)
	if err != nil {
		return err
	}
	c.resetSessionLocked(g, m)
	if g.state == PreparingRebalance {
		return ErrRebalanceInProgress
	}
	return nil
}

// LeavingMember names a member leaving: by member id, or (static members, v3+) by
// group.instance.id, or both (which must then agree).
type LeavingMember struct{ MemberID, InstanceID string }

// Leave removes members (LeaveGroup); the result holds one error (or nil) per member.
func (c *Coordinator) Leave(gid string, leaving []LeavingMember) []error {
	errs := make([]error, len(leaving))
	g := c.lockGroup(gid, false)
	if g != nil {
		defer g.mu.Unlock()
	}
	for i, l := range leaving {
		if g == nil {
			errs[i] = ErrUnknownMemberID
			continue
		}
		id := l.MemberID
		if l.InstanceID != "" {
			current, ok := g.static[l.InstanceID]
			switch {
			case !ok:
				errs[i] = ErrUnknownMemberID
				continue
			case id != "" && id != current:
				errs[i] = ErrFencedInstanceID
				continue
			}
			id = current
		}
		m := g.members[id]
		if m == nil {
			errs[i] = ErrUnknownMemberID
			continue
		}
		c.abortAbandonedTxnsLocked(gid, m.id)
		c.removeMemberLocked(g, m)
	}
	return errs
}

// Description is a group as DescribeGroups shows it. A consumer group (KIP-848) is not
// described by DescribeGroups: it reads as Dead with Type "consumer".
type Description struct {
	Group                      string
	State                      State
	Type                       string // "classic" or "consumer"
	ProtocolType, ProtocolName string
	Members                    []Member
}

// Describe returns a group's state and members; an unknown group is Dead with no members.
func (c *Coordinator) Describe(gid string) Description {
	g := c.lockGroup(gid, false)
	if g == nil {
		return Description{Group: gid, State: Dead, Type: "classic"}
	}
	defer g.mu.Unlock()
	if g.consumer != nil {
		return Description{Group: gid, State: Dead, Type: "consumer"}
	}
	if g.share != nil {
		return Description{Group: gid, State: Dead, Type: "share"}
	}
	d := Description{Group: gid, State: g.state, Type: "classic", ProtocolType: g.protocolType}
	if g.state == Stable || g.state == CompletingRebalance {
		d.ProtocolName = g.protocolName
	}
	for _, m := range g.members {
		d.Members = append(d.Members, Member{MemberID: m.id, InstanceID: m.instanceID, ClientID: m.clientID,
			ClientHost: m.clientHost, Metadata: m.protocolMetadata(g.protocolName), Assignment: m.assignment})
	}
	return d
}

// Listing is one group in ListGroups: Type is "classic" or "consumer"; StateName is the
// group's state in Kafka's words for its type.
type Listing struct {
	Group, ProtocolType string
	State               State
	Type, StateName     string
}

// List returns every live group; it locks one group at a time.
func (c *Coordinator) List() []Listing {
	gs := c.snapshotGroups()
	out := make([]Listing, 0, len(gs))
	for _, g := range gs {
		if c.lockListed(g) {
			l := Listing{Group: g.id, ProtocolType: g.protocolType, State: g.state, Type: "classic", StateName: g.state.String()}
			if g.consumer != nil {
				l.Type, l.ProtocolType, l.StateName = "consumer", "consumer", g.consumer.state().String()
			}
			if g.share != nil {
				l.Type, l.ProtocolType, l.StateName = "share", "share", g.share.state().String()
			}
			out = append(out, l)
		}
		g.mu.Unlock()
	}
	return out
}

// Delete removes an empty group and its offsets (DeleteGroups); with an OffsetLog the
// offsets' tombstones are written first, so the group stays deleted after a restart.
func (c *Coordinator) Delete(ctx context.Context, gid string) error {
	g := c.lockGroup(gid, false)
	var keys []topicPartition
	switch {
	case g == nil:
		return ErrGroupIDNotFound
	case g.state != Empty || (g.consumer != nil && len(g.consumer.members) > 0) || (g.share != nil && len(g.share.members) > 0):
		g.mu.Unlock()
		return ErrNonEmptyGroup
	}
	var shareParts map[TopicID]shareTopicInfo
	if g.share != nil {
		shareParts = g.share.initialized
	}
	isShare := g.share != nil
	for tp := range g.offsets {
		keys = append(keys, tp)
	}
	consumer := g.consumer != nil
	// The tombstones supersede any group snapshot still waiting to be written.
	g.storeSeq++
	seq, st := g.storeSeq, g.store
	g.mu.Unlock()
	if isShare {
		// The share coordinator's state goes first, as in Kafka: a failure leaves the group.
		if err := c.deleteShareState(ctx, gid, shareParts); err != nil {
			return fmt.Errorf("delete share group %s state: %w: %w", gid, ErrCoordinatorUnavailable, err)
		}
	}
	if c.cfg.Log != nil {
		batch, err := tombstoneBatch(c.cfg.Compression, gid, keys, true, consumer, isShare)
		if err == nil {
			st.mu.Lock()
			st.written = max(st.written, seq)
			err = c.appendLog(ctx, Partition(gid, c.cfg.NumPartitions), batch)
			st.mu.Unlock()
		}
		if err != nil {
			return fmt.Errorf("delete group %s: %w: %w", gid, ErrCoordinatorUnavailable, err)
		}
	}
	if g := c.lockGroup(gid, false); g != nil {
		if g.state == Empty && (g.consumer == nil || len(g.consumer.members) == 0) && (g.share == nil || len(g.share.members) == 0) {
			if g.share != nil {
				g.share.stopTimersLocked()
			}
			g.stopTimersLocked()
			g.state = Dead
			c.removeLocked(g)
		}
		g.mu.Unlock()
	}
	return nil
}
