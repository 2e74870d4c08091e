package group

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/share"
)

// Share groups (KIP-932): members heartbeat with ShareGroupHeartbeat; the coordinator assigns
// every subscribed topic's partitions with the share assignor (share_assign.go), a partition
// possibly to several members. No revocation happens: a member simply gets its target
// assignment at the group's assignment epoch, as Kafka's ShareGroupAssignmentBuilder does.
// A share group lives in Coordinator.mu.groups like classic and consumer groups
// (group.share set), so one id names one kind of group.

// ShareGroupState is a share group's state as ListGroups and ShareGroupDescribe name it.
type ShareGroupState int8

const (
	ShareEmpty ShareGroupState = iota
	ShareStable
)

func (s ShareGroupState) String() string {
	if s == ShareEmpty {
		return "Empty"
	}
	return "Stable"
}

// shareGroup is the KIP-932 state of a group.
type shareGroup struct {
	epoch, assignmentEpoch int32
	members                map[string]*shareMember
	target                 map[string]Assignment // member id → target assignment at assignmentEpoch
	signature              string                // subscribed topics (names, ids, partition counts) at the last epoch bump
	sigUnknown             bool                  // loaded from the log: adopt the next signature without a bump
	sigImage               *metadata.Image       // the Image signature was last computed against
	sigStale               bool                  // a member left since: recompute the signature
	// initialized is every topic partition the group was ever assigned (Kafka's
	// ShareGroupStatePartitionMetadata InitializedTopics): deleting the group deletes the
	// share coordinator's state of each.
	initialized map[TopicID]shareTopicInfo
}

// shareTopicInfo is one topic of ShareGroupStatePartitionMetadata.
type shareTopicInfo struct {
	name       string
	partitions []int32 // sorted
	created    int64   // ms
}

type shareMember struct {
	id, rackID, clientID, clientHost string
	epoch, previousEpoch             int32
	topicNames                       []string // sorted, unique
	assigned                         Assignment
	session                          *time.Timer
	sessionTok                       *byte
}

func newShareGroup() *shareGroup {
	return &shareGroup{members: map[string]*shareMember{}, target: map[string]Assignment{}, initialized: map[TopicID]shareTopicInfo{}}
}

func (sg *shareGroup) state() ShareGroupState {
	if len(sg.members) == 0 {
		return ShareEmpty
	}
	return ShareStable
}

func (sg *shareGroup) memberIDs() []string {
	ids := make([]string, 0, len(sg.members))
	for id := range sg.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (sg *shareGroup) stopTimersLocked() {
	for _, m := range sg.members {
		if m.session != nil {
			m.session.Stop()
		}
	}
}

// ShareHeartbeatRequest is one ShareGroupHeartbeat. A nil SubscribedTopicNames means
// "unchanged since the last heartbeat", as on the wire.
type ShareHeartbeatRequest struct {
	Group, MemberID      string
	MemberEpoch          int32
	RackID               *string
	SubscribedTopicNames []string
	ClientID, ClientHost string
	// Image is the metadata the subscriptions resolve against.
	Image *metadata.Image
}

// ShareHeartbeatResult answers a share heartbeat. Assignment is nil when it is not sent (it
// did not change and the request was not a full one).
type ShareHeartbeatResult struct {
	Err               error
	MemberID          string
	MemberEpoch       int32
	HeartbeatInterval time.Duration
	Assignment        Assignment
}

// ErrGroupNotShareGroup: the group id names a classic or consumer group.
var ErrGroupNotShareGroup = fmt.Errorf("%w: not a share group", ErrGroupIDNotFound)

// shareLeaveEpoch is the member epoch of a leaving share group member.
const shareLeaveEpoch = -1

// maxShareMemberID is the longest member id Kafka accepts (a client-generated UUID string).
const maxShareMemberID = 36

func (c *Coordinator) checkShareRequest(req ShareHeartbeatRequest) error {
	switch {
	case req.Group == "":
		return fmt.Errorf("%w: GroupId can't be empty", ErrInvalidRequest)
	case req.MemberID == "":
		return fmt.Errorf("%w: MemberId can't be empty", ErrInvalidRequest)
	case len(req.MemberID) > maxShareMemberID:
		return fmt.Errorf("%w: MemberId can't be longer than %d characters", ErrInvalidRequest, maxShareMemberID)
	case req.RackID != nil && strings.TrimSpace(*req.RackID) == "":
		return fmt.Errorf("%w: RackId can't be empty", ErrInvalidRequest)
	case req.MemberEpoch < shareLeaveEpoch:
		return fmt.Errorf("%w: MemberEpoch %d is invalid", ErrInvalidRequest, req.MemberEpoch)
	case req.MemberEpoch == 0 && len(req.SubscribedTopicNames) == 0:
		return fmt.Errorf("%w: SubscribedTopicNames must be set in first request", ErrInvalidRequest)
	}
	return nil
}

// ShareHeartbeat runs one heartbeat of the share group protocol: joins (epoch 0), leaves
// (epoch -1), subscription changes, and the member's assignment at the group's assignment
// epoch. Records of every change are durable in __consumer_offsets before it returns (so
// call it off a connection's read loop).
func (c *Coordinator) ShareHeartbeat(ctx context.Context, req ShareHeartbeatRequest) ShareHeartbeatResult {
	var err error
	switch {
	case c.closed.Load():
		err = ErrCoordinatorUnavailable
	case c.cfg.ShareEnabled != nil && !c.cfg.ShareEnabled():
		err = fmt.Errorf("%w: share groups are not enabled (the share.version feature is 0)", ErrUnsupportedVersion)
	default:
		err = c.checkShareRequest(req)
	}
	if err != nil {
		return ShareHeartbeatResult{Err: err, MemberID: req.MemberID}
	}
	g := c.lockGroup(req.Group, req.MemberEpoch == 0)
	res, seq := c.shareHeartbeatLocked(g, req)
	if g != nil {
		g.mu.Unlock()
	}
	if res.Err == nil && seq > 0 {
		if err := c.flushRecords(ctx, g, seq); err != nil {
			return ShareHeartbeatResult{Err: err, MemberID: req.MemberID}
		}
	}
	return res
}

// isFreshLocked reports whether g holds nothing of any protocol (a group lockGroup just
// created, or one whose every record was deleted): it may become a share group.
func (g *group) isFreshLocked() bool {
	return g.consumer == nil && g.share == nil && g.state == Empty && len(g.members) == 0 && len(g.offsets) == 0 &&
		len(g.pending) == 0
}

// shareHeartbeatLocked applies the heartbeat to g (locked by the caller; nil: no such group).
func (c *Coordinator) shareHeartbeatLocked(g *group, req ShareHeartbeatRequest) (ShareHeartbeatResult, uint64) {
	fail := func(err error) (ShareHeartbeatResult, uint64) {
		return ShareHeartbeatResult{Err: err, MemberID: req.MemberID}, 0
	}
	switch {
	case c.closed.Load():
		return fail(ErrCoordinatorUnavailable)
	case g == nil && req.MemberEpoch == 0:
		return fail(ErrCoordinatorUnavailable) // lockGroup creates the group unless closed
	case g == nil:
		return fail(fmt.Errorf("%w: group %s", ErrGroupIDNotFound, req.Group))
	case g.share == nil && !g.isFreshLocked():
		return fail(fmt.Errorf("%w: group %s is not a share group", ErrGroupNotShareGroup, req.Group))
	case g.share == nil && req.MemberEpoch != 0:
		return fail(fmt.Errorf("%w: group %s", ErrGroupIDNotFound, req.Group))
	}
	if g.share == nil {
		g.share = newShareGroup()
		g.protocolType = "share"
		c.cfg.Logger.Info("share group created", "group", g.id)
	}
	sg := g.share
	if req.MemberEpoch == shareLeaveEpoch {
		m := sg.members[req.MemberID]
		if m == nil {
			return fail(ErrUnknownMemberID)
		}
		c.cfg.Logger.Info("share group member leaves", "group", g.id, "member", m.id)
		seq := c.removeShareMemberLocked(g, m)
		return ShareHeartbeatResult{MemberID: m.id, MemberEpoch: shareLeaveEpoch, HeartbeatInterval: c.shareHeartbeatInterval(g.id)}, seq
	}
	var recs []kv
	bump := false
	m := sg.members[req.MemberID]
	switch {
	case m == nil && req.MemberEpoch != 0:
		return fail(ErrUnknownMemberID)
	case m == nil:
		if max := c.cfg.ShareMaxSize; max > 0 && len(sg.members) >= max {
			return fail(fmt.Errorf("%w: the share group has reached its maximum size of %d members (group.share.max.size)", ErrGroupMaxSizeReached, max))
		}
		m = &shareMember{id: req.MemberID, assigned: Assignment{}}
		sg.members[m.id] = m
		bump = true
		c.cfg.Logger.Info("share group member joins", "group", g.id, "member", m.id)
	case req.MemberEpoch > m.epoch:
		return fail(fmt.Errorf("%w: epoch %d, member is at %d", ErrFencedMemberEpoch, req.MemberEpoch, m.epoch))
	case req.MemberEpoch < m.epoch && req.MemberEpoch != m.previousEpoch && req.MemberEpoch != 0:
		return fail(fmt.Errorf("%w: epoch %d, member is at %d", ErrFencedMemberEpoch, req.MemberEpoch, m.epoch))
	}
	if changed, subscribed := m.update(req); changed {
		recs = append(recs, kv{appendShareKey(nil, keyShareMember, g.id, m.id), AppendShareMemberValue(nil, m.metadata())})
		bump = bump || subscribed
	}
	sig := sg.signature
	if req.Image != sg.sigImage || bump || sg.sigUnknown || sg.sigStale {
		sig, sg.sigImage, sg.sigStale = shareSignature(sg, req.Image), req.Image, false
	}
	switch {
	case sg.sigUnknown:
		sg.signature, sg.sigUnknown = sig, false
	case sig != sg.signature:
		sg.signature, bump = sig, true
	}
	if bump {
		sg.epoch++
		recs = append(recs, kv{appendShareKey(nil, keyShareGroup, g.id, ""), AppendShareGroupValue(nil, sg.epoch, signatureHash(sg.signature))})
	}
	if sg.epoch > sg.assignmentEpoch {
		recs = c.computeShareTargetLocked(g, req.Image, recs)
	}
	before, beforeEpoch := m.assigned, m.epoch
	if m.epoch != sg.assignmentEpoch || !m.assigned.equal(sg.target[m.id]) {
		if m.epoch != sg.assignmentEpoch {
			m.previousEpoch, m.epoch = m.epoch, sg.assignmentEpoch
		}
		m.assigned = sg.target[m.id].clone()
		if m.assigned == nil {
			m.assigned = Assignment{}
		}
		recs = append(recs, kv{appendShareKey(nil, keyShareCurrentAssignment, g.id, m.id), AppendShareCurrentAssignmentValue(nil, m.snapshot())})
	}
	c.resetShareSessionLocked(g, m)
	res := ShareHeartbeatResult{MemberID: m.id, MemberEpoch: m.epoch, HeartbeatInterval: c.shareHeartbeatInterval(g.id)}
	if req.MemberEpoch == 0 || req.SubscribedTopicNames != nil || beforeEpoch != m.epoch || !before.equal(m.assigned) {
		res.Assignment = m.assigned.clone()
	}
	return res, c.enqueueLocked(g, recs)
}

// update applies the request's subscription and client details: changed reports member
// details worth a new member record, subscribed a changed subscription (a new group epoch).
func (m *shareMember) update(req ShareHeartbeatRequest) (changed, subscribed bool) {
	if req.SubscribedTopicNames != nil {
		names := slices.Clone(req.SubscribedTopicNames)
		slices.Sort(names)
		names = slices.Compact(names)
		if !slices.Equal(names, m.topicNames) || m.topicNames == nil {
			m.topicNames, changed, subscribed = names, true, true
		}
	}
	if req.RackID != nil && *req.RackID != m.rackID {
		m.rackID, changed = *req.RackID, true
	}
	if req.ClientID != m.clientID || req.ClientHost != m.clientHost {
		m.clientID, m.clientHost, changed = req.ClientID, req.ClientHost, true
	}
	return changed, subscribed
}

func (m *shareMember) subscribes(name string) bool {
	_, ok := slices.BinarySearch(m.topicNames, name)
	return ok
}

// shareSignature names every subscribed topic that exists, with its id and partition count:
// a change (a topic created, deleted or grown) bumps the group epoch. It costs the group's
// subscribed topic names, not the cluster's topics.
func shareSignature(sg *shareGroup, img *metadata.Image) string {
	if img == nil {
		return sg.signature
	}
	var sb strings.Builder
	for _, name := range sg.subscribedNames() {
		if t, ok := img.Topic(name); ok && !metadata.IsInternalTopic(name) {
			fmt.Fprintf(&sb, "%s/%x/%d;", t.Name, t.ID[:], len(t.Partitions))
		}
	}
	return sb.String()
}

// subscribedNames is the union of the members' subscribed topic names, sorted.
func (sg *shareGroup) subscribedNames() []string {
	var names []string
	for _, m := range sg.members {
		names = append(names, m.topicNames...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// signatureHash is the MetadataHash of ShareGroupMetadataValue.
func signatureHash(sig string) int64 {
	h := fnv.New64a()
	h.Write([]byte(sig))
	return int64(h.Sum64())
}

// computeShareTargetLocked computes the target assignment for the group epoch (the share
// assignor is cheap: it runs under the group's mutex) and queues its records: the changed
// members' targets, the assignment epoch, and the share-partitions newly assigned.
func (c *Coordinator) computeShareTargetLocked(g *group, img *metadata.Image, recs []kv) []kv {
	sg := g.share
	topics := map[TopicID]int32{}
	names := map[TopicID]string{}
	ids := sg.memberIDs()
	members := make([]assignMember, 0, len(ids))
	for _, id := range ids {
		m := sg.members[id]
		am := assignMember{id: id}
		if img != nil {
			for _, name := range m.topicNames {
				if t, ok := img.Topic(name); ok && !metadata.IsInternalTopic(name) {
					tid := TopicID(t.ID)
					am.topics = append(am.topics, tid)
					topics[tid], names[tid] = int32(len(t.Partitions)), t.Name
				}
			}
		}
		slices.SortFunc(am.topics, func(a, b TopicID) int { return strings.Compare(string(a[:]), string(b[:])) })
		members = append(members, am)
	}
	target := assignShare(members, topics, sg.target)
	for _, id := range ids {
		if !target[id].equal(sg.target[id]) || sg.target[id] == nil {
			recs = append(recs, kv{appendShareKey(nil, keyShareTargetMember, g.id, id), AppendTargetMemberValue(nil, target[id])})
		}
	}
	sg.target = target
	sg.assignmentEpoch = sg.epoch
	recs = append(recs, kv{appendShareKey(nil, keyShareTargetMetadata, g.id, ""), AppendConsumerEpochValue(nil, sg.assignmentEpoch)})
	// Record the share-partitions the group now has, so deleting the group deletes their state.
	grown := false
	now := c.now().UnixMilli()
	for _, a := range target {
		for tid, ps := range a {
			info, ok := sg.initialized[tid]
			if !ok {
				info = shareTopicInfo{name: names[tid], created: now}
			}
			for _, p := range ps {
				if _, found := slices.BinarySearch(info.partitions, p); !found {
					info.partitions = append(info.partitions, p)
					slices.Sort(info.partitions)
					grown = true
				}
			}
			sg.initialized[tid] = info
		}
	}
	if grown {
		recs = append(recs, kv{appendShareKey(nil, keyShareStatePartitions, g.id, ""), AppendShareStatePartitionsValue(nil, sg.initialized)})
	}
	return recs
}

// removeShareMemberLocked drops a member (leave, session expiry): the group epoch bumps so
// the others get a new target at their next heartbeat, and its records are deleted.
func (c *Coordinator) removeShareMemberLocked(g *group, m *shareMember) uint64 {
	sg := g.share
	if m.session != nil {
		m.session.Stop()
	}
	delete(sg.members, m.id)
	delete(sg.target, m.id)
	sg.sigStale = true
	sg.epoch++
	recs := []kv{
		{appendShareKey(nil, keyShareCurrentAssignment, g.id, m.id), nil},
		{appendShareKey(nil, keyShareTargetMember, g.id, m.id), nil},
		{appendShareKey(nil, keyShareMember, g.id, m.id), nil},
		{appendShareKey(nil, keyShareGroup, g.id, ""), AppendShareGroupValue(nil, sg.epoch, signatureHash(sg.signature))},
	}
	if len(sg.members) == 0 {
		// Nobody heartbeats to compute the (empty) target: settle it now.
		sg.assignmentEpoch = sg.epoch
		sg.target = map[string]Assignment{}
		recs = append(recs, kv{appendShareKey(nil, keyShareTargetMetadata, g.id, ""), AppendConsumerEpochValue(nil, sg.assignmentEpoch)})
		g.emptySince = c.now().UnixMilli()
	}
	return c.enqueueLocked(g, recs)
}

// resetShareSessionLocked (re)arms the member's session timer (share.session.timeout.ms of
// the group, else group.share.session.timeout.ms).
func (c *Coordinator) resetShareSessionLocked(g *group, m *shareMember) {
	if m.session != nil {
		m.session.Stop()
	}
	gid, mid, tok := g.id, m.id, new(byte)
	m.session, m.sessionTok = time.AfterFunc(c.shareSessionTimeout(gid), func() {
		defer c.guard("group.timer", nil)
		c.expireShareMember(gid, mid, tok)
	}), tok
}

// expireShareMember runs on a timer goroutine: the member is removed if tok still identifies
// its armed session timer.
func (c *Coordinator) expireShareMember(gid, mid string, tok *byte) {
	g, seq := c.removeExpiredShareMember(gid, mid, tok)
	if g == nil {
		return
	}
	c.writers.Add(1)
	defer c.writers.Done()
	if err := c.flushRecords(c.ctx, g, seq); err != nil {
		c.cfg.Logger.Warn("storing share group records", "group", gid, "err", err)
	}
}

func (c *Coordinator) removeExpiredShareMember(gid, mid string, tok *byte) (*group, uint64) {
	g := c.lockGroup(gid, false)
	if g == nil {
		return nil, 0
	}
	defer g.mu.Unlock()
	if c.closed.Load() || g.share == nil {
		return nil, 0
	}
	m := g.share.members[mid]
	if m == nil || m.sessionTok != tok {
		return nil, 0
	}
	c.cfg.Logger.Info("share group member session expired", "group", gid, "member", mid)
	return g, c.removeShareMemberLocked(g, m)
}

// ShareGroupDescription is a share group as ShareGroupDescribe shows it.
type ShareGroupDescription struct {
	Group                  string
	State                  ShareGroupState
	Epoch, AssignmentEpoch int32
	Assignor               string
	Members                []ShareMemberDescription
}

// ShareMemberDescription is one member of a described share group.
type ShareMemberDescription struct {
	MemberID, RackID, ClientID, ClientHost string
	MemberEpoch                            int32
	SubscribedTopicNames                   []string
	Assignment                             Assignment
}

// ShareAssignorName is the share assignor's name (Kafka's SimpleAssignor).
const ShareAssignorName = "simple"

// DescribeShareGroup describes a share group; a group that does not exist or is of another
// type is ErrGroupIDNotFound.
func (c *Coordinator) DescribeShareGroup(gid string) (ShareGroupDescription, error) {
	g := c.lockGroup(gid, false)
	if g != nil {
		defer g.mu.Unlock()
	}
	switch {
	case g == nil || (g.share == nil && g.isFreshLocked()):
		return ShareGroupDescription{}, fmt.Errorf("%w: group %s not found", ErrGroupIDNotFound, gid)
	case g.share == nil:
		return ShareGroupDescription{}, fmt.Errorf("%w: group %s is not a share group", ErrGroupIDNotFound, gid)
	}
	sg := g.share
	d := ShareGroupDescription{Group: gid, State: sg.state(), Epoch: sg.epoch, AssignmentEpoch: sg.assignmentEpoch, Assignor: ShareAssignorName}
	for _, id := range sg.memberIDs() {
		m := sg.members[id]
		d.Members = append(d.Members, ShareMemberDescription{MemberID: m.id, RackID: m.rackID, ClientID: m.clientID,
			ClientHost: m.clientHost, MemberEpoch: m.epoch, SubscribedTopicNames: slices.Clone(m.topicNames),
			Assignment: m.assigned.clone()})
	}
	return d, nil
}

// ShareMember implements share.Membership: nil when memberID is a member of share group gid.
// A group this coordinator does not serve (another broker coordinates it) cannot be checked
// here without the network: nil, and the share session decides.
func (c *Coordinator) ShareMember(gid, memberID string) error {
	if c.CoordinatorStatus(gid) != nil {
		return nil
	}
	g := c.lockGroup(gid, false)
	if g == nil {
		return kerr.GroupIDNotFound
	}
	defer g.mu.Unlock()
	switch {
	case g.share == nil:
		return kerr.GroupIDNotFound
	case g.share.members[memberID] == nil:
		return kerr.UnknownMemberID
	}
	return nil
}

// Group config names (Kafka's GroupConfig) and their broker defaults' names.
const (
	GroupConsumerSessionTimeoutMs     = "consumer.session.timeout.ms"
	GroupConsumerHeartbeatIntervalMs  = "consumer.heartbeat.interval.ms"
	GroupShareSessionTimeoutMs        = "share.session.timeout.ms"
	GroupShareHeartbeatIntervalMs     = "share.heartbeat.interval.ms"
	GroupShareRecordLockDurationMs    = "share.record.lock.duration.ms"
	GroupShareAutoOffsetReset         = "share.auto.offset.reset"
	GroupShareIsolationLevel          = "share.isolation.level"
	GroupShareDeliveryCountLimit      = "share.delivery.count.limit"
	GroupSharePartitionMaxRecordLocks = "share.partition.max.record.locks"
)

// groupConfigValue is the group's own value of config name ("" when unset).
func (c *Coordinator) groupConfigValue(gid, name string) string {
	if c.cfg.GroupConfigs == nil {
		return ""
	}
	return c.cfg.GroupConfigs(gid)[name]
}

// groupConfigMs is a group config in milliseconds, else def.
func (c *Coordinator) groupConfigMs(gid, name string, def time.Duration) time.Duration {
	if v, err := strconv.ParseInt(c.groupConfigValue(gid, name), 10, 32); err == nil && v > 0 {
		return time.Duration(v) * time.Millisecond
	}
	return def
}

// consumerSessionTimeout and consumerHeartbeatInterval are a consumer group's
// consumer.session.timeout.ms / consumer.heartbeat.interval.ms, else the broker's
// group.consumer.* values.
func (c *Coordinator) consumerSessionTimeout(gid string) time.Duration {
	return c.groupConfigMs(gid, GroupConsumerSessionTimeoutMs, c.cfg.ConsumerSessionTimeout)
}

func (c *Coordinator) consumerHeartbeatInterval(gid string) time.Duration {
	return c.groupConfigMs(gid, GroupConsumerHeartbeatIntervalMs, c.cfg.ConsumerHeartbeatInterval)
}

func (c *Coordinator) shareSessionTimeout(gid string) time.Duration {
	return c.groupConfigMs(gid, GroupShareSessionTimeoutMs, c.cfg.ShareSessionTimeout)
}

func (c *Coordinator) shareHeartbeatInterval(gid string) time.Duration {
	return c.groupConfigMs(gid, GroupShareHeartbeatIntervalMs, c.cfg.ShareHeartbeatInterval)
}

// ShareGroupConfig implements share.Membership: the group's configs over the broker's
// group.share.* defaults. It reads the metadata Image only, so it answers for any group.
func (c *Coordinator) ShareGroupConfig(gid string) share.GroupConfig {
	gc := c.cfg.ShareDefaults
	var own map[string]string
	if c.cfg.GroupConfigs != nil {
		own = c.cfg.GroupConfigs(gid)
	}
	atoi := func(name string) (int, bool) {
		v, err := strconv.Atoi(own[name])
		return v, err == nil && v > 0
	}
	if v, ok := atoi(GroupShareRecordLockDurationMs); ok {
		gc.RecordLockDuration = time.Duration(v) * time.Millisecond
	}
	if v, ok := atoi(GroupShareDeliveryCountLimit); ok {
		gc.DeliveryCountLimit = v
	}
	if v, ok := atoi(GroupSharePartitionMaxRecordLocks); ok {
		gc.PartitionMaxRecordLocks = v
	}
	if v := own[GroupShareAutoOffsetReset]; v != "" {
		gc.AutoOffsetReset = v
	}
	if v := own[GroupShareIsolationLevel]; v != "" {
		gc.ReadCommitted = v == "read_committed"
	}
	return gc
}

var _ share.Membership = (*Coordinator)(nil)

// SetSharePersister sets Config.SharePersister: the broker builds the share coordinator after
// the group coordinator. Call it before the coordinator serves requests.
func (c *Coordinator) SetSharePersister(p share.Persister) {
	c.sharePersister.Store(&p)
}

// persister is the share coordinator's Persister (nil: none).
func (c *Coordinator) persister() share.Persister {
	if p := c.sharePersister.Load(); p != nil {
		return *p
	}
	return c.cfg.SharePersister
}

// deleteShareState asks the share coordinator (Config.SharePersister) to delete the state of
// every share-partition group gid was assigned; nothing without a persister.
func (c *Coordinator) deleteShareState(ctx context.Context, gid string, parts map[TopicID]shareTopicInfo) error {
	ps := c.persister()
	if ps == nil {
		return nil
	}
	for tid, info := range parts {
		for _, p := range info.partitions {
			err := ps.Delete(ctx, share.Key{Group: gid, TopicID: tid, Partition: p})
			if err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) { // never initialized: nothing to delete
				return err
			}
		}
	}
	return nil
}
