package connect

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestFileOffsetsPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offsets.json")
	s, err := OpenFileOffsets(path)
	if err != nil {
		t.Fatal(err)
	}
	p1 := map[string]any{"filename": "/a", "n": float64(1)}
	p2 := map[string]any{"filename": "/b"}
	if err := s.Commit("c", []OffsetEntry{{Partition: p1, Offset: map[string]any{"position": float64(10)}}, {Partition: p2, Offset: map[string]any{"position": float64(5)}}}); err != nil {
		t.Fatal(err)
	}
	s.Commit("other", []OffsetEntry{{Partition: p1, Offset: map[string]any{"position": float64(99)}}})
	s.Commit("c", []OffsetEntry{{Partition: p2}}) // removed
	r, err := OpenFileOffsets(path)
	if err != nil {
		t.Fatal(err)
	}
	// The same partition with its keys in another order is the same key.
	off, _ := r.Get("c", map[string]any{"n": float64(1), "filename": "/a"})
	if !reflect.DeepEqual(off, map[string]any{"position": float64(10)}) {
		t.Errorf("after reopening: %v", off)
	}
	if off, _ := r.Get("c", p2); off != nil {
		t.Errorf("a removed offset came back: %v", off)
	}
	all, _ := r.All("other")
	if len(all) != 1 || all[0].Offset["position"] != float64(99) {
		t.Errorf("other's offsets: %v", all)
	}
}

func FuzzParseOffsetKey(f *testing.F) {
	f.Add([]byte(`["c",{"filename":"/a"}]`))
	f.Add([]byte(`["c",null]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, p, err := parseOffsetKey(b)
		if err != nil {
			return
		}
		k, err := offsetKey(c, p)
		if err != nil {
			t.Fatalf("a parsed key does not encode: %v", err)
		}
		c2, p2, err := parseOffsetKey([]byte(k))
		if err != nil || c2 != c || !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip of %q: %q %v %v", b, c2, p2, err)
		}
	})
}
