package metadata

import (
	"errors"
	"sync"
	"time"
)

// brokerSessions is the active controller's in-memory view of broker liveness (what Kafka's
// BrokerHeartbeatManager keeps). It is deliberately not in the metadata log: liveness is what
// the current controller has seen, and a controller that takes over starts every broker with a
// full session from the moment it took over, so no broker is fenced for heartbeats that went to
// its predecessor.
//
// Takeover is noticed by observe: a call that finds this node the controller after one that
// did not, or after more than a session without any call (this node may have lost and regained
// leadership unseen, say while paused), clears every session.
type brokerSessions struct {
	timeout time.Duration
	// lossGrace, when > 0, fences a broker this long after the last connection it heartbeated
	// on closed, unless it heartbeated again meanwhile (connection-loss fencing: a process that
	// died has its sockets closed by the kernel at once, long before its session runs out).
	lossGrace time.Duration
	// kick is signaled when a broker's connections are all gone and lossGrace has passed:
	// the fence loop checks at once instead of at its next tick.
	kick chan struct{}
	now  func() time.Time // the controller's clock

	mu struct {
		sync.Mutex
		leader    bool      // the last observation found this node the controller
		lastCheck time.Time // when that was
		brokers   map[int32]*session
	}
}

// session is one broker registration's liveness on this controller.
type session struct {
	epoch int64
	// start is when this controller began tracking the registration (registration or takeover);
	// the broker is not fenced before start+timeout even if it never heartbeats.
	start time.Time
	// lastHeartbeat is zero until this controller hears from the registration.
	lastHeartbeat time.Time
	// metadataOffset is the offset the broker last reported having applied, -1 before any.
	metadataOffset int64
	// caughtUpBar is the controller's metadata offset when it processed the previous heartbeat
	// (the registration's offset before any): the next heartbeat is caught up when it reports
	// at least that much.
	caughtUpBar int64
	// conns are the connections this registration heartbeated on that are still open;
	// lostAt is when the last of them closed (zero while one is open or none was seen).
	conns  map[<-chan struct{}]struct{}
	lostAt time.Time
	// shutdownOffset is, for a broker in controlled shutdown, the first Image offset at which it
	// led no partition; -1 before. It may stop once every other active broker has applied it.
	shutdownOffset int64
}

// observe records the outcome of a LeaderImage call at now.
func (s *brokerSessions) observe(now time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		if !s.mu.leader || now.Sub(s.mu.lastCheck) > s.timeout {
			s.mu.brokers = map[int32]*session{}
		}
		s.mu.leader, s.mu.lastCheck = true, now
	case errors.Is(err, ErrNotController):
		s.mu.leader = false
	}
}

// getLocked returns the session of b's current registration, starting one at now if this
// controller has none for it.
func (s *brokerSessions) getLocked(b *Broker, now time.Time) *session {
	if s.mu.brokers == nil {
		s.mu.brokers = map[int32]*session{}
	}
	sess := s.mu.brokers[b.ID]
	if sess == nil || sess.epoch != b.Epoch {
		sess = &session{epoch: b.Epoch, start: now, metadataOffset: -1, caughtUpBar: b.Epoch, shutdownOffset: -1}
		s.mu.brokers[b.ID] = sess
	}
	return sess
}

// registered starts a fresh session for a new registration.
func (s *brokerSessions) registered(b *Broker, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mu.brokers, b.ID)
	s.getLocked(b, now)
}

// heartbeat records a heartbeat of b's current registration reporting metadataOffset, processed
// when the controller's Image is at controllerOffset. It reports whether the broker is caught
// up: metadataOffset reaches what the controller had when it processed the broker's previous
// heartbeat (Kafka's rule), so a broker heartbeating every interval is caught up when it lags
// by no more than one interval's worth of records.
func (s *brokerSessions) heartbeat(b *Broker, metadataOffset, controllerOffset int64, now time.Time, conn <-chan struct{}) (caughtUp bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.getLocked(b, now)
	if conn != nil && s.lossGrace > 0 {
		if _, ok := sess.conns[conn]; !ok {
			if sess.conns == nil {
				sess.conns = make(map[<-chan struct{}]struct{})
			}
			sess.conns[conn] = struct{}{}
			go s.watch(b.ID, sess, conn)
		}
	}
	caughtUp = metadataOffset >= sess.caughtUpBar
	sess.caughtUpBar = max(controllerOffset, b.Epoch)
	sess.lastHeartbeat = now
	sess.metadataOffset = max(sess.metadataOffset, metadataOffset)
	return caughtUp
}

// watch waits for a heartbeat connection of sess to close; when it was the registration's last
// open one, the broker is fenced lossGrace later unless it heartbeats again first.
func (s *brokerSessions) watch(id int32, sess *session, conn <-chan struct{}) {
	<-conn
	s.mu.Lock()
	delete(sess.conns, conn)
	lost := len(sess.conns) == 0 && s.mu.brokers[id] == sess
	if lost {
		sess.lostAt = s.now()
	}
	s.mu.Unlock()
	if lost {
		time.AfterFunc(s.lossGrace, func() {
			select {
			case s.kick <- struct{}{}:
			default:
			}
		})
	}
}

// liveElsewhere reports whether b's registration has heartbeated to this controller within the
// session timeout: then a registration of its id by another incarnation is a duplicate. Only
// heartbeats seen here count, not the grace a takeover gives, so that a node restarted with a
// new controller (a single node, say) re-registers at once instead of waiting out a session.
func (s *brokerSessions) liveElsewhere(b *Broker, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.mu.brokers[b.ID]
	return sess != nil && sess.epoch == b.Epoch && !sess.lastHeartbeat.IsZero() && now.Sub(sess.lastHeartbeat) <= s.timeout
}

// expired returns the ids of unfenced brokers of img whose session has run out at now, or whose
// heartbeat connections all closed at least lossGrace ago with no heartbeat since.
func (s *brokerSessions) expired(img *Image, now time.Time) []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int32
	for _, b := range img.Brokers() {
		if b.Fenced {
			continue
		}
		sess := s.getLocked(b, now)
		last := sess.start
		if sess.lastHeartbeat.After(last) {
			last = sess.lastHeartbeat
		}
		lost := s.lossGrace > 0 && !sess.lostAt.IsZero() && !sess.lastHeartbeat.After(sess.lostAt) &&
			now.Sub(sess.lostAt) >= s.lossGrace
		if now.Sub(last) > s.timeout || lost {
			ids = append(ids, b.ID)
		}
	}
	return ids
}

// shutdownDone reports whether broker b, in controlled shutdown and leading no partition in img,
// may stop: every other active broker has reported applying the first Image in which b led
// nothing, so none of them still sends clients to b.
func (s *brokerSessions) shutdownDone(img *Image, b *Broker, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.getLocked(b, now)
	if sess.shutdownOffset < 0 {
		sess.shutdownOffset = img.Offset()
	}
	for _, other := range img.Brokers() {
		if other.ID == b.ID || !other.Active() {
			continue
		}
		if o := s.getLocked(other, now); o.metadataOffset < sess.shutdownOffset {
			return false
		}
	}
	return true
}
