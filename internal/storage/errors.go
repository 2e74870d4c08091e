package storage

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of them (or a vfs / record error)
// with context; internal/api maps them to Kafka error codes.
var (
	// ErrOffsetOutOfRange: the offset lies below the log start offset or above the log end
	// offset (OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = errors.New("storage: offset out of range")
	// ErrCorruptLog: bytes on disk that should be valid are not. Always carried by a
	// *CorruptError naming the file and byte position. It takes the partition offline.
	ErrCorruptLog = errors.New("storage: corrupt log")
	// ErrLogOffline: the partition hit corruption or an I/O error and refuses further work
	// until the broker restarts (KAFKA_STORAGE_ERROR). The error also wraps the cause.
	ErrLogOffline = errors.New("storage: log offline")
	// ErrLogDeleted: the partition was deleted; a caller still holding its *Log gets this.
	ErrLogDeleted = errors.New("storage: log deleted")
	// ErrOffsetsOutOfOrder: a follower append whose offsets do not increase, or start below
	// the log end offset.
	ErrOffsetsOutOfOrder = errors.New("storage: offsets out of order")
	// ErrRecordBatchTooLarge: one append larger than segment.bytes (RECORD_LIST_TOO_LARGE).
	ErrRecordBatchTooLarge = errors.New("storage: append larger than segment.bytes")
	// ErrInvalidAppend: the bytes handed to Append are not whole v2 batches.
	ErrInvalidAppend = errors.New("storage: invalid append")
	// ErrTopicIDMismatch: the partition directory belongs to another topic with the same name
	// (INCONSISTENT_TOPIC_ID).
	ErrTopicIDMismatch = errors.New("storage: topic id mismatch")
	// ErrInvalidConfig: a LogConfig value out of Kafka's allowed range.
	ErrInvalidConfig = errors.New("storage: invalid log config")
	// ErrClosed: the Manager was closed.
	ErrClosed = errors.New("storage: manager closed")
)

// CorruptError says where corruption was found. It matches ErrCorruptLog.
type CorruptError struct {
	File     string // path of the damaged file
	Position int64  // byte position in File
	Offset   int64  // log offset involved, or -1 if unknown
	Err      error  // what is wrong (often wraps a record error)
}

func (e *CorruptError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("storage: corrupt log: %s at byte %d (offset %d): %v", e.File, e.Position, e.Offset, e.Err)
	}
	return fmt.Sprintf("storage: corrupt log: %s at byte %d: %v", e.File, e.Position, e.Err)
}

// Is matches ErrCorruptLog.
func (e *CorruptError) Is(target error) bool { return target == ErrCorruptLog }

// Unwrap returns the underlying cause.
func (e *CorruptError) Unwrap() error { return e.Err }

// offlineError is returned by every method of a log that went offline. It matches
// ErrLogOffline and unwraps to the cause (so errors.Is(err, ErrCorruptLog) also holds when
// corruption was the cause).
type offlineError struct{ cause error }

func (e *offlineError) Error() string        { return "storage: log offline: " + e.cause.Error() }
func (e *offlineError) Is(target error) bool { return target == ErrLogOffline }
func (e *offlineError) Unwrap() error        { return e.cause }

// errSegmentDeleted is internal: a file of a segment that retention or truncation removed
// was asked for; readers retry against the current segment list.
var errSegmentDeleted = errors.New("storage: segment deleted")
