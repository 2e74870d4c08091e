package storage

import (
	"errors"
	"reflect"
	"testing"
)

func TestOffsetCheckpointFormat(t *testing.T) {
	offsets := map[TopicPartition]int64{
		{Topic: "b", Partition: 10}:      7,
		{Topic: "b", Partition: 2}:       0,
		{Topic: "a.x-y_z", Partition: 0}: 1 << 40,
	}
	data := formatOffsetCheckpoint(offsets)
	want := "0\n3\na.x-y_z 0 1099511627776\nb 2 0\nb 10 7\n"
	if string(data) != want {
		t.Fatalf("formatted %q, want %q", data, want)
	}
	got, err := parseOffsetCheckpoint(data)
	if err != nil || !reflect.DeepEqual(got, offsets) {
		t.Fatalf("round trip: %v %v", got, err)
	}
}

func TestOffsetCheckpointRejects(t *testing.T) {
	cases := []struct{ name, data string }{
		{"empty", ""},
		{"wrong version", "1\n0\n"},
		{"missing count", "0\n"},
		{"count too large", "0\n5\na 0 1\n"},
		{"count too small", "0\n1\na 0 1\nb 0 2\n"},
		{"negative offset", "0\n1\na 0 -1\n"},
		{"partition too large", "0\n1\na 4294967296 1\n"},
		{"bad topic", "0\n1\na/b 0 1\n"},
		{"two spaces", "0\n1\na  0 1\n"},
		{"no final newline", "0\n1\na 0 1"},
		{"huge count", "0\n999999999999\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseOffsetCheckpoint([]byte(tc.data)); !errors.Is(err, ErrCorruptCheckpoint) {
				t.Fatalf("parse %q: %v", tc.data, err)
			}
		})
	}
}

func TestEpochCheckpointFormat(t *testing.T) {
	entries := []EpochEntry{{0, 0}, {4, 1850}, {7, 90312}}
	data := formatEpochCheckpoint(entries)
	if string(data) != "0\n3\n0 0\n4 1850\n7 90312\n" {
		t.Fatalf("formatted %q", data)
	}
	got, err := parseEpochCheckpoint(data)
	if err != nil || !equalEpochs(got, entries) {
		t.Fatalf("round trip %v %v", got, err)
	}
	for name, bad := range map[string]string{
		"epochs out of order":  "0\n2\n4 0\n3 10\n",
		"offsets out of order": "0\n2\n1 10\n2 5\n",
		"negative epoch":       "0\n1\n-1 0\n",
		"three fields":         "0\n1\n1 0 0\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseEpochCheckpoint([]byte(bad)); !errors.Is(err, ErrCorruptCheckpoint) {
				t.Fatalf("parse %q: %v", bad, err)
			}
		})
	}
}

func TestPartitionMetadataFormat(t *testing.T) {
	id := [16]byte{0xe0, 0x2c, 0xda, 0x0f, 0xd8, 0xb7, 0x4e, 0xf2, 0x90, 0xd1, 0x9d, 0x61, 0x3b, 0x90, 0xbf, 0x9b}
	data := formatPartitionMetadata(id)
	if string(data) != "version: 0\ntopic_id: 4CzaD9i3TvKQ0Z1hO5C_mw\n" {
		t.Fatalf("formatted %q", data)
	}
	got, err := parsePartitionMetadata(data)
	if err != nil || got != id {
		t.Fatalf("round trip %x %v", got, err)
	}
	for name, bad := range map[string]string{
		"version 1":   "version: 1\ntopic_id: 4CzaD9i3TvKQ0Z1hO5C_mw\n",
		"short id":    "version: 0\ntopic_id: 4CzaD9i3TvKQ0Z1hO5C_m\n",
		"padded id":   "version: 0\ntopic_id: 4CzaD9i3TvKQ0Z1hO5C_mw==\n",
		"extra line":  "version: 0\ntopic_id: 4CzaD9i3TvKQ0Z1hO5C_mw\nx\n",
		"not base64":  "version: 0\ntopic_id: 4CzaD9i3TvKQ0Z1hO5C_m!\n",
		"missing key": "version: 0\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parsePartitionMetadata([]byte(bad)); !errors.Is(err, ErrCorruptCheckpoint) {
				t.Fatalf("parse %q: %v", bad, err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	if got := segmentFileName(4096, kindTimeIndex); got != "00000000000000004096.timeindex" {
		t.Fatalf("segment name %q", got)
	}
	cases := []struct {
		name string
		tp   TopicPartition
		ok   bool
	}{
		{"orders-3", TopicPartition{"orders", 3}, true},
		{"my-topic-12", TopicPartition{"my-topic", 12}, true},
		{"orders-03", TopicPartition{}, false},
		{"orders-", TopicPartition{}, false},
		{"-1", TopicPartition{}, false},
		{"orders-1.abc-delete", TopicPartition{}, false},
		{"orders-x", TopicPartition{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp, ok := parsePartitionDir(tc.name)
			if ok != tc.ok || tp != tc.tp {
				t.Fatalf("parsePartitionDir(%q) = %v %v", tc.name, tp, ok)
			}
		})
	}
}
