package txn

import "errors"

// Sentinel errors; internal/api maps each to its Kafka error code.
var (
	// ErrCoordinatorNotAvailable: the coordinator cannot act now (no producer ids, the
	// __transaction_state append failed, or it is closed). COORDINATOR_NOT_AVAILABLE.
	ErrCoordinatorNotAvailable = errors.New("txn: coordinator not available")
	// ErrCoordinatorLoading: __transaction_state is still being loaded.
	// COORDINATOR_LOAD_IN_PROGRESS.
	ErrCoordinatorLoading = errors.New("txn: coordinator loading")
	// ErrConcurrentTransactions: another transition of the same transactional id is in
	// flight, or a prepared transaction is still writing its markers. CONCURRENT_TRANSACTIONS.
	ErrConcurrentTransactions = errors.New("txn: concurrent transactions")
	// ErrInvalidProducerIDMapping: the transactional id is unknown or bound to another
	// producer id. INVALID_PRODUCER_ID_MAPPING.
	ErrInvalidProducerIDMapping = errors.New("txn: invalid producer id mapping")
	// ErrProducerFenced: a newer producer epoch exists for the transactional id.
	// PRODUCER_FENCED.
	ErrProducerFenced = errors.New("txn: producer fenced")
	// ErrInvalidProducerEpoch: the epoch is not the current one (older request versions).
	// INVALID_PRODUCER_EPOCH.
	ErrInvalidProducerEpoch = errors.New("txn: invalid producer epoch")
	// ErrInvalidTxnState: the request does not fit the transaction's state (EndTxn of an
	// empty transaction, commit after abort). INVALID_TXN_STATE.
	ErrInvalidTxnState = errors.New("txn: invalid transaction state")
	// ErrInvalidTransactionTimeout: timeout above transaction.max.timeout.ms or not
	// positive. INVALID_TRANSACTION_TIMEOUT.
	ErrInvalidTransactionTimeout = errors.New("txn: invalid transaction timeout")
	// ErrTransactionalIDNotFound: DescribeTransactions of an unknown id.
	// TRANSACTIONAL_ID_NOT_FOUND.
	ErrTransactionalIDNotFound = errors.New("txn: transactional id not found")
	// ErrBadRecord is wrapped by every decoding failure of a __transaction_state key or value.
	ErrBadRecord = errors.New("txn: bad __transaction_state record")
)

// ErrUnknownPartition is what a MarkerWriter returns for a partition that no longer exists
// (its topic was deleted): the marker is skipped, as Kafka skips it.
var ErrUnknownPartition = errors.New("txn: unknown partition")

// ErrMarkerRejected is what a MarkerWriter returns when the partition refuses a marker as
// fenced (an older producer or coordinator epoch than it has seen): retrying cannot help,
// so the coordinator moves on, as Kafka's marker channel drops such markers.
var ErrMarkerRejected = errors.New("txn: marker rejected by the partition")
