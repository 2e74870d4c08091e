package partition

import (
	"sync"

	"github.com/sluicehq/sluice/internal/record"
)

// legacyBuffers hold converted legacy message sets between ConvertLegacy and the release
// after Append; large ones are left to the GC, as decompression scratch is.
var legacyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// ConvertLegacy converts the records of one partition of a Produce v0–v2 request, a legacy
// message set (magic 0 or 1), into one v2 batch for Append, as Kafka 3's leader converted
// them before appending (record.ConvertLegacy says how). A compressed wrapper is expanded
// inside a decompression slot, at most budget's remaining bytes (which it spends), into
// pooled scratch; the batch is in pooled memory: call release once Append has returned (it
// does not retain its input).
//
// Errors wrap record.ErrCorrupt (a CRC or framing error, inner messages' included),
// record.ErrInvalidRecord, record.ErrInvalidTimestamp, record.ErrUnsupportedCodec or
// record.ErrTooLarge (ErrDecompressBudget when the request's budget ran out).
func ConvertLegacy(records []byte, budget *DecompressBudget) (batch []byte, release func(), err error) {
	scratch := decompressBuffers.Get().(*[]byte)
	defer putScratch(scratch)
	out := legacyBuffers.Get().(*[]byte)
	release = func() {
		if cap(*out) <= maxPooledScratch {
			legacyBuffers.Put(out)
		}
	}
	acquireDecompressSlot()
	converted, info, err := record.ConvertLegacy((*out)[:0], records, record.LegacyOptions{MaxDecompressedSize: budget.limit(), Buffer: scratch})
	releaseDecompressSlot()
	*out = converted
	budget.spend(info.Decompressed)
	if err != nil {
		release()
		return nil, func() {}, budget.explain(err)
	}
	return converted, release, nil
}
