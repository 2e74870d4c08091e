package metadata

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// Records without a reassignment keep their version 0 encoding byte for byte, so metadata logs
// and snapshots written before reassignments existed still decode, and bytes written now
// without one still decode on builds that predate them.
func TestPartitionRecordVersions(t *testing.T) {
	// Version 0 Partition record, spelled out: type, version, topic id, partition 1, replicas
	// [1 2], ISR [1], leader 1, leader epoch 3, partition epoch 4 (zig-zag varints).
	v0 := append([]byte{byte(TypePartition), 0}, tid(7).bytes()...)
	v0 = append(v0, 2, 2, 2, 4, 1, 2, 2, 6, 8)
	rec := &PartitionRecord{TopicID: tid(7), Partition: 1, Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1, LeaderEpoch: 3, PartitionEpoch: 4}
	got, err := DecodeBatch(reframeBytes(append(append([]byte{1}, appendLen(nil, len(v0))...), v0...)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []Record{rec}) {
		t.Fatalf("version 0 decodes as %#v", got[0])
	}
	if enc := EncodeBatch([]Record{rec}); !bytes.Contains(enc, v0) {
		t.Fatal("a partition without reassignment is not encoded as version 0")
	}
	change := &PartitionChangeRecord{TopicID: tid(7), Partition: 1, Leader: 2, ISR: []int32{2}}
	if enc := EncodeBatch([]Record{change}); enc[batchHeaderSize+3] != 0 {
		t.Fatalf("a change without reassignment fields has version %d", enc[batchHeaderSize+3])
	}
	withAdding := &PartitionChangeRecord{TopicID: tid(7), Partition: 1, Leader: NoLeaderChange, AddingReplicas: []int32{}}
	if enc := EncodeBatch([]Record{withAdding}); enc[batchHeaderSize+3] != 1 {
		t.Fatalf("a change clearing the adding replicas has version %d", enc[batchHeaderSize+3])
	}

	// Version 0 of a change cannot carry the reassignment flags; version 2 is not known.
	body := func(version, flags byte) []byte {
		b := append([]byte{byte(TypePartitionChange), version}, tid(7).bytes()...)
		b = append(b, 2, 3, flags)
		if flags&changeHasAdding != 0 {
			b = append(b, 1, 2)
		}
		return reframeBytes(append(append([]byte{1}, appendLen(nil, len(b))...), b...))
	}
	if _, err := DecodeBatch(body(0, changeHasAdding)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("version 0 with the adding flag: %v", err)
	}
	if recs, err := DecodeBatch(body(1, changeHasAdding)); err != nil || !reflect.DeepEqual(recs[0].(*PartitionChangeRecord).AddingReplicas, []int32{1}) {
		t.Errorf("version 1 with the adding flag: %v %v", recs, err)
	}
	if _, err := DecodeBatch(body(2, 0)); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("version 2: %v", err)
	}
}

func (id TopicID) bytes() []byte { return id[:] }

// A reassignment survives a snapshot, and a partition whose reassignment was cleared holds nil
// (so it equals one that never had any).
func TestReassignmentApplyAndSnapshot(t *testing.T) {
	img := build(t, BootstrapRecords("c"), topicBatch("t", tid(1), 2, 1),
		[]Record{&PartitionChangeRecord{TopicID: tid(1), Partition: 0, Leader: NoLeaderChange,
			Replicas: []int32{3, 1}, AddingReplicas: []int32{3}, RemovingReplicas: []int32{1}}})
	p, _ := mustTopic(t, img, "t").Partition(0)
	if !p.Reassigning() || !reflect.DeepEqual(p.AddingReplicas, []int32{3}) || !reflect.DeepEqual(p.RemovingReplicas, []int32{1}) {
		t.Fatalf("after the change: %+v", p)
	}
	again, err := DecodeSnapshot(AppendSnapshot(nil, img))
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := mustTopic(t, again, "t").Partition(0); !reflect.DeepEqual(q, p) {
		t.Fatalf("snapshot gives %+v, want %+v", q, p)
	}
	done, err := img.Apply(img.Offset()+1, []Record{&PartitionChangeRecord{TopicID: tid(1), Partition: 0, Leader: 3,
		Replicas: []int32{3}, ISR: []int32{3}, AddingReplicas: []int32{}, RemovingReplicas: []int32{}}})
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := mustTopic(t, done, "t").Partition(0); q.Reassigning() || q.AddingReplicas != nil || q.RemovingReplicas != nil || q.Leader != 3 {
		t.Fatalf("after completion: %+v", q)
	}
	// The reassignment fields must stay within the replicas.
	for name, rec := range map[string]*PartitionChangeRecord{
		"adding not a replica":  {TopicID: tid(1), Partition: 1, Leader: NoLeaderChange, AddingReplicas: []int32{9}},
		"adding and removing":   {TopicID: tid(1), Partition: 1, Leader: NoLeaderChange, AddingReplicas: []int32{1}, RemovingReplicas: []int32{1}},
		"removing all replicas": {TopicID: tid(1), Partition: 1, Leader: NoLeaderChange, RemovingReplicas: []int32{1}},
		"repeated removing":     {TopicID: tid(1), Partition: 1, Leader: NoLeaderChange, Replicas: []int32{1, 2}, RemovingReplicas: []int32{2, 2}},
	} {
		if _, err := img.Apply(img.Offset()+1, []Record{rec}); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
