package api

import (
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Share session epochs (KIP-932): 0 opens a session, -1 closes it, others are incremental.
const (
	shareInitialEpoch int32 = 0
	shareFinalEpoch   int32 = -1
)

// DefaultMaxShareSessions is group.share.max.share.sessions' default.
const DefaultMaxShareSessions = 2000

// sharePartitionKey names one topic partition of a share session.
type sharePartitionKey struct {
	topicID   [16]byte
	partition int32
}

// shareSessionKey names a share session: one per member of a share group on a broker.
type shareSessionKey struct {
	group, member string
}

// shareSession is one member's share session on this broker (KIP-932's ShareSession): the
// partitions it fetches and the epoch its next request must carry.
type shareSession struct {
	key shareSessionKey
	// Guarded by ShareSessions.mu.
	nextEpoch int32
	parts     []sharePartitionKey
	// fresh are partitions added since the last response: they are answered once even
	// with nothing to say, as Kafka's requiresUpdateInResponse.
	fresh []sharePartitionKey
	// closed is closed when the session leaves the cache.
	closed chan struct{}
}

// ShareSessions is the broker's share session cache, bounded by
// group.share.max.share.sessions. Safe for concurrent use.
type ShareSessions struct {
	max int
	mu  sync.Mutex
	// byKey is guarded by mu.
	byKey map[shareSessionKey]*shareSession
}

// NewShareSessions returns a cache holding at most max sessions.
func NewShareSessions(max int) *ShareSessions {
	return &ShareSessions{max: max, byKey: map[shareSessionKey]*shareSession{}}
}

// Len is the number of sessions held.
func (c *ShareSessions) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey)
}

// open replaces key's session by a new one of parts (epoch 0); SHARE_SESSION_LIMIT_REACHED
// when the cache is full.
func (c *ShareSessions) open(key shareSessionKey, parts []sharePartitionKey) (*shareSession, int16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.byKey[key]; ok {
		delete(c.byKey, key)
		close(old.closed)
	}
	if len(c.byKey) >= c.max {
		return nil, kerr.ShareSessionLimitReached.Code
	}
	s := &shareSession{key: key, nextEpoch: 1, closed: make(chan struct{})}
	for _, p := range parts {
		if !slices.Contains(s.parts, p) {
			s.parts = append(s.parts, p)
		}
	}
	s.fresh = slices.Clone(s.parts)
	c.byKey[key] = s
	return s, 0
}

// next checks an incremental request's epoch against key's session and moves it on,
// adding and forgetting partitions; SHARE_SESSION_NOT_FOUND or INVALID_SHARE_SESSION_EPOCH.
func (c *ShareSessions) next(key shareSessionKey, epoch int32, add, forget []sharePartitionKey) (*shareSession, int16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.byKey[key]
	if !ok {
		return nil, kerr.ShareSessionNotFound.Code
	}
	if epoch != s.nextEpoch {
		return nil, kerr.InvalidShareSessionEpoch.Code
	}
	s.nextEpoch = nextShareEpoch(epoch)
	for _, p := range add {
		if !slices.Contains(s.parts, p) {
			s.parts = append(s.parts, p)
			s.fresh = append(s.fresh, p)
		}
	}
	for _, p := range forget {
		s.parts = slices.DeleteFunc(s.parts, func(x sharePartitionKey) bool { return x == p })
		s.fresh = slices.DeleteFunc(s.fresh, func(x sharePartitionKey) bool { return x == p })
	}
	return s, 0
}

// remove closes key's session and returns it; SHARE_SESSION_NOT_FOUND without one.
func (c *ShareSessions) remove(key shareSessionKey) (*shareSession, int16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.byKey[key]
	if !ok {
		return nil, kerr.ShareSessionNotFound.Code
	}
	delete(c.byKey, key)
	close(s.closed)
	return s, 0
}

// removeIf removes s if it is still key's session (the connection that opened it closed).
func (c *ShareSessions) removeIf(s *shareSession) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey[s.key] != s {
		return false
	}
	delete(c.byKey, s.key)
	close(s.closed)
	return true
}

// partitions returns the session's partitions, rotated by the epoch so that the record
// budget of successive fetches goes to each partition first in turn, and takes its fresh
// partitions.
func (c *ShareSessions) partitions(s *shareSession) (parts, fresh []sharePartitionKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(s.parts)
	parts = make([]sharePartitionKey, 0, n)
	start := 0
	if n > 0 {
		start = int(s.nextEpoch) % n
	}
	for i := range n {
		parts = append(parts, s.parts[(start+i)%n])
	}
	fresh, s.fresh = s.fresh, nil
	return parts, fresh
}

func nextShareEpoch(e int32) int32 {
	if e == 1<<31-1 {
		return 1
	}
	return e + 1
}
