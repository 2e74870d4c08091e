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
// Buffers grown past maxPooledScratch by a large batch are left to the GC
// rather than kept per P.
var decompressBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledScratch = 8<<20 + 256<<10 // a small request's budget and the zstd decoder's slack

func putScratch(b *[]byte) {
	if cap(*b) <= maxPooledScratch {
		decompressBuffers.Put(b)
	}
}

// noTimestamp is Kafka's RecordBatch.NO_TIMESTAMP.
const noTimestamp = -1

// MaxRecordErrors bounds the per-record errors one rejected partition
// reports (KIP-467's record_errors). Kafka lists every bad record of the
// first bad batch; a hostile batch of millions of bad records would then
// cost a formatted message each, so Sluice reports the first 100 and stops
// looking.
const MaxRecordErrors = 100

// validated is what validation learned about a produce request's records.
type validated struct {
	batches      int
	maxTimestamp int64 // largest CreateTime timestamp, -1 if none
}

// validate is validateWithin without a request-wide decompression budget.
func validate(records []byte, cfg Config, nowMs int64) (validated, error) {
	return validateWithin(records, cfg, nowMs, nil)
}

// validateWithin checks one partition's produced records the way Kafka's
// leader does before appending, in Kafka's order: framing and magic, size
// against max.message.bytes, CRC32C, the rules for client batches, then
// every record's framing, keys (compacted topics) and timestamps. Any
// failure rejects all the records; like Kafka it stops at the first bad
// batch. Record bytes are never copied; compressed batches are expanded
// into pooled scratch space, at most budget's remaining bytes (nil: only
// record.DefaultMaxDecompressedSize per batch).
func validateWithin(records []byte, cfg Config, nowMs int64, budget *DecompressBudget) (validated, error) {
	v := validated{maxTimestamp: -1}
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
		if err := checkRecords(batch, cfg, nowMs, budget); err != nil {
			return v, err
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

// recordProblem is one bad record: what checkRecords saw, formatted into a
// RecordError only when reported, so a batch of bad records costs no
// allocation per record.
type recordProblem struct {
	index     int32
	keyless   bool // a compacted topic's record without a key
	badTime   bool // a CreateTime outside the allowed range
	timestamp int64
	offset    int64
}

// checkRecords walks the records of one CRC-checked batch: framing and
// count (INVALID_RECORD for the batch), keys on compacted topics and
// CreateTime timestamps against the broker's clock (per record, KIP-467).
// It stops at MaxRecordErrors bad records.
func checkRecords(batch []byte, cfg Config, nowMs int64, budget *DecompressBudget) error {
	var none []byte
	scratch := &none // an uncompressed batch is read in place; nothing is decompressed into it
	if h, err := record.ReadHeader(batch); err == nil && h.Compression() != record.None {
		// Scratch space is taken only inside a decompression slot, so the buffers alive (and
		// grown by earlier batches) are at most the slots, however many connections wait.
		acquireDecompressSlot()
		defer releaseDecompressSlot()
		scratch = decompressBuffers.Get().(*[]byte)
		defer putScratch(scratch)
	}
	recs, buf, err := record.Iterate(batch, *scratch, budget.limit())
	*scratch = buf
	if err != nil {
		if errors.Is(err, record.ErrCorrupt) {
			return fmt.Errorf("%w: %w", ErrInvalidRecord, err)
		}
		return budget.explain(err)
	}
	if recs.Header().Compression() != record.None {
		budget.spend(len(buf))
	}
	checkTime := !cfg.LogAppendTime
	var problemSpace [MaxRecordErrors]recordProblem
	problems := problemSpace[:budget.recordErrorsAllowed()]
	n := 0
	var rec record.Record
	for i := int32(0); n < len(problems) && recs.Next(&rec); i++ {
		keyless := cfg.Compacted && rec.Key == nil
		// A record without a timestamp (-1: message format v0, converted) is not checked, as
		// Kafka's LogValidator skips NO_TIMESTAMP.
		badTime := checkTime && rec.Timestamp != noTimestamp &&
			(nowMs-rec.Timestamp > cfg.TimestampBeforeMaxMs || rec.Timestamp-nowMs > cfg.TimestampAfterMaxMs)
		if keyless || badTime {
			problems[n] = recordProblem{index: i, keyless: keyless, badTime: badTime, timestamp: rec.Timestamp, offset: rec.Offset}
			n++
		}
	}
	if err := recs.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	if n == 0 {
		return nil
	}
	budget.reportRecordErrors(n)
	return recordErrors(problems[:n], cfg, nowMs)
}

// recordErrors formats the problems of one batch (at most MaxRecordErrors)
// as Kafka words them. The error is INVALID_TIMESTAMP when the first bad
// record has a bad timestamp, else INVALID_RECORD.
func recordErrors(problems []recordProblem, cfg Config, nowMs int64) *RecordErrors {
	re := &RecordErrors{Err: ErrInvalidRecord, Records: make([]RecordError, 0, len(problems))}
	if problems[0].badTime && !problems[0].keyless {
		re.Err = ErrInvalidTimestamp
	}
	for _, p := range problems {
		if p.keyless {
			re.Records = append(re.Records, RecordError{p.index, "Compacted topic cannot accept message without key."})
		}
		if p.badTime {
			re.Records = append(re.Records, RecordError{p.index, fmt.Sprintf(
				"Timestamp %d of message with offset %d is out of range. The timestamp should be within [%d, %d]",
				p.timestamp, p.offset, satSub(nowMs, cfg.TimestampBeforeMaxMs), satAdd(nowMs, cfg.TimestampAfterMaxMs))})
		}
	}
	return re
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
