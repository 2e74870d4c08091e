package storage

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/vfs"
)

// ErrCorruptCheckpoint: a checkpoint or metadata file does not parse.
var ErrCorruptCheckpoint = errors.New("storage: corrupt checkpoint file")

// maxCheckpointFileSize bounds what we read of a text checkpoint: a data directory with a
// million partitions stays well below it.
const maxCheckpointFileSize = 256 << 20

// publishFile writes data to name atomically: tmp file, fsync, rename, fsync directory.
func publishFile(fsys vfs.FS, name string, data []byte) error {
	tmp := name + tmpSuffix
	f, err := fsys.Create(tmp)
	if err != nil {
		return fmt.Errorf("publish %s: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("publish %s: write: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("publish %s: sync: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("publish %s: close: %w", name, err)
	}
	if err := fsys.Rename(tmp, name); err != nil {
		return fmt.Errorf("publish %s: rename: %w", name, err)
	}
	if err := fsys.SyncDir(filepath.Dir(name)); err != nil {
		return fmt.Errorf("publish %s: sync dir: %w", name, err)
	}
	return nil
}

// readSmallFile reads a whole file of bounded size. A missing file reports fs.ErrNotExist.
func readSmallFile(fsys vfs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	if size > maxCheckpointFileSize {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrCorruptCheckpoint, name, size)
	}
	buf := make([]byte, size)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:n], nil
}

// lineReader splits checkpoint text into lines; the last line must end with '\n'.
type lineReader struct {
	rest []byte
	line int
}

func (r *lineReader) next() (string, bool) {
	if len(r.rest) == 0 {
		return "", false
	}
	i := bytes.IndexByte(r.rest, '\n')
	if i < 0 {
		return "", false
	}
	s := string(r.rest[:i])
	r.rest = r.rest[i+1:]
	r.line++
	return s, true
}

// parseHeader reads the version and count lines shared by Kafka's checkpoint formats.
func (r *lineReader) parseHeader() (int, error) {
	v, ok := r.next()
	if !ok || v != "0" {
		return 0, fmt.Errorf("%w: version line %q, want \"0\"", ErrCorruptCheckpoint, v)
	}
	c, ok := r.next()
	if !ok {
		return 0, fmt.Errorf("%w: missing entry count", ErrCorruptCheckpoint)
	}
	n, err := strconv.Atoi(c)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: entry count %q", ErrCorruptCheckpoint, c)
	}
	// Each entry takes at least 4 bytes ("a 0 0" minus the topic); a count beyond what the
	// remaining bytes could hold is corrupt, and must not size an allocation.
	if n > len(r.rest)/4 {
		return 0, fmt.Errorf("%w: entry count %d exceeds file size", ErrCorruptCheckpoint, n)
	}
	return n, nil
}

func (r *lineReader) expectEnd() error {
	if len(r.rest) != 0 {
		return fmt.Errorf("%w: trailing bytes after line %d", ErrCorruptCheckpoint, r.line)
	}
	return nil
}

// parseOffsetCheckpoint parses recovery-point-offset-checkpoint / log-start-offset-checkpoint
// (docs/format/offset-checkpoint.md).
func parseOffsetCheckpoint(data []byte) (map[TopicPartition]int64, error) {
	r := lineReader{rest: data}
	n, err := r.parseHeader()
	if err != nil {
		return nil, err
	}
	out := make(map[TopicPartition]int64, n)
	for i := 0; i < n; i++ {
		line, ok := r.next()
		if !ok {
			return nil, fmt.Errorf("%w: %d of %d entries", ErrCorruptCheckpoint, i, n)
		}
		fields := strings.Split(line, " ")
		if len(fields) != 3 || !validTopicName(fields[0]) {
			return nil, fmt.Errorf("%w: line %d: %q", ErrCorruptCheckpoint, r.line, line)
		}
		p, err1 := strconv.ParseInt(fields[1], 10, 32)
		off, err2 := strconv.ParseInt(fields[2], 10, 64)
		if err1 != nil || err2 != nil || p < 0 || off < 0 {
			return nil, fmt.Errorf("%w: line %d: %q", ErrCorruptCheckpoint, r.line, line)
		}
		out[TopicPartition{Topic: fields[0], Partition: int32(p)}] = off
	}
	return out, r.expectEnd()
}

// formatOffsetCheckpoint writes entries sorted by topic and partition, so the file is
// deterministic.
func formatOffsetCheckpoint(offsets map[TopicPartition]int64) []byte {
	tps := make([]TopicPartition, 0, len(offsets))
	for tp := range offsets {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, func(a, b TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition) - int(b.Partition)
	})
	var b []byte
	b = append(b, "0\n"...)
	b = strconv.AppendInt(b, int64(len(tps)), 10)
	b = append(b, '\n')
	for _, tp := range tps {
		b = append(b, tp.Topic...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(tp.Partition), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, offsets[tp], 10)
		b = append(b, '\n')
	}
	return b
}

// EpochEntry is one leader epoch and the first offset written in it.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// parseEpochCheckpoint parses leader-epoch-checkpoint (docs/format/leader-epoch-checkpoint.md).
func parseEpochCheckpoint(data []byte) ([]EpochEntry, error) {
	r := lineReader{rest: data}
	n, err := r.parseHeader()
	if err != nil {
		return nil, err
	}
	out := make([]EpochEntry, 0, n)
	for i := 0; i < n; i++ {
		line, ok := r.next()
		if !ok {
			return nil, fmt.Errorf("%w: %d of %d entries", ErrCorruptCheckpoint, i, n)
		}
		fields := strings.Split(line, " ")
		if len(fields) != 2 {
			return nil, fmt.Errorf("%w: line %d: %q", ErrCorruptCheckpoint, r.line, line)
		}
		epoch, err1 := strconv.ParseInt(fields[0], 10, 32)
		start, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 != nil || err2 != nil || epoch < 0 || start < 0 {
			return nil, fmt.Errorf("%w: line %d: %q", ErrCorruptCheckpoint, r.line, line)
		}
		e := EpochEntry{Epoch: int32(epoch), StartOffset: start}
		if len(out) > 0 {
			last := out[len(out)-1]
			if e.Epoch <= last.Epoch || e.StartOffset <= last.StartOffset {
				return nil, fmt.Errorf("%w: line %d: entry %v not after %v", ErrCorruptCheckpoint, r.line, e, last)
			}
		}
		out = append(out, e)
	}
	return out, r.expectEnd()
}

func formatEpochCheckpoint(entries []EpochEntry) []byte {
	b := []byte("0\n")
	b = strconv.AppendInt(b, int64(len(entries)), 10)
	b = append(b, '\n')
	for _, e := range entries {
		b = strconv.AppendInt(b, int64(e.Epoch), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, e.StartOffset, 10)
		b = append(b, '\n')
	}
	return b
}

// parsePartitionMetadata parses partition.metadata (docs/format/partition-metadata.md).
func parsePartitionMetadata(data []byte) ([16]byte, error) {
	var id [16]byte
	r := lineReader{rest: data}
	if v, ok := r.next(); !ok || v != "version: 0" {
		return id, fmt.Errorf("%w: partition.metadata version line %q", ErrCorruptCheckpoint, v)
	}
	line, ok := r.next()
	enc, found := strings.CutPrefix(line, "topic_id: ")
	if !ok || !found || len(enc) != 22 {
		return id, fmt.Errorf("%w: partition.metadata topic_id line %q", ErrCorruptCheckpoint, line)
	}
	n, err := base64.RawURLEncoding.Strict().Decode(id[:], []byte(enc))
	if err != nil || n != 16 {
		return id, fmt.Errorf("%w: partition.metadata topic_id %q", ErrCorruptCheckpoint, enc)
	}
	return id, r.expectEnd()
}

func formatPartitionMetadata(id [16]byte) []byte {
	return []byte("version: 0\ntopic_id: " + base64.RawURLEncoding.EncodeToString(id[:]) + "\n")
}

// readOffsetCheckpoint reads a checkpoint file; a missing file is an empty map.
func readOffsetCheckpoint(fsys vfs.FS, name string) (map[TopicPartition]int64, error) {
	data, err := readSmallFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return map[TopicPartition]int64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	m, err := parseOffsetCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return m, nil
}
