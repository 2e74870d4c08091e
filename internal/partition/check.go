package partition

import "github.com/sluicehq/sluice/internal/record"

// RecordCheck is a check of each produced record that a caller runs before Append
// (internal/api's schema id validation) with CheckEachRecord.
type RecordCheck interface {
	// Check reports whether rec passes. It runs for every record on the produce path, so it
	// must not allocate for a record that passes; rec's slices are valid during the call only.
	Check(rec *record.Record) bool
	// Problem says why the record Check has just failed is bad. It is called (right after
	// that Check) only for the records that are reported, at most MaxRecordErrors per
	// partition, so it may format.
	Problem() string
}

// CheckEachRecord runs check on every record of records, a produce request's record set for
// one partition (v2 batches, as Append takes them), before Append. A batch that is not well
// formed (framing, CRC, a payload that does not decompress within budget's limit) is passed
// over: Append finds it bad and answers as Kafka does. Compressed batches are expanded in
// pooled scratch space, inside a decompression slot, within the per-batch limit of budget
// without spending it (Append spends it when the records pass and are decompressed again).
//
// It returns nil when every record passes, else a *RecordErrors (ErrInvalidRecord) listing the
// first bad records of the first batch holding any (at most the request's remaining
// per-record error allowance, MaxRecordErrors), as validation does.
func CheckEachRecord(records []byte, budget *DecompressBudget, check RecordCheck) error {
	it := record.NewBatches(records)
	for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
		if _, err := record.Validate(batch, record.ValidateOptions{}); err != nil {
			return nil // Append rejects it
		}
		if h.IsControl() {
			return nil // Append rejects it
		}
		if err := checkBatchRecords(batch, h, budget, check); err != nil {
			return err
		}
	}
	return nil
}

// checkBatchRecords runs check over one CRC-checked batch.
func checkBatchRecords(batch []byte, h record.Header, budget *DecompressBudget, check RecordCheck) error {
	var none []byte
	scratch := &none
	if h.Compression() != record.None {
		acquireDecompressSlot()
		defer releaseDecompressSlot()
		scratch = decompressBuffers.Get().(*[]byte)
		defer putScratch(scratch)
	}
	recs, buf, err := record.Iterate(batch, *scratch, budget.limit())
	*scratch = buf
	if err != nil {
		return nil // Append rejects it
	}
	allowed := budget.recordErrorsAllowed()
	var bad *RecordErrors
	var rec record.Record
	for i := int32(0); recs.Next(&rec); i++ {
		if check.Check(&rec) {
			continue
		}
		if bad == nil {
			bad = &RecordErrors{Err: ErrInvalidRecord}
		}
		bad.Records = append(bad.Records, RecordError{BatchIndex: i, Message: check.Problem()})
		if len(bad.Records) >= allowed {
			break
		}
	}
	if bad == nil {
		return nil // a framing error (recs.Err) is Append's to report
	}
	budget.reportRecordErrors(len(bad.Records))
	return bad
}
