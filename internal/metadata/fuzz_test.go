package metadata

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzDecodeBatch: no input panics the decoder, and whatever decodes re-encodes to the same
// records.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(EncodeBatch(sampleRecords()))
	f.Add(EncodeBatch(nil))
	f.Add(EncodeBatch(BootstrapRecords("c")))
	f.Add(EncodeBatch(securitySampleRecords()))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkBatch(t, b)
		// Most mutations break the checksum; also try the same bytes with a valid one, so the
		// record decoders behind it get exercised.
		if len(b) >= batchHeaderSize {
			checkBatch(t, fixCRC(bytes.Clone(b)))
		}
	})
}

func checkBatch(t *testing.T, b []byte) {
	recs, err := DecodeBatch(b)
	if err != nil {
		return
	}
	again, err := DecodeBatch(EncodeBatch(recs))
	if err != nil {
		t.Fatalf("re-encoded batch does not decode: %v", err)
	}
	if !reflect.DeepEqual(again, recs) {
		t.Fatalf("round trip differs")
	}
	// Applying arbitrary decoded records must not panic either.
	_, _ = Empty().Apply(1, recs)
}

// FuzzDecodeSnapshot: no input panics the snapshot decoder, and a decoded Image encodes back
// to bytes that decode to the same Image.
func FuzzDecodeSnapshot(f *testing.F) {
	img, err := Empty().Apply(1, append(BootstrapRecords("c"), topicBatch("t", tid(1), 2, 1)...))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(AppendSnapshot(nil, img))
	f.Add(AppendSnapshot(nil, Empty()))
	// A partition in the middle of a reassignment (version 1 Partition records).
	moving, err := img.Apply(img.Offset()+1, []Record{&PartitionChangeRecord{TopicID: tid(1), Partition: 1, Leader: NoLeaderChange,
		Replicas: []int32{2, 1}, AddingReplicas: []int32{2}, RemovingReplicas: []int32{1}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(AppendSnapshot(nil, moving))
	if secured, err := moving.Apply(moving.Offset()+1, securitySampleRecords()); err == nil {
		f.Add(AppendSnapshot(nil, secured))
	} else {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSnapshot(t, b)
		if len(b) >= snapshotHeaderSize+batchHeaderSize {
			b = bytes.Clone(b)
			fixCRC(b[snapshotHeaderSize:])
			checkSnapshot(t, b)
		}
	})
}

func checkSnapshot(t *testing.T, b []byte) {
	img, err := DecodeSnapshot(b)
	if err != nil {
		return
	}
	enc := AppendSnapshot(nil, img)
	again, err := DecodeSnapshot(enc)
	if err != nil {
		t.Fatalf("re-encoded snapshot does not decode: %v", err)
	}
	if !bytes.Equal(AppendSnapshot(nil, again), enc) {
		t.Fatal("snapshot encoding is not stable")
	}
}
