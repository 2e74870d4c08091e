package state

import (
	"encoding/hex"
	"testing"
)

// TestChangelogLayouts pins the logged bytes to Kafka Streams' layouts, written out by hand:
// WindowKeySchema.toStoreKeyBinary (key, start int64, seqnum int32) and SessionKeySchema.toBinary
// (key, end int64, start int64), big-endian.
func TestChangelogLayouts(t *testing.T) {
	hexes := func(recs []Record) (out []string) {
		for _, r := range recs {
			v := "<nil>"
			if r.Value != nil {
				v = string(r.Value)
			}
			out = append(out, hex.EncodeToString(r.Key)+"="+v)
		}
		return out
	}
	check := func(name string, got []Record, want ...string) {
		t.Helper()
		g := hexes(got)
		if len(g) != len(want) {
			t.Fatalf("%s: logged %v, want %v", name, g, want)
		}
		for i := range g {
			if g[i] != want[i] {
				t.Fatalf("%s: record %d is %s, want %s", name, i, g[i], want[i])
			}
		}
	}

	kvLog := &logRec{}
	kv := NewInMemoryKeyValue("kv", kvLog)
	kv.Put([]byte("k\x00"), []byte("v"))
	kv.Delete([]byte("k\x00"))
	check("key-value", kvLog.recs, "6b00=v", "6b00=<nil>")

	wLog := &logRec{}
	w, _ := NewInMemoryWindow("w", WindowOptions{Retention: 1 << 62, Logger: wLog})
	w.Put([]byte("ab"), 0x0102030405060708, []byte("v"))
	w.Put([]byte("ab"), 0x0102030405060708, nil)
	check("window", wLog.recs,
		"6162"+"0102030405060708"+"00000000=v",
		"6162"+"0102030405060708"+"00000000=<nil>")

	dLog := &logRec{}
	d, _ := NewInMemoryWindow("d", WindowOptions{Retention: 1 << 62, RetainDuplicates: true, Logger: dLog})
	d.Put([]byte("ab"), 1000, []byte("x"))
	d.Put([]byte("ab"), 1000, nil) // ignored with duplicates, as in Kafka Streams
	d.Put([]byte("ab"), 1000, []byte("y"))
	check("window with duplicates", dLog.recs,
		"6162"+"00000000000003e8"+"00000001=x",
		"6162"+"00000000000003e8"+"00000002=y")
	var vals []string
	d.FetchRange([]byte("ab"), 0, 2000, func(_ int64, v []byte) bool { vals = append(vals, string(v)); return true })
	if len(vals) != 2 || vals[0] != "x" || vals[1] != "y" {
		t.Fatalf("duplicates fetched %v", vals)
	}

	sLog := &logRec{}
	s, _ := NewInMemorySession("s", SessionOptions{Retention: 1 << 62, Logger: sLog})
	s.Put([]byte("ab"), 5, 9, []byte("v"))
	s.Remove([]byte("ab"), 5, 9)
	check("session", sLog.recs,
		"6162"+"0000000000000009"+"0000000000000005=v",
		"6162"+"0000000000000009"+"0000000000000005=<nil>")

	if got := hex.EncodeToString(AppendTimeWindowedKey(nil, []byte("ab"), 1000)); got != "6162"+"00000000000003e8" {
		t.Fatalf("TimeWindowedSerializer layout %s", got)
	}
	if got := hex.EncodeToString(AppendSessionKey(nil, []byte("ab"), 5, 9)); got != "6162"+"0000000000000009"+"0000000000000005" {
		t.Fatalf("SessionWindowedSerializer layout %s", got)
	}
}
