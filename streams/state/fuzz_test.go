package state

import (
	"bytes"
	"math"
	"testing"
)

func FuzzParseWindowChangelogKey(f *testing.F) {
	f.Add(AppendWindowChangelogKey(nil, []byte("user-1"), 1700000000000, 3))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, start, seq, err := ParseWindowChangelogKey(b)
		if err != nil {
			if len(b) >= 12 {
				t.Fatalf("%d bytes refused", len(b))
			}
			return
		}
		if again := AppendWindowChangelogKey(nil, k, start, seq); !bytes.Equal(again, b) {
			t.Fatalf("round trip %x -> %x", b, again)
		}
	})
}

func FuzzParseSessionKey(f *testing.F) {
	f.Add(AppendSessionKey(nil, []byte("user-1"), 1000, 2000))
	f.Add(AppendSessionKey(nil, nil, 5, 4))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, start, end, err := ParseSessionKey(b)
		if err != nil {
			return
		}
		if end < start {
			t.Fatalf("accepted end %d < start %d", end, start)
		}
		if again := AppendSessionKey(nil, k, start, end); !bytes.Equal(again, b) {
			t.Fatalf("round trip %x -> %x", b, again)
		}
	})
}

func FuzzParseTimeWindowedKey(f *testing.F) {
	f.Add(AppendTimeWindowedKey(nil, []byte("k"), 600000))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, start, err := ParseTimeWindowedKey(b)
		if err != nil {
			return
		}
		if again := AppendTimeWindowedKey(nil, k, start); !bytes.Equal(again, b) {
			t.Fatalf("round trip %x -> %x", b, again)
		}
	})
}

// FuzzRestore feeds arbitrary changelog records (split at 0xfe, value after 0xfd, "-" for a
// tombstone) to in-memory window and session stores and checks the stores stay consistent:
// every visible entry's key, start and end come back from a scan in order.
func FuzzRestore(f *testing.F) {
	f.Add(append(AppendWindowChangelogKey(nil, []byte("a\x00b"), 120000, 0), 0xfd, 'v'))
	f.Add(append(AppendSessionKey(nil, []byte{0, 1}, -5, 70000), 0xfd, '-'))
	f.Fuzz(func(t *testing.T, data []byte) {
		var recs []Record
		for _, part := range bytes.Split(data, []byte{0xfe}) {
			k, v, _ := bytes.Cut(part, []byte{0xfd})
			if string(v) == "-" {
				v = nil
			}
			recs = append(recs, Record{Key: k, Value: v})
		}
		for _, dups := range []bool{false, true} {
			ws, _ := NewInMemoryWindow("w", WindowOptions{Retention: 100000, RetainDuplicates: dups})
			if err := ws.RestoreBatch(recs); err != nil {
				continue
			}
			prev := int64(math.MinInt64)
			ws.FetchAll(math.MinInt64, math.MaxInt64, func(k []byte, start int64, _ []byte) bool {
				if start < prev {
					t.Fatalf("window scan out of order: %d after %d", start, prev)
				}
				prev = start
				return true
			})
		}
		ss, _ := NewInMemorySession("s", SessionOptions{Retention: 100000})
		if err := ss.RestoreBatch(recs); err == nil {
			ss.FetchAll(math.MinInt64, math.MaxInt64, func(k []byte, start, end int64, _ []byte) bool {
				if end < start {
					t.Fatalf("session [%d, %d]", start, end)
				}
				n := 0
				ss.FindSessions(k, end, start, func(s, e int64, _ []byte) bool {
					if s == start && e == end {
						n++
					}
					return true
				})
				if n != 1 {
					t.Fatalf("session %q [%d, %d] found %d times by FindSessions", k, start, end, n)
				}
				return true
			})
		}
		kv := NewInMemoryKeyValue("kv", nil)
		if err := kv.RestoreBatch(recs); err != nil {
			t.Fatal(err)
		}
	})
}
