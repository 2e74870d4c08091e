package runtime

import (
	"errors"
	"math"

	"github.com/sluicehq/sluice/streams/state"
)

// ErrReadOnly is returned by the mutators of the store views interactive queries get.
var ErrReadOnly = errors.New("streams: stores are read-only to interactive queries")

// KeyValueView is a read-only view over one key-value store of several local tasks: a key
// lives in one task's store (its partition's), so Get asks each in turn; Range and
// ReverseRange run over the tasks' stores one after the other (each in key order, not
// merged). Close does not close the stores.
type KeyValueView struct {
	name   string
	stores []state.KeyValueStore
}

// NewKeyValueView makes a view over stores (each a state.KeyValueStore).
func NewKeyValueView(name string, stores []any) (*KeyValueView, error) {
	v := &KeyValueView{name: name}
	for _, s := range stores {
		kv, ok := s.(state.KeyValueStore)
		if !ok {
			return nil, errors.New("streams: store " + name + " is not a key-value store")
		}
		v.stores = append(v.stores, kv)
	}
	return v, nil
}

var _ state.KeyValueStore = (*KeyValueView)(nil)

func (v *KeyValueView) Name() string { return v.name }

func (v *KeyValueView) Get(key []byte) ([]byte, error) {
	for _, s := range v.stores {
		val, err := s.Get(key)
		if err != nil || val != nil {
			return val, err
		}
	}
	return nil, nil
}

func (v *KeyValueView) Put(key, value []byte) error            { return ErrReadOnly }
func (v *KeyValueView) Delete(key []byte) error                { return ErrReadOnly }
func (v *KeyValueView) RestoreBatch(recs []state.Record) error { return ErrReadOnly }
func (v *KeyValueView) Flush() error                           { return nil }
func (v *KeyValueView) Close() error                           { return nil }

func (v *KeyValueView) Range(from, to []byte, fn func(key, value []byte) bool) error {
	stopped := false
	for _, s := range v.stores {
		err := s.Range(from, to, func(k, val []byte) bool {
			stopped = !fn(k, val)
			return !stopped
		})
		if err != nil || stopped {
			return err
		}
	}
	return nil
}

func (v *KeyValueView) ReverseRange(from, to []byte, fn func(key, value []byte) bool) error {
	stopped := false
	for i := len(v.stores) - 1; i >= 0; i-- {
		err := v.stores[i].ReverseRange(from, to, func(k, val []byte) bool {
			stopped = !fn(k, val)
			return !stopped
		})
		if err != nil || stopped {
			return err
		}
	}
	return nil
}

func (v *KeyValueView) ApproximateEntries() (int64, error) {
	var n int64
	for _, s := range v.stores {
		c, err := s.ApproximateEntries()
		if err != nil {
			return 0, err
		}
		n += c
	}
	return n, nil
}

// WindowView is a read-only view over one window store of several local tasks, as
// KeyValueView.
type WindowView struct {
	name   string
	stores []state.WindowStore
}

// NewWindowView makes a view over stores (each a state.WindowStore).
func NewWindowView(name string, stores []any) (*WindowView, error) {
	v := &WindowView{name: name}
	for _, s := range stores {
		ws, ok := s.(state.WindowStore)
		if !ok {
			return nil, errors.New("streams: store " + name + " is not a window store")
		}
		v.stores = append(v.stores, ws)
	}
	return v, nil
}

var _ state.WindowStore = (*WindowView)(nil)

func (v *WindowView) Name() string { return v.name }

func (v *WindowView) Put(key []byte, windowStart int64, value []byte) error { return ErrReadOnly }
func (v *WindowView) RestoreBatch(recs []state.Record) error                { return ErrReadOnly }
func (v *WindowView) Flush() error                                          { return nil }
func (v *WindowView) Close() error                                          { return nil }

func (v *WindowView) Fetch(key []byte, windowStart int64) ([]byte, error) {
	for _, s := range v.stores {
		val, err := s.Fetch(key, windowStart)
		if err != nil || val != nil {
			return val, err
		}
	}
	return nil, nil
}

func (v *WindowView) FetchRange(key []byte, fromStart, toStart int64, fn func(windowStart int64, value []byte) bool) error {
	stopped := false
	for _, s := range v.stores {
		err := s.FetchRange(key, fromStart, toStart, func(ws int64, val []byte) bool {
			stopped = !fn(ws, val)
			return !stopped
		})
		if err != nil || stopped {
			return err
		}
	}
	return nil
}

func (v *WindowView) FetchAll(fromStart, toStart int64, fn func(key []byte, windowStart int64, value []byte) bool) error {
	stopped := false
	for _, s := range v.stores {
		err := s.FetchAll(fromStart, toStart, func(k []byte, ws int64, val []byte) bool {
			stopped = !fn(k, ws, val)
			return !stopped
		})
		if err != nil || stopped {
			return err
		}
	}
	return nil
}

func (v *WindowView) ObservedStreamTime() int64 {
	t := int64(math.MinInt64)
	for _, s := range v.stores {
		t = max(t, s.ObservedStreamTime())
	}
	return t
}

// SessionView is a read-only view over one session store of several local tasks, as
// KeyValueView.
type SessionView struct {
	name   string
	stores []state.SessionStore
}

// NewSessionView makes a view over stores (each a state.SessionStore).
func NewSessionView(name string, stores []any) (*SessionView, error) {
	v := &SessionView{name: name}
	for _, s := range stores {
		ss, ok := s.(state.SessionStore)
		if !ok {
			return nil, errors.New("streams: store " + name + " is not a session store")
		}
		v.stores = append(v.stores, ss)
	}
	return v, nil
}

var _ state.SessionStore = (*SessionView)(nil)

func (v *SessionView) Name() string { return v.name }

func (v *SessionView) Put(key []byte, start, end int64, value []byte) error { return ErrReadOnly }
func (v *SessionView) Remove(key []byte, start, end int64) error            { return ErrReadOnly }
func (v *SessionView) RestoreBatch(recs []state.Record) error               { return ErrReadOnly }
func (v *SessionView) Flush() error                                         { return nil }
func (v *SessionView) Close() error                                         { return nil }

func (v *SessionView) each(call func(s state.SessionStore, fn func(start, end int64, value []byte) bool) error, fn func(start, end int64, value []byte) bool) error {
	stopped := false
	for _, s := range v.stores {
		err := call(s, func(st, en int64, val []byte) bool {
			stopped = !fn(st, en, val)
			return !stopped
		})
		if err != nil || stopped {
			return err
		}
	}
	return nil
}

func (v *SessionView) FindSessions(key []byte, earliestSessionEnd, latestSessionStart int64, fn func(start, end int64, value []byte) bool) error {
	return v.each(func(s state.SessionStore, f func(int64, int64, []byte) bool) error {
		return s.FindSessions(key, earliestSessionEnd, latestSessionStart, f)
	}, fn)
}

func (v *SessionView) Fetch(key []byte, fn func(start, end int64, value []byte) bool) error {
	return v.each(func(s state.SessionStore, f func(int64, int64, []byte) bool) error {
		return s.Fetch(key, f)
	}, fn)
}

func (v *SessionView) FetchAll(earliestEnd, latestEnd int64, fn func(key []byte, start, end int64, value []byte) bool) error {
	stopped := false
	for _, s := range v.stores {
		err := s.FetchAll(earliestEnd, latestEnd, func(k []byte, st, en int64, val []byte) bool {
			stopped = !fn(k, st, en, val)
			return !stopped
		})
		if err != nil || stopped {
			return err
		}
	}
	return nil
}

func (v *SessionView) ObservedStreamTime() int64 {
	t := int64(math.MinInt64)
	for _, s := range v.stores {
		t = max(t, s.ObservedStreamTime())
	}
	return t
}
