package postgres

import (
	"strconv"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/sluicehq/sluice/internal/connect"
	"github.com/sluicehq/sluice/internal/connect/data"
)

// Transaction metadata (Debezium's provide.transaction.metadata): a BEGIN record before the
// events of each streamed transaction and an END record after them, on topic
// <topic.prefix>.<topic.transaction>, and a transaction block {id, total_order,
// data_collection_order} in each change event's envelope.
//
// Ids are Debezium's for PostgreSQL, "<xid>:<lsn>", where the LSN is that of the record carrying
// the id: the transaction's first LSN on BEGIN, the event's own source.lsn on a change event,
// the commit's end LSN on END; the xid part is what ties them together. BEGIN and END travel in
// the transaction's buffer with its events and take the same source offsets, so a restart
// replays a transaction whole: BEGIN again with the same id, the events with the same ids and
// orders, and an END whose counts cover the transaction once. Tombstones carry no block and are
// not counted; a primary-key change counts as its delete and its create, as in Debezium.
// Snapshot records have no transaction.

// Debezium's transaction metadata schemas.
var (
	txKeySchema = data.MustStruct("io.debezium.connector.common.TransactionMetadataKey",
		data.F("id", data.StringSchema)).Named("io.debezium.connector.common.TransactionMetadataKey", 1)
	txCollectionSchema = data.MustStruct("event.collection",
		data.F("data_collection", data.StringSchema), data.F("event_count", data.Int64Schema)).Named("event.collection", 1).AsOptional()
	txValueSchema = data.MustStruct("io.debezium.connector.common.TransactionMetadataValue",
		data.F("status", data.StringSchema), data.F("id", data.StringSchema),
		data.F("event_count", data.OptionalInt64Schema),
		data.F("data_collections", data.ArrayOf(txCollectionSchema).AsOptional()),
		data.F("ts_ms", data.Int64Schema)).Named("io.debezium.connector.common.TransactionMetadataValue", 1)
)

// txCounts counts the events of the transaction being decoded.
type txCounts struct {
	total        int64
	byCollection map[string]int64
	collections  []string // in the order first seen, for END's data_collections
}

func (c *txCounts) reset() {
	c.total, c.collections = 0, c.collections[:0]
	clear(c.byCollection)
}

// add counts one event of collection and returns its data_collection_order.
func (c *txCounts) add(collection string) int64 {
	if c.byCollection == nil {
		c.byCollection = map[string]int64{}
	}
	c.total++
	n, seen := c.byCollection[collection]
	if !seen {
		c.collections = append(c.collections, collection)
	}
	c.byCollection[collection] = n + 1
	return n + 1
}

func txID(xid uint32, lsn pglogrepl.LSN) string {
	return strconv.FormatUint(uint64(xid), 10) + ":" + strconv.FormatUint(uint64(lsn), 10)
}

// txRecord is a BEGIN or END record of the transaction topic.
func (t *task) txRecord(value *data.Struct, id string) connect.SourceRecord {
	return connect.SourceRecord{SourcePartition: t.srcPart, Topic: t.txTopic,
		KeySchema: txKeySchema, Key: data.NewStructValue(txKeySchema).Set("id", id),
		ValueSchema: txValueSchema, Value: value, Timestamp: time.Now().UnixMilli()}
}

// beginTx buffers the BEGIN record of transaction xid, whose first LSN is lsn.
func (t *task) beginTx(lsn pglogrepl.LSN) {
	t.txCounts.reset()
	if !t.txMeta {
		return
	}
	id := txID(t.xid, lsn)
	v := data.NewStructValue(txValueSchema).Set("status", "BEGIN").Set("id", id).Set("ts_ms", t.txCommitTime.UnixMilli())
	t.txBuf = append(t.txBuf, t.txRecord(v, id))
}

// endTx buffers the END record of the transaction, whose commit ends at lsn.
func (t *task) endTx(lsn pglogrepl.LSN) {
	if !t.txMeta {
		return
	}
	id := txID(t.xid, lsn)
	collections := make([]any, 0, len(t.txCounts.collections))
	for _, c := range t.txCounts.collections {
		collections = append(collections, data.NewStructValue(txCollectionSchema).Set("data_collection", c).Set("event_count", t.txCounts.byCollection[c]))
	}
	v := data.NewStructValue(txValueSchema).Set("status", "END").Set("id", id).
		Set("event_count", t.txCounts.total).Set("data_collections", collections).Set("ts_ms", t.txCommitTime.UnixMilli())
	t.txBuf = append(t.txBuf, t.txRecord(v, id))
}

// appendChange buffers a change event of tb at lsn, with its transaction block when asked for.
func (t *task) appendChange(tb *table, rec connect.SourceRecord, lsn pglogrepl.LSN) {
	if t.txMeta {
		order := t.txCounts.add(tb.schema + "." + tb.name)
		block := data.NewStructValue(transactionSchema).Set("id", txID(t.xid, lsn)).
			Set("total_order", t.txCounts.total).Set("data_collection_order", order)
		rec.Value.(*data.Struct).Set("transaction", block)
	}
	t.txBuf = append(t.txBuf, rec)
}
