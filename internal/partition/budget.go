package partition

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/sluicehq/sluice/internal/record"
)

// Request-wide decompression budget. A 1 MB zstd batch can expand to the
// 64 MiB per-batch cap (record.DefaultMaxDecompressedSize), millions of
// records; a request of several such batches, on several connections at
// once, would hold hundreds of MiB of scratch and spend seconds of CPU.
// Kafka sets no bound of its own; Sluice bounds what one produce request may
// decompress, across all its batches and partitions, in proportion to its
// compressed bytes with a floor for small requests.
const (
	// DecompressRatio is how many decompressed bytes a produce request may
	// expand to per byte of records it carries. Real data compresses well
	// under 16:1 at the batch sizes producers send (franz-go caps a batch at
	// 1 MB before compression, so a request near the ratio is a bomb).
	DecompressRatio = 16
	// MinDecompressBudget is the budget of a request whose records are
	// small: 8 MiB, eight times a full franz-go batch.
	MinDecompressBudget = 8 << 20
)

// ErrDecompressBudget: a produce request's compressed batches expand to
// more than its decompression budget. It wraps record.ErrTooLarge, which
// internal/api answers with INVALID_RECORD for the partition whose batch
// passed the budget.
var ErrDecompressBudget = fmt.Errorf("partition: request decompresses to more than its budget: %w", record.ErrTooLarge)

// DecompressBudget is what is left of one produce request's decompression
// budget (and of its per-record errors, MaxRequestRecordErrors). It is used by the goroutine handling the request only (partitions
// of a request are appended one after another). A nil *DecompressBudget
// means no request-wide bound: each batch gets
// record.DefaultMaxDecompressedSize.
type DecompressBudget struct {
	remaining    int
	recordErrors int // per-record errors the request may still report
}

// MaxRequestRecordErrors bounds the per-record errors of one produce request across its
// partitions: past it, a rejected partition reports only its first bad record, so a request
// of many small bad batches cannot make a response (and its formatted messages) many times
// its own size.
const MaxRequestRecordErrors = 1000

// NewDecompressBudget returns the budget for a produce request carrying
// recordBytes bytes of records in all: DecompressRatio times that, at least
// MinDecompressBudget.
func NewDecompressBudget(recordBytes int) *DecompressBudget {
	return &DecompressBudget{remaining: max(MinDecompressBudget, DecompressRatio*recordBytes), recordErrors: MaxRequestRecordErrors}
}

// Remaining is the number of bytes the request may still decompress.
func (b *DecompressBudget) Remaining() int {
	if b == nil {
		return record.DefaultMaxDecompressedSize
	}
	return b.remaining
}

// limit is the decompressed size allowed for the next batch.
func (b *DecompressBudget) limit() int {
	return min(b.Remaining(), record.DefaultMaxDecompressedSize)
}

// recordErrorsAllowed is how many per-record errors the next rejected batch may report: at
// least one (the batch must still be found bad), at most MaxRecordErrors.
func (b *DecompressBudget) recordErrorsAllowed() int {
	if b == nil {
		return MaxRecordErrors
	}
	return max(1, min(MaxRecordErrors, b.recordErrors))
}

// reportRecordErrors records n per-record errors reported.
func (b *DecompressBudget) reportRecordErrors(n int) {
	if b != nil {
		b.recordErrors = max(0, b.recordErrors-n)
	}
}

// spend records n decompressed bytes.
func (b *DecompressBudget) spend(n int) {
	if b != nil {
		b.remaining = max(0, b.remaining-n)
	}
}

// explain turns a record.ErrTooLarge that the request's budget, not the
// per-batch cap, caused into ErrDecompressBudget; other errors pass.
func (b *DecompressBudget) explain(err error) error {
	if b == nil || !errors.Is(err, record.ErrTooLarge) || b.remaining >= record.DefaultMaxDecompressedSize {
		return err
	}
	return fmt.Errorf("%w (%d bytes left): %w", ErrDecompressBudget, b.remaining, err)
}

// decompressSlots bounds how many compressed batches are being expanded at once in the whole
// process, whatever the number of connections: a batch's scratch space (up to its request's
// budget, 8 MiB for a small request) is live only while it holds a slot, so the memory a crowd
// of bombs can hold is the slots times that, not the connections times that. Decompression is
// CPU work, so more slots than cores would add memory, not throughput. Slots are held for the
// decompression and the walk over the records only (no I/O, no lock).
var decompressSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

func acquireDecompressSlot() { decompressSlots <- struct{}{} }
func releaseDecompressSlot() { <-decompressSlots }
