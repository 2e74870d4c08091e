package metadata

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// The broker lifecycle of KRaft (KIP-631, KIP-841, KIP-903), on the active controller:
//
//	RegisterBroker ──► fenced ──(heartbeat, caught up, !WantFence)──► unfenced
//	                     ▲                                               │
//	                     └──(silent > session, WantFence, or shutdown done)┘
//	unfenced ──(heartbeat WantShutDown)──► in controlled shutdown ──(leads nothing,
//	          others caught up)──► fenced, ShouldShutDown
//
// Whenever a broker stops being active (fenced or shutting down) it leaves every ISR it is in,
// except as the last member (the ISR never becomes empty; Kafka without ELR), and every
// partition it led gets the first active ISR member in replica order as leader, or — when
// unclean.leader.election.enable holds for the topic — the first active replica, or none (-1).
// Whenever a broker becomes active, partitions without a leader whose ISR holds it elect it.
// The rule is applied to the whole Image each time (partitionChanges), so an event interrupted
// between two batches is completed by the next call.

// BrokerRegistration is what a broker announces when it starts (Kafka's
// BrokerRegistrationRequest, the fields that matter here).
type BrokerRegistration struct {
	ID          int32
	Incarnation [16]byte // random per process start
	Endpoints   []Endpoint
	Rack        string
	// PreviousBrokerEpoch is the epoch the broker had before a clean shutdown, -1 (or 0) when
	// it does not know (KIP-903). It is carried for KIP-966's unclean-shutdown detection; the
	// controller does not use it yet.
	PreviousBrokerEpoch int64
}

// RegisterBroker records a broker's registration and returns its broker epoch (the offset of
// the registration record). Sending the same registration again (same incarnation and details)
// returns the same epoch and changes nothing. A new incarnation, or new details, is a new
// registration: it starts fenced and not in controlled shutdown, and the previous incarnation's
// leaderships and ISR places go as if it had been fenced (it may have lost unflushed data).
// A broker heartbeat unfences it once it has caught up.
//
// Errors: ErrInvalidRequest for a negative id; ErrDuplicateBrokerRegistration when the id is
// held by another incarnation that is unfenced and has heartbeated to this controller within
// the session timeout; ErrNotController.
func (c *Controller) RegisterBroker(ctx context.Context, r BrokerRegistration) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.ID < 0 {
		return 0, errorf(ErrInvalidRequest, "broker id %d", r.ID)
	}
	img, err := c.leaderImage(ctx)
	if err != nil {
		return 0, err
	}
	now := c.opts.Now()
	if b, ok := img.Broker(r.ID); ok {
		if b.Incarnation == r.Incarnation && b.Rack == r.Rack && slices.Equal(b.Endpoints, r.Endpoints) {
			return b.Epoch, nil
		}
		if b.Incarnation != r.Incarnation && !b.Fenced && c.sessions.liveElsewhere(b, now) {
			return 0, errorf(ErrDuplicateBrokerRegistration,
				"broker %d is registered by another process (incarnation %x) that heartbeated within the last %v; "+
					"stop it or use another node id", r.ID, b.Incarnation, c.opts.SessionTimeout)
		}
	}
	reg := &RegisterBrokerRecord{BrokerID: r.ID, Incarnation: r.Incarnation, Epoch: -1,
		Endpoints: r.Endpoints, Rack: r.Rack, Fenced: true}
	next, err := c.proposeBrokerChanges(ctx, img, []Record{reg}, map[int32]bool{r.ID: false})
	if err != nil {
		return 0, fmt.Errorf("register broker %d: %w", r.ID, err)
	}
	b, ok := next.Broker(r.ID)
	if !ok {
		return 0, errors.New("register broker: registration missing after apply")
	}
	c.sessions.registered(b, now)
	c.logger.Info("controller: broker registered, fenced until caught up", "broker", r.ID, "epoch", b.Epoch, "rack", r.Rack)
	return b.Epoch, nil
}

// Heartbeat is a broker's periodic BrokerHeartbeat request.
type Heartbeat struct {
	ID    int32
	Epoch int64
	// MetadataOffset is the offset of the last metadata batch the broker has applied.
	MetadataOffset int64
	// WantFence: the broker cannot serve (it is starting, or its disk failed) and asks to stay
	// or become fenced.
	WantFence bool
	// WantShutDown: the broker is shutting down and asks the controller to move its
	// leaderships away first (controlled shutdown).
	WantShutDown bool
	// Conn, if not nil, is closed when the connection the heartbeat came on ends (see
	// ControllerOptions.ConnectionLossGrace).
	Conn <-chan struct{}
}

// HeartbeatResult is the controller's answer to a Heartbeat.
type HeartbeatResult struct {
	// IsCaughtUp: MetadataOffset reaches the controller's offset as of the broker's previous
	// heartbeat (or its registration, on the first).
	IsCaughtUp bool
	// IsFenced is the broker's state after this heartbeat.
	IsFenced bool
	// ShouldShutDown: the controlled shutdown is complete (or the broker was fenced anyway);
	// the broker may stop now.
	ShouldShutDown bool
}

// BrokerHeartbeat records that a broker is alive and moves it through its lifecycle (the
// diagram above). Errors: ErrBrokerIDNotRegistered, ErrStaleBrokerEpoch (the heartbeat is from
// another registration than the current one), ErrNotController.
//
// The heartbeat is recorded without the controller's mutex; only a heartbeat that changes the
// broker's state waits for it.
func (c *Controller) BrokerHeartbeat(ctx context.Context, hb Heartbeat) (HeartbeatResult, error) {
	img, err := c.leaderImage(ctx)
	if err != nil {
		return HeartbeatResult{}, err
	}
	b, err := heartbeatBroker(img, hb)
	if err != nil {
		return HeartbeatResult{}, err
	}
	res := HeartbeatResult{IsCaughtUp: c.sessions.heartbeat(b, hb.MetadataOffset, img.Offset(), c.opts.Now(), hb.Conn)}
	if !needsChange(b, hb) {
		res.IsFenced = b.Fenced
		res.ShouldShutDown = b.Fenced && hb.WantShutDown
		return res, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if img, err = c.leaderImage(ctx); err != nil {
		return HeartbeatResult{}, err
	}
	if b, err = heartbeatBroker(img, hb); err != nil {
		return HeartbeatResult{}, err
	}
	fenced, shutDown, err := c.brokerTransitionLocked(ctx, img, b, hb)
	if err != nil {
		return HeartbeatResult{}, fmt.Errorf("heartbeat of broker %d: %w", hb.ID, err)
	}
	res.IsFenced, res.ShouldShutDown = fenced, shutDown
	return res, nil
}

func heartbeatBroker(img *Image, hb Heartbeat) (*Broker, error) {
	b, ok := img.Broker(hb.ID)
	if !ok {
		return nil, errorf(ErrBrokerIDNotRegistered, "broker %d is not registered", hb.ID)
	}
	if b.Epoch != hb.Epoch {
		return nil, errorf(ErrStaleBrokerEpoch, "broker %d's registration has epoch %d; the heartbeat carries %d", hb.ID, b.Epoch, hb.Epoch)
	}
	return b, nil
}

// needsChange reports whether a heartbeat may change the broker's state, so that the common
// heartbeat (unfenced, nothing asked) takes no lock but the sessions'.
func needsChange(b *Broker, hb Heartbeat) bool {
	switch {
	case b.Fenced:
		return !hb.WantShutDown && !hb.WantFence && !b.InControlledShutdown && hb.MetadataOffset >= b.Epoch
	case b.InControlledShutdown:
		return true
	default:
		return hb.WantFence || hb.WantShutDown
	}
}

// brokerTransitionLocked applies a heartbeat's state change (c.mu held) and returns the
// broker's fenced state and whether it should shut down.
func (c *Controller) brokerTransitionLocked(ctx context.Context, img *Image, b *Broker, hb Heartbeat) (fenced, shutDown bool, err error) {
	change := func(fence, shutdown int8) *BrokerRegistrationChangeRecord {
		return &BrokerRegistrationChangeRecord{BrokerID: b.ID, BrokerEpoch: b.Epoch, Fenced: fence, InControlledShutdown: shutdown}
	}
	switch {
	case b.Fenced:
		if hb.WantShutDown {
			return true, true, nil
		}
		if hb.WantFence || b.InControlledShutdown || hb.MetadataOffset < b.Epoch {
			return true, false, nil
		}
		if _, err := c.proposeBrokerChanges(ctx, img, []Record{change(BrokerUnfence, 0)}, map[int32]bool{b.ID: true}); err != nil {
			return true, false, err
		}
		c.logger.Info("controller: broker unfenced", "broker", b.ID, "epoch", b.Epoch)
		return false, false, nil
	case hb.WantFence:
		if _, err := c.proposeBrokerChanges(ctx, img, []Record{change(BrokerFence, 0)}, map[int32]bool{b.ID: false}); err != nil {
			return false, false, err
		}
		c.logger.Info("controller: broker fenced at its request", "broker", b.ID, "epoch", b.Epoch)
		return true, hb.WantShutDown, nil
	case !b.InControlledShutdown && !hb.WantShutDown:
		return false, false, nil
	}
	if !b.InControlledShutdown {
		c.logger.Info("controller: controlled shutdown of broker", "broker", b.ID, "epoch", b.Epoch)
		next, err := c.proposeBrokerChanges(ctx, img, []Record{change(BrokerFenceNoChange, 1)}, map[int32]bool{b.ID: false})
		if err != nil {
			return false, false, err
		}
		img = next
	} else if next, err := c.proposeBrokerChanges(ctx, img, nil, nil); err != nil {
		// Finish moving leaderships if an earlier heartbeat was interrupted between batches.
		return false, false, err
	} else {
		img = next
	}
	if leadsAny(img, b.ID) || !c.sessions.shutdownDone(img, b, c.opts.Now()) {
		return false, false, nil
	}
	if _, err := c.log.Propose(ctx, []Record{change(BrokerFence, 0)}); err != nil {
		return false, false, err
	}
	c.logger.Info("controller: controlled shutdown complete, broker fenced", "broker", b.ID, "epoch", b.Epoch)
	return true, true, nil
}

// leadsAny reports whether broker id leads a partition in img.
func leadsAny(img *Image, id int32) bool {
	for _, t := range img.Topics() {
		for i := range t.Partitions {
			if t.Partitions[i].Leader == id {
				return true
			}
		}
	}
	return false
}

// FenceStaleBrokers fences every unfenced broker this controller has not heard from for longer
// than the session timeout (counting from its registration or from this controller's takeover
// when it has not heartbeated since), moving its leaderships and ISR places in as few batches
// as MaxRecordsPerBatch allows, and completes any earlier change that was interrupted between
// batches. The broker package calls it on every node every broker.heartbeat.interval.ms / 2:
// on a node that is not the controller it returns ErrNotController, which is also how the
// controller notices it lost leadership (see brokerSessions). It returns the ids it fenced.
func (c *Controller) FenceStaleBrokers(ctx context.Context) (fenced []int32, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img, err := c.leaderImage(ctx)
	if err != nil {
		return nil, err
	}
	stale := c.sessions.expired(img, c.opts.Now())
	if len(stale) == 0 && img.Offset() == c.mu.scannedAt {
		return nil, nil
	}
	records := make([]Record, 0, len(stale))
	override := make(map[int32]bool, len(stale))
	for _, id := range stale {
		b, _ := img.Broker(id)
		records = append(records, &BrokerRegistrationChangeRecord{BrokerID: id, BrokerEpoch: b.Epoch, Fenced: BrokerFence})
		override[id] = false
		c.logger.Warn("controller: fencing broker: its session expired or its connections closed", "broker", id, "epoch", b.Epoch,
			"session_timeout", c.opts.SessionTimeout, "connection_loss_grace", c.opts.ConnectionLossGrace)
	}
	next, err := c.proposeBrokerChanges(ctx, img, records, override)
	if err != nil {
		return nil, fmt.Errorf("fence brokers %v: %w", stale, err)
	}
	c.mu.scannedAt = next.Offset()
	return stale, nil
}

// leaderImage is Log.LeaderImage that also tells the sessions whether this node is the
// controller.
func (c *Controller) leaderImage(ctx context.Context) (*Image, error) {
	img, err := c.log.LeaderImage(ctx)
	c.sessions.observe(c.opts.Now(), err)
	return img, err
}

// proposeBrokerChanges proposes brokerRecords together with the partition changes they make
// necessary, then any further partition changes, in batches of at most MaxRecordsPerBatch
// records. override gives the activity of the brokers brokerRecords change (true: active), for
// planning the first batch before they apply. It returns the Image after the last batch.
func (c *Controller) proposeBrokerChanges(ctx context.Context, img *Image, brokerRecords []Record, override map[int32]bool) (*Image, error) {
	active := func(id int32) bool {
		if a, ok := override[id]; ok {
			return a
		}
		return isActive(img, id)
	}
	batch := planPartitions(img, active, c.uncleanRule(img), brokerRecords, MaxRecordsPerBatch)
	for len(batch) > 0 {
		next, err := c.log.Propose(ctx, batch)
		if err != nil {
			return nil, err
		}
		img, override = next, nil
		batch = planPartitions(img, active, c.uncleanRule(img), nil, MaxRecordsPerBatch)
	}
	return img, nil
}

// partitionChanges is planPartitions without unclean elections.
func partitionChanges(img *Image, active func(int32) bool, out []Record, limit int) []Record {
	return planPartitions(img, active, nil, out, limit)
}

// planPartitions appends to out (up to limit records in all) the PartitionChangeRecords that
// bring partitions of img in line with their brokers' activity and their topics' configs
// (planPartition). unclean, when not nil, tells whether a topic allows unclean elections.
func planPartitions(img *Image, active func(int32) bool, unclean func(*Topic) bool, out []Record, limit int) []Record {
	for _, t := range img.Topics() {
		for i := range t.Partitions {
			if len(out) >= limit {
				return out
			}
			if rec := planPartition(t, &t.Partitions[i], active, unclean); rec != nil {
				out = append(out, rec)
			}
		}
	}
	return out
}

// planPartition returns the change that brings one partition in line, or nil: inactive brokers
// leave the ISR (never its last member); a partition whose leader is inactive or gone gets the
// first active ISR member in replica order, else — when its topic allows unclean elections —
// the first active replica with an ISR of just itself, else no leader; and a reassignment whose
// target replicas are all in the ISR completes (controller_reassign.go).
func planPartition(t *Topic, p *Partition, active func(int32) bool, unclean func(*Topic) bool) *PartitionChangeRecord {
	isr := shrinkISR(p.ISR, active)
	newISR := isr
	if newISR == nil {
		newISR = p.ISR
	}
	leader := p.Leader
	if leader == -1 || !active(leader) || !slices.Contains(newISR, leader) {
		leader = electLeader(p.Replicas, newISR, active)
		if leader == -1 && unclean != nil && unclean(t) {
			if r := firstActive(p.Replicas, active); r != -1 {
				leader, isr, newISR = r, []int32{r}, []int32{r}
			}
		}
	}
	var replicas, adding, removing []int32
	if p.Reassigning() {
		if target, targetISR, ok := completedReassignment(p.Replicas, newISR, p.RemovingReplicas); ok {
			l := leader
			if l == -1 || !slices.Contains(targetISR, l) {
				l = electLeader(target, targetISR, active)
			}
			// Complete only if that leaves a leader (or there was none anyway): completing must
			// not take a live partition offline.
			if l != -1 || leader == -1 {
				replicas, adding, removing, leader = target, []int32{}, []int32{}, l
				if !slices.Equal(targetISR, p.ISR) {
					isr = targetISR
				} else {
					isr = nil
				}
			}
		}
	}
	if isr == nil && leader == p.Leader && replicas == nil {
		return nil
	}
	rec := &PartitionChangeRecord{TopicID: t.ID, Partition: p.Partition, Leader: NoLeaderChange, ISR: isr,
		Replicas: replicas, AddingReplicas: adding, RemovingReplicas: removing}
	if leader != p.Leader {
		rec.Leader = leader
	}
	return rec
}

// firstActive returns the first active replica in replica order, or -1.
func firstActive(replicas []int32, active func(int32) bool) int32 {
	for _, r := range replicas {
		if active(r) {
			return r
		}
	}
	return -1
}

// shrinkISR returns isr without its inactive members, keeping the last one when none is
// active; nil when nothing changes. It allocates only for a partition that changes.
func shrinkISR(isr []int32, active func(int32) bool) []int32 {
	n := 0
	for _, r := range isr {
		if active(r) {
			n++
		}
	}
	if n == len(isr) || (n == 0 && len(isr) == 1) {
		return nil
	}
	if n == 0 {
		// Kafka removes brokers one at a time and keeps the last: the last of them stays.
		return []int32{isr[len(isr)-1]}
	}
	out := make([]int32, 0, n)
	for _, r := range isr {
		if active(r) {
			out = append(out, r)
		}
	}
	return out
}

// electLeader returns the first replica, in replica order, that is active and in isr, or -1.
func electLeader(replicas, isr []int32, active func(int32) bool) int32 {
	for _, r := range replicas {
		if active(r) && slices.Contains(isr, r) {
			return r
		}
	}
	return -1
}
