package storage

import (
	"errors"
	"fmt"
	"io/fs"
)

// LegacyOffsetsBefore answers ListOffsets v0 (removed in Kafka 4, KIP-896) as Kafka 3.9's
// legacyFetchOffsetsBefore did: v0 predates record timestamps, so the candidates are each
// segment's base offset (at least the log start offset) stamped with its .log file's
// modification time, plus, when the active segment holds records, the log end offset stamped
// nowMs. timestamp -1 (latest) starts from the last candidate, -2 (earliest) from the first,
// any other from the last candidate modified at or before it. From there at most maxNum
// offsets are returned going back, newest first; none when no candidate is old enough.
// maxNum must not be negative.
func (l *Log) LegacyOffsetsBefore(timestamp int64, maxNum int32, nowMs int64) ([]int64, error) {
	if err := l.checkUsable(); err != nil {
		return nil, err
	}
	segs := l.segs()
	if len(segs) == 0 {
		return nil, nil
	}
	start := l.logStartOffset.Load()
	type candidate struct{ offset, modifiedMs int64 }
	cands := make([]candidate, 0, len(segs)+1)
	for _, s := range segs {
		modified := int64(0) // a segment deleted meanwhile: Java's File.lastModified is 0 for it
		info, err := l.m.fs.Stat(s.path(kindLog))
		switch {
		case err == nil:
			modified = info.ModTime.UnixMilli()
		case !errors.Is(err, fs.ErrNotExist):
			return nil, l.failRead(fmt.Errorf("stat %s: %w", s.path(kindLog), err))
		}
		cands = append(cands, candidate{max(s.baseOffset, start), modified})
	}
	if segs[len(segs)-1].size.Load() > 0 {
		cands = append(cands, candidate{l.logEndOffset.Load(), nowMs})
	}
	var from int
	switch timestamp {
	case -1:
		from = len(cands) - 1
	case -2:
		from = 0
	default:
		from = len(cands) - 1
		for from >= 0 && cands[from].modifiedMs > timestamp {
			from--
		}
	}
	n := min(int(maxNum), from+1)
	out := make([]int64, 0, n)
	for i := from; len(out) < n; i-- {
		out = append(out, cands[i].offset)
	}
	return out, nil // descending: candidates ascend
}
