// Package txn is the transaction coordinator: it hands out producer ids and epochs
// (InitProducerId, KIP-98/KIP-360) and drives transactions through Kafka's states, keeping
// each transactional id's state in the __transaction_state topic in Kafka's schemas.
//
// Producer ids come in blocks from the metadata log (ProducerIDs over a BlockSource, the
// metadata.Controller): a block is committed there before any of its ids is handed out, so
// no id is ever issued twice, also across restarts and controllers.
//
// Example:
//
//	ids := txn.NewProducerIDs(controller, nodeID, txn.ProducerIDBlockSize)
//	c := txn.New(txn.Config{ProducerIDs: ids, Logger: logger})
//	res, err := c.InitProducerID(ctx, txn.InitRequest{ProducerID: -1, ProducerEpoch: -1})
package txn
