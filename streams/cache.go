package streams

import (
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/serde"
	"github.com/sluicehq/sluice/streams/state"
)

// The record cache (statestore.cache.max.bytes). An aggregation whose store the runtime
// opened as a caching store (state.CachingKeyValueStore, state.CachingWindowStore: the
// App has a cache and the store was not materialized WithCachingDisabled) only writes to
// the cache while processing; at each commit, or when the cache evicts, the store's dirty
// entries are written to the store below (logging them to the changelog) and handed to the
// listeners here, which forward each as the change{new, old} the aggregation would have
// forwarded, old being what was forwarded for that key at the previous flush. So N updates
// of a key between two commits make one changelog record and one downstream record, as in
// Kafka Streams (KIP-63). The record's timestamp is the aggregate's (kept in the stored
// value), its headers those of the last record that updated it.

// recordHeaders boxes a record's headers for the cache (nil, without allocating, for none).
func recordHeaders(h []processor.Header) any {
	if len(h) == 0 {
		return nil
	}
	return h
}

func flushedHeaders(h any) []processor.Header {
	hs, _ := h.([]processor.Header)
	return hs
}

// cachedKeyValue returns kv as a caching store, with fn as its flush listener, if it is one.
func cachedKeyValue(kv state.KeyValueStore, fn func(state.KeyValueFlush) error) state.CachingKeyValueStore {
	c, ok := kv.(state.CachingKeyValueStore)
	if !ok {
		return nil
	}
	c.SetFlushListener(fn)
	return c
}

// forwardFlushedAggregate forwards a flushed entry of a key-value store holding
// ValueAndTimestamp aggregates (Kafka Streams' TimestampedCacheFlushListener).
func forwardFlushedAggregate[K, A any](ctx processor.Context, kc codec[K], ac codec[A]) func(state.KeyValueFlush) error {
	return func(f state.KeyValueFlush) error {
		key, err := kc.decode(f.Key)
		if err != nil {
			return err
		}
		ch, ts, err := flushedChange(ac, f.NewValue, f.OldValue)
		if err != nil {
			return err
		}
		return ctx.Forward(processor.Record{Key: key, Value: ch, Timestamp: ts, Headers: flushedHeaders(f.Headers)})
	}
}

// forwardFlushedWindow forwards a flushed window of a windowed aggregation of windows of
// size ms.
func forwardFlushedWindow[K, A any](ctx processor.Context, kc codec[K], ac codec[A], size int64) func(state.WindowFlush) error {
	return func(f state.WindowFlush) error {
		kv, err := kc.decode(f.Key)
		if err != nil {
			return err
		}
		k, err := cast[K](kv)
		if err != nil {
			return err
		}
		ch, ts, err := flushedChange(ac, f.NewValue, f.OldValue)
		if err != nil {
			return err
		}
		return ctx.Forward(processor.Record{Key: serde.Windowed[K]{Key: k, Start: f.WindowStart, End: f.WindowStart + size},
			Value: ch, Timestamp: ts, Headers: flushedHeaders(f.Headers)})
	}
}

// flushedChange decodes a flushed entry's new and old stored aggregates into the change to
// forward, stamped with the new value's timestamp (the old one's for a delete).
func flushedChange[A any](ac codec[A], newStored, oldStored []byte) (change, int64, error) {
	ts, newV, hasNew, err := ac.decodeStored(newStored)
	if err != nil {
		return change{}, 0, err
	}
	oldTs, oldV, _, err := ac.decodeStored(oldStored)
	if err != nil {
		return change{}, 0, err
	}
	if !hasNew {
		ts = oldTs
	}
	return change{new: newV, old: oldV}, ts, nil
}
