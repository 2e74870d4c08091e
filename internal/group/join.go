package group

import (
	"bytes"
	"fmt"
	"slices"
	"time"
)

// JoinRequest is one JoinGroup call. The coordinator copies the bytes it keeps, so the
// request may alias a connection buffer.
type JoinRequest struct {
	Group, MemberID, InstanceID, ClientID, ClientHost string
	ProtocolType                                      string
	Protocols                                         []Protocol
	SessionTimeout, RebalanceTimeout                  time.Duration
	// RequireKnownMemberID is set from JoinGroup v4 on (KIP-394): a first join gets a member
	// id and ErrMemberIDRequired, and must join again with it.
	RequireKnownMemberID bool
}

// JoinResult answers a join. Members is filled for the leader only.
type JoinResult struct {
	Err                        error
	Generation                 int32
	ProtocolType, ProtocolName string
	LeaderID, MemberID         string
	Members                    []Member
}

// Join adds or refreshes a member and answers once the group's join barrier completes
// (or at once for errors and for members the group already knows in a settled state).
// The channel receives exactly one result.
func (c *Coordinator) Join(req JoinRequest) <-chan JoinResult {
	ch := make(chan JoinResult, 1)
	if err := c.checkJoin(req); err != nil {
		ch <- JoinResult{Err: err, MemberID: req.MemberID}
		return ch
	}
	g := c.lockGroup(req.Group, true)
	if g == nil || c.closed.Load() {
		if g != nil {
			g.mu.Unlock()
		}
		ch <- JoinResult{Err: ErrCoordinatorUnavailable, MemberID: req.MemberID}
		return ch
	}
	defer g.mu.Unlock()
	if g.state == Dead {
		ch <- JoinResult{Err: ErrCoordinatorUnavailable, MemberID: req.MemberID}
		return ch
	}
	if g.share != nil {
		// A share group's id cannot be joined with the classic protocol (Kafka's answer).
		ch <- JoinResult{Err: fmt.Errorf("%w: group %s is a share group", ErrInconsistentProtocol, g.id), MemberID: req.MemberID}
		return ch
	}
	if g.consumer != nil {
		if len(g.consumer.members) > 0 {
			// Classic members joining a consumer group (online migration) are not supported.
			ch <- JoinResult{Err: ErrInconsistentProtocol, MemberID: req.MemberID}
			return ch
		}
		c.convertToClassicLocked(g)
	}
	if !g.supportsLocked(req) {
		ch <- JoinResult{Err: ErrInconsistentProtocol, MemberID: req.MemberID}
		return ch
	}
	if c.fullLocked(g, req) {
		ch <- JoinResult{Err: fmt.Errorf("%w: %d members (group.max.size)", ErrGroupMaxSizeReached, c.cfg.MaxSize), MemberID: req.MemberID}
		return ch
	}
	if req.InstanceID != "" {
		c.joinStaticLocked(g, req, ch)
		return ch
	}
	if req.MemberID == "" {
		id := newMemberID(req.ClientID)
		if req.RequireKnownMemberID {
			g.pending[id] = true
			// A client that never comes back must not leave its id behind forever.
			gid := g.id
			time.AfterFunc(req.SessionTimeout, func() {
				defer c.guard("group.timer", nil)
				c.forgetPending(gid, id)
			})
			ch <- JoinResult{Err: ErrMemberIDRequired, MemberID: id, Generation: -1}
			return ch
		}
		req.MemberID = id
		c.addMemberLocked(g, req, ch)
		return ch
	}
	m := g.members[req.MemberID]
	if m == nil {
		if !g.pending[req.MemberID] {
			ch <- JoinResult{Err: ErrUnknownMemberID, MemberID: req.MemberID}
			return ch
		}
		delete(g.pending, req.MemberID)
		c.addMemberLocked(g, req, ch)
		return ch
	}
	c.rejoinLocked(g, m, req, ch)
	return ch
}

// fullLocked reports whether req would add a member to g beyond group.max.size: members
// already in the group (by member id, or a static member by its group.instance.id) may
// always rejoin, as in Kafka.
func (c *Coordinator) fullLocked(g *group, req JoinRequest) bool {
	if c.cfg.MaxSize <= 0 || len(g.members) < c.cfg.MaxSize {
		return false
	}
	if _, ok := g.members[req.MemberID]; ok && req.MemberID != "" {
		return false
	}
	if _, ok := g.static[req.InstanceID]; ok && req.InstanceID != "" {
		return false
	}
	return true
}

func (c *Coordinator) checkJoin(req JoinRequest) error {
	switch {
	case c.closed.Load():
		return ErrCoordinatorUnavailable
	case req.Group == "":
		return ErrInvalidGroupID
	case req.SessionTimeout < c.cfg.MinSessionTimeout || req.SessionTimeout > c.cfg.MaxSessionTimeout:
		return ErrInvalidSessionTimeout
	case req.ProtocolType == "" || len(req.Protocols) == 0:
		return ErrInconsistentProtocol
	}
	return nil
}

// supportsLocked reports whether req can join g: same protocol type and at least one
// protocol every current member also supports.
func (g *group) supportsLocked(req JoinRequest) bool {
	others := 0
	for id, m := range g.members {
		if id == req.MemberID {
			continue
		}
		others++
		if m.protocolType != req.ProtocolType {
			return false
		}
	}
	if others == 0 {
		return true
	}
	for _, p := range req.Protocols {
		if g.allSupportLocked(p.Name, req.MemberID) {
			return true
		}
	}
	return false
}

func (g *group) allSupportLocked(name, except string) bool {
	for id, m := range g.members {
		if id == except {
			continue
		}
		if !slices.ContainsFunc(m.protocols, func(p Protocol) bool { return p.Name == name }) {
			return false
		}
	}
	return true
}

func (c *Coordinator) addMemberLocked(g *group, req JoinRequest, ch chan JoinResult) {
	m := &member{id: req.MemberID, isNew: true}
	m.update(req)
	m.joinCh = ch
	g.members[m.id] = m
	if g.leaderID == "" {
		g.leaderID = m.id
	}
	c.resetSessionLocked(g, m)
	if g.state == PreparingRebalance {
		c.maybeCompleteJoinLocked(g)
		return
	}
	c.prepareRebalanceLocked(g)
}

func (m *member) update(req JoinRequest) {
	m.instanceID, m.clientID, m.clientHost = req.InstanceID, req.ClientID, req.ClientHost
	m.protocolType = req.ProtocolType
	// The request's bytes may alias the connection's read buffer: keep copies.
	m.protocols = make([]Protocol, len(req.Protocols))
	for i, p := range req.Protocols {
		m.protocols[i] = Protocol{Name: p.Name, Metadata: bytes.Clone(p.Metadata)}
	}
	m.sessionTimeout, m.rebalanceTimeout = req.SessionTimeout, req.RebalanceTimeout
}

func sameProtocols(a, b []Protocol) bool {
	return slices.EqualFunc(a, b, func(x, y Protocol) bool {
		return x.Name == y.Name && string(x.Metadata) == string(y.Metadata)
	})
}

// rejoinLocked handles a join from a known member.
func (c *Coordinator) rejoinLocked(g *group, m *member, req JoinRequest, ch chan JoinResult) {
	unchanged := sameProtocols(m.protocols, req.Protocols) // compares before update copies
	m.update(req)
	c.resetSessionLocked(g, m)
	if m.joinCh != nil {
		// The client retried (its earlier request timed out): the newer request takes the slot.
		m.answerJoinLocked(JoinResult{Err: ErrRebalanceInProgress, MemberID: m.id})
	}
	m.joinCh = ch
	switch g.state {
	case PreparingRebalance:
		c.maybeCompleteJoinLocked(g)
	case CompletingRebalance, Stable:
		if unchanged && (g.state == CompletingRebalance || m.id != g.leaderID) {
			// Nothing to rebalance for: answer with the current generation.
			m.answerJoinLocked(g.joinResultLocked(m))
			return
		}
		c.prepareRebalanceLocked(g)
	default:
		c.prepareRebalanceLocked(g)
	}
}

// prepareRebalanceLocked opens the join barrier: members must rejoin before the rebalance
// timeout (or, for a group that was empty, the initial rebalance delay gathers joiners).
func (c *Coordinator) prepareRebalanceLocked(g *group) {
	if g.state == CompletingRebalance {
		for _, m := range g.members {
			m.answerSyncLocked(SyncResult{Err: ErrRebalanceInProgress})
		}
	}
	wasEmpty := g.state == Empty
	g.state = PreparingRebalance
	if g.rebalance != nil {
		g.rebalance.Stop()
	}
	delay := c.cfg.InitialRebalanceDelay
	if !wasEmpty || delay <= 0 {
		delay = 0
		for _, m := range g.members {
			delay = max(delay, m.rebalanceTimeout)
		}
	}
	g.initialDelay = wasEmpty && c.cfg.InitialRebalanceDelay > 0
	gid, tok := g.id, new(byte)
	g.rebalance, g.rebalanceTok = time.AfterFunc(delay, func() {
		defer c.guard("group.timer", nil)
		c.rebalanceDeadline(gid, tok)
	}), tok
	c.maybeCompleteJoinLocked(g)
}

// rebalanceDeadline runs on the timer goroutine: members that have not rejoined are dropped
// and the barrier completes with the rest.
func (c *Coordinator) rebalanceDeadline(gid string, tok *byte) {
	g := c.lockGroup(gid, false)
	if g == nil {
		return
	}
	defer g.mu.Unlock()
	if c.closed.Load() || g.rebalanceTok != tok || g.state != PreparingRebalance {
		return
	}
	g.rebalance, g.initialDelay = nil, false
	for _, m := range g.members {
		if m.joinCh == nil {
			g.dropLocked(m)
		}
	}
	c.completeJoinLocked(g)
}

// maybeCompleteJoinLocked completes the barrier once every member waits in it, unless the
// initial delay of a formerly empty group is still running (then its timer completes it).
func (c *Coordinator) maybeCompleteJoinLocked(g *group) {
	if g.state != PreparingRebalance {
		return
	}
	for _, m := range g.members {
		if m.joinCh == nil {
			return
		}
	}
	if g.initialDelay {
		return
	}
	if g.rebalance != nil {
		g.rebalance.Stop()
		g.rebalance = nil
	}
	c.completeJoinLocked(g)
}

// completeJoinLocked starts a new generation with the members present.
func (c *Coordinator) completeJoinLocked(g *group) {
	g.generation++
	if len(g.members) == 0 {
		g.state, g.protocolName, g.leaderID = Empty, "", ""
		g.emptySince = c.now().UnixMilli()
		c.storeGroupLocked(g)
		return
	}
	if _, ok := g.members[g.leaderID]; !ok {
		g.leaderID = ""
		for id := range g.members {
			if g.leaderID == "" || id < g.leaderID {
				g.leaderID = id
			}
		}
	}
	g.protocolType = g.members[g.leaderID].protocolType
	g.protocolName = g.selectProtocolLocked()
	g.state = CompletingRebalance
	var deadline time.Duration
	for _, m := range g.members {
		m.assignment, m.isNew = nil, false
		deadline = max(deadline, m.rebalanceTimeout)
		c.resetSessionLocked(g, m)
		m.answerJoinLocked(g.joinResultLocked(m))
	}
	// The leader must sync within the rebalance timeout, or the generation is abandoned.
	gid, generation, tok := g.id, g.generation, new(byte)
	g.rebalance, g.rebalanceTok = time.AfterFunc(deadline, func() {
		defer c.guard("group.timer", nil)
		c.syncDeadline(gid, generation, tok)
	}), tok
}

// syncDeadline runs on the timer goroutine when the leader has not delivered the assignment
// of generation in time: members that never synced are dropped and the rest rebalance.
func (c *Coordinator) syncDeadline(gid string, generation int32, tok *byte) {
	g := c.lockGroup(gid, false)
	if g == nil {
		return
	}
	defer g.mu.Unlock()
	if c.closed.Load() || g.rebalanceTok != tok || g.state != CompletingRebalance || g.generation != generation {
		return
	}
	g.rebalance = nil
	for _, m := range g.members {
		if m.syncCh == nil {
			c.cfg.Logger.Info("group member never synced", "group", gid, "member", m.id)
			g.dropLocked(m)
		}
	}
	c.prepareRebalanceLocked(g)
}

// selectProtocolLocked picks the protocol every member supports that the most members list
// first-most (each member votes for its most preferred common protocol).
func (g *group) selectProtocolLocked() string {
	var common []string
	for _, p := range g.members[g.leaderID].protocols {
		if g.allSupportLocked(p.Name, "") {
			common = append(common, p.Name)
		}
	}
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if slices.Contains(common, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best := ""
	for _, name := range common { // ties go to the leader's preference
		if best == "" || votes[name] > votes[best] {
			best = name
		}
	}
	return best
}

func (g *group) joinResultLocked(m *member) JoinResult {
	r := JoinResult{Generation: g.generation, ProtocolType: g.protocolType, ProtocolName: g.protocolName, LeaderID: g.leaderID, MemberID: m.id}
	if m.id == g.leaderID {
		for _, o := range g.members {
			r.Members = append(r.Members, Member{MemberID: o.id, InstanceID: o.instanceID, Metadata: o.protocolMetadata(g.protocolName)})
		}
		slices.SortFunc(r.Members, func(a, b Member) int { return compareStrings(a.MemberID, b.MemberID) })
	}
	return r
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (m *member) protocolMetadata(name string) []byte {
	for _, p := range m.protocols {
		if p.Name == name {
			return p.Metadata
		}
	}
	return nil
}

// joinStaticLocked handles a join carrying group.instance.id (KIP-345). A static member needs
// no MEMBER_ID_REQUIRED round; when it restarts (joins with no member id) it takes over its
// old identity under a new member id, keeping its assignment, and the old id is fenced. A
// join with a member id that is not the instance's current one is FENCED_INSTANCE_ID.
func (c *Coordinator) joinStaticLocked(g *group, req JoinRequest, ch chan JoinResult) {
	current, known := g.static[req.InstanceID]
	switch {
	case !known && req.MemberID == "":
		req.MemberID = newMemberID(req.ClientID)
		g.static[req.InstanceID] = req.MemberID
		c.addMemberLocked(g, req, ch)
	case !known:
		ch <- JoinResult{Err: ErrUnknownMemberID, MemberID: req.MemberID}
	case req.MemberID == "":
		m := g.members[current]
		m.answerJoinLocked(JoinResult{Err: ErrFencedInstanceID, MemberID: m.id})
		m.answerSyncLocked(SyncResult{Err: ErrFencedInstanceID})
		c.abortAbandonedTxnsLocked(g.id, m.id) // the old instance is fenced: its transaction cannot end
		delete(g.members, m.id)
		newID := newMemberID(req.ClientID)
		if g.leaderID == m.id {
			g.leaderID = newID
		}
		m.id = newID
		g.members[newID] = m
		g.static[req.InstanceID] = newID
		req.MemberID = newID
		c.rejoinLocked(g, m, req, ch)
	case current != req.MemberID:
		ch <- JoinResult{Err: ErrFencedInstanceID, MemberID: req.MemberID}
	default:
		c.rejoinLocked(g, g.members[current], req, ch)
	}
}

// forgetPending runs on a timer goroutine one session timeout after a MEMBER_ID_REQUIRED
// answer: an id that was never used to join is dropped.
func (c *Coordinator) forgetPending(gid, id string) {
	if g := c.lockGroup(gid, false); g != nil {
		delete(g.pending, id)
		g.mu.Unlock()
	}
}
