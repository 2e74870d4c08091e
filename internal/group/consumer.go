package group

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/metadata"
)

// KIP-848 consumer groups: the broker computes the target assignment (assign.go) and every
// member reconciles towards it through ConsumerGroupHeartbeat, revoking partitions before any
// other member is given them. A group id names either a classic group or a consumer group:
// both live in Coordinator.mu.groups (each under its group.mu), a consumer group has group.consumer set.

// Errors of the consumer group protocol.
var (
	ErrFencedMemberEpoch     = errors.New("group: fenced member epoch")
	ErrStaleMemberEpoch      = errors.New("group: stale member epoch")
	ErrUnsupportedAssignor   = errors.New("group: unsupported assignor")
	ErrInvalidRequest        = errors.New("group: invalid request")
	ErrInvalidRegex          = errors.New("group: invalid regular expression")
	ErrUnreleasedInstanceID  = errors.New("group: unreleased instance id")
	ErrUnsupportedVersion    = errors.New("group: unsupported version")
	ErrGroupNotConsumerGroup = fmt.Errorf("%w: not a consumer group", ErrGroupIDNotFound)
	ErrGroupMaxSizeReached   = errors.New("group: group max size reached")
)

// memberState is a consumer group member's reconciliation state (Kafka's MemberState values,
// as persisted).
type memberState int8

const (
	memberStable               memberState = 0 // owns exactly its target (or waits for nothing)
	memberUnrevokedPartitions  memberState = 1 // must revoke partitions before moving on
	memberUnreleasedPartitions memberState = 2 // at the target epoch, waits for partitions others still own
)

// ConsumerGroupState is a consumer group's state as ListGroups and ConsumerGroupDescribe name it.
type ConsumerGroupState int8

const (
	ConsumerEmpty ConsumerGroupState = iota
	ConsumerAssigning
	ConsumerReconciling
	ConsumerStable
	ConsumerDead
)

func (s ConsumerGroupState) String() string {
	return [...]string{"Empty", "Assigning", "Reconciling", "Stable", "Dead"}[s]
}

type partitionKey struct {
	topic TopicID
	p     int32
}

// consumerGroup is the KIP-848 state of a group.
type consumerGroup struct {
	epoch, assignmentEpoch int32
	members                map[string]*consumerMember
	target                 map[string]Assignment   // member id → target assignment at assignmentEpoch
	owners                 map[partitionKey]string // partition → member that owns it (assigned or pending revocation)
	signature              string                  // subscribed topics (names, ids, partition counts) at the last epoch bump
	sigImage               *metadata.Image         // the Image signature was last checked against
	assignor               string                  // the assignor of the last target assignment
	computingEpoch         int32                   // a heartbeat is computing the target for this group epoch (0: none)
	sigUnknown             bool                    // loaded from the log: adopt the next signature without a bump
	static                 map[string]string       // group.instance.id → member id of static members
}

// leaveStaticEpoch is the member epoch of a static member that left temporarily (-2).
const leaveStaticEpoch = -2

// replaceStaticLocked hands a static member's place (assignment, target, partitions) to the
// new member id its restarted client joins with; the group epoch does not change.
func (c *Coordinator) replaceStaticLocked(g *group, old *consumerMember, id string) *consumerMember {
	cg := g.consumer
	c.cfg.Logger.Info("static consumer group member replaced", "group", g.id, "instance", old.instanceID, "old", old.id, "new", id)
	c.abortAbandonedTxnsLocked(g.id, old.id) // the old instance is gone: its transaction cannot end
	cg.release(old)
	if old.session != nil {
		old.session.Stop()
	}
	old.stopRevokeTimer()
	delete(cg.members, old.id)
	target := cg.target[old.id]
	delete(cg.target, old.id)
	m := *old
	m.id, m.session, m.sessionTok = id, nil, nil
	cg.members[id] = &m
	cg.target[id] = target
	cg.static[m.instanceID] = id
	cg.own(&m)
	return &m
}

// staticRecords deletes the replaced member's records and writes the new member's target.
func (c *Coordinator) staticRecords(g *group, oldID string) []kv {
	return []kv{
		{appendConsumerKey(nil, keyCurrentAssignment, g.id, oldID), nil},
		{appendConsumerKey(nil, keyTargetMember, g.id, oldID), nil},
		{appendConsumerKey(nil, keyConsumerMember, g.id, oldID), nil},
	}
}

type consumerMember struct {
	id, instanceID, rackID, clientID, clientHost string
	epoch, previousEpoch                         int32
	state                                        memberState
	topicNames                                   []string
	regex                                        string
	re                                           *regexp.Regexp
	regexAllowed                                 func(topic string) bool // nil: every match
	serverAssignor                               string
	rebalanceTimeout                             time.Duration
	assigned, pending                            Assignment
	session, revoke                              *time.Timer
	sessionTok, revokeTok                        *byte
}

func newConsumerGroup() *consumerGroup {
	return &consumerGroup{members: map[string]*consumerMember{}, target: map[string]Assignment{}, owners: map[partitionKey]string{},
		static: map[string]string{}}
}

func (cg *consumerGroup) state() ConsumerGroupState {
	switch {
	case len(cg.members) == 0:
		return ConsumerEmpty
	case cg.epoch > cg.assignmentEpoch:
		return ConsumerAssigning
	}
	for _, m := range cg.members {
		if m.epoch != cg.assignmentEpoch || m.state != memberStable {
			return ConsumerReconciling
		}
	}
	return ConsumerStable
}

// TopicPartitions is one topic's partitions in a heartbeat.
type TopicPartitions struct {
	Topic      TopicID
	Partitions []int32
}

// ConsumerHeartbeatRequest is one ConsumerGroupHeartbeat. Nil fields mean "unchanged since the
// last heartbeat", as on the wire.
type ConsumerHeartbeatRequest struct {
	Group, MemberID      string
	MemberEpoch          int32
	InstanceID, RackID   *string
	RebalanceTimeout     time.Duration // < 0: unchanged
	SubscribedTopicNames []string
	SubscribedTopicRegex *string
	ServerAssignor       *string
	Owned                []TopicPartitions // nil: unchanged
	ClientID, ClientHost string
	// Image is the metadata the subscriptions resolve against (topic names, ids, partitions).
	Image *metadata.Image
	// RegexTopicAllowed, if set, is asked of every topic the member's regex matches: only
	// those it allows are subscribed (Kafka 4.0 resolves a regex only to the topics the member
	// may Describe, KAFKA-18813). Nil keeps the member's previous one (none: every match).
	RegexTopicAllowed func(topic string) bool
}

// ConsumerHeartbeatResult answers a heartbeat. Assignment is nil when the member's assignment
// is not sent (it did not change and the request was not a full one).
type ConsumerHeartbeatResult struct {
	Err               error
	MemberID          string
	MemberEpoch       int32
	HeartbeatInterval time.Duration
	Assignment        Assignment
}

// ConsumerHeartbeat runs one heartbeat of the consumer group protocol: joins (epoch 0),
// leaves (epoch -1, or -2 for static members), subscription changes, and reconciliation of
// the member's assignment towards the group's target. Records of every change are durable in
// __consumer_offsets before it returns (so call it off a connection's read loop).
func (c *Coordinator) ConsumerHeartbeat(ctx context.Context, req ConsumerHeartbeatRequest) ConsumerHeartbeatResult {
	var err error
	switch {
	case c.closed.Load():
		err = ErrCoordinatorUnavailable
	case c.cfg.DisableConsumerProtocol:
		err = fmt.Errorf("%w: the consumer group protocol is disabled", ErrUnsupportedVersion)
	default:
		err = c.checkConsumerRequest(req)
	}
	if err != nil {
		return ConsumerHeartbeatResult{Err: err, MemberID: req.MemberID}
	}
	// Only a join (epoch 0) creates the group; lockGroup returns nil once closed.
	g := c.lockGroup(req.Group, req.MemberEpoch == 0)
	res, g, seq, job := c.consumerHeartbeatLocked(g, req)
	if job != nil {
		// The assignor runs without the group's mutex; the heartbeat that bumped the epoch
		// installs the result if the group has not moved on, and answers from it.
		g.mu.Unlock()
		target := assignors[job.assignor](job.members, job.topics, job.previous)
		c.lockListed(g) // installTargetLocked checks removed
		if r, s, ok := c.installTargetLocked(g, job, target, req); ok {
			res, seq = r, max(seq, s)
		}
	}
	if g != nil {
		g.mu.Unlock()
	}
	if res.Err == nil && seq > 0 {
		if err := c.flushRecords(ctx, g, seq); err != nil {
			return ConsumerHeartbeatResult{Err: err}
		}
	}
	return res
}

// consumerHeartbeatLocked applies the heartbeat. When the group epoch is ahead of its target
// assignment and no other heartbeat is computing the target for it, it returns a targetJob for
// the caller to run without the group's mutex; meanwhile the member is reconciled against the
// current target. g is the request's group, locked by the caller (nil: none); it is returned
// as given, still locked.
func (c *Coordinator) consumerHeartbeatLocked(g *group, req ConsumerHeartbeatRequest) (ConsumerHeartbeatResult, *group, uint64, *targetJob) {
	fail := func(err error) (ConsumerHeartbeatResult, *group, uint64, *targetJob) {
		return ConsumerHeartbeatResult{Err: err, MemberID: req.MemberID}, g, 0, nil
	}
	if c.closed.Load() {
		return fail(ErrCoordinatorUnavailable)
	}
	if req.MemberEpoch < 0 {
		res, _, seq := c.consumerLeaveLocked(g, req)
		return res, g, seq, nil
	}
	if g != nil && g.share != nil {
		return fail(fmt.Errorf("%w: group %s is a share group", ErrGroupNotConsumerGroup, g.id))
	}
	if g != nil && g.consumer == nil && (len(g.members) > 0 || g.state != Empty) {
		// A classic group with members stays classic (online migration is not implemented).
		return fail(ErrGroupNotConsumerGroup)
	}
	if req.MemberEpoch > 0 && (g == nil || g.consumer == nil) {
		return fail(ErrUnknownMemberID)
	}
	if g == nil {
		return fail(ErrCoordinatorUnavailable) // epoch 0 creates the group unless closed
	}
	if g.consumer == nil {
		c.convertToConsumerLocked(g)
	}
	m, recs, bump, err := c.heartbeatMemberLocked(g, req)
	if err != nil {
		return fail(err)
	}
	cg := g.consumer
	changed, err := m.update(req)
	if err != nil {
		if m.epoch == 0 && len(m.assigned) == 0 && bump {
			delete(cg.members, m.id) // a join that failed validation leaves nothing behind
			if req.InstanceID != nil && cg.static[*req.InstanceID] == m.id {
				delete(cg.static, *req.InstanceID)
			}
		}
		return fail(err)
	}
	bump = bump || changed
	if changed || bump || m.epoch == leaveStaticEpoch {
		recs = append(recs, kv{appendConsumerKey(nil, keyConsumerMember, g.id, m.id), AppendConsumerMemberValue(nil, m.metadata())})
	}
	if sig := cg.subscriptionSignature(req.Image, bump); cg.sigUnknown {
		cg.signature, cg.sigUnknown = sig, false
	} else if sig != cg.signature {
		cg.signature = sig
		bump = true
	}
	if bump {
		cg.epoch++
		recs = append(recs, kv{appendConsumerKey(nil, keyConsumerGroup, g.id, ""), AppendConsumerEpochValue(nil, cg.epoch)})
	}
	var job *targetJob
	if cg.epoch > cg.assignmentEpoch && cg.computingEpoch != cg.epoch {
		job = c.targetJobLocked(g, req.Image, m)
	}
	res, seq := c.answerHeartbeatLocked(g, m, req, m.assigned.clone(), recs)
	return res, g, seq, job
}

// answerHeartbeatLocked reconciles the member against the group's target, queues recs and
// the reconciliation's records, and builds the answer (the assignment when it changed since
// before, or when the request needs it in full).
func (c *Coordinator) answerHeartbeatLocked(g *group, m *consumerMember, req ConsumerHeartbeatRequest, before Assignment, recs []kv) (ConsumerHeartbeatResult, uint64) {
	recs = c.reconcileLocked(g, m, req.Owned, recs)
	c.resetConsumerSessionLocked(g, m)
	res := ConsumerHeartbeatResult{MemberID: m.id, MemberEpoch: m.epoch, HeartbeatInterval: c.consumerHeartbeatInterval(g.id)}
	full := req.MemberEpoch == 0 || (req.RebalanceTimeout >= 0 && (req.SubscribedTopicNames != nil || req.SubscribedTopicRegex != nil) && req.Owned != nil)
	if full || !before.equal(m.assigned) || (req.Owned != nil && !ownedEquals(req.Owned, m.assigned)) {
		res.Assignment = m.assigned.clone()
	}
	return res, c.enqueueLocked(g, recs)
}

// heartbeatMemberLocked finds (or, at epoch 0, adds) the heartbeat's member: a new member bumps
// the group epoch; a static member's new id takes over its instance's place; a known member
// at epoch 0 rejoins owning nothing; others must pass the epoch check.
func (c *Coordinator) heartbeatMemberLocked(g *group, req ConsumerHeartbeatRequest) (m *consumerMember, recs []kv, bump bool, err error) {
	cg := g.consumer
	m = cg.members[req.MemberID]
	switch {
	case m == nil && req.MemberEpoch != 0:
		return nil, nil, false, ErrUnknownMemberID
	case m == nil && req.InstanceID != nil && cg.static[*req.InstanceID] != "":
		old := cg.members[cg.static[*req.InstanceID]]
		if old.epoch != leaveStaticEpoch {
			return nil, nil, false, fmt.Errorf("%w: instance %s is held by member %s", ErrUnreleasedInstanceID, *req.InstanceID, old.id)
		}
		m = c.replaceStaticLocked(g, old, req.MemberID)
		recs = append(c.staticRecords(g, old.id), kv{appendConsumerKey(nil, keyTargetMember, g.id, m.id), AppendTargetMemberValue(nil, cg.target[m.id])})
	case m == nil && c.cfg.ConsumerMaxSize > 0 && len(cg.members) >= c.cfg.ConsumerMaxSize:
		return nil, nil, false, fmt.Errorf("%w: %d members", ErrGroupMaxSizeReached, c.cfg.ConsumerMaxSize)
	case m == nil:
		m = &consumerMember{id: req.MemberID, assigned: Assignment{}, pending: Assignment{}}
		cg.members[m.id] = m
		if req.InstanceID != nil {
			cg.static[*req.InstanceID] = m.id
		}
		bump = true
		c.cfg.Logger.Info("consumer group member joins", "group", g.id, "member", m.id)
	case req.MemberEpoch == 0:
		// A member that lost its state (or a response) rejoins in place: it owns nothing now.
		cg.release(m)
		m.stopRevokeTimer()
		m.assigned, m.pending, m.epoch, m.previousEpoch, m.state = Assignment{}, Assignment{}, 0, 0, memberStable
	default:
		if err := m.checkEpoch(req.MemberEpoch, req.Owned); err != nil {
			return nil, nil, false, err
		}
	}
	return m, recs, bump, nil
}

func (c *Coordinator) checkConsumerRequest(req ConsumerHeartbeatRequest) error {
	switch {
	case req.Group == "":
		return fmt.Errorf("%w: group id can't be empty", ErrInvalidRequest)
	case req.InstanceID != nil && *req.InstanceID == "":
		return fmt.Errorf("%w: instance id can't be empty", ErrInvalidRequest)
	case req.RackID != nil && *req.RackID == "":
		return fmt.Errorf("%w: rack id can't be empty", ErrInvalidRequest)
	case req.MemberID == "":
		return fmt.Errorf("%w: member id can't be empty", ErrInvalidRequest)
	case req.MemberEpoch < -2:
		return fmt.Errorf("%w: member epoch %d is invalid", ErrInvalidRequest, req.MemberEpoch)
	case req.MemberEpoch == -2 && req.InstanceID == nil:
		return fmt.Errorf("%w: instance id can't be null when leaving as a static member", ErrInvalidRequest)
	case req.ServerAssignor != nil && !slices.Contains(c.cfg.ConsumerAssignors, *req.ServerAssignor):
		return fmt.Errorf("%w: %s (supported: %s)", ErrUnsupportedAssignor, *req.ServerAssignor, strings.Join(c.cfg.ConsumerAssignors, ", "))
	}
	if req.MemberEpoch == 0 {
		switch {
		case req.RebalanceTimeout < 0:
			return fmt.Errorf("%w: rebalance timeout must be provided when joining", ErrInvalidRequest)
		case req.Owned == nil || len(req.Owned) > 0:
			return fmt.Errorf("%w: owned topic partitions must be empty when (re-)joining", ErrInvalidRequest)
		case len(req.SubscribedTopicNames) == 0 && req.SubscribedTopicRegex == nil:
			return fmt.Errorf("%w: subscribed topic names or regex must be set when joining", ErrInvalidRequest)
		}
	}
	return nil
}

// convertToConsumerLocked turns an empty classic group into a consumer group (offsets stay);
// its classic metadata record is deleted, as Kafka does on conversion.
func (c *Coordinator) convertToConsumerLocked(g *group) {
	hadClassic := g.generation > 0 || g.protocolType != ""
	g.consumer = newConsumerGroup()
	g.state, g.protocolType, g.protocolName, g.leaderID = Empty, "consumer", "", ""
	if hadClassic {
		c.cfg.Logger.Info("empty classic group converted to a consumer group", "group", g.id)
		c.enqueueLocked(g, []kv{{AppendGroupKey(nil, g.id), nil}})
	}
}

// checkEpoch validates a heartbeat's epoch against the member's (Kafka's rule): a newer
// epoch than the server's is fenced; an older one is accepted only if it is the previous
// epoch and the member owns a subset of its assignment (the response with the bump was lost).
func (m *consumerMember) checkEpoch(epoch int32, owned []TopicPartitions) error {
	switch {
	case epoch > m.epoch:
		return fmt.Errorf("%w: epoch %d is newer than the coordinator's %d", ErrFencedMemberEpoch, epoch, m.epoch)
	case epoch < m.epoch:
		if epoch != m.previousEpoch || owned == nil {
			return fmt.Errorf("%w: epoch %d is older than the coordinator's %d", ErrFencedMemberEpoch, epoch, m.epoch)
		}
		for _, t := range owned {
			for _, p := range t.Partitions {
				if !m.assigned.has(t.Topic, p) {
					return fmt.Errorf("%w: epoch %d is older than the coordinator's %d", ErrFencedMemberEpoch, epoch, m.epoch)
				}
			}
		}
	}
	return nil
}

// update applies the request's non-null fields; changed reports a subscription change (topic
// names, regex or assignor), which bumps the group epoch.
func (m *consumerMember) update(req ConsumerHeartbeatRequest) (changed bool, err error) {
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != m.regex {
		re := (*regexp.Regexp)(nil)
		if *req.SubscribedTopicRegex != "" {
			// Kafka matches the whole topic name (RE2J's matches()).
			if re, err = regexp.Compile(`^(?:` + *req.SubscribedTopicRegex + `)$`); err != nil {
				return false, fmt.Errorf("%w: %w", ErrInvalidRegex, err)
			}
		}
		m.regex, m.re, changed = *req.SubscribedTopicRegex, re, true
	}
	if req.RegexTopicAllowed != nil {
		m.regexAllowed = req.RegexTopicAllowed
	}
	if req.SubscribedTopicNames != nil {
		names := slices.Clone(req.SubscribedTopicNames)
		slices.Sort(names)
		names = slices.Compact(names)
		if !slices.Equal(names, m.topicNames) {
			m.topicNames, changed = names, true
		}
	}
	if req.ServerAssignor != nil && *req.ServerAssignor != m.serverAssignor {
		m.serverAssignor, changed = *req.ServerAssignor, true
	}
	if req.InstanceID != nil {
		m.instanceID = *req.InstanceID
	}
	if req.RackID != nil {
		m.rackID = *req.RackID
	}
	if req.RebalanceTimeout >= 0 {
		m.rebalanceTimeout = req.RebalanceTimeout
	}
	if req.ClientID != "" || req.ClientHost != "" {
		m.clientID, m.clientHost = req.ClientID, req.ClientHost
	}
	return changed, nil
}

// subscribes reports whether the member subscribes to the topic name. A regex is matched
// against every topic in the Image, internal ones included, as Kafka 4's coordinator resolves
// it (GroupMetadataManager.refreshRegularExpressions scans every topic name and filters only
// by the member's Describe authorization): a regex matching __consumer_offsets gets it
// assigned. Clients that want to avoid internal topics write a regex that does not match them.
func (m *consumerMember) subscribes(name string) bool {
	if _, ok := slices.BinarySearch(m.topicNames, name); ok {
		return true
	}
	return m.re != nil && m.re.MatchString(name) &&
		(m.regexAllowed == nil || m.regexAllowed(name))
}

// subscriptionSignature names every subscribed topic that exists, with its id and partition
// count; a change (a topic created, deleted or grown, or a regex matching a new topic) bumps
// the group epoch. It is recomputed when the Image or a subscription changed.
func (cg *consumerGroup) subscriptionSignature(img *metadata.Image, force bool) string {
	if img == nil || (!force && img == cg.sigImage) {
		return cg.signature
	}
	cg.sigImage = img
	var sb strings.Builder
	for _, t := range img.Topics() {
		for _, m := range cg.members {
			if m.subscribes(t.Name) {
				sb.WriteString(t.Name)
				sb.WriteByte(0)
				sb.Write(t.ID[:])
				sb.WriteString(strconv.Itoa(len(t.Partitions)))
				sb.WriteByte(0)
				break
			}
		}
	}
	return sb.String()
}

// targetJob is the input of one target assignment, copied under the group's mutex so that the assignor
// (O(partitions x members) per pass, up to maxBalancePasses) runs without it.
type targetJob struct {
	cg       *consumerGroup
	member   *consumerMember // the heartbeat's member, answered from the new target
	before   Assignment      // its assignment before the heartbeat
	epoch    int32           // the group epoch the target is for
	assignor string
	members  []assignMember
	topics   map[TopicID]int32
	previous map[string]Assignment
}

// targetJobLocked copies the assignor's input at the group epoch and marks the group as
// computing it, so concurrent heartbeats reconcile against the current target instead of
// computing the same one.
func (c *Coordinator) targetJobLocked(g *group, img *metadata.Image, m *consumerMember) *targetJob {
	cg := g.consumer
	cg.computingEpoch = cg.epoch
	members, topics := assignInput(cg, img)
	previous := make(map[string]Assignment, len(cg.target))
	for id, a := range cg.target {
		previous[id] = a.clone()
	}
	return &targetJob{cg: cg, member: m, before: m.assigned.clone(), epoch: cg.epoch, assignor: c.chooseAssignorLocked(cg),
		members: members, topics: topics, previous: previous}
}

// installTargetLocked makes target the group's target assignment if the group is still at
// the job's epoch, and answers the heartbeat's member from it; ok is false when the group
// moved on (a later heartbeat computes a newer target) or the member is gone.
func (c *Coordinator) installTargetLocked(g *group, job *targetJob, target map[string]Assignment, req ConsumerHeartbeatRequest) (res ConsumerHeartbeatResult, seq uint64, ok bool) {
	cg := g.consumer
	if c.closed.Load() || g.removed || cg != job.cg {
		return res, 0, false
	}
	if cg.computingEpoch == job.epoch {
		cg.computingEpoch = 0
	}
	if cg.epoch != job.epoch || cg.assignmentEpoch >= job.epoch || !sameMembers(cg, job.members) {
		// Stale: a later heartbeat bumped the epoch, or a static member's place moved to a
		// new member id (no bump); the next heartbeat computes the target again.
		return res, 0, false
	}
	var recs []kv
	for id, a := range target {
		if !a.equal(cg.target[id]) {
			recs = append(recs, kv{appendConsumerKey(nil, keyTargetMember, g.id, id), AppendTargetMemberValue(nil, a)})
		}
	}
	cg.target, cg.assignmentEpoch, cg.assignor = target, cg.epoch, job.assignor
	recs = append(recs, kv{appendConsumerKey(nil, keyTargetMetadata, g.id, ""), AppendConsumerEpochValue(nil, cg.assignmentEpoch)})
	if cg.members[job.member.id] != job.member {
		return res, c.enqueueLocked(g, recs), false
	}
	res, seq = c.answerHeartbeatLocked(g, job.member, req, job.before, recs)
	return res, seq, true
}

// sameMembers reports whether the group's members are those the assignor was given.
func sameMembers(cg *consumerGroup, members []assignMember) bool {
	if len(cg.members) != len(members) {
		return false
	}
	for _, m := range members {
		if _, ok := cg.members[m.id]; !ok {
			return false
		}
	}
	return true
}

// assignInput lists the members with the existing topics each subscribes to, and those
// topics' partition counts.
func assignInput(cg *consumerGroup, img *metadata.Image) ([]assignMember, map[TopicID]int32) {
	topics := map[TopicID]int32{}
	members := make([]assignMember, 0, len(cg.members))
	for _, m := range cg.members {
		am := assignMember{id: m.id}
		if img != nil {
			for _, t := range img.Topics() {
				if m.subscribes(t.Name) {
					id := TopicID(t.ID)
					am.topics = append(am.topics, id)
					topics[id] = int32(len(t.Partitions))
				}
			}
		}
		members = append(members, am)
	}
	return members, topics
}

// chooseAssignorLocked picks the assignor most members ask for, else the broker's default
// (the first of group.consumer.assignors), as Kafka does.
func (c *Coordinator) chooseAssignorLocked(cg *consumerGroup) string {
	votes := map[string]int{}
	best := ""
	for _, m := range cg.members {
		if m.serverAssignor != "" {
			votes[m.serverAssignor]++
		}
	}
	for name, n := range votes {
		if best == "" || n > votes[best] || (n == votes[best] && name < best) {
			best = name
		}
	}
	if best == "" || assignors[best] == nil {
		for _, name := range c.cfg.ConsumerAssignors {
			if assignors[name] != nil {
				return name
			}
		}
		return "uniform"
	}
	return best
}

// reconcileLocked moves the member towards its target (Kafka's CurrentAssignmentBuilder):
// partitions it keeps stay; partitions leaving must be revoked (the member stays in its epoch
// until a heartbeat no longer lists them); partitions arriving are given only once no other
// member owns them.
func (c *Coordinator) reconcileLocked(g *group, m *consumerMember, owned []TopicPartitions, recs []kv) []kv {
	cg := g.consumer
	before := m.snapshot()
	switch m.state {
	case memberStable:
		if m.epoch != cg.assignmentEpoch {
			c.nextAssignmentLocked(g, m, m.epoch, owned)
		}
	case memberUnrevokedPartitions:
		if !ownsAny(owned, m.pending) {
			c.nextAssignmentLocked(g, m, m.epoch+1, owned)
		}
	case memberUnreleasedPartitions:
		c.nextAssignmentLocked(g, m, m.epoch, owned)
	}
	if after := m.snapshot(); !after.equal(before) {
		recs = append(recs, kv{appendConsumerKey(nil, keyCurrentAssignment, g.id, m.id), AppendCurrentAssignmentValue(nil, after)})
	}
	return recs
}

func (c *Coordinator) nextAssignmentLocked(g *group, m *consumerMember, epoch int32, owned []TopicPartitions) {
	cg := g.consumer
	target := cg.target[m.id]
	kept, revoke, add := Assignment{}, Assignment{}, Assignment{}
	unreleased := false
	for t, ps := range m.assigned {
		for _, p := range ps {
			if slices.Contains(target[t], p) {
				kept.add(t, p)
			} else {
				revoke.add(t, p)
			}
		}
	}
	for t, ps := range target {
		for _, p := range ps {
			if kept.has(t, p) {
				continue
			}
			if o, ok := cg.owners[partitionKey{t, p}]; ok && o != m.id {
				unreleased = true
				continue
			}
			add.add(t, p)
		}
	}
	cg.release(m)
	switch {
	case len(revoke) > 0 && (owned == nil || ownsAny(owned, revoke)):
		m.setEpoch(epoch)
		m.state, m.assigned, m.pending = memberUnrevokedPartitions, kept, revoke
		c.armRevokeTimerLocked(g, m)
	default:
		for t, ps := range add {
			for _, p := range ps {
				kept.add(t, p)
			}
		}
		m.setEpoch(cg.assignmentEpoch)
		m.state, m.assigned, m.pending = memberStable, kept, Assignment{}
		if unreleased {
			m.state = memberUnreleasedPartitions
		}
		m.stopRevokeTimer()
	}
	cg.own(m)
}

func (m *consumerMember) setEpoch(epoch int32) {
	if epoch != m.epoch {
		m.previousEpoch, m.epoch = m.epoch, epoch
	}
}

// release forgets the member's ownership of its partitions; own records it again.
func (cg *consumerGroup) release(m *consumerMember) {
	for _, a := range []Assignment{m.assigned, m.pending} {
		for t, ps := range a {
			for _, p := range ps {
				if cg.owners[partitionKey{t, p}] == m.id {
					delete(cg.owners, partitionKey{t, p})
				}
			}
		}
	}
}

func (cg *consumerGroup) own(m *consumerMember) {
	for _, a := range []Assignment{m.assigned, m.pending} {
		for t, ps := range a {
			for _, p := range ps {
				cg.owners[partitionKey{t, p}] = m.id
			}
		}
	}
}

func ownsAny(owned []TopicPartitions, a Assignment) bool {
	if owned == nil {
		return true // unknown: assume it still owns them
	}
	for _, t := range owned {
		for _, p := range t.Partitions {
			if a.has(t.Topic, p) {
				return true
			}
		}
	}
	return false
}

func ownedEquals(owned []TopicPartitions, a Assignment) bool {
	o := Assignment{}
	for _, t := range owned {
		for _, p := range t.Partitions {
			o.add(t.Topic, p)
		}
	}
	return o.equal(a)
}

// consumerLeaveLocked handles epoch -1 (leave) and -2 (a static member's temporary leave,
// handled as a leave: Sluice does not keep a static member's assignment for its return).
func (c *Coordinator) consumerLeaveLocked(g *group, req ConsumerHeartbeatRequest) (ConsumerHeartbeatResult, *group, uint64) {
	if g == nil || g.consumer == nil {
		return ConsumerHeartbeatResult{Err: ErrUnknownMemberID, MemberID: req.MemberID}, nil, 0
	}
	m := g.consumer.members[req.MemberID]
	if m == nil {
		return ConsumerHeartbeatResult{Err: ErrUnknownMemberID, MemberID: req.MemberID}, nil, 0
	}
	if req.MemberEpoch == leaveStaticEpoch {
		if m.instanceID != *req.InstanceID {
			return ConsumerHeartbeatResult{Err: ErrFencedInstanceID, MemberID: req.MemberID}, nil, 0
		}
		// A static member leaving for a while keeps its assignment and its place until its
		// session ends; a new member with its instance id takes over without a rebalance.
		c.cfg.Logger.Info("static consumer group member leaves temporarily", "group", g.id, "member", m.id, "instance", m.instanceID)
		m.setEpoch(leaveStaticEpoch)
		m.stopRevokeTimer()
		seq := c.enqueueLocked(g, []kv{{appendConsumerKey(nil, keyCurrentAssignment, g.id, m.id), AppendCurrentAssignmentValue(nil, m.snapshot())}})
		return ConsumerHeartbeatResult{MemberID: m.id, MemberEpoch: leaveStaticEpoch, HeartbeatInterval: c.consumerHeartbeatInterval(g.id)}, g, seq
	}
	c.cfg.Logger.Info("consumer group member leaves", "group", g.id, "member", m.id)
	c.abortAbandonedTxnsLocked(g.id, m.id)
	seq := c.removeConsumerMemberLocked(g, m)
	return ConsumerHeartbeatResult{MemberID: m.id, MemberEpoch: req.MemberEpoch, HeartbeatInterval: c.consumerHeartbeatInterval(g.id)}, g, seq
}

// removeConsumerMemberLocked drops a member (leave, session expiry, revocation timeout): its
// partitions are free, the group epoch bumps so the others get a new target, and its records
// are deleted.
func (c *Coordinator) removeConsumerMemberLocked(g *group, m *consumerMember) uint64 {
	cg := g.consumer
	cg.release(m)
	if m.session != nil {
		m.session.Stop()
	}
	m.stopRevokeTimer()
	delete(cg.members, m.id)
	delete(cg.target, m.id)
	if m.instanceID != "" && cg.static[m.instanceID] == m.id {
		delete(cg.static, m.instanceID)
	}
	cg.epoch++
	cg.sigImage = nil // recompute the subscribed topics without this member
	recs := []kv{
		{appendConsumerKey(nil, keyCurrentAssignment, g.id, m.id), nil},
		{appendConsumerKey(nil, keyTargetMember, g.id, m.id), nil},
		{appendConsumerKey(nil, keyConsumerMember, g.id, m.id), nil},
		{appendConsumerKey(nil, keyConsumerGroup, g.id, ""), AppendConsumerEpochValue(nil, cg.epoch)},
	}
	if len(cg.members) == 0 {
		g.emptySince = c.now().UnixMilli()
	}
	return c.enqueueLocked(g, recs)
}

func (c *Coordinator) resetConsumerSessionLocked(g *group, m *consumerMember) {
	if m.session != nil {
		m.session.Stop()
	}
	gid, mid, tok := g.id, m.id, new(byte)
	m.session, m.sessionTok = time.AfterFunc(c.consumerSessionTimeout(gid), func() {
		defer c.guard("group.timer", nil)
		c.expireConsumer(gid, mid, tok, "session expired")
	}), tok
}

// armRevokeTimerLocked gives a member that must revoke partitions its rebalance timeout to do
// so; after that it is removed from the group (fenced), as in Kafka.
func (c *Coordinator) armRevokeTimerLocked(g *group, m *consumerMember) {
	if m.revoke != nil {
		return // already counting for this revocation
	}
	gid, mid, tok := g.id, m.id, new(byte)
	timeout := m.rebalanceTimeout
	if timeout <= 0 {
		timeout = c.consumerSessionTimeout(gid)
	}
	m.revoke, m.revokeTok = time.AfterFunc(timeout, func() {
		defer c.guard("group.timer", nil)
		c.expireConsumer(gid, mid, tok, "did not revoke partitions within the rebalance timeout")
	}), tok
}

func (m *consumerMember) stopRevokeTimer() {
	if m.revoke != nil {
		m.revoke.Stop()
		m.revoke, m.revokeTok = nil, nil
	}
}

// expireConsumer runs on a timer goroutine: the member is removed if tok still identifies
// the armed session or revocation timer.
func (c *Coordinator) expireConsumer(gid, mid string, tok *byte, why string) {
	g, seq := c.removeExpiredConsumer(gid, mid, tok, why)
	if g == nil {
		return
	}
	c.writers.Add(1)
	defer c.writers.Done()
	if err := c.flushRecords(c.ctx, g, seq); err != nil {
		c.cfg.Logger.Warn("storing consumer group records", "group", gid, "err", err)
	}
}

// removeExpiredConsumer removes the member under the group's mutex (deferred unlock, so a
// panic recovered by the timer's guard leaves it free); g is nil when the timer is stale.
func (c *Coordinator) removeExpiredConsumer(gid, mid string, tok *byte, why string) (*group, uint64) {
	g := c.lockGroup(gid, false)
	if g == nil {
		return nil, 0
	}
	defer g.mu.Unlock()
	if c.closed.Load() || g.consumer == nil {
		return nil, 0
	}
	m := g.consumer.members[mid]
	if m == nil || (m.sessionTok != tok && m.revokeTok != tok) {
		return nil, 0
	}
	c.cfg.Logger.Info("consumer group member removed", "group", gid, "member", mid, "reason", why)
	return g, c.removeConsumerMemberLocked(g, m)
}

// stopConsumerTimersLocked stops every timer of a consumer group (Close, Delete).
func (cg *consumerGroup) stopTimersLocked() {
	for _, m := range cg.members {
		if m.session != nil {
			m.session.Stop()
		}
		m.stopRevokeTimer()
	}
}

// convertToClassicLocked turns an empty consumer group into a classic group (offsets stay):
// the consumer group's records are deleted in the background, before any classic metadata
// record of the group (both go through the group's ordered writes).
func (c *Coordinator) convertToClassicLocked(g *group) {
	c.cfg.Logger.Info("empty consumer group converted to a classic group", "group", g.id)
	g.consumer.stopTimersLocked()
	g.consumer = nil
	g.protocolType = ""
	seq := c.enqueueLocked(g, []kv{
		{appendConsumerKey(nil, keyTargetMetadata, g.id, ""), nil},
		{appendConsumerKey(nil, keyConsumerGroup, g.id, ""), nil},
	})
	if seq == 0 {
		return
	}
	c.writers.Add(1)
	go func() {
		defer c.writers.Done()
		defer c.guard("group.writer", nil)
		if err := c.flushRecords(c.ctx, g, seq); err != nil {
			c.cfg.Logger.Warn("deleting consumer group records", "group", g.id, "err", err)
		}
	}()
}

// checkCommit validates an offset commit against a consumer group: members commit with their
// member epoch as the generation (STALE_MEMBER_EPOCH otherwise); member "" with a negative
// epoch commits only while the group has no members (admin tools, standalone consumers).
func (cg *consumerGroup) checkCommit(memberID string, epoch int32) error {
	if epoch < 0 && len(cg.members) == 0 {
		return nil
	}
	m := cg.members[memberID]
	switch {
	case m == nil:
		return ErrUnknownMemberID
	case epoch != m.epoch:
		return fmt.Errorf("%w: epoch %d, member is at %d", ErrStaleMemberEpoch, epoch, m.epoch)
	}
	return nil
}

// CheckOffsetFetch applies Kafka's check to an OffsetFetch v9+ that names a member of the
// consumer group gid: the member must exist (ErrUnknownMemberID) at the epoch it gives
// (ErrStaleMemberEpoch). A request without a member id and with epoch -1 (an admin tool), and
// any request for a group that is not a consumer group, passes.
func (c *Coordinator) CheckOffsetFetch(gid, memberID string, epoch int32) error {
	g := c.lockGroup(gid, false)
	if g == nil {
		return nil
	}
	defer g.mu.Unlock()
	if g.share != nil { // a share group has no offsets here (Kafka's ShareGroup.validateOffsetFetch)
		return fmt.Errorf("%w: group %s is not a consumer group", ErrGroupIDNotFound, gid)
	}
	if memberID == "" && epoch < 0 {
		return nil
	}
	if g.consumer == nil {
		return nil
	}
	m := g.consumer.members[memberID]
	switch {
	case m == nil:
		return ErrUnknownMemberID
	case epoch != m.epoch:
		return fmt.Errorf("%w: epoch %d, member is at %d", ErrStaleMemberEpoch, epoch, m.epoch)
	}
	return nil
}

// ConsumerGroupDescription is a consumer group as ConsumerGroupDescribe shows it.
type ConsumerGroupDescription struct {
	Group                  string
	State                  ConsumerGroupState
	Epoch, AssignmentEpoch int32
	Assignor               string
	Members                []ConsumerMemberDescription
}

// ConsumerMemberDescription is one member of a described consumer group.
type ConsumerMemberDescription struct {
	MemberID, InstanceID, RackID, ClientID, ClientHost string
	MemberEpoch                                        int32
	SubscribedTopicNames                               []string
	SubscribedTopicRegex                               string
	Assignment, Target                                 Assignment
}

// DescribeConsumerGroup describes a consumer group; a group that does not exist or is a
// classic group is ErrGroupIDNotFound.
func (c *Coordinator) DescribeConsumerGroup(gid string) (ConsumerGroupDescription, error) {
	g := c.lockGroup(gid, false)
	if g != nil {
		defer g.mu.Unlock()
	}
	switch {
	case g == nil:
		return ConsumerGroupDescription{}, fmt.Errorf("%w: group %s", ErrGroupIDNotFound, gid)
	case g.consumer == nil:
		return ConsumerGroupDescription{}, fmt.Errorf("%w: group %s is not a consumer group", ErrGroupIDNotFound, gid)
	}
	cg := g.consumer
	d := ConsumerGroupDescription{Group: gid, State: cg.state(), Epoch: cg.epoch, AssignmentEpoch: cg.assignmentEpoch,
		Assignor: cg.assignor}
	if d.Assignor == "" { // no target computed yet (or loaded from the log): the one it would use
		d.Assignor = c.chooseAssignorLocked(cg)
	}
	for _, id := range cg.memberIDs() {
		m := cg.members[id]
		d.Members = append(d.Members, ConsumerMemberDescription{MemberID: m.id, InstanceID: m.instanceID, RackID: m.rackID,
			ClientID: m.clientID, ClientHost: m.clientHost, MemberEpoch: m.epoch,
			SubscribedTopicNames: slices.Clone(m.topicNames), SubscribedTopicRegex: m.regex,
			Assignment: m.assigned.clone(), Target: cg.target[id].clone()})
	}
	return d, nil
}

// IsConsumerMember reports whether member belongs to the consumer group gid (KIP-848), so
// OffsetCommit can refuse such members below v9 as Kafka does.
func (c *Coordinator) IsConsumerMember(gid, member string) bool {
	g := c.lockGroup(gid, false)
	if g == nil {
		return false
	}
	defer g.mu.Unlock()
	return g.consumer != nil && g.consumer.members[member] != nil
}
