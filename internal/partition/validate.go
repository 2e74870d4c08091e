package partition

import (
	"errors"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/sluicehq/sluice/internal/record"
)

// castagnoli is the CRC32C table; constant data.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crcOffset is where the bytes a v2 batch's CRC covers begin (attributes).
const crcOffset = 21

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// decompressBuffers holds scratch space for expanding compressed batches
// during validation, so steady-state produce allocates nothing per batch.
var decompressBuffers = sync.Pool{New: func() any { return new([]byte) }}

// validated is what validation learned about a produce request's records.
type validated struct {
	batches      int
	maxTimestamp int64 // largest CreateTime timestamp, -1 if none
}

// validate checks one partition's produced records the way Kafka's leader
// does before appending, in Kafka's order: framing and magic, size against
// max.message.bytes, CRC32C, the rules for client batches, then every
// record's framing, keys (compacted topics) and timestamps. Any failure
// rejects all the records. Record bytes are never copied; compressed batches
// are expanded into pooled scratch space.
func validate(records []byte, cfg Config, nowMs int64) (validated, error) {
	v := validated{maxTimestamp: -1}
	scratch := decompressBuffers.Get().(*[]byte)
	defer decompressBuffers.Put(scratch)
	var recErrs *RecordErrors
	it := record.NewBatches(records)
	for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
		if h.Size() > int(cfg.MaxMessageBytes) {
			return v, fmt.Errorf("%w: batch of %d bytes, limit %d", ErrMessageTooLarge, h.Size(), cfg.MaxMessageBytes)
		}
		if _, err := record.Validate(batch, record.ValidateOptions{}); err != nil {
			return v, classifyCorrupt(batch, h, err)
		}
		if err := checkClientBatch(h); err != nil {
			return v, err
		}
		errs, err := checkRecords(batch, cfg, nowMs, scratch)
		if err != nil {
			return v, err
		}
		if len(errs) > 0 {
			if recErrs == nil {
				recErrs = &RecordErrors{Err: ErrInvalidRecord}
			}
			if errors.Is(errs[0].err, ErrInvalidTimestamp) {
				recErrs.Err = ErrInvalidTimestamp
			}
			for _, e := range errs {
				recErrs.Records = append(recErrs.Records, e.RecordError)
			}
		}
		v.batches++
		if !h.LogAppendTime() && h.MaxTimestamp > v.maxTimestamp {
			v.maxTimestamp = h.MaxTimestamp
		}
	}
	if err := it.Err(); err != nil {
		if errors.Is(err, record.ErrTruncated) {
			// A partial batch at the end of a request is a damaged request,
			// not a torn file: Kafka answers CORRUPT_MESSAGE.
			return v, fmt.Errorf("%w: %w", record.ErrCorrupt, err)
		}
		return v, err
	}
	if recErrs != nil {
		return v, recErrs
	}
	return v, nil
}

// classifyCorrupt tells a CRC mismatch (the bytes were damaged:
// CORRUPT_MESSAGE) from a batch whose bytes arrived intact but whose
// contents are inconsistent (INVALID_RECORD), as Kafka does. It recomputes
// the CRC only on this error path.
func classifyCorrupt(batch []byte, h record.Header, err error) error {
	if !errors.Is(err, record.ErrCorrupt) || len(batch) < record.HeaderSize {
		return err
	}
	if crc32c(batch[crcOffset:]) != h.CRC {
		return err
	}
	return fmt.Errorf("%w: %w", ErrInvalidRecord, err)
}

// checkClientBatch applies Kafka's rules for batches a producer sends:
// offsets start at 0, the record count matches the offset span exactly,
// and no control batches (only the transaction coordinator writes those).
func checkClientBatch(h record.Header) error {
	switch {
	case h.BaseOffset != 0:
		return fmt.Errorf("%w: batch base offset %d, producers must send 0", ErrInvalidRecord, h.BaseOffset)
	case h.NumRecords <= 0:
		return fmt.Errorf("%w: batch has %d records", ErrInvalidRecord, h.NumRecords)
	case int64(h.NumRecords) != int64(h.LastOffsetDelta)+1:
		return fmt.Errorf("%w: record count %d does not match last offset delta %d", ErrInvalidRecord, h.NumRecords, h.LastOffsetDelta)
	case h.IsControl():
		return fmt.Errorf("%w: producers may not write control batches", ErrInvalidRecord)
	}
	return nil
}

// recordProblem is one bad record and the sentinel it breaks.
type recordProblem struct {
	RecordError
	err error
}

// checkRecords walks the records of one CRC-checked batch: framing and
// count (INVALID_RECORD for the batch), keys on compacted topics and
// CreateTime timestamps against the broker's clock (per record, KIP-467).
func checkRecords(batch []byte, cfg Config, nowMs int64, scratch *[]byte) ([]recordProblem, error) {
	recs, buf, err := record.Iterate(batch, *scratch, record.DefaultMaxDecompressedSize)
	*scratch = buf
	if err != nil {
		if errors.Is(err, record.ErrCorrupt) {
			return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
		}
		return nil, err
	}
	checkTime := !cfg.LogAppendTime
	var problems []recordProblem
	var rec record.Record
	for i := int32(0); recs.Next(&rec); i++ {
		if cfg.Compacted && rec.Key == nil {
			problems = append(problems, recordProblem{RecordError{i, "Compacted topic cannot accept message without key."}, ErrInvalidRecord})
		}
		if checkTime && (nowMs-rec.Timestamp > cfg.TimestampBeforeMaxMs || rec.Timestamp-nowMs > cfg.TimestampAfterMaxMs) {
			problems = append(problems, recordProblem{RecordError{i, fmt.Sprintf(
				"Timestamp %d of message with offset %d is out of range. The timestamp should be within [%d, %d]",
				rec.Timestamp, rec.Offset, satSub(nowMs, cfg.TimestampBeforeMaxMs), satAdd(nowMs, cfg.TimestampAfterMaxMs))}, ErrInvalidTimestamp})
		}
	}
	if err := recs.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	return problems, nil
}

func satSub(a, b int64) int64 {
	if b > 0 && a < -1<<63+b {
		return -1 << 63
	}
	return a - b
}

func satAdd(a, b int64) int64 {
	if b > 0 && a > 1<<63-1-b {
		return 1<<63 - 1
	}
	return a + b
}
