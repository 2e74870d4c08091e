package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/share"
)

// Errors the coordinator returns; internal/api maps them to Kafka codes.
var (
	ErrMemberIDRequired       = errors.New("group: member id required")
	ErrUnknownMemberID        = errors.New("group: unknown member id")
	ErrIllegalGeneration      = errors.New("group: illegal generation")
	ErrRebalanceInProgress    = errors.New("group: rebalance in progress")
	ErrInconsistentProtocol   = errors.New("group: inconsistent group protocol")
	ErrInvalidSessionTimeout  = errors.New("group: invalid session timeout")
	ErrCoordinatorUnavailable = errors.New("group: coordinator not available")
	ErrInvalidGroupID         = errors.New("group: invalid group id")
	ErrNonEmptyGroup          = errors.New("group: group is not empty")
	ErrGroupIDNotFound        = errors.New("group: group id not found")
	ErrGroupSubscribedToTopic = errors.New("group: group subscribed to topic")
	ErrFencedInstanceID       = errors.New("group: fenced instance id")
)

// State is a classic group's state.
type State int8

const (
	Empty State = iota
	PreparingRebalance
	CompletingRebalance
	Stable
	Dead
)

// String is Kafka's name for the state (DescribeGroups, ListGroups).
func (s State) String() string {
	switch s {
	case Empty:
		return "Empty"
	case PreparingRebalance:
		return "PreparingRebalance"
	case CompletingRebalance:
		return "CompletingRebalance"
	case Stable:
		return "Stable"
	}
	return "Dead"
}

// Config holds the group.* broker configs the coordinator obeys.
type Config struct {
	// MinSessionTimeout and MaxSessionTimeout bound a member's session timeout
	// (group.min.session.timeout.ms, group.max.session.timeout.ms).
	MinSessionTimeout, MaxSessionTimeout time.Duration
	// InitialRebalanceDelay is how long the first rebalance of an empty group waits for more
	// members (group.initial.rebalance.delay.ms).
	InitialRebalanceDelay time.Duration
	// Log, when set, makes commits durable in __consumer_offsets (NumPartitions partitions,
	// offsets.topic.num.partitions); nil keeps offsets in memory only (tests).
	Log           OffsetLog
	NumPartitions int32
	// FollowLeadership makes the coordinator serve only the groups of the __consumer_offsets
	// partitions this node leads: those LoadPartitions loaded at start and those Elected since,
	// until Resigned. Others get ErrNotCoordinator, those of a partition still loading
	// ErrCoordinatorLoadInProgress (CoordinatorStatus). False (a coordinator without a broker,
	// as in most tests): every group is served. Needs NumPartitions.
	FollowLeadership bool
	Logger           *slog.Logger
	// ConsumerSessionTimeout and ConsumerHeartbeatInterval are what KIP-848 members are told
	// and held to (group.consumer.session.timeout.ms, group.consumer.heartbeat.interval.ms);
	// ConsumerAssignors are the server assignors in order of preference
	// (group.consumer.assignors; the first is the default).
	ConsumerSessionTimeout, ConsumerHeartbeatInterval time.Duration
	ConsumerAssignors                                 []string
	// ConsumerMaxSize caps a consumer group's members (group.consumer.max.size); 0: no cap.
	ConsumerMaxSize int
	// MaxSize caps a classic group's members (group.max.size): a new member joining a full
	// group gets ErrGroupMaxSizeReached; 0: no cap.
	MaxSize int
	// DisableConsumerProtocol answers ConsumerGroupHeartbeat with UNSUPPORTED_VERSION (the
	// broker's group.coordinator.rebalance.protocols does not list "consumer"), so clients
	// fall back to the classic protocol.
	DisableConsumerProtocol bool
	// Now is the clock (offset retention, record timestamps); nil is time.Now.
	Now func() time.Time
	// OffsetsRetention (offsets.retention.minutes) and RetentionCheckInterval
	// (offsets.retention.check.interval.ms) drive the expiry of committed offsets
	// (retention.go); either zero disables the periodic sweep.
	OffsetsRetention, RetentionCheckInterval time.Duration
	// Compression is the codec of every batch the coordinator writes to __consumer_offsets
	// (offsets.topic.compression.codec; record.None by default, as in Kafka).
	Compression record.Codec
	// CommitTimeout bounds how long a write to __consumer_offsets (an offset commit, a group's
	// metadata) waits to be committed (offsets.commit.timeout.ms); 0: only the caller's context.
	CommitTimeout time.Duration
	// LoadBufferSize is the read size when loading a __consumer_offsets partition
	// (offsets.load.buffer.size); 0: 1 MiB.
	LoadBufferSize int
	// Share groups (KIP-932, share.go): ShareSessionTimeout and ShareHeartbeatInterval are
	// group.share.session.timeout.ms and group.share.heartbeat.interval.ms (a group's
	// share.session.timeout.ms / share.heartbeat.interval.ms override them); ShareMaxSize is
	// group.share.max.size (0: no cap). ShareDefaults are the group.share.* defaults of share.GroupConfig.
	ShareSessionTimeout, ShareHeartbeatInterval time.Duration
	ShareMaxSize                                int
	// ShareEnabled, if set, says whether share groups are on now (the share.version feature is
	// finalized at 1 or more); false answers ShareGroupHeartbeat UNSUPPORTED_VERSION. Nil: on.
	ShareEnabled  func() bool
	ShareDefaults share.GroupConfig
	// SharePersister, if set, deletes a share group's share-partition state when the group is
	// deleted (DeleteGroups), before the group's records.
	SharePersister share.Persister
	// GroupConfigs, if set, returns a group's own configs (the GROUP config resource, Kafka's
	// group configs: consumer.session.timeout.ms, share.*) by name; nil or missing names take
	// the broker defaults.
	GroupConfigs func(group string) map[string]string
	// PanicRecovered, if set, counts panics recovered in the coordinator's goroutines (where:
	// "group.writer", "group.timer", "group.loader", "group.retention").
	PanicRecovered func(where string)
}

// Protocol is one protocol (assignor) a member supports, with its metadata.
type Protocol struct {
	Name     string
	Metadata []byte
}

// Member describes a member as the leader and DescribeGroups see it.
type Member struct {
	MemberID, InstanceID, ClientID, ClientHost string
	Metadata                                   []byte // for the selected protocol
	Assignment                                 []byte
}

// Coordinator owns every classic group of this broker.
type Coordinator struct {
	cfg Config
	// ctx is canceled by Close; background group-metadata writes use it and writers counts them.
	ctx     context.Context
	cancel  context.CancelFunc
	writers sync.WaitGroup
	sweeper sync.WaitGroup // the offset retention goroutine
	// loaders counts partition loads started by Elected; closed (set by Close) refuses more.
	loaders struct {
		mu     sync.Mutex
		closed bool
		wg     sync.WaitGroup
	}
	// mu guards the map of groups only: lookups, creation and removal. A group's state is
	// guarded by its own mutex (group.mu), taken after mu is released (lockGroup), so requests
	// and timers of different groups do not wait on each other. Order: group.mu → mu (removal
	// holds the group's mutex and takes mu to delete the entry); mu is a leaf.
	mu struct {
		sync.Mutex
		groups map[string]*group
		// loading has a channel for each __consumer_offsets partition whose records are being
		// applied, closed when they all are: lookups of its groups wait for it (but the
		// loader's), so no request sees a group half loaded.
		loading map[int32]chan struct{}
		// owned is the partitions this node coordinates (Config.FollowLeadership).
		owned ownership
	}
	// closed is set by Close (under mu, so no group is created after it) and read under a
	// group's mutex: Close visits every group after setting it, so an operation that holds a
	// group's mutex and sees closed false is cleaned up by Close's visit after it.
	closed atomic.Bool

	// sharePersister, set by SetSharePersister, overrides Config.SharePersister.
	sharePersister atomic.Pointer[share.Persister]

	// txn holds transactional offset commits awaiting their markers (txnoffsets.go).
	txn txnOffsets
}

// New returns a coordinator with no groups.
func New(cfg Config) *Coordinator {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ConsumerSessionTimeout <= 0 {
		cfg.ConsumerSessionTimeout = 45 * time.Second
	}
	if cfg.ConsumerHeartbeatInterval <= 0 {
		cfg.ConsumerHeartbeatInterval = 5 * time.Second
	}
	if len(cfg.ConsumerAssignors) == 0 {
		cfg.ConsumerAssignors = []string{"uniform", "range"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ShareSessionTimeout <= 0 {
		cfg.ShareSessionTimeout = 45 * time.Second
	}
	if cfg.ShareHeartbeatInterval <= 0 {
		cfg.ShareHeartbeatInterval = 5 * time.Second
	}
	c := &Coordinator{cfg: cfg}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mu.groups = map[string]*group{}
	c.startRetention()
	return c
}

// Close stops every session and barrier timer and fails waiting requests with
// ErrCoordinatorUnavailable. (Timers that forget unused MEMBER_ID_REQUIRED ids may still fire;
// they only delete map entries.)
func (c *Coordinator) Close() {
	// Group metadata writes in flight get a few seconds to land (a clean shutdown keeps them);
	// writers never take mu, so this waits before taking it.
	done := make(chan struct{})
	go func() { c.writers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.cancel()
		<-done
	}
	c.loaders.mu.Lock()
	c.loaders.closed = true
	c.loaders.mu.Unlock()
	c.cancel()
	c.sweeper.Wait()
	c.loaders.wg.Wait()
	c.mu.Lock()
	c.closed.Store(true)
	c.mu.Unlock()
	for _, g := range c.snapshotGroups() {
		g.mu.Lock()
		g.shutdownLocked(ErrCoordinatorUnavailable)
		g.mu.Unlock()
	}
}

// shutdownLocked stops the group's timers and fails its waiting joins and syncs with err
// (ErrCoordinatorUnavailable from Close, ErrNotCoordinator from Resigned).
func (g *group) shutdownLocked(err error) {
	g.stopTimersLocked()
	if g.consumer != nil {
		g.consumer.stopTimersLocked()
	}
	if g.share != nil {
		g.share.stopTimersLocked()
	}
	for _, m := range g.members {
		m.answerJoinLocked(JoinResult{Err: err})
		m.answerSyncLocked(SyncResult{Err: err})
	}
}

// snapshotGroups returns the groups in the map now; callers that span groups (Close,
// Resigned, ListGroups, the retention sweep) lock them one at a time.
func (c *Coordinator) snapshotGroups() []*group {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*group, 0, len(c.mu.groups))
	for _, g := range c.mu.groups {
		out = append(out, g)
	}
	return out
}

// lockGroup returns group id with its mutex held, creating an Empty group when create is set
// (unless the coordinator is closed or, following leadership, no longer owns the group's
// partition: a request that passed CoordinatorStatus just before a Resigned); nil when there
// is none. It waits while the group's
// __consumer_offsets partition is being loaded. A group removed from the map while the caller
// waited for its mutex is looked up again.
func (c *Coordinator) lockGroup(id string, create bool) *group {
	return c.lockGroupAs(id, create, false)
}

// lockGroupAs is lockGroup; loader is set by the partition load itself, which must not wait
// for its own partition.
func (c *Coordinator) lockGroupAs(id string, create, loader bool) *group {
	for {
		c.mu.Lock()
		if ch := c.loadingLocked(id); ch != nil && !loader {
			c.mu.Unlock()
			<-ch
			continue
		}
		g := c.mu.groups[id]
		if g == nil && create && !c.closed.Load() && (loader || c.ownsLocked(id)) {
			g = newGroup(id)
			c.mu.groups[id] = g
		}
		c.mu.Unlock()
		if g == nil {
			return nil
		}
		g.mu.Lock()
		if !g.removed {
			return g
		}
		g.mu.Unlock()
	}
}

// loadingLocked returns the channel of the load under way of group id's partition, or nil.
func (c *Coordinator) loadingLocked(id string) chan struct{} {
	if len(c.mu.loading) == 0 || c.cfg.NumPartitions <= 0 {
		return nil
	}
	return c.mu.loading[Partition(id, c.cfg.NumPartitions)]
}

// lockListed locks g, a group from snapshotGroups, once no load of its partition is under way;
// false (g still locked) when g has left the map meanwhile.
func (c *Coordinator) lockListed(g *group) bool {
	for {
		c.mu.Lock()
		ch := c.loadingLocked(g.id)
		c.mu.Unlock()
		if ch == nil {
			break
		}
		<-ch
	}
	g.mu.Lock()
	return !g.removed
}

// startLoad marks partition index as loading (after any load of it under way) and returns the
// function that ends the mark.
func (c *Coordinator) startLoad(index int32) (done func()) {
	if index < 0 || c.cfg.NumPartitions <= 0 {
		return func() {}
	}
	c.mu.Lock()
	for c.mu.loading[index] != nil {
		ch := c.mu.loading[index]
		c.mu.Unlock()
		<-ch
		c.mu.Lock()
	}
	if c.mu.loading == nil {
		c.mu.loading = map[int32]chan struct{}{}
	}
	ch := make(chan struct{})
	c.mu.loading[index] = ch
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.mu.loading, index)
		c.mu.Unlock()
		close(ch)
	}
}

// removeLocked deletes the group (its mutex held) from the map; holders of a stale pointer
// see removed and look the id up again.
func (c *Coordinator) removeLocked(g *group) {
	c.mu.Lock()
	if c.mu.groups[g.id] == g {
		delete(c.mu.groups, g.id)
	}
	c.mu.Unlock()
	g.removed = true
}

type group struct {
	// mu guards everything below (and the group's members and timers); see Coordinator.mu.
	mu sync.Mutex
	// removed is set when the group left the map (Delete, expiry, tombstones, Resigned).
	removed      bool
	id           string
	state        State
	generation   int32
	protocolType string
	protocolName string
	leaderID     string
	members      map[string]*member
	pending      map[string]bool   // member ids handed out with MEMBER_ID_REQUIRED, not yet joined
	static       map[string]string // group.instance.id → member id of static members (KIP-345)
	offsets      map[topicPartition]OffsetCommit
	rebalance    *time.Timer // join barrier deadline (or the initial delay)
	rebalanceTok *byte       // identifies the armed rebalance timer to its callback
	initialDelay bool        // the barrier of a formerly empty group waits out its full delay
	storeSeq     uint64      // sequence of the newest group metadata snapshot handed to a writer
	store        *groupStore
	// consumer is set while the group is a KIP-848 consumer group (consumer.go).
	consumer *consumerGroup
	// share is set while the group is a KIP-932 share group (share.go).
	share *shareGroup
	// queued records wait for the group's next flushRecords; queuedSeq counts enqueues.
	queued    []kv
	queuedSeq uint64
	// emptySince is when the group last became empty (ms; offset retention counts from it).
	emptySince int64
}

type member struct {
	id, instanceID, clientID, clientHost string
	protocolType                         string
	protocols                            []Protocol
	sessionTimeout, rebalanceTimeout     time.Duration
	assignment                           []byte
	session                              *time.Timer
	sessionTok                           *byte           // identifies the armed session timer to its callback
	joinCh                               chan JoinResult // non-nil while waiting at the join barrier
	syncCh                               chan SyncResult // non-nil while waiting for the leader's assignment
	isNew                                bool            // joined during the current rebalance
}

func (m *member) answerJoinLocked(r JoinResult) {
	if m.joinCh != nil {
		m.joinCh <- r
		m.joinCh = nil
	}
}

func (m *member) answerSyncLocked(r SyncResult) {
	if m.syncCh != nil {
		m.syncCh <- r
		m.syncCh = nil
	}
}

func (g *group) stopTimersLocked() {
	if g.rebalance != nil {
		g.rebalance.Stop()
		g.rebalance = nil
	}
	for _, m := range g.members {
		if m.session != nil {
			m.session.Stop()
		}
	}
}

func newMemberID(clientID string) string {
	var b [16]byte
	rand.Read(b[:])
	return clientID + "-" + hex.EncodeToString(b[:])
}

func newGroup(id string) *group {
	return &group{id: id, state: Empty, members: map[string]*member{}, pending: map[string]bool{}, static: map[string]string{}, store: &groupStore{}, offsets: map[topicPartition]OffsetCommit{}}
}

// resetSessionLocked (re)arms the member's session timer.
func (c *Coordinator) resetSessionLocked(g *group, m *member) {
	if m.session != nil {
		m.session.Stop()
	}
	gid, mid, tok := g.id, m.id, new(byte)
	m.session, m.sessionTok = time.AfterFunc(m.sessionTimeout, func() {
		defer c.guard("group.timer", nil)
		c.expireSession(gid, mid, tok)
	}), tok
}

// expireSession runs on the timer's goroutine when a member's session deadline passes.
func (c *Coordinator) expireSession(gid, mid string, tok *byte) {
	g := c.lockGroup(gid, false)
	if g == nil {
		return
	}
	defer g.mu.Unlock()
	if c.closed.Load() {
		return
	}
	m := g.members[mid]
	if m == nil || m.sessionTok != tok {
		return // left already, or the timer was re-armed after it fired
	}
	if m.joinCh != nil || m.syncCh != nil {
		// A member waiting at a barrier is alive by definition; the barrier has its own deadline.
		c.resetSessionLocked(g, m)
		return
	}
	c.cfg.Logger.Info("group member session expired", "group", gid, "member", mid)
	c.removeMemberLocked(g, m)
}

// removeMemberLocked drops m and moves the group on: a rebalance if it was Stable or
// CompletingRebalance, completion of the barrier if every remaining member has rejoined.
func (c *Coordinator) removeMemberLocked(g *group, m *member) {
	if m.session != nil {
		m.session.Stop()
	}
	m.answerJoinLocked(JoinResult{Err: ErrUnknownMemberID})
	m.answerSyncLocked(SyncResult{Err: ErrUnknownMemberID})
	g.dropLocked(m)
	switch g.state {
	case Stable, CompletingRebalance:
		c.prepareRebalanceLocked(g)
	case PreparingRebalance:
		c.maybeCompleteJoinLocked(g)
	}
}

// dropLocked forgets m: its id, its static instance mapping, its leadership.
func (g *group) dropLocked(m *member) {
	if m.session != nil {
		m.session.Stop()
	}
	delete(g.members, m.id)
	if m.instanceID != "" && g.static[m.instanceID] == m.id {
		delete(g.static, m.instanceID)
	}
	if g.leaderID == m.id {
		g.leaderID = ""
	}
}

// groupStore orders a group's background metadata writes.
type groupStore struct {
	mu       sync.Mutex
	written  uint64 // sequence of the newest snapshot written (or being written)
	flushed  uint64 // queued-record sequence written (or being written) by flushRecords
	flushErr error  // outcome of the last flush, for callers whose records it carried
}

func (c *Coordinator) now() time.Time { return c.cfg.Now() }

func msDuration(ms int32) time.Duration { return time.Duration(ms) * time.Millisecond }
