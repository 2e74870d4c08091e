package coordinator

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/internal/share"
)

var testKey = share.Key{Group: "g1", TopicID: [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, Partition: 7}

func TestKeyRoundTrip(t *testing.T) {
	for _, typ := range []int16{TypeSnapshot, TypeUpdate} {
		b := AppendKey(nil, typ, testKey)
		got, err := DecodeKey(b)
		if err != nil || got.Type != typ || got.Key != testKey {
			t.Fatalf("type %d: %+v %v", typ, got, err)
		}
	}
	// The bytes as Kafka's serde writes them: int16 type, int16-length group, uuid, int32.
	want := "0001" + "0002" + hex.EncodeToString([]byte("g1")) + "0102030405060708090a0b0c0d0e0f10" + "00000007"
	if got := hex.EncodeToString(AppendKey(nil, TypeUpdate, testKey)); got != want {
		t.Fatalf("update key %s, want %s", got, want)
	}
	if _, err := DecodeKey(AppendKey(nil, 2, testKey)); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("record type 2 decoded: %v", err)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	v := Snapshot{SnapshotEpoch: 3, StateEpoch: 2, LeaderEpoch: 5, StartOffset: 100, DeliveryCompleteCount: 4,
		CreateTimestamp: 1700000000000, WriteTimestamp: 1700000000500,
		Batches: []share.StateBatch{sb(100, 104, share.StateAcknowledged, 1), sb(105, 105, share.StateAvailable, 2), sb(106, 110, share.StateArchived, 5)}}
	b := AppendSnapshot(nil, v)
	got, err := DecodeSnapshot(b)
	if err != nil || !reflect.DeepEqual(got, v) {
		t.Fatalf("got %+v %v, want %+v", got, err, v)
	}
	// Without the tagged DeliveryCompleteCount (Kafka before 4.2) it reads as -1.
	v.DeliveryCompleteCount = -1
	b = AppendSnapshot(nil, v)
	if b[len(b)-1] != 0 {
		t.Fatalf("default DeliveryCompleteCount written as a tag: % x", b)
	}
	if got, err := DecodeSnapshot(b); err != nil || got.DeliveryCompleteCount != -1 {
		t.Fatalf("got %+v %v", got, err)
	}
	// Truncated and trailing bytes fail.
	for i := range len(b) {
		if _, err := DecodeSnapshot(b[:i]); !errors.Is(err, ErrBadRecord) {
			t.Fatalf("truncated at %d decoded: %v", i, err)
		}
	}
	if _, err := DecodeSnapshot(append(bytes.Clone(b), 0)); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("trailing byte decoded: %v", err)
	}
}

func TestUpdateRoundTrip(t *testing.T) {
	v := Update{SnapshotEpoch: 1, LeaderEpoch: 9, StartOffset: -1, DeliveryCompleteCount: 12,
		Batches: []share.StateBatch{sb(7, 9, share.StateAvailable, 3)}}
	got, err := DecodeUpdate(AppendUpdate(nil, v))
	if err != nil || !reflect.DeepEqual(got, v) {
		t.Fatalf("got %+v %v, want %+v", got, err, v)
	}
	// An inverted batch is refused.
	v.Batches[0].LastOffset = 6
	if _, err := DecodeUpdate(AppendUpdate(nil, v)); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("inverted batch decoded: %v", err)
	}
}

func TestCoordinatorKeyPartition(t *testing.T) {
	// Kafka's key string: group, base64 topic id, partition.
	if got, want := CoordinatorKey(testKey), "g1:AQIDBAUGBwgJCgsMDQ4PEA:7"; got != want {
		t.Fatalf("key %q, want %q", got, want)
	}
	if p := PartitionFor(testKey, 50); p < 0 || p >= 50 {
		t.Fatalf("partition %d", p)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(AppendKey(nil, TypeSnapshot, testKey), AppendSnapshot(nil, Snapshot{StartOffset: 3, DeliveryCompleteCount: -1,
		Batches: []share.StateBatch{sb(3, 4, 0, 1)}}))
	f.Add(AppendKey(nil, TypeUpdate, testKey), AppendUpdate(nil, Update{StartOffset: -1, DeliveryCompleteCount: 2}))
	f.Add([]byte{0, 1}, []byte{0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		k, err := DecodeKey(key)
		if err == nil {
			if got, err := DecodeKey(AppendKey(nil, k.Type, k.Key)); err != nil || got != k {
				t.Fatalf("key does not round-trip: %+v %v", got, err)
			}
		}
		if s, err := DecodeSnapshot(value); err == nil {
			if got, err := DecodeSnapshot(AppendSnapshot(nil, s)); err != nil || !reflect.DeepEqual(got, s) {
				t.Fatalf("snapshot does not round-trip: %+v %v", got, err)
			}
		}
		if u, err := DecodeUpdate(value); err == nil {
			if got, err := DecodeUpdate(AppendUpdate(nil, u)); err != nil || !reflect.DeepEqual(got, u) {
				t.Fatalf("update does not round-trip: %+v %v", got, err)
			}
		}
		// Replaying never panics and keeps states well formed.
		states := map[share.Key]*pstate{}
		applyRecord(states, 0, key, value)
		for _, st := range states {
			checkBatches(t, st.batches)
		}
	})
}

// checkBatches fails unless bs is ordered and non-overlapping.
func checkBatches(t *testing.T, bs []share.StateBatch) {
	t.Helper()
	for i, b := range bs {
		if b.LastOffset < b.FirstOffset || (i > 0 && bs[i-1].LastOffset >= b.FirstOffset) {
			t.Fatalf("batches not ordered and disjoint: %+v", bs)
		}
	}
}

func TestParseCoordinatorKey(t *testing.T) {
	k := share.Key{Group: "a:b", TopicID: testKey.TopicID, Partition: 3}
	if got, err := ParseCoordinatorKey(CoordinatorKey(k)); err != nil || got != k {
		t.Fatalf("got %+v %v", got, err)
	}
	for _, bad := range []string{"", "x", "g:AQIDBAUGBwgJCgsMDQ4PEA", ":AQIDBAUGBwgJCgsMDQ4PEA:1", "g:AQID:1", "g:AQIDBAUGBwgJCgsMDQ4PEA:-1", "g:AQIDBAUGBwgJCgsMDQ4PEA:x"} {
		if _, err := ParseCoordinatorKey(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseCoordinatorKey(f *testing.F) {
	f.Add(CoordinatorKey(testKey))
	f.Add("a:b:AQIDBAUGBwgJCgsMDQ4PEA:2147483647")
	f.Add("::")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseCoordinatorKey(s)
		if err != nil {
			return
		}
		if got, err := ParseCoordinatorKey(CoordinatorKey(k)); err != nil || got != k {
			t.Fatalf("%q: %+v does not round-trip: %+v %v", s, k, got, err)
		}
	})
}
