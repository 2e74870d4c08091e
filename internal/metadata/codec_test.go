package metadata

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"
)

// sampleRecords has one record of every type, with edge values.
func sampleRecords() []Record {
	return []Record{
		&ClusterIDRecord{ClusterID: "q1w2e3r4t5y6u7i8o9p0aa"},
		&RegisterBrokerRecord{BrokerID: 3, Incarnation: [16]byte{1, 2, 3}, Epoch: -1,
			Endpoints: []Endpoint{{Listener: "PLAINTEXT", Host: "localhost", Port: 9092, SecurityProtocol: 0},
				{Listener: "SASL_SSL", Host: "::1", Port: 65535, SecurityProtocol: 3}},
			Rack: "eu-1a", Fenced: true},
		&RegisterBrokerRecord{BrokerID: 2147483647, Epoch: 9223372036854775807},
		&TopicRecord{Name: "orders", TopicID: tid(1)},
		&PartitionRecord{TopicID: tid(1), Partition: 0, Replicas: []int32{3, 1, 2}, ISR: []int32{3, 1}, Leader: 3,
			LeaderEpoch: 7, PartitionEpoch: 2147483647},
		&PartitionRecord{TopicID: tid(1), Partition: 1, Replicas: []int32{1}, ISR: []int32{}, Leader: -1},
		&PartitionChangeRecord{TopicID: tid(1), Partition: 1, Leader: NoLeaderChange},
		&PartitionChangeRecord{TopicID: tid(1), Partition: 0, Leader: -1, ISR: []int32{}, Replicas: []int32{1, 2}},
		&PartitionRecord{TopicID: tid(1), Partition: 2, Replicas: []int32{4, 5, 1, 2}, ISR: []int32{1, 2}, Leader: 1,
			AddingReplicas: []int32{4, 5}, RemovingReplicas: []int32{1}},
		&PartitionChangeRecord{TopicID: tid(1), Partition: 2, Leader: NoLeaderChange, AddingReplicas: []int32{}, RemovingReplicas: []int32{2}},
		&PartitionChangeRecord{TopicID: tid(1), Partition: 2, Leader: 4, ISR: []int32{4}, Replicas: []int32{4}, AddingReplicas: []int32{}},
		&ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "orders", Name: "retention.ms", Value: "1000"},
		&ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "", Name: "log.retention.ms", Delete: true},
		&RemoveTopicRecord{TopicID: tid(1)},
		&FeatureLevelRecord{Name: MetadataVersionFeature, Level: -32768},
		&ProducerIDsRecord{BrokerID: 1, BrokerEpoch: 12, NextProducerID: 1000},
		&BrokerRegistrationChangeRecord{BrokerID: 3, BrokerEpoch: 9223372036854775807, Fenced: BrokerUnfence, InControlledShutdown: 1},
		&BrokerRegistrationChangeRecord{BrokerID: 0, BrokerEpoch: -1, Fenced: BrokerFence},
	}
}

func TestBatchRoundTrip(t *testing.T) {
	recs := sampleRecords()
	enc := EncodeBatch(recs)
	got, err := DecodeBatch(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("round trip differs\n got %#v\nwant %#v", got, recs)
	}
	if empty, err := DecodeBatch(EncodeBatch(nil)); err != nil || len(empty) != 0 {
		t.Fatalf("empty batch: %v %v", empty, err)
	}
	// Appending keeps what dst held.
	prefix := []byte("xyz")
	if out := AppendBatch(prefix, recs); !bytes.Equal(out[:3], prefix) || !bytes.Equal(out[3:], enc) {
		t.Fatal("AppendBatch changed the prefix or encoded differently")
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	good := EncodeBatch(sampleRecords())
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x40
		return b
	}
	// reframe re-computes the checksum so that the fault lies past it.
	reframe := func(body []byte) []byte {
		b := append([]byte{batchMagic, batchVersion, 0, 0, 0, 0}, body...)
		return fixCRC(b)
	}
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"short header", good[:5], ErrCorrupt},
		{"bad magic", flip(0), ErrCorrupt},
		{"newer batch version", fixCRC(func() []byte { b := bytes.Clone(good); b[1] = 2; return b }()), ErrUnsupportedVersion},
		{"checksum mismatch", flip(len(good) - 1), ErrCorrupt},
		{"truncated", fixCRC(bytes.Clone(good[:len(good)-3])), ErrCorrupt},
		{"huge count", reframe([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}), ErrCorrupt},
		{"record length past end", reframe([]byte{1, 100, byte(TypeClusterID), 0}), ErrCorrupt},
		{"unknown record type", reframe([]byte{1, 2, 200, 0}), ErrUnsupportedVersion},
		{"newer record version", reframe([]byte{1, 3, byte(TypeRemoveTopic), 1, 0}), ErrUnsupportedVersion},
		{"trailing bytes in record", reframe(append([]byte{1, 19, byte(TypeRemoveTopic), 0}, make([]byte, 17)...)), ErrCorrupt},
		{"trailing bytes after batch", reframe([]byte{0, 1}), ErrCorrupt},
		{"bad bool", reframe([]byte{1, 8, byte(TypeConfig), 0, 2, 0, 1, 'k', 5, 0}), ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs, err := DecodeBatch(c.in)
			if !errors.Is(err, c.want) {
				t.Fatalf("DecodeBatch = %v, %v; want %v", recs, err, c.want)
			}
		})
	}
	// A partition number too large for 32 bits.
	enc := encoder{}
	enc.u8(uint8(TypePartition))
	enc.u8(0)
	enc.uuid(tid(1))
	enc.varint(1 << 40)
	body := append([]byte{1}, append(appendLen(nil, len(enc.buf)), enc.buf...)...)
	if _, err := DecodeBatch(reframeBytes(body)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("oversized partition: %v", err)
	}
}

func appendLen(b []byte, n int) []byte {
	e := encoder{buf: b}
	e.uvarint(uint64(n))
	return e.buf
}

func reframeBytes(body []byte) []byte {
	return fixCRC(append([]byte{batchMagic, batchVersion, 0, 0, 0, 0}, body...))
}

func fixCRC(b []byte) []byte {
	if len(b) < batchHeaderSize {
		return b
	}
	binary.BigEndian.PutUint32(b[2:], crc32.Checksum(b[batchHeaderSize:], castagnoli))
	return b
}

func TestSnapshotRoundTrip(t *testing.T) {
	img := build(t,
		BootstrapRecords("cluster-1"),
		[]Record{&RegisterBrokerRecord{BrokerID: 1, Epoch: -1, Endpoints: []Endpoint{{Listener: "PLAINTEXT", Host: "a", Port: 1}}},
			&RegisterBrokerRecord{BrokerID: 2, Epoch: -1, Fenced: true}},
		[]Record{&BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 2, InControlledShutdown: 1}},
		topicBatch("b", tid(2), 2, 1, 2),
		topicBatch("a", tid(1), 1, 2),
		[]Record{
			&PartitionChangeRecord{TopicID: tid(2), Partition: 1, Leader: 2},
			&ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "a", Name: "retention.ms", Value: "5"},
			&ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "2", Name: "message.max.bytes", Value: "5"},
			&ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "10", Name: "message.max.bytes", Value: "6"},
			&ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "", Name: "log.retention.ms", Value: "6"},
			&ProducerIDsRecord{BrokerID: 1, BrokerEpoch: 2, NextProducerID: 5000},
		},
	)
	enc := AppendSnapshot(nil, img)
	got, err := DecodeSnapshot(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Offset() != img.Offset() || got.NextProducerID() != 5000 || got.ClusterID() != "cluster-1" {
		t.Fatalf("offset %d producer %d cluster %q", got.Offset(), got.NextProducerID(), got.ClusterID())
	}
	if !reflect.DeepEqual(got.Records(), img.Records()) {
		t.Fatalf("restored Image differs:\n got %v\nwant %v", got.Records(), img.Records())
	}
	if b, _ := got.Broker(1); !b.InControlledShutdown || b.Fenced {
		t.Errorf("controlled shutdown not kept: %+v", b)
	}
	if p, _ := mustTopic(t, got, "b").Partition(1); p.Leader != 2 || p.LeaderEpoch != 1 {
		t.Errorf("partition epochs not kept: %+v", p)
	}
	if !bytes.Equal(AppendSnapshot(nil, got), enc) {
		t.Error("re-encoding a restored Image gives different bytes")
	}
	for name, bad := range map[string][]byte{
		"empty":      nil,
		"bad magic":  append([]byte("XXXX"), enc[4:]...),
		"truncated":  enc[:len(enc)-1],
		"no records": enc[:snapshotHeaderSize],
	} {
		if _, err := DecodeSnapshot(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
	newer := bytes.Clone(enc)
	newer[4] = 9
	if _, err := DecodeSnapshot(newer); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("newer snapshot: %v", err)
	}
}

func mustTopic(t *testing.T, img *Image, name string) *Topic {
	t.Helper()
	top, ok := img.Topic(name)
	if !ok {
		t.Fatalf("no topic %s", name)
	}
	return top
}
