// Package txn is the transaction coordinator (KIP-98, KIP-360, KIP-447, KIP-890): it hands
// out producer ids and epochs (InitProducerId) and drives transactions through Kafka's states,
// keeping each transactional id's state in the __transaction_state topic in Kafka's schemas
// (docs/format/transaction-state.md).
//
// Invariants:
//   - Producer ids come in blocks from the metadata log (ProducerIDs over a BlockSource, the
//     metadata.Controller): a block is committed there before any of its ids is handed out,
//     so no id is issued twice, also across restarts and controllers.
//   - Every state transition of a transactional id is durable in its __transaction_state
//     partition before the coordinator acts on it or answers; memory changes only after.
//     A failed write leaves the state as it was.
//   - One transition per id at a time: an id with a transition or markers in flight is
//     pending; requests for it wait for that (up to a second) or get
//     ErrConcurrentTransactions.
//   - Once PrepareCommit or PrepareAbort is durable the outcome is decided: the markers are
//     written into every partition of the transaction (again after a restart, markers being
//     idempotent) and only then is the Complete state written.
//   - Bumping the epoch fences older producers of the id: InitProducerId always bumps it, a
//     timeout abort, the abort of an ongoing transaction by a new producer and the abort of
//     one abandoned by its group member (AbortFencedTxn) bump it, and EndTxn v5 bumps it on
//     every transaction.
//
// Leadership: a broker's coordinator follows __transaction_state leadership
// (Config.FollowLeadership, ownership.go): it serves only the ids of the partitions it was
// elected for (LoadPartitions at start, Elected after; ErrCoordinatorLoading while one loads,
// ErrNotCoordinator elsewhere), completes the prepared transactions it loads, and forgets a
// partition's ids when it resigns (Resigned). Markers of partitions led by other brokers go to
// their leaders in WriteTxnMarkers (PartitionMarkers with Image and Remote).
//
// Concurrency: Coordinator.mu guards the ids and their state and is a leaf lock; appends,
// marker writes and id allocation run without it. One goroutine per prepared transaction
// writes its markers; one goroutine sweeps timeouts and expired ids. Close stops both.
//
// Example (the broker's wiring, in short):
//
//	c := txn.New(txn.Config{
//		ProducerIDs: txn.NewProducerIDs(controller, nodeID, txn.ProducerIDBlockSize),
//		Log:         &txn.PartitionLog{Partitions: parts, Controller: controller, NumPartitions: 50, ReplicationFactor: 1},
//		Markers:     &txn.PartitionMarkers{Partitions: parts, Offsets: groups},
//	})
//	_ = txn.LoadPartitions(c, parts)
//	c.Start()
//	defer c.Close()
//	res, err := c.InitProducerID(ctx, txn.InitRequest{TransactionalID: "app-1", TransactionTimeoutMs: 60000, ProducerID: -1, ProducerEpoch: -1})
package txn
