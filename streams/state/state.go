package state

import (
	"errors"
	"math"
)

// ChangeLogger receives every mutation of a store as the record the store's changelog topic
// gets: the key in the store's changelog layout (see the package doc) and the value, nil for a
// delete. Log is called synchronously, in mutation order; the slices are valid only during the
// call (copy them to keep them).
type ChangeLogger interface {
	Log(key, value []byte)
}

// Record is one changelog record, as RestoreBatch applies it: Key in the store's changelog
// layout, Value nil for a tombstone.
type Record struct {
	Key, Value []byte
}

// Restorer applies changelog records to a store without logging them again.
type Restorer interface {
	// RestoreBatch applies recs in order (a nil Value deletes). The Pebble stores apply one
	// call in one Pebble batch. A key that does not parse in the store's changelog layout is
	// an error (ErrCorruptKey) and nothing of the call is applied.
	RestoreBatch(recs []Record) error
}

// KeyValueStore is a key-value store ordered by the bytes of its keys.
type KeyValueStore interface {
	Name() string
	// Get returns a copy of the value of key, nil (and no error) when absent.
	Get(key []byte) ([]byte, error)
	// Put sets key to value; a nil value deletes key.
	Put(key, value []byte) error
	Delete(key []byte) error
	// Range calls fn for each entry with from <= key < to in ascending key order; nil from or
	// to is unbounded. fn's slices are valid only during the call. Returning false stops.
	Range(from, to []byte, fn func(key, value []byte) bool) error
	// ReverseRange is Range in descending key order.
	ReverseRange(from, to []byte, fn func(key, value []byte) bool) error
	// ApproximateEntries counts the entries (exactly, by a scan, in both implementations).
	ApproximateEntries() (int64, error)
	Restorer
	// Flush makes every mutation so far durable (Pebble: syncs the write-ahead log, shared by
	// every store of the DB); a no-op in memory.
	Flush() error
	Close() error
}

// WindowStore holds values per (key, window start) for fixed-size windows. Times are
// milliseconds.
type WindowStore interface {
	Name() string
	// Put stores value for key in the window starting at windowStart. A nil value deletes the
	// window (with RetainDuplicates a nil value is ignored, as in Kafka Streams). A window
	// already expired (see the package doc) is not stored. With RetainDuplicates each Put adds
	// an entry under a new sequence number instead of replacing.
	Put(key []byte, windowStart int64, value []byte) error
	// Fetch returns a copy of the value of key's window starting at windowStart, nil when
	// absent or expired (with RetainDuplicates: the entry with the lowest sequence number).
	Fetch(key []byte, windowStart int64) ([]byte, error)
	// FetchRange calls fn for key's windows with fromStart <= start <= toStart, in start order
	// (duplicates in sequence order).
	FetchRange(key []byte, fromStart, toStart int64, fn func(windowStart int64, value []byte) bool) error
	// FetchAll calls fn for every key's windows with fromStart <= start <= toStart, ordered by
	// start, then key, then sequence number.
	FetchAll(fromStart, toStart int64, fn func(key []byte, windowStart int64, value []byte) bool) error
	// ObservedStreamTime is the largest window start put or restored (math.MinInt64 before any).
	ObservedStreamTime() int64
	Restorer
	Flush() error
	Close() error
}

// SessionStore holds values per (key, session start, session end). Times are milliseconds.
type SessionStore interface {
	Name() string
	// Put stores value for the session [start, end] of key (end >= start); nil deletes. A
	// session whose end is already expired is not stored.
	Put(key []byte, start, end int64, value []byte) error
	Remove(key []byte, start, end int64) error
	// FindSessions calls fn for key's sessions with end >= earliestSessionEnd and
	// start <= latestSessionStart (the sessions a record at t merges with, for an
	// inactivity gap g: earliestSessionEnd = t-g, latestSessionStart = t+g), ordered by end,
	// then start.
	FindSessions(key []byte, earliestSessionEnd, latestSessionStart int64, fn func(start, end int64, value []byte) bool) error
	// Fetch calls fn for every live session of key, ordered by end, then start.
	Fetch(key []byte, fn func(start, end int64, value []byte) bool) error
	// FetchAll calls fn for every key's sessions with earliestEnd <= end <= latestEnd, ordered
	// by end, then key, then start (what emitting closed sessions needs).
	FetchAll(earliestEnd, latestEnd int64, fn func(key []byte, start, end int64, value []byte) bool) error
	// ObservedStreamTime is the largest session end put or restored (math.MinInt64 before any).
	ObservedStreamTime() int64
	Restorer
	Flush() error
	Close() error
}

// WindowOptions configure a window store.
type WindowOptions struct {
	// Retention (ms): windows whose start is <= ObservedStreamTime - Retention are expired:
	// invisible at once and dropped with their segment. Must be > 0.
	Retention int64
	// SegmentInterval (ms); 0 picks Kafka Streams' default max(Retention/2, 60000).
	SegmentInterval int64
	// RetainDuplicates keeps every Put (Kafka Streams' stream-stream join windows): entries are
	// told apart by a 4-byte sequence number, part of the changelog key.
	RetainDuplicates bool
	// Logger, if not nil, receives every mutation (not restores, not segment drops).
	Logger ChangeLogger
}

// SessionOptions configure a session store.
type SessionOptions struct {
	// Retention (ms): sessions whose end is <= ObservedStreamTime - Retention are expired.
	Retention int64
	// SegmentInterval (ms); 0 picks max(Retention/2, 60000).
	SegmentInterval int64
	Logger          ChangeLogger
}

// DefaultSegmentInterval is Kafka Streams' choice of segment interval for a retention period.
func DefaultSegmentInterval(retention int64) int64 {
	return max(retention/2, 60000)
}

var (
	// ErrCorruptKey: bytes that do not parse as the expected key layout.
	ErrCorruptKey = errors.New("state: corrupt windowed or session key")
	// ErrClosed: the store or DB was closed.
	ErrClosed = errors.New("state: closed")
	// ErrInvalid: an invalid argument (e.g. a session whose end precedes its start, retention <= 0).
	ErrInvalid = errors.New("state: invalid argument")
	// ErrStoreOpen: the DB already has an open store of that name, or Wipe with stores open.
	ErrStoreOpen = errors.New("state: store already open")
)

func (o *WindowOptions) normalize() error {
	if o.Retention <= 0 || o.SegmentInterval < 0 {
		return ErrInvalid
	}
	if o.SegmentInterval == 0 {
		o.SegmentInterval = DefaultSegmentInterval(o.Retention)
	}
	return nil
}

func (o *SessionOptions) normalize() error {
	w := WindowOptions{Retention: o.Retention, SegmentInterval: o.SegmentInterval}
	if err := w.normalize(); err != nil {
		return err
	}
	o.SegmentInterval = w.SegmentInterval
	return nil
}

// minLive is the smallest live time for stream time st: Kafka Streams'
// observedStreamTime - retentionPeriod + 1, saturating.
func minLive(st, retention int64) int64 {
	if st == math.MinInt64 {
		return math.MinInt64
	}
	if st < math.MinInt64+retention {
		return math.MinInt64
	}
	return st - retention + 1
}

// segmentOf is floor(t / interval).
func segmentOf(t, interval int64) int64 {
	s := t / interval
	if t%interval != 0 && t < 0 {
		s--
	}
	return s
}
