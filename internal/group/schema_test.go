package group

import (
	"errors"
	"testing"
)

func TestOffsetRecordRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		o    OffsetCommit
	}{
		{"plain", OffsetCommit{Topic: "orders", Partition: 3, Offset: 42, LeaderEpoch: 7, Metadata: "m", CommitTime: 1700000000000}},
		{"no epoch, empty metadata", OffsetCommit{Topic: "t", Partition: 0, Offset: 0, LeaderEpoch: -1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := DecodeKey(AppendOffsetKey(nil, "email-service", tc.o.Topic, tc.o.Partition))
			if err != nil || k.IsGroup || k.Group != "email-service" || k.Topic != tc.o.Topic || k.Partition != tc.o.Partition {
				t.Fatalf("key: %+v %v", k, err)
			}
			v, err := DecodeOffsetValue(AppendOffsetValue(nil, tc.o))
			v.Topic, v.Partition = tc.o.Topic, tc.o.Partition
			if err != nil || v != tc.o {
				t.Fatalf("value: %+v %v, want %+v", v, err, tc.o)
			}
		})
	}
}

func TestDecodeKnownBytes(t *testing.T) {
	// An offset commit key v1 for group "g", topic "t", partition 2, byte by byte.
	key := []byte{0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 2}
	if k, err := DecodeKey(key); err != nil || k.Group != "g" || k.Topic != "t" || k.Partition != 2 {
		t.Fatalf("key: %+v %v", k, err)
	}
	// Value v1 (Kafka 0.10–2.0): offset 5, metadata "", commit 9, expire 10.
	v1 := []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 10}
	if o, err := DecodeOffsetValue(v1); err != nil || o.Offset != 5 || o.CommitTime != 9 || o.LeaderEpoch != -1 {
		t.Fatalf("value v1: %+v %v", o, err)
	}
	if k, err := DecodeKey(AppendGroupKey(nil, "g")); err != nil || !k.IsGroup || k.Group != "g" {
		t.Fatalf("group key: %+v %v", k, err)
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := []struct {
		name  string
		bytes []byte
		value bool
	}{
		{"empty key", nil, false},
		{"unknown key version", []byte{0, 9, 0, 0}, false},
		{"truncated key", []byte{0, 1, 0, 5, 'a'}, false},
		{"negative string length", []byte{0, 1, 0x80, 0}, false},
		{"unknown value version", []byte{0, 7}, true},
		{"truncated value", []byte{0, 3, 0, 0}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.value {
				_, err = DecodeOffsetValue(tc.bytes)
			} else {
				_, err = DecodeKey(tc.bytes)
			}
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("err %v, want ErrBadRecord", err)
			}
		})
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(AppendOffsetKey(nil, "g", "t", 1), AppendOffsetValue(nil, OffsetCommit{Offset: 3, LeaderEpoch: 1, Metadata: "x"}))
	f.Add(AppendGroupKey(nil, "g"), []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 10})
	f.Add(AppendGroupKey(nil, "g"), AppendGroupValue(nil, GroupMetadata{ProtocolType: "consumer", Generation: 2, Protocol: "range", Leader: "m",
		Members: []MemberMetadata{{MemberID: "m", ClientID: "c", Subscription: []byte{1}, Assignment: []byte{2}}}}))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		if k, err := DecodeKey(key); err == nil && k.Kind <= 1 {
			k2, err := DecodeKey(AppendOffsetKey(nil, k.Group, k.Topic, k.Partition))
			k2.Kind = k.Kind // version 0 keys are rewritten as version 1
			if err != nil || k2 != k {
				t.Fatalf("key re-encode: %+v %v, want %+v", k2, err, k)
			}
		}
		if g, err := DecodeGroupValue(value); err == nil {
			if _, err := DecodeGroupValue(AppendGroupValue(nil, g)); err != nil {
				t.Fatalf("group value re-encode: %v", err)
			}
		}
		if o, err := DecodeOffsetValue(value); err == nil {
			if o2, err := DecodeOffsetValue(AppendOffsetValue(nil, o)); err != nil || o2 != o {
				t.Fatalf("value re-encode: %+v %v, want %+v", o2, err, o)
			}
		}
	})
}
