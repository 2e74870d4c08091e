package storage

import (
	"crypto/md5"
	"encoding/binary"
)

// offsetMap maps record keys to the offset of their latest record in the dirty part of a log
// (Kafka's SkimpyOffsetMap): an open-addressing table of 24-byte slots holding the key's MD5
// (16 bytes) and the offset. Keys are never stored, so the table's memory is fixed by
// log.cleaner.dedupe.buffer.size however large the keys are; two keys whose MD5s collide would
// be taken for one (the older one's records dropped), a chance Kafka accepts too.
//
// Not safe for concurrent use: each cleaner goroutine owns one.
type offsetMap struct {
	slots   []byte // len = capacity * offsetMapSlot; a slot with offset 0 and zero hash is empty
	used    []bool
	cap     int
	entries int
	latest  int64 // largest offset put (the last offset of the last batch mapped), -1 if none
}

const (
	offsetMapSlot = 24
	// offsetMapLoad is the fraction of slots the cleaner fills before it stops mapping (Kafka's
	// log.cleaner.io.buffer.load.factor default).
	offsetMapLoad = 0.9
)

// newOffsetMap makes a map of at most maxBytes of slots, no larger than needed for maxKeys.
func newOffsetMap(maxBytes int64, maxKeys int64) *offsetMap {
	slots := maxBytes / offsetMapSlot
	if want := int64(float64(maxKeys)/offsetMapLoad) + 1; want < slots {
		slots = want
	}
	slots = max(slots, 16)
	return &offsetMap{slots: make([]byte, slots*offsetMapSlot), used: make([]bool, slots), cap: int(slots), latest: -1}
}

// fits reports whether the map is large enough to be reused for a clean that newOffsetMap
// would size with maxBytes and maxKeys.
func (m *offsetMap) fits(maxBytes, maxKeys int64) bool {
	want := min(maxBytes/offsetMapSlot, int64(float64(maxKeys)/offsetMapLoad)+1)
	return int64(m.cap) >= want
}

// reset empties the map for reuse.
func (m *offsetMap) reset() {
	clear(m.used)
	m.entries = 0
	m.latest = -1
}

// full reports whether n more keys could push the map past its load factor.
func (m *offsetMap) full(n int) bool {
	return float64(m.entries+n) > float64(m.cap)*offsetMapLoad
}

// put records offset as key's latest (offsets are put in increasing order).
func (m *offsetMap) put(key []byte, offset int64) {
	h := md5.Sum(key)
	i := m.probe(&h)
	s := m.slots[i*offsetMapSlot:]
	if !m.used[i] {
		m.used[i] = true
		m.entries++
		copy(s[:16], h[:])
	}
	binary.BigEndian.PutUint64(s[16:], uint64(offset))
}

// get returns key's latest offset, or -1 if the key is not in the map.
func (m *offsetMap) get(key []byte) int64 {
	h := md5.Sum(key)
	i := m.probe(&h)
	if !m.used[i] {
		return -1
	}
	return int64(binary.BigEndian.Uint64(m.slots[i*offsetMapSlot+16:]))
}

// probe returns the slot holding h, or the empty slot where it belongs (linear probing; the
// load factor keeps an empty slot reachable).
func (m *offsetMap) probe(h *[16]byte) int {
	i := int(binary.BigEndian.Uint64(h[:8]) % uint64(m.cap))
	for {
		if !m.used[i] {
			return i
		}
		if string(m.slots[i*offsetMapSlot:i*offsetMapSlot+16]) == string(h[:]) {
			return i
		}
		i++
		if i == m.cap {
			i = 0
		}
	}
}
