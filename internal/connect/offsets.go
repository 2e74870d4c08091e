package connect

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// OffsetEntry is the committed offset of one source partition of a connector; a nil Offset
// removes it.
type OffsetEntry struct {
	Partition map[string]any `json:"partition"`
	Offset    map[string]any `json:"offset"`
}

// OffsetStore keeps source connectors' offsets.
type OffsetStore interface {
	// Commit stores entries of connector durably before it returns.
	Commit(connector string, entries []OffsetEntry) error
	// Get returns the offset of one partition (nil when none).
	Get(connector string, partition map[string]any) (map[string]any, error)
	// All returns every partition's offset of connector.
	All(connector string) ([]OffsetEntry, error)
}

// offsetKey is the key of an offset in the layout of Kafka Connect's connect-offsets topic:
// the JSON array [connector, partition] (encoding/json sorts map keys, so equal partitions
// give equal keys).
func offsetKey(connector string, partition map[string]any) (string, error) {
	b, err := json.Marshal([]any{connector, partition})
	if err != nil {
		return "", fmt.Errorf("connect: a source partition that is not JSON: %w", err)
	}
	return string(b), nil
}

// parseOffsetKey reads offsetKey's layout.
func parseOffsetKey(key []byte) (connector string, partition map[string]any, err error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(key, &parts); err != nil || len(parts) != 2 {
		return "", nil, fmt.Errorf("connect: an offset key that is not [connector, partition]: %.100q", key)
	}
	if err := json.Unmarshal(parts[0], &connector); err != nil {
		return "", nil, fmt.Errorf("connect: an offset key's connector: %w", err)
	}
	if err := json.Unmarshal(parts[1], &partition); err != nil {
		return "", nil, fmt.Errorf("connect: an offset key's partition: %w", err)
	}
	return connector, partition, nil
}

// memOffsets is the in-memory map the file store persists.
type memOffsets struct {
	mu sync.Mutex
	m  map[string]map[string]any // offsetKey → offset
}

func (s *memOffsets) apply(connector string, entries []OffsetEntry) error {
	for _, e := range entries {
		k, err := offsetKey(connector, e.Partition)
		if err != nil {
			return err
		}
		if e.Offset == nil {
			delete(s.m, k)
		} else {
			s.m[k] = e.Offset
		}
	}
	return nil
}

func (s *memOffsets) Get(connector string, partition map[string]any) (map[string]any, error) {
	k, err := offsetKey(connector, partition)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k], nil
}

func (s *memOffsets) All(connector string) ([]OffsetEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []OffsetEntry
	for k, off := range s.m {
		c, p, err := parseOffsetKey([]byte(k))
		if err != nil {
			return nil, err
		}
		if c == connector {
			out = append(out, OffsetEntry{Partition: p, Offset: off})
		}
	}
	return out, nil
}

// FileOffsets is standalone mode's offset store: one JSON file (offset.storage.file.filename),
// rewritten atomically (a temporary file, fsync, rename, fsync of the directory) on each commit.
type FileOffsets struct {
	memOffsets
	path string
}

type offsetFile struct {
	Offsets []struct {
		Key   json.RawMessage `json:"key"`
		Value map[string]any  `json:"value"`
	} `json:"offsets"`
}

// OpenFileOffsets reads path (absent: no offsets yet).
func OpenFileOffsets(path string) (*FileOffsets, error) {
	s := &FileOffsets{memOffsets: memOffsets{m: map[string]map[string]any{}}, path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	var f offsetFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("connect: offsets file %s: %w", path, err)
	}
	for _, e := range f.Offsets {
		c, p, err := parseOffsetKey(e.Key)
		if err != nil {
			return nil, fmt.Errorf("connect: offsets file %s: %w", path, err)
		}
		k, _ := offsetKey(c, p)
		s.m[k] = e.Value
	}
	return s, nil
}

// Commit applies entries and rewrites the file.
func (s *FileOffsets) Commit(connector string, entries []OffsetEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.apply(connector, entries); err != nil {
		return err
	}
	var f offsetFile
	for k, v := range s.m {
		f.Offsets = append(f.Offsets, struct {
			Key   json.RawMessage `json:"key"`
			Value map[string]any  `json:"value"`
		}{json.RawMessage(k), v})
	}
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, b)
}

func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("connect: writing %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
