package coordinator

import (
	"slices"

	"github.com/sluicehq/sluice/internal/share"
)

// mergeBatches returns cur (ordered, non-overlapping) with upd laid over it — where an
// updated batch overlaps a current one the updated state wins, as Kafka's
// PersisterStateBatchCombiner combines them — and everything below startOffset dropped.
// Adjacent batches with the same state and delivery count are joined. cur is not modified.
func mergeBatches(cur, upd []share.StateBatch, startOffset int64) []share.StateBatch {
	out := slices.Clone(cur)
	for _, n := range upd {
		if n.LastOffset < n.FirstOffset {
			continue
		}
		kept := out[:0:0]
		for _, o := range out {
			if o.LastOffset < n.FirstOffset || o.FirstOffset > n.LastOffset {
				kept = append(kept, o)
				continue
			}
			if o.FirstOffset < n.FirstOffset {
				l := o
				l.LastOffset = n.FirstOffset - 1
				kept = append(kept, l)
			}
			if o.LastOffset > n.LastOffset {
				r := o
				r.FirstOffset = n.LastOffset + 1
				kept = append(kept, r)
			}
		}
		kept = append(kept, n)
		slices.SortFunc(kept, func(a, b share.StateBatch) int {
			switch {
			case a.FirstOffset < b.FirstOffset:
				return -1
			case a.FirstOffset > b.FirstOffset:
				return 1
			}
			return 0
		})
		out = kept
	}
	return prune(out, startOffset)
}

// prune drops what lies below startOffset (startOffset < 0: nothing) and joins adjacent
// batches alike.
func prune(bs []share.StateBatch, startOffset int64) []share.StateBatch {
	out := bs[:0]
	for _, b := range bs {
		if startOffset >= 0 && b.LastOffset < startOffset {
			continue
		}
		if startOffset >= 0 && b.FirstOffset < startOffset {
			b.FirstOffset = startOffset
		}
		if n := len(out); n > 0 && out[n-1].LastOffset+1 == b.FirstOffset &&
			out[n-1].DeliveryState == b.DeliveryState && out[n-1].DeliveryCount == b.DeliveryCount {
			out[n-1].LastOffset = b.LastOffset
			continue
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
