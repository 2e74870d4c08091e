package partition

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. internal/api maps them to Kafka error codes; errors from
// internal/record (ErrCorrupt, ErrUnsupportedMagic, ErrTooLarge) and
// internal/storage pass through wrapped.
var (
	// ErrNotLeader: this node does not lead the partition (NOT_LEADER_OR_FOLLOWER).
	ErrNotLeader = errors.New("partition: not the leader")
	// ErrUnknownPartition: this node hosts no such partition (UNKNOWN_TOPIC_OR_PARTITION).
	ErrUnknownPartition = errors.New("partition: unknown partition")
	// ErrFencedLeaderEpoch: the request names an older leader epoch (FENCED_LEADER_EPOCH).
	ErrFencedLeaderEpoch = errors.New("partition: fenced leader epoch")
	// ErrUnknownLeaderEpoch: the request names a newer leader epoch (UNKNOWN_LEADER_EPOCH).
	ErrUnknownLeaderEpoch = errors.New("partition: unknown leader epoch")
	// ErrNotEnoughReplicas: acks=all and the ISR is smaller than
	// min.insync.replicas; nothing was appended (NOT_ENOUGH_REPLICAS).
	ErrNotEnoughReplicas = errors.New("partition: not enough in-sync replicas")
	// ErrNotEnoughReplicasAfterAppend: the records were appended but the ISR
	// shrank below min.insync.replicas before they were committed
	// (NOT_ENOUGH_REPLICAS_AFTER_APPEND).
	ErrNotEnoughReplicasAfterAppend = errors.New("partition: not enough in-sync replicas after append")
	// ErrMessageTooLarge: a batch is larger than max.message.bytes (MESSAGE_TOO_LARGE).
	ErrMessageTooLarge = errors.New("partition: batch larger than max.message.bytes")
	// ErrInvalidRecord: a batch is well formed but breaks Kafka's rules for
	// produced batches (INVALID_RECORD); see *RecordErrors for per-record detail.
	ErrInvalidRecord = errors.New("partition: invalid record")
	// ErrInvalidTimestamp: a timestamp lies outside
	// message.timestamp.before/after.max.ms of the broker's clock (INVALID_TIMESTAMP).
	ErrInvalidTimestamp = errors.New("partition: invalid timestamp")
	// ErrOffsetOutOfRange: a read below the log start offset or above the log
	// end offset (OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = errors.New("partition: offset out of range")
	// ErrNotFollower: a replication call (AppendAsFollower, TruncateTo) on a partition this
	// node leads, or follows in another leader epoch than the caller's (NOT_LEADER_OR_FOLLOWER).
	ErrNotFollower = errors.New("partition: not a follower in that leader epoch")
	// ErrOffsetNotAvailable: a new leader's high watermark has not reached
	// the start of its epoch yet, so the latest offset is not known
	// (OFFSET_NOT_AVAILABLE; the client retries).
	ErrOffsetNotAvailable = errors.New("partition: offset not available")
	// ErrDeleted: the partition was deleted while in use.
	ErrDeleted = errors.New("partition: deleted")
	// ErrInvalidProducerEpoch: a batch or marker carries an older producer
	// epoch than the partition has seen (INVALID_PRODUCER_EPOCH).
	ErrInvalidProducerEpoch = errors.New("partition: invalid producer epoch")
	// ErrOutOfOrderSequence: a batch's sequence does not follow its
	// producer's last one (OUT_OF_ORDER_SEQUENCE_NUMBER).
	ErrOutOfOrderSequence = errors.New("partition: out of order sequence number")
	// ErrInvalidTxnState: a non-transactional batch from a producer with an
	// open transaction here (INVALID_TXN_STATE).
	ErrInvalidTxnState = errors.New("partition: invalid transaction state")
	// ErrTransactionCoordinatorFenced: a marker from an older coordinator
	// epoch than the last one seen for its producer
	// (TRANSACTION_COORDINATOR_FENCED).
	ErrTransactionCoordinatorFenced = errors.New("partition: transaction coordinator fenced")
	// ErrPanicked: applying metadata to one partition panicked; the panic was
	// recovered and that partition alone failed (Manager.Apply).
	ErrPanicked = errors.New("partition: recovered panic")
	// ErrCorruptSnapshot: a producer state snapshot fails its checks; it is
	// skipped and the state rebuilt from the log.
	ErrCorruptSnapshot = errors.New("partition: corrupt producer snapshot")
)

// RecordError names one bad record: its index within its batch and why.
type RecordError struct {
	BatchIndex int32
	Message    string
}

// RecordErrors is returned when individual records are invalid (KIP-467):
// the whole partition's records are rejected and the producer learns which
// ones to drop. It wraps ErrInvalidRecord or ErrInvalidTimestamp.
type RecordErrors struct {
	Err     error // ErrInvalidRecord or ErrInvalidTimestamp
	Records []RecordError
}

func (e *RecordErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d bad records", e.Err, len(e.Records))
	if len(e.Records) > 0 {
		fmt.Fprintf(&b, " (first: record %d: %s)", e.Records[0].BatchIndex, e.Records[0].Message)
	}
	return b.String()
}

func (e *RecordErrors) Unwrap() error { return e.Err }
