package api

import (
	"container/list"
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch session constants (KIP-227).
const (
	// DefaultFetchSessionSlots is Kafka's max.incremental.fetch.session.cache.slots.
	DefaultFetchSessionSlots = 1000
	// fetchSessionEvictableAfter is how long a session must sit unused
	// before a new session may evict it (Kafka's min eviction time).
	fetchSessionEvictableAfter = 2 * time.Minute

	initialSessionEpoch int32 = 0
	finalSessionEpoch   int32 = -1
)

// FetchSessions is the broker's cache of incremental fetch sessions
// (KIP-227), bounded in number. When full, a new session may evict only the
// least recently used one, and only if it sat unused for two minutes;
// otherwise the client is answered without a session (session id 0) and
// keeps sending full fetches.
//
// Concurrency: mu guards the map and the recency list; each session's own
// mutex guards its partitions while a fetch applies its request or builds
// its response. Lock order: FetchSessions.mu, then fetchSession.mu.
type FetchSessions struct {
	slots int
	now   func() time.Time
	mu    struct {
		sync.Mutex
		sessions map[int32]*list.Element // of *fetchSession
		recency  *list.List              // front: most recently used
	}
}

// NewFetchSessions returns a cache of at most slots sessions; slots <= 0
// disables sessions (every fetch is sessionless).
func NewFetchSessions(slots int) *FetchSessions {
	s := &FetchSessions{slots: slots, now: time.Now}
	s.mu.sessions = make(map[int32]*list.Element)
	s.mu.recency = list.New()
	return s
}

// Len is the number of cached sessions.
func (s *FetchSessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mu.sessions)
}

// sessionKey identifies a partition in a session: by topic id for sessions
// created at v13+, by name before.
type sessionKey struct {
	topicID   [16]byte
	topic     string
	partition int32
}

// sessionPartition is a partition's fetch parameters as the session holds
// them, and what was last sent for it.
type sessionPartition struct {
	key                sessionKey
	fetchOffset        int64
	maxBytes           int32
	currentLeaderEpoch int32
	lastFetchedEpoch   int32
	logStartOffset     int64 // the fetcher's own log start offset (v5+; -1 if not given)
	// Last values sent, which decide whether an incremental response must
	// include the partition.
	sentHighWatermark    int64
	sentLastStableOffset int64
	sentLogStartOffset   int64
}

// fetchSession is one client's session.
type fetchSession struct {
	id        int32
	topicIDs  bool // keyed by topic id (created at v13+)
	mu        sync.Mutex
	epoch     int32 // the epoch the next request must carry
	order     []*sessionPartition
	byKey     map[sessionKey]*sessionPartition
	lastUsed  time.Time
	listEntry *list.Element
}

// nextSessionEpoch follows Kafka: epochs count up from 1 and wrap to 1.
func nextSessionEpoch(e int32) int32 {
	if e == 1<<31-1 {
		return 1
	}
	return e + 1
}

// newSessionPartition builds a session entry from a requested partition.
func newSessionPartition(key sessionKey, rp *kmsg.FetchRequestTopicPartition) *sessionPartition {
	sp := &sessionPartition{key: key, sentHighWatermark: -1, sentLastStableOffset: -1, sentLogStartOffset: -1}
	sp.update(rp)
	return sp
}

func (sp *sessionPartition) update(rp *kmsg.FetchRequestTopicPartition) {
	sp.fetchOffset, sp.maxBytes = rp.FetchOffset, rp.PartitionMaxBytes
	sp.currentLeaderEpoch, sp.lastFetchedEpoch = rp.CurrentLeaderEpoch, rp.LastFetchedEpoch
	sp.logStartOffset = rp.LogStartOffset
}

// create caches a new session holding partitions, returning its id, or 0
// when the cache has no room.
func (s *FetchSessions) create(partitions []*sessionPartition, topicIDs bool) *fetchSession {
	if s.slots <= 0 {
		return nil
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.mu.sessions) >= s.slots {
		oldest := s.mu.recency.Back()
		if oldest == nil || now.Sub(oldest.Value.(*fetchSession).lastUsed) < fetchSessionEvictableAfter {
			return nil
		}
		s.removeLocked(oldest.Value.(*fetchSession))
	}
	fs := &fetchSession{id: s.newIDLocked(), topicIDs: topicIDs, epoch: nextSessionEpoch(initialSessionEpoch),
		byKey: make(map[sessionKey]*sessionPartition, len(partitions)), lastUsed: now}
	for _, sp := range partitions {
		if _, dup := fs.byKey[sp.key]; !dup {
			fs.byKey[sp.key] = sp
			fs.order = append(fs.order, sp)
		}
	}
	fs.listEntry = s.mu.recency.PushFront(fs)
	s.mu.sessions[fs.id] = fs.listEntry
	return fs
}

// newIDLocked picks a random positive id not in use.
func (s *FetchSessions) newIDLocked() int32 {
	var b [4]byte
	for {
		rand.Read(b[:])
		id := int32(binary.BigEndian.Uint32(b[:]) & 0x7fffffff)
		if _, used := s.mu.sessions[id]; id != 0 && !used {
			return id
		}
	}
}

// remove drops a session; unknown ids are ignored.
func (s *FetchSessions) remove(id int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.mu.sessions[id]; ok {
		s.removeLocked(e.Value.(*fetchSession))
	}
}

func (s *FetchSessions) removeLocked(fs *fetchSession) {
	delete(s.mu.sessions, fs.id)
	s.mu.recency.Remove(fs.listEntry)
}

// incremental applies an incremental fetch request to its session: it
// checks the id and epoch, adds or updates the requested partitions, drops
// the forgotten ones and advances the epoch. It returns the session, or nil
// and the top-level error code. A session left empty is closed (nil, 0).
func (s *FetchSessions) incremental(r *kmsg.FetchRequest, keyOf func(kmsg.FetchRequestTopic) sessionKey) (*fetchSession, int16) {
	s.mu.Lock()
	e, ok := s.mu.sessions[r.SessionID]
	if !ok {
		s.mu.Unlock()
		return nil, kerr.FetchSessionIDNotFound.Code
	}
	fs := e.Value.(*fetchSession)
	fs.mu.Lock()
	switch {
	case fs.epoch != r.SessionEpoch:
		fs.mu.Unlock()
		s.mu.Unlock()
		return nil, kerr.InvalidFetchSessionEpoch.Code
	case fs.topicIDs != (r.Version >= 13):
		fs.mu.Unlock()
		s.mu.Unlock()
		return nil, kerr.FetchSessionTopicIDError.Code
	}
	fs.lastUsed = s.now()
	s.mu.recency.MoveToFront(fs.listEntry)
	s.mu.Unlock()
	empty := fs.applyLocked(r, keyOf)
	fs.mu.Unlock()
	if empty {
		s.remove(fs.id)
		return nil, 0
	}
	return fs, 0
}

// applyLocked adds or updates the requested partitions, drops the
// forgotten ones and advances the epoch; it reports whether the session is
// left empty.
func (fs *fetchSession) applyLocked(r *kmsg.FetchRequest, keyOf func(kmsg.FetchRequestTopic) sessionKey) bool {
	for _, rt := range r.Topics {
		base := keyOf(rt)
		for i := range rt.Partitions {
			rp := &rt.Partitions[i]
			k := base
			k.partition = rp.Partition
			if sp, ok := fs.byKey[k]; ok {
				sp.update(rp)
				continue
			}
			sp := newSessionPartition(k, rp)
			fs.byKey[k] = sp
			fs.order = append(fs.order, sp)
		}
	}
	for _, ft := range r.ForgottenTopics {
		base := keyOf(kmsg.FetchRequestTopic{Topic: ft.Topic, TopicID: ft.TopicID})
		for _, p := range ft.Partitions {
			k := base
			k.partition = p
			if _, ok := fs.byKey[k]; ok {
				delete(fs.byKey, k)
				fs.order = removePartition(fs.order, k)
			}
		}
	}
	fs.epoch = nextSessionEpoch(fs.epoch)
	return len(fs.order) == 0
}

func removePartition(order []*sessionPartition, k sessionKey) []*sessionPartition {
	for i, sp := range order {
		if sp.key == k {
			return append(order[:i], order[i+1:]...)
		}
	}
	return order
}
