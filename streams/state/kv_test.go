package state

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// logRec collects a store's changelog records (the logger's slices copied, as required).
type logRec struct{ recs []Record }

func (l *logRec) Log(k, v []byte) {
	r := Record{Key: append([]byte{}, k...)}
	if v != nil {
		r.Value = append([]byte{}, v...)
	}
	l.recs = append(l.recs, r)
}

func openTestDB(t testing.TB) *DB { return openTestDBOpts(t, nil) }

func openTestDBOpts(t testing.TB, o *Options) *DB {
	t.Helper()
	db, err := Open(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// pebbleVariants are the Pebble DBs each store test runs on: the default write-back buffer,
// a tiny one (written back every few writes) and, without -short, none.
func pebbleVariants(t *testing.T) map[string]*DB {
	dbs := map[string]*DB{
		"pebble":             openTestDB(t),
		"pebble-tiny-buffer": openTestDBOpts(t, &Options{WriteBack: 100}),
	}
	if !testing.Short() {
		dbs["pebble-unbuffered"] = openTestDBOpts(t, &Options{WriteBack: -1})
	}
	return dbs
}

// kvImpls gives each test both implementations.
func kvImpls(t *testing.T) map[string]func(name string, l ChangeLogger) KeyValueStore {
	impls := map[string]func(string, ChangeLogger) KeyValueStore{
		"memory": func(n string, l ChangeLogger) KeyValueStore { return NewInMemoryKeyValue(n, l) },
	}
	for name, db := range pebbleVariants(t) {
		impls[name] = func(n string, l ChangeLogger) KeyValueStore {
			s, err := db.KeyValue(n, l)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	return impls
}

func randKey(r *rand.Rand) []byte {
	// Short keys over a tiny alphabet including 0x00 and 0xff: prefixes and escapes collide often.
	k := make([]byte, r.IntN(4))
	for i := range k {
		k[i] = []byte{0, 1, 'a', 0xff}[r.IntN(4)]
	}
	return k
}

func dumpKV(t *testing.T, s KeyValueStore) map[string]string {
	t.Helper()
	out := map[string]string{}
	var prev []byte
	first := true
	if err := s.Range(nil, nil, func(k, v []byte) bool {
		if !first && bytes.Compare(prev, k) >= 0 {
			t.Fatalf("range out of order: %q then %q", prev, k)
		}
		first, prev = false, append(prev[:0], k...)
		out[string(k)] = string(v)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestKeyValueModel(t *testing.T) {
	for impl, open := range kvImpls(t) {
		t.Run(impl, func(t *testing.T) {
			for seed := range uint64(20) {
				r := rand.New(rand.NewPCG(seed, 1))
				log := &logRec{}
				s := open(fmt.Sprintf("kv%d", seed), log)
				model := map[string]string{}
				for i := 0; i < 400; i++ {
					k := randKey(r)
					switch x := r.IntN(10); {
					case x < 5:
						v := []byte(fmt.Sprint(i))
						if r.IntN(8) == 0 {
							v = []byte{} // an empty value is a value, not a delete
						}
						if err := s.Put(k, v); err != nil {
							t.Fatal(err)
						}
						model[string(k)] = string(v)
					case x < 7:
						var err error
						if r.IntN(2) == 0 {
							err = s.Delete(k)
						} else {
							err = s.Put(k, nil)
						}
						if err != nil {
							t.Fatal(err)
						}
						delete(model, string(k))
					case x < 8:
						got, err := s.Get(k)
						if err != nil {
							t.Fatal(err)
						}
						want, ok := model[string(k)]
						if ok != (got != nil) || string(got) != want {
							t.Fatalf("seed %d: Get(%q) = %q, want %q (present %v)", seed, k, got, want, ok)
						}
					default:
						from, to := randKey(r), randKey(r)
						if r.IntN(4) == 0 {
							from = nil
						}
						if r.IntN(4) == 0 {
							to = nil
						}
						var want []string
						for mk := range model {
							if (from == nil || mk >= string(from)) && (to == nil || mk < string(to)) {
								want = append(want, mk)
							}
						}
						slices.Sort(want)
						var got, rev []string
						s.Range(from, to, func(k, v []byte) bool {
							if model[string(k)] != string(v) {
								t.Fatalf("range value of %q: %q", k, v)
							}
							got = append(got, string(k))
							return true
						})
						s.ReverseRange(from, to, func(k, _ []byte) bool { rev = append(rev, string(k)); return true })
						slices.Reverse(rev)
						if !slices.Equal(got, want) || !slices.Equal(rev, want) {
							t.Fatalf("seed %d: Range(%q, %q) = %q, reverse %q, want %q", seed, from, to, got, rev, want)
						}
					}
				}
				if n, err := s.ApproximateEntries(); err != nil || n != int64(len(model)) {
					t.Fatalf("ApproximateEntries = %d, %v; want %d", n, err, len(model))
				}
				got := dumpKV(t, s)
				if fmt.Sprint(got) != fmt.Sprint(model) {
					t.Fatalf("seed %d: store %v, model %v", seed, got, model)
				}
				// Restoring the changelog into an empty store reproduces it.
				r2 := open(fmt.Sprintf("kv%d-restored", seed), nil)
				for b := log.recs; len(b) > 0; {
					n := min(len(b), 1+r.IntN(50))
					if err := r2.RestoreBatch(b[:n]); err != nil {
						t.Fatal(err)
					}
					b = b[n:]
				}
				if got := dumpKV(t, r2); fmt.Sprint(got) != fmt.Sprint(model) {
					t.Fatalf("seed %d: restored %v, model %v", seed, got, model)
				}
				s.Close()
				r2.Close()
			}
		})
	}
}

func TestKeyValueStopAndMutateInCallback(t *testing.T) {
	for impl, open := range kvImpls(t) {
		t.Run(impl, func(t *testing.T) {
			s := open("cb", nil)
			for i := range 10 {
				s.Put([]byte{byte(i)}, []byte{byte(i)})
			}
			n := 0
			if err := s.Range(nil, nil, func(k, _ []byte) bool {
				n++
				if err := s.Put(append([]byte{}, k...), []byte("x")); err != nil { // calling back in must not deadlock
					t.Fatal(err)
				}
				return n < 3
			}); err != nil {
				t.Fatal(err)
			}
			if n != 3 {
				t.Fatalf("visited %d after stopping at 3", n)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get([]byte{1}); err != ErrClosed {
				t.Fatalf("Get after Close: %v", err)
			}
		})
	}
}
