package api

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/quorum"
	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/share"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/internal/txn"
)

// ErrorCode maps an error from the broker's packages to the Kafka error code
// a client should see. nil maps to 0 (NONE). An error wrapping a *kerr.Error
// keeps that code; errors this package does not know become
// UNKNOWN_SERVER_ERROR, so unmapped errors show up as bugs to fix here
// rather than as silent successes.
//
// This is the one place Kafka error codes are chosen for sentinel errors of
// other packages (STYLE: codes are chosen only in internal/api).
func ErrorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	for _, m := range errorMappings {
		if errors.Is(err, m.err) {
			return m.code.Code
		}
	}
	return kerr.UnknownServerError.Code
}

// errorMapping pairs a sentinel error with its Kafka error.
type errorMapping struct {
	err  error
	code *kerr.Error
}

// errorMappings is checked in order: an error may wrap several sentinels
// (partition.ErrInvalidRecord wrapping record.ErrCorrupt), and the first
// match wins, so more specific sentinels come first.
var errorMappings = []errorMapping{
	// partition
	{partition.ErrNotLeader, kerr.NotLeaderForPartition},
	{partition.ErrNotFollower, kerr.NotLeaderForPartition},
	{partition.ErrUnknownPartition, kerr.UnknownTopicOrPartition},
	{partition.ErrDeleted, kerr.UnknownTopicOrPartition},
	{partition.ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch},
	{partition.ErrUnknownLeaderEpoch, kerr.UnknownLeaderEpoch},
	{partition.ErrNotEnoughReplicasAfterAppend, kerr.NotEnoughReplicasAfterAppend},
	{partition.ErrNotEnoughReplicas, kerr.NotEnoughReplicas},
	{partition.ErrMessageTooLarge, kerr.MessageTooLarge},
	{partition.ErrInvalidTimestamp, kerr.InvalidTimestamp},
	{partition.ErrInvalidRecord, kerr.InvalidRecord},
	{partition.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
	{partition.ErrOffsetNotAvailable, kerr.OffsetNotAvailable},
	{partition.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
	{partition.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
	{partition.ErrInvalidTxnState, kerr.InvalidTxnState},
	{partition.ErrTransactionCoordinatorFenced, kerr.TransactionCoordinatorFenced},
	// share
	{share.ErrInvalidRecordState, kerr.InvalidRecordState},
	{share.ErrInvalidAcknowledgement, kerr.InvalidRequest},
	{share.ErrNotLoaded, kerr.NotLeaderForPartition},
	// record
	{record.ErrUnsupportedMagic, kerr.UnsupportedForMessageFormat},
	{record.ErrInvalidRecord, kerr.InvalidRecord},
	{record.ErrInvalidTimestamp, kerr.InvalidTimestamp},
	{record.ErrUnsupportedCodec, kerr.UnsupportedCompressionType},
	{record.ErrTooLarge, kerr.InvalidRecord},
	{record.ErrCorrupt, kerr.CorruptMessage},
	// storage
	{storage.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
	{storage.ErrRecordBatchTooLarge, kerr.RecordListTooLarge},
	{storage.ErrInvalidAppend, kerr.CorruptMessage},
	{storage.ErrTopicIDMismatch, kerr.InconsistentTopicID},
	{storage.ErrLogDeleted, kerr.NotLeaderForPartition},
	{storage.ErrClosed, kerr.NotLeaderForPartition},
	{storage.ErrLogOffline, kerr.KafkaStorageError},
	{storage.ErrCorruptLog, kerr.KafkaStorageError},
	// metadata
	{metadata.ErrNotController, kerr.NotController},
	// quorum (KIP-853's membership changes)
	{quorum.ErrDuplicateVoter, kerr.DuplicateVoter},
	{quorum.ErrVoterNotFound, kerr.VoterNotFound},
	{quorum.ErrChangeInProgress, kerr.RequestTimedOut},
	{quorum.ErrNotCaughtUp, kerr.RequestTimedOut},
	{quorum.ErrInvalidVoter, kerr.InvalidRequest},
	{metadata.ErrTopicExists, kerr.TopicAlreadyExists},
	{metadata.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
	{metadata.ErrUnknownTopicID, kerr.UnknownTopicID},
	{metadata.ErrInvalidTopic, kerr.InvalidTopicException},
	{metadata.ErrInvalidPartitions, kerr.InvalidPartitions},
	{metadata.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor},
	{metadata.ErrInvalidReplicaAssignment, kerr.InvalidReplicaAssignment},
	{metadata.ErrInvalidConfig, kerr.InvalidConfig},
	{metadata.ErrInvalidRequest, kerr.InvalidRequest},
	{metadata.ErrTopicDeletionDisabled, kerr.TopicDeletionDisabled},
	{metadata.ErrPolicyViolation, kerr.PolicyViolation},
	{metadata.ErrInvalidUpdateVersion, kerr.InvalidUpdateVersion},
	{metadata.ErrFeatureUpdateFailed, kerr.FeatureUpdateFailed},
	{metadata.ErrBrokerIDNotRegistered, kerr.BrokerIDNotRegistered},
	{metadata.ErrDuplicateBrokerRegistration, kerr.DuplicateBrokerRegistration},
	{metadata.ErrStaleBrokerEpoch, kerr.StaleBrokerEpoch},
	{metadata.ErrElectionNotNeeded, kerr.ElectionNotNeeded},
	{metadata.ErrPreferredLeaderNotAvailable, kerr.PreferredLeaderNotAvailable},
	{metadata.ErrEligibleLeadersNotAvailable, kerr.EligibleLeadersNotAvailable},
	{metadata.ErrNoReassignmentInProgress, kerr.NoReassignmentInProgress},
	{metadata.ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch},
	{metadata.ErrIneligibleReplica, kerr.IneligibleReplica},
	{metadata.ErrOperationNotAttempted, kerr.OperationNotAttempted},
	{metadata.ErrUnacceptableCredential, kerr.UnacceptableCredential},
	{metadata.ErrDuplicateResource, kerr.DuplicateResource},
	{metadata.ErrResourceNotFound, kerr.ResourceNotFound},
	{metadata.ErrUnsupportedSaslMechanism, kerr.UnsupportedSaslMechanism},
	// txn
	{txn.ErrCoordinatorNotAvailable, kerr.CoordinatorNotAvailable},
	{txn.ErrCoordinatorLoading, kerr.CoordinatorLoadInProgress},
	{txn.ErrNotCoordinator, kerr.NotCoordinator},
	{txn.ErrConcurrentTransactions, kerr.ConcurrentTransactions},
	{txn.ErrInvalidProducerIDMapping, kerr.InvalidProducerIDMapping},
	{txn.ErrProducerFenced, kerr.ProducerFenced},
	{txn.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
	{txn.ErrInvalidTxnState, kerr.InvalidTxnState},
	{txn.ErrInvalidTransactionTimeout, kerr.InvalidTransactionTimeout},
	{txn.ErrTransactionalIDNotFound, kerr.TransactionalIDNotFound},
	// the request's own context: the broker is shutting down or the wait ran out
	{context.DeadlineExceeded, kerr.RequestTimedOut},
	{context.Canceled, kerr.RequestTimedOut},
}

// ErrorForCode is the error a Kafka error code stands for: the first sentinel mapped to it
// (metadata.ErrTopicExists for TOPIC_ALREADY_EXISTS, ...), else kerr's error, nil for 0. It
// turns the answers of requests this node sends to the controller back into the errors the
// local packages check for.
func ErrorForCode(code int16) error {
	if code == 0 {
		return nil
	}
	for _, m := range errorMappings {
		if m.code.Code == code {
			return m.err
		}
	}
	return kerr.ErrorForCode(code)
}
