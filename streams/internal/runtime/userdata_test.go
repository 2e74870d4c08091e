package runtime

import (
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/streams/processor"
)

func TestUserDataRoundTrip(t *testing.T) {
	s := Subscription{ProcessID: "p1", Endpoint: "host:8080",
		PrevActive: []processor.TaskID{{Subtopology: 0, Partition: 1}, {Subtopology: 2, Partition: -1}}, Local: []processor.TaskID{{Subtopology: 1, Partition: 1 << 30}}}
	got, err := DecodeSubscription(s.Encode())
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("subscription %+v, %v; want %+v", got, err, s)
	}
	a := AssignmentData{Standby: []processor.TaskID{{Subtopology: 0, Partition: 3}},
		Hosts: []HostTasks{{Endpoint: "a:1", Active: []processor.TaskID{{Subtopology: 0, Partition: 0}}}, {Endpoint: "b:2"}}}
	gotA, err := DecodeAssignment(a.Encode())
	if err != nil || !reflect.DeepEqual(gotA, a) {
		t.Fatalf("assignment %+v, %v; want %+v", gotA, err, a)
	}
	for _, bad := range [][]byte{nil, {2}, {1, 0xff}, {1, 5, 'a'}, append(s.Encode(), 0)[:len(s.Encode())-1]} {
		if _, err := DecodeSubscription(bad); err == nil {
			t.Errorf("DecodeSubscription(%x) took malformed bytes", bad)
		}
	}
}

// FuzzDecodeUserData: group user data comes from other members through the coordinator; it
// must never panic or allocate beyond its size, and what decodes re-encodes to a value that
// decodes the same.
func FuzzDecodeUserData(f *testing.F) {
	s := Subscription{ProcessID: "p", Endpoint: "h:1", PrevActive: []processor.TaskID{{Subtopology: 0, Partition: 1}}, Local: []processor.TaskID{{Subtopology: 1, Partition: 0}}}
	a := AssignmentData{Standby: []processor.TaskID{{Subtopology: 0, Partition: 3}}, Hosts: []HostTasks{{Endpoint: "a:1", Active: []processor.TaskID{{Subtopology: 0, Partition: 0}}}}}
	f.Add(s.Encode())
	f.Add(a.Encode())
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := DecodeSubscription(b); err == nil {
			again, err := DecodeSubscription(s.Encode())
			if err != nil || !reflect.DeepEqual(again, s) {
				t.Fatalf("subscription does not round-trip: %+v / %+v %v", s, again, err)
			}
		}
		if a, err := DecodeAssignment(b); err == nil {
			again, err := DecodeAssignment(a.Encode())
			if err != nil || !reflect.DeepEqual(again, a) {
				t.Fatalf("assignment does not round-trip: %+v / %+v %v", a, again, err)
			}
		}
	})
}

func TestMurmur2KafkaVectors(t *testing.T) {
	// Kafka's UtilsTest.testMurmur2 vectors.
	for in, want := range map[string]int32{
		"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536,
		"a-little-bit-longer-string": -1486304829, "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		if got := int32(Murmur2([]byte(in))); got != want {
			t.Errorf("murmur2(%q) = %d, want %d", in, got, want)
		}
	}
}
