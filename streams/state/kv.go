package state

import "sync"

const spaceKV = 'k'

type keyValueStore struct {
	name   string
	eng    engine
	logger ChangeLogger
	mu     sync.Mutex // guards ops
	ops    [1]op
}

func newKeyValue(name string, e engine, logger ChangeLogger) *keyValueStore {
	return &keyValueStore{name: name, eng: e, logger: logger}
}

// NewInMemoryKeyValue returns an in-memory key-value store (for tests and the test driver;
// Range sorts the keys added since the previous scan).
func NewInMemoryKeyValue(name string, logger ChangeLogger) KeyValueStore {
	return newKeyValue(name, newMemEngine(), logger)
}

func (s *keyValueStore) Name() string { return s.name }

func (s *keyValueStore) Get(key []byte) ([]byte, error) { return s.eng.get(spaceKV, key) }

func (s *keyValueStore) Put(key, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops[0] = op{kind: opSet, space: spaceKV, k: key, v: value}
	if value == nil {
		s.ops[0].kind = opDel
	}
	err := s.eng.apply(s.ops[:])
	s.ops[0] = op{}
	if err != nil {
		return err
	}
	if s.logger != nil {
		s.logger.Log(key, value)
	}
	return nil
}

func (s *keyValueStore) Delete(key []byte) error { return s.Put(key, nil) }

func (s *keyValueStore) Range(from, to []byte, fn func(key, value []byte) bool) error {
	return s.eng.iterate(spaceKV, from, to, false, fn)
}

func (s *keyValueStore) ReverseRange(from, to []byte, fn func(key, value []byte) bool) error {
	return s.eng.iterate(spaceKV, from, to, true, fn)
}

func (s *keyValueStore) ApproximateEntries() (int64, error) {
	var n int64
	err := s.eng.iterate(spaceKV, nil, nil, false, func(_, _ []byte) bool { n++; return true })
	return n, err
}

func (s *keyValueStore) RestoreBatch(recs []Record) error {
	ops := make([]op, len(recs))
	for i, r := range recs {
		ops[i] = op{kind: opSet, space: spaceKV, k: r.Key, v: r.Value}
		if r.Value == nil {
			ops[i].kind = opDel
		}
	}
	return s.eng.apply(ops)
}

func (s *keyValueStore) Flush() error { return s.eng.flush() }
func (s *keyValueStore) Close() error { return s.eng.close() }
