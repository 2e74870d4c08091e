// Package record reads, checks and writes Kafka record batches (message format v2, "magic 2"),
// the unit in which producers send, brokers store and consumers fetch records.
//
// A batch is a 61-byte header followed by its records, which may be compressed as one payload.
// The byte layout is specified in docs/format/record-batch.md. The broker never rewrites a
// batch's records: it checks the batch, assigns offsets by rewriting BaseOffset (and sets
// PartitionLeaderEpoch) in place — both lie outside the CRC — and stores the bytes unchanged.
//
// # Invariants
//
//   - Nothing here panics on bad input bytes. Every decoder returns an error wrapping one of
//     ErrCorrupt, ErrUnsupportedMagic, ErrTooLarge or ErrTruncated (the legacy converters also
//     ErrInvalidRecord, ErrInvalidTimestamp, ErrUnsupportedCodec), with the field or byte that
//     failed.
//   - Only magic 2 is read as a batch. Legacy message sets (magic 0 and 1) get
//     ErrUnsupportedMagic from the batch readers; ConvertLegacy turns one into a v2 batch (old
//     produce requests) and DownConvert turns v2 batches into one (old fetches), both bounded
//     like Iterate (see legacy.go and docs/format/message-set.md).
//   - Validate accepts a batch only if its CRC32C (over attributes .. end) matches, its length
//     is in bounds and its record count fits its offset span. Records are decoded only when
//     the caller asks, and compressed payloads are expanded only up to a caller-given bound.
//   - Batches tells a batch cut short by the end of the input (ErrTruncated: a torn tail,
//     which recovery may truncate) from bytes that cannot be a batch (ErrCorrupt).
//   - No global state other than pooled codec state. No logging.
//
// # Example
//
//	it := record.NewBatches(requestRecords)
//	for batch, _, ok := it.Next(); ok; batch, _, ok = it.Next() {
//		h, err := record.Validate(batch, record.ValidateOptions{})
//		if err != nil {
//			return err
//		}
//		record.SetBaseOffset(batch, nextOffset)
//		nextOffset += int64(h.LastOffsetDelta) + 1
//	}
//	if err := it.Err(); err != nil {
//		return err
//	}
package record
