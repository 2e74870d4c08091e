package storage

import (
	"fmt"
	"math"
)

// LogConfig holds the per-topic settings storage obeys, under Kafka's names. Start from
// DefaultLogConfig: the zero value is not valid.
type LogConfig struct {
	SegmentBytes       int64 // segment.bytes: roll when an append would not fit (default 1 GiB)
	SegmentMs          int64 // segment.ms: roll after this long (default 7 days)
	SegmentJitterMs    int64 // segment.jitter.ms: up to this much is taken off segment.ms, drawn per segment (default 0)
	FileDeleteDelayMs  int64 // file.delete.delay.ms: a deleted segment's files stay renamed *.deleted this long (default 1 min)
	SegmentIndexBytes  int32 // segment.index.bytes: max size of an offset or time index (default 10 MiB)
	IndexIntervalBytes int32 // index.interval.bytes: bytes between index entries (default 4096)
	RetentionMs        int64 // retention.ms: delete segments older than this; -1 keeps forever (default 7 days)
	RetentionBytes     int64 // retention.bytes: delete oldest segments while the log is larger; -1 = no limit
	FlushMessages      int64 // flush.messages: fsync after this many messages (default: never)
	FlushMs            int64 // flush.ms: fsync when the oldest unflushed append is this old (default: never)

	// Compaction (clean.go). The zero CleanupPolicy is Kafka's default, delete.
	CleanupPolicy          CleanupPolicy // cleanup.policy
	MinCleanableDirtyRatio float64       // min.cleanable.dirty.ratio (default 0.5)
	MinCompactionLagMs     int64         // min.compaction.lag.ms (default 0)
	MaxCompactionLagMs     int64         // max.compaction.lag.ms (default: never; <= 0 also means never)
	DeleteRetentionMs      int64         // delete.retention.ms: how long tombstones and markers outlive their first clean (default 1 day)
}

// CleanupPolicy is cleanup.policy as a set: delete (time and size retention), compact (the
// log cleaner), or both. The zero value means delete, Kafka's default.
type CleanupPolicy uint8

// The cleanup.policy values.
const (
	CleanupDelete CleanupPolicy = 1 << iota
	CleanupCompact
)

// Deletes reports whether retention.ms and retention.bytes apply.
func (p CleanupPolicy) Deletes() bool { return p == 0 || p&CleanupDelete != 0 }

// Compacts reports whether the log cleaner compacts the log.
func (p CleanupPolicy) Compacts() bool { return p&CleanupCompact != 0 }

// Kafka's defaults.
const (
	DefaultSegmentBytes       = 1 << 30
	DefaultSegmentMs          = 7 * 24 * 60 * 60 * 1000
	DefaultSegmentIndexBytes  = 10 << 20
	DefaultIndexIntervalBytes = 4096
	DefaultRetentionMs        = 7 * 24 * 60 * 60 * 1000
	DefaultDeleteRetentionMs  = 24 * 60 * 60 * 1000
	DefaultFileDeleteDelayMs  = 60 * 1000
	DefaultMinCleanableRatio  = 0.5
)

// DefaultLogConfig returns Kafka's defaults.
func DefaultLogConfig() LogConfig {
	return LogConfig{
		SegmentBytes:       DefaultSegmentBytes,
		SegmentMs:          DefaultSegmentMs,
		FileDeleteDelayMs:  DefaultFileDeleteDelayMs,
		SegmentIndexBytes:  DefaultSegmentIndexBytes,
		IndexIntervalBytes: DefaultIndexIntervalBytes,
		RetentionMs:        DefaultRetentionMs,
		RetentionBytes:     -1,
		FlushMessages:      math.MaxInt64,
		FlushMs:            math.MaxInt64,

		CleanupPolicy:          CleanupDelete,
		MinCleanableDirtyRatio: DefaultMinCleanableRatio,
		MaxCompactionLagMs:     math.MaxInt64,
		DeleteRetentionMs:      DefaultDeleteRetentionMs,
	}
}

// Validate checks the ranges Kafka enforces.
func (c LogConfig) Validate() error {
	switch {
	case c.SegmentBytes < 14 || c.SegmentBytes > math.MaxInt32:
		return fmt.Errorf("%w: segment.bytes %d outside [14, %d]", ErrInvalidConfig, c.SegmentBytes, math.MaxInt32)
	case c.SegmentMs < 1:
		return fmt.Errorf("%w: segment.ms %d < 1", ErrInvalidConfig, c.SegmentMs)
	case c.SegmentJitterMs < 0:
		return fmt.Errorf("%w: segment.jitter.ms %d < 0", ErrInvalidConfig, c.SegmentJitterMs)
	case c.FileDeleteDelayMs < 0:
		return fmt.Errorf("%w: file.delete.delay.ms %d < 0", ErrInvalidConfig, c.FileDeleteDelayMs)
	case c.SegmentIndexBytes < offsetEntrySize+timeEntrySize:
		return fmt.Errorf("%w: segment.index.bytes %d too small", ErrInvalidConfig, c.SegmentIndexBytes)
	case c.IndexIntervalBytes < 0:
		return fmt.Errorf("%w: index.interval.bytes %d < 0", ErrInvalidConfig, c.IndexIntervalBytes)
	case c.RetentionMs < -1:
		return fmt.Errorf("%w: retention.ms %d < -1", ErrInvalidConfig, c.RetentionMs)
	case c.RetentionBytes < -1:
		return fmt.Errorf("%w: retention.bytes %d < -1", ErrInvalidConfig, c.RetentionBytes)
	case c.FlushMessages < 1:
		return fmt.Errorf("%w: flush.messages %d < 1", ErrInvalidConfig, c.FlushMessages)
	case c.FlushMs < 0:
		return fmt.Errorf("%w: flush.ms %d < 0", ErrInvalidConfig, c.FlushMs)
	case c.MinCleanableDirtyRatio < 0 || c.MinCleanableDirtyRatio > 1:
		return fmt.Errorf("%w: min.cleanable.dirty.ratio %v outside [0, 1]", ErrInvalidConfig, c.MinCleanableDirtyRatio)
	case c.MinCompactionLagMs < 0:
		return fmt.Errorf("%w: min.compaction.lag.ms %d < 0", ErrInvalidConfig, c.MinCompactionLagMs)
	case c.DeleteRetentionMs < 0:
		return fmt.Errorf("%w: delete.retention.ms %d < 0", ErrInvalidConfig, c.DeleteRetentionMs)
	}
	return nil
}

func (c LogConfig) maxOffsetIndexEntries() int64 { return int64(c.SegmentIndexBytes) / offsetEntrySize }
func (c LogConfig) maxTimeIndexEntries() int64   { return int64(c.SegmentIndexBytes) / timeEntrySize }
