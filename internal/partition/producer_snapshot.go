package partition

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/vfs"
)

// Producer state snapshots (docs/format/producer-snapshot.md): Kafka's
// ProducerSnapshot v1 — version, CRC32C of the rest, then one fixed-size
// entry per producer — in <20-digit offset>.snapshot beside the segments.
// The offset is the log end offset the state covers.
const (
	snapshotSuffix      = ".snapshot"
	snapshotVersion     = 1
	snapshotHeaderSize  = 2 + 4 + 4 // version, crc, entry count
	snapshotEntrySize   = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8
	snapshotMaxFileSize = 1 << 30 // ~23 million producers; larger is not a snapshot we wrote
	// snapshotsKept bounds the snapshots in a partition's directory. The
	// newest is the one recovery wants; older ones are a fallback if it
	// turns out corrupt.
	snapshotsKept = 3
)

// snapshotEntry is one producer as a snapshot stores it: only its newest
// batch is kept, which is all sequence checks need after a restart.
type snapshotEntry struct {
	ProducerID            int64
	Epoch                 int16
	LastSequence          int32
	LastOffset            int64
	OffsetDelta           int32
	Timestamp             int64
	CoordinatorEpoch      int32
	CurrentTxnFirstOffset int64
}

func snapshotFileName(offset int64) string { return fmt.Sprintf("%020d%s", offset, snapshotSuffix) }

// parseSnapshotFileName returns the offset of a snapshot file name.
func parseSnapshotFileName(name string) (int64, bool) {
	digits, ok := strings.CutSuffix(name, snapshotSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	off, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || off < 0 {
		return 0, false
	}
	return off, true
}

// encodeProducerSnapshot encodes entries (in the order given).
func encodeProducerSnapshot(entries []snapshotEntry) []byte {
	b := make([]byte, snapshotHeaderSize+len(entries)*snapshotEntrySize)
	binary.BigEndian.PutUint16(b, snapshotVersion)
	binary.BigEndian.PutUint32(b[6:], uint32(len(entries)))
	pos := snapshotHeaderSize
	for _, e := range entries {
		be := binary.BigEndian
		be.PutUint64(b[pos:], uint64(e.ProducerID))
		be.PutUint16(b[pos+8:], uint16(e.Epoch))
		be.PutUint32(b[pos+10:], uint32(e.LastSequence))
		be.PutUint64(b[pos+14:], uint64(e.LastOffset))
		be.PutUint32(b[pos+22:], uint32(e.OffsetDelta))
		be.PutUint64(b[pos+26:], uint64(e.Timestamp))
		be.PutUint32(b[pos+34:], uint32(e.CoordinatorEpoch))
		be.PutUint64(b[pos+38:], uint64(e.CurrentTxnFirstOffset))
		pos += snapshotEntrySize
	}
	binary.BigEndian.PutUint32(b[2:], crc32c(b[6:]))
	return b
}

// decodeProducerSnapshot decodes and checks a snapshot: version, CRC, the
// entry count against the size, and each entry's fields. Any failure is
// ErrCorruptSnapshot.
func decodeProducerSnapshot(b []byte) ([]snapshotEntry, error) {
	if len(b) < snapshotHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, header needs %d", ErrCorruptSnapshot, len(b), snapshotHeaderSize)
	}
	if v := int16(binary.BigEndian.Uint16(b)); v != snapshotVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrCorruptSnapshot, v, snapshotVersion)
	}
	if want, got := binary.BigEndian.Uint32(b[2:]), crc32c(b[6:]); want != got {
		return nil, fmt.Errorf("%w: crc %08x, computed %08x", ErrCorruptSnapshot, want, got)
	}
	n := int64(int32(binary.BigEndian.Uint32(b[6:])))
	if n < 0 || int64(len(b)) != snapshotHeaderSize+n*snapshotEntrySize {
		return nil, fmt.Errorf("%w: %d entries in %d bytes", ErrCorruptSnapshot, n, len(b))
	}
	out := make([]snapshotEntry, n)
	seen := make(map[int64]struct{}, n)
	for i := range out {
		p := b[snapshotHeaderSize+i*snapshotEntrySize:]
		be := binary.BigEndian
		e := snapshotEntry{
			ProducerID: int64(be.Uint64(p)), Epoch: int16(be.Uint16(p[8:])), LastSequence: int32(be.Uint32(p[10:])),
			LastOffset: int64(be.Uint64(p[14:])), OffsetDelta: int32(be.Uint32(p[22:])), Timestamp: int64(be.Uint64(p[26:])),
			CoordinatorEpoch: int32(be.Uint32(p[34:])), CurrentTxnFirstOffset: int64(be.Uint64(p[38:])),
		}
		if err := e.check(); err != nil {
			return nil, fmt.Errorf("%w: entry %d: %w", ErrCorruptSnapshot, i, err)
		}
		if _, dup := seen[e.ProducerID]; dup {
			return nil, fmt.Errorf("%w: producer %d twice", ErrCorruptSnapshot, e.ProducerID)
		}
		seen[e.ProducerID] = struct{}{}
		out[i] = e
	}
	return out, nil
}

func (e snapshotEntry) check() error {
	switch {
	case e.ProducerID < 0:
		return fmt.Errorf("producer id %d", e.ProducerID)
	case e.CurrentTxnFirstOffset < -1:
		return fmt.Errorf("transaction first offset %d", e.CurrentTxnFirstOffset)
	case e.LastOffset < -1 || e.OffsetDelta < 0 || (e.LastOffset >= 0 && int64(e.OffsetDelta) > e.LastOffset):
		return fmt.Errorf("last offset %d, offset delta %d", e.LastOffset, e.OffsetDelta)
	case e.LastOffset >= 0 && e.LastSequence < 0:
		return fmt.Errorf("last sequence %d with last offset %d", e.LastSequence, e.LastOffset)
	}
	return nil
}

// snapshotEntries converts the table, ordered by producer id.
func (s *producerStates) snapshotEntries() []snapshotEntry {
	out := make([]snapshotEntry, 0, len(s.entries))
	for _, e := range s.entries {
		se := snapshotEntry{ProducerID: e.producerID, Epoch: e.epoch, LastSequence: -1, LastOffset: -1,
			Timestamp: e.lastTimestamp, CoordinatorEpoch: e.coordinatorEpoch, CurrentTxnFirstOffset: e.currentTxnFirstOffset}
		if e.numBatches > 0 {
			b := e.batches[e.numBatches-1]
			se.LastSequence, se.LastOffset, se.OffsetDelta = b.lastSeq, b.lastOffset, b.offsetDelta
		}
		out = append(out, se)
	}
	slices.SortFunc(out, func(a, b snapshotEntry) int { return cmp.Compare(a.ProducerID, b.ProducerID) })
	return out
}

// load replaces the table with a snapshot's entries, skipping producers
// expired at nowMs (as Kafka does).
func (s *producerStates) load(entries []snapshotEntry, nowMs int64) {
	clear(s.entries)
	for _, se := range entries {
		e := newProducerEntry(se.ProducerID)
		e.epoch, e.coordinatorEpoch, e.currentTxnFirstOffset, e.lastTimestamp = se.Epoch, se.CoordinatorEpoch, se.CurrentTxnFirstOffset, se.Timestamp
		if se.LastOffset >= 0 {
			e.batches[0] = batchMetadata{lastSeq: se.LastSequence, lastOffset: se.LastOffset, offsetDelta: se.OffsetDelta, timestamp: se.Timestamp}
			e.numBatches = 1
		}
		if s.expired(&e, nowMs) {
			continue
		}
		s.entries[e.producerID] = &e
	}
}

// listSnapshots returns the offsets of the snapshots in dir, ascending.
func listSnapshots(fsys vfs.FS, dir string) ([]int64, error) {
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var offs []int64
	for _, name := range names {
		if off, ok := parseSnapshotFileName(name); ok {
			offs = append(offs, off)
		}
	}
	slices.Sort(offs)
	return offs, nil
}

// writeSnapshotFile publishes b as dir's snapshot at offset: written to a
// .tmp file (storage removes leftovers at open), fsynced, renamed, and the
// directory fsynced.
func writeSnapshotFile(fsys vfs.FS, dir string, offset int64, b []byte) error {
	name := filepath.Join(dir, snapshotFileName(offset))
	tmp := name + ".tmp"
	f, err := fsys.Create(tmp)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = fsys.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := fsys.Rename(tmp, name); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// readSnapshotFile reads a whole snapshot file, refusing sizes no snapshot
// of ours has.
func readSnapshotFile(fsys vfs.FS, dir string, offset int64) ([]byte, error) {
	name := filepath.Join(dir, snapshotFileName(offset))
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("size of %s: %w", name, err)
	}
	if size > snapshotMaxFileSize {
		return nil, fmt.Errorf("%s: %w: %d bytes", name, ErrCorruptSnapshot, size)
	}
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); n < len(b) {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b, nil
}

// removeSnapshot deletes one snapshot file; a file already gone is fine.
func removeSnapshot(fsys vfs.FS, dir string, offset int64) error {
	name := filepath.Join(dir, snapshotFileName(offset))
	if err := fsys.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// TakeSnapshot writes the producer state at the log end offset, unless a
// snapshot there exists already, and prunes old snapshots. The Manager
// calls it on Close; appends call it after the log rolls a segment.
func (p *Partition) TakeSnapshot() error {
	p.producers.Lock()
	defer p.producers.Unlock()
	return p.takeSnapshotLocked()
}

func (p *Partition) takeSnapshotLocked() error {
	states := &p.producers.states
	offset := p.log.LogEndOffset()
	if offset == states.snapshotOffset {
		return nil
	}
	fsys, dir := p.log.FS(), p.log.Dir()
	if err := writeSnapshotFile(fsys, dir, offset, encodeProducerSnapshot(states.snapshotEntries())); err != nil {
		return fmt.Errorf("%s-%d: producer snapshot at %d: %w", p.topic, p.index, offset, err)
	}
	states.snapshotOffset = offset
	if err := p.pruneSnapshots(); err != nil {
		return fmt.Errorf("%s-%d: %w", p.topic, p.index, err)
	}
	return nil
}

// pruneSnapshots keeps the newest snapshotsKept snapshots and drops older
// ones below the log start offset, whose records are gone; the newest is
// always kept, whatever its offset.
func (p *Partition) pruneSnapshots() error {
	fsys, dir := p.log.FS(), p.log.Dir()
	offs, err := listSnapshots(fsys, dir)
	if err != nil || len(offs) == 0 {
		return err
	}
	logStart := p.log.LogStartOffset()
	for i, off := range offs[:len(offs)-1] {
		if len(offs)-i > snapshotsKept || off < logStart {
			if err := removeSnapshot(fsys, dir, off); err != nil {
				return err
			}
		}
	}
	return nil
}

// maybeSnapshotAfterRollLocked snapshots when the log gained a segment
// since the last look, as Kafka snapshots on every roll: recovery then
// replays at most about one segment. A failed snapshot is logged, not
// returned: the append it follows is durable, and recovery falls back to an
// older snapshot and a longer replay.
func (p *Partition) maybeSnapshotAfterRollLocked() {
	states := &p.producers.states
	n := p.log.NumSegments()
	rolled := n > states.segments
	states.segments = n
	if !rolled {
		return
	}
	if err := p.takeSnapshotLocked(); err != nil {
		p.logger.Warn("producer state snapshot failed", "err", err)
	}
}
