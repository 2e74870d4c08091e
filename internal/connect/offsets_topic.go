package connect

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TopicOffsets is distributed mode's offset store: the offsets topic (offset.storage.topic) in
// Kafka Connect's layout, key ["connector", {partition}] and value the offset (null: removed).
// Every worker reads the whole topic into memory; Get and All first read it to its end, so a
// task that moved here sees the offsets its previous worker committed.
//
// Exactly-once sources (KIP-618) plug in through OffsetRecords: a task's transactional
// producer writes the records it returns in the same transaction as the data, and the reader
// (read_committed) applies them only once the transaction commits.
type TopicOffsets struct {
	memOffsets
	log *topicLog
}

// readTimeout bounds a read of an internal topic to its end.
const readTimeout = 30 * time.Second

func newTopicOffsets() *TopicOffsets {
	return &TopicOffsets{memOffsets: memOffsets{m: map[string]map[string]any{}}}
}

// applyRecord is the topic reader's: the record's offset replaces the partition's (a null
// value removes it). Keys are normalised, so one written by Java (map keys in any order)
// and ours name the same partition.
func (s *TopicOffsets) applyRecord(r *kgo.Record) {
	c, p, err := parseOffsetKey(r.Key)
	if err != nil {
		s.log.log.Warn("skipping an offsets record", "offset", r.Offset, "err", err)
		return
	}
	k, err := offsetKey(c, p)
	if err != nil {
		return
	}
	var off map[string]any
	if r.Value != nil {
		if err := json.Unmarshal(r.Value, &off); err != nil {
			s.log.log.Warn("skipping an offsets record", "key", string(r.Key), "err", err)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if off == nil {
		delete(s.m, k)
	} else {
		s.m[k] = off
	}
}

// OffsetRecords are the offsets topic records that commit entries of connector (Topic is
// set); produced and acknowledged, or committed in a transaction, they are the commit.
func (s *TopicOffsets) OffsetRecords(connector string, entries []OffsetEntry) ([]*kgo.Record, error) {
	recs := make([]*kgo.Record, 0, len(entries))
	for _, e := range entries {
		k, err := offsetKey(connector, e.Partition)
		if err != nil {
			return nil, err
		}
		var v []byte
		if e.Offset != nil {
			if v, err = json.Marshal(e.Offset); err != nil {
				return nil, fmt.Errorf("connect: an offset that is not JSON: %w", err)
			}
		}
		recs = append(recs, &kgo.Record{Topic: s.log.topic, Key: []byte(k), Value: v})
	}
	return recs, nil
}

// Commit writes entries and returns once the cluster acknowledged them.
func (s *TopicOffsets) Commit(connector string, entries []OffsetEntry) error {
	recs, err := s.OffsetRecords(connector, entries)
	if err != nil || len(recs) == 0 {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if err := s.log.send(ctx, recs...); err != nil {
		return err
	}
	// The reader applies them too, in log order; applying now lets a Get that follows see
	// them even before the reader caught up.
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apply(connector, entries)
}

// Get reads the topic to its end, then returns the partition's offset.
func (s *TopicOffsets) Get(connector string, partition map[string]any) (map[string]any, error) {
	if err := s.catchUp(); err != nil {
		return nil, err
	}
	return s.memOffsets.Get(connector, partition)
}

// All reads the topic to its end, then returns every partition's offset of connector.
func (s *TopicOffsets) All(connector string) ([]OffsetEntry, error) {
	if err := s.catchUp(); err != nil {
		return nil, err
	}
	return s.memOffsets.All(connector)
}

func (s *TopicOffsets) catchUp() error {
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	return s.log.readToEnd(ctx)
}
