package record

import "testing"

func TestControlBatch(t *testing.T) {
	tests := []struct {
		name  string
		typ   ControlType
		epoch int32
	}{
		{"commit", ControlCommit, 5},
		{"abort", ControlAbort, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder(None)
			b.Control, b.Transactional = true, true
			b.ProducerID, b.ProducerEpoch = 4000, 1
			b.BaseOffset = 77
			wantErr(t, b.AddControl(tt.typ, 1234, tt.epoch), nil)
			batch, err := b.Build(nil)
			wantErr(t, err, nil)
			h, err := Validate(batch, ValidateOptions{DecodeRecords: true})
			wantErr(t, err, nil)
			if !h.IsControl() || !h.IsTransactional() || h.ProducerID != 4000 || h.NumRecords != 1 {
				t.Fatalf("header %+v", h)
			}
			recs, _, err := Iterate(batch, nil, 1024)
			wantErr(t, err, nil)
			var rec Record
			if !recs.Next(&rec) {
				t.Fatalf("no record: %v", recs.Err())
			}
			// The key Kafka defines: version int16 0, type int16.
			if want := []byte{0, 0, 0, byte(tt.typ)}; string(rec.Key) != string(want) {
				t.Fatalf("control key %x, want %x", rec.Key, want)
			}
			typ, err := ControlRecordType(&rec)
			wantErr(t, err, nil)
			if typ != tt.typ {
				t.Fatalf("type %s, want %s", typ, tt.typ)
			}
			epoch, err := EndTxnCoordinatorEpoch(&rec)
			wantErr(t, err, nil)
			if epoch != tt.epoch || rec.Offset != 77 || rec.Timestamp != 1234 {
				t.Fatalf("epoch %d offset %d ts %d", epoch, rec.Offset, rec.Timestamp)
			}
		})
	}
}

func TestControlRecordTypeRejects(t *testing.T) {
	tests := []struct {
		name string
		key  []byte
		want error
		typ  ControlType
	}{
		{"null key", nil, ErrCorrupt, 0},
		{"short key", []byte{0, 0, 1}, ErrCorrupt, 0},
		{"negative version", []byte{0xff, 0xff, 0, 1}, ErrCorrupt, 0},
		{"leader change", []byte{0, 0, 0, 2}, nil, ControlLeaderChange},
		{"unknown type kept", []byte{0, 1, 0, 9}, nil, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, err := ControlRecordType(&Record{Key: tt.key})
			wantErr(t, err, tt.want)
			if err == nil && typ != tt.typ {
				t.Fatalf("type %v, want %v", typ, tt.typ)
			}
		})
	}
	if _, err := EndTxnCoordinatorEpoch(&Record{Value: []byte{0, 0, 1}}); err == nil {
		t.Fatal("short marker value accepted")
	}
	if err := NewBuilder(None).AddControl(ControlCommit, 0, 0); err == nil {
		t.Fatal("control record added to a non-control batch")
	}
}
