package txn

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

func TestValueRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		v    LogValue
	}{
		{"empty", LogValue{ProducerID: 7, PreviousProducerID: -1, NextProducerID: -1, ProducerEpoch: 0, TimeoutMs: 60000, State: Empty, StartMs: -1, LastUpdateMs: 5}},
		{"ongoing", LogValue{ProducerID: 1 << 40, PreviousProducerID: -1, NextProducerID: -1, ProducerEpoch: 3, TimeoutMs: 1000, State: Ongoing,
			Partitions: TopicPartitions{"a": {0, 2}, "b": {1}}, StartMs: 10, LastUpdateMs: 20}},
		{"tagged", LogValue{ProducerID: 9, PreviousProducerID: 8, NextProducerID: 10, ProducerEpoch: 32766, TimeoutMs: 1, State: PrepareCommit,
			Partitions: TopicPartitions{"x": {5}}, StartMs: 1, LastUpdateMs: 2, ClientTxnVersion: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeValue(AppendValue(nil, tc.v))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.v) {
				t.Fatalf("got %+v, want %+v", got, tc.v)
			}
		})
	}
}

// TestDecodeValueV0 reads a classic (non-flexible) value as older Kafka brokers wrote it.
func TestDecodeValueV0(t *testing.T) {
	var b []byte
	b = binary.BigEndian.AppendUint16(b, 0)                   // version
	b = binary.BigEndian.AppendUint64(b, 42)                  // producer id
	b = binary.BigEndian.AppendUint16(b, 5)                   // epoch
	b = binary.BigEndian.AppendUint32(b, 60000)               // timeout
	b = append(b, byte(CompleteAbort))                        // state
	b = binary.BigEndian.AppendUint32(b, 1)                   // one topic
	b = append(binary.BigEndian.AppendUint16(b, 3), "top"...) // topic
	b = binary.BigEndian.AppendUint32(b, 2)                   // two partitions
	b = binary.BigEndian.AppendUint32(b, 4)                   //
	b = binary.BigEndian.AppendUint32(b, 9)                   //
	b = binary.BigEndian.AppendUint64(b, 100)                 // last update
	b = binary.BigEndian.AppendUint64(b, 90)                  // start
	v, err := DecodeValue(b)
	if err != nil {
		t.Fatal(err)
	}
	want := LogValue{ProducerID: 42, PreviousProducerID: -1, NextProducerID: -1, ProducerEpoch: 5, TimeoutMs: 60000, State: CompleteAbort,
		Partitions: TopicPartitions{"top": {4, 9}}, LastUpdateMs: 100, StartMs: 90}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %+v, want %+v", v, want)
	}
}

func TestKeyRoundTrip(t *testing.T) {
	for _, id := range []string{"", "tx-1", "ünïcode"} {
		got, err := DecodeKey(AppendKey(nil, id))
		if err != nil || got != id {
			t.Fatalf("%q: got %q, %v", id, got, err)
		}
	}
}

func TestDecodeRejectsBadBytes(t *testing.T) {
	good := AppendValue(nil, LogValue{ProducerID: 1, PreviousProducerID: -1, NextProducerID: -1, State: Ongoing, Partitions: TopicPartitions{"a": {1}}})
	badState := AppendValue(nil, LogValue{ProducerID: 1, PreviousProducerID: -1, NextProducerID: -1, State: 9})
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-3]},
		{"trailing", append(append([]byte(nil), good...), 0)},
		{"unknown version", append([]byte{0, 7}, good[2:]...)},
		{"unknown state", badState},
		{"huge array", append(append([]byte(nil), good[:17]...), 0xff, 0xff, 0xff, 0xff, 0x0f)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeValue(tc.b); !errors.Is(err, ErrBadRecord) {
				t.Fatalf("err %v, want ErrBadRecord", err)
			}
		})
	}
	if _, err := DecodeKey([]byte{0, 1, 0, 1, 'a'}); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("key version 1: %v, want ErrBadRecord", err)
	}
}

func FuzzDecodeTransactionState(f *testing.F) {
	f.Add(AppendKey(nil, "tx"), AppendValue(nil, LogValue{ProducerID: 3, PreviousProducerID: 2, NextProducerID: -1, ProducerEpoch: 1, TimeoutMs: 10, State: Ongoing, Partitions: TopicPartitions{"t": {0, 1}}}))
	f.Add([]byte{0, 0, 0, 0}, []byte{0, 1})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		if id, err := DecodeKey(key); err == nil {
			if again, err := DecodeKey(AppendKey(nil, id)); err != nil || again != id {
				t.Fatalf("key %q does not round trip: %q, %v", id, again, err)
			}
		}
		v, err := DecodeValue(value)
		if err != nil {
			return
		}
		again, err := DecodeValue(AppendValue(nil, v))
		if err != nil || !reflect.DeepEqual(again.Partitions, v.Partitions) || again.State != v.State || again.ProducerID != v.ProducerID {
			t.Fatalf("value %+v does not round trip: %+v, %v", v, again, err)
		}
	})
}
