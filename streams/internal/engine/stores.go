package engine

import (
	"fmt"
	"io"

	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// OpenStores opens the stores of specs: in db, or in memory when db is nil or the spec says
// InMemory. logFor gives each logged store its ChangeLogger (nil: not logged); it is not called
// for stores with LoggingDisabled. With a cache, the specs that ask for Caching get a caching
// store counted in it (see Cached). On error the stores opened so far are closed.
func OpenStores(db *state.DB, specs []processor.StoreSpec, logFor func(processor.StoreSpec) state.ChangeLogger, cache *state.Cache) (map[string]any, error) {
	stores := make(map[string]any, len(specs))
	for _, spec := range specs {
		var logger state.ChangeLogger
		if !spec.LoggingDisabled && logFor != nil {
			logger = logFor(spec)
		}
		s, err := openStore(db, spec, logger)
		if err != nil {
			CloseStores(stores)
			return nil, fmt.Errorf("engine: opening %v store %q: %w", spec.Kind, spec.Name, err)
		}
		if cache != nil && Cached(spec) {
			switch spec.Kind {
			case processor.KeyValueStore:
				s = state.NewCachingKeyValue(s.(state.KeyValueStore), cache)
			case processor.WindowStore:
				s = state.NewCachingWindow(s.(state.WindowStore), spec.Retention, cache)
			}
		}
		stores[spec.Name] = s
	}
	return stores, nil
}

// Cached reports whether a store of spec gets a record cache when the application has one:
// it asks for Caching and is a key-value store or a window store without RetainDuplicates.
func Cached(spec processor.StoreSpec) bool {
	return spec.Caching && (spec.Kind == processor.KeyValueStore || spec.Kind == processor.WindowStore && !spec.RetainDuplicates)
}

func openStore(db *state.DB, spec processor.StoreSpec, logger state.ChangeLogger) (any, error) {
	mem := db == nil || spec.InMemory
	switch spec.Kind {
	case processor.KeyValueStore:
		if mem {
			return state.NewInMemoryKeyValue(spec.Name, logger), nil
		}
		return db.KeyValue(spec.Name, logger)
	case processor.WindowStore:
		opts := state.WindowOptions{Retention: spec.Retention, SegmentInterval: spec.SegmentInterval, RetainDuplicates: spec.RetainDuplicates, Logger: logger}
		if mem {
			return state.NewInMemoryWindow(spec.Name, opts)
		}
		return db.Window(spec.Name, opts)
	case processor.SessionStore:
		opts := state.SessionOptions{Retention: spec.Retention, SegmentInterval: spec.SegmentInterval, Logger: logger}
		if mem {
			return state.NewInMemorySession(spec.Name, opts)
		}
		return db.Session(spec.Name, opts)
	}
	return nil, fmt.Errorf("unknown store kind %v", spec.Kind)
}

// CloseStores closes every store and returns the first error.
func CloseStores(stores map[string]any) error {
	var first error
	for _, s := range stores {
		if c, ok := s.(io.Closer); ok {
			if err := c.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// Restorer is what every store is: it applies changelog records.
func Restorer(store any) (state.Restorer, bool) {
	r, ok := store.(state.Restorer)
	return r, ok
}
