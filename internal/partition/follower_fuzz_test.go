package partition

import (
	"testing"
)

// FuzzAppendAsFollower feeds arbitrary fetched bytes to a follower: it must never panic, must
// write either whole CRC-valid batches or nothing, and keep its offsets coherent (the log end
// offset only moves forward, the high watermark never passes it).
func FuzzAppendAsFollower(f *testing.F) {
	f.Add(fetchedRecords(f, 3))
	f.Add(producerBatch(f, 7, 0, 2, true))
	ctl := producerBatch(f, 7, 0, 1, false)
	f.Add(append(append([]byte{}, ctl...), ctl[:20]...))
	f.Add([]byte{})
	_, store, p := hostOn(f, 2, f.TempDir())
	f.Cleanup(func() { store.Close() })
	if err := p.SetState(State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		before := p.LogEndOffset()
		res, err := p.AppendAsFollower(b, 0)
		after := p.LogEndOffset()
		switch {
		case err != nil && after != before:
			t.Fatalf("refused fetch (%v) moved the log end %d → %d", err, before, after)
		case err == nil && res.Appended && after <= before:
			t.Fatalf("appended fetch left the log end at %d (was %d)", after, before)
		case err == nil && !res.Appended && after != before:
			t.Fatalf("nothing appended but the log end moved %d → %d", before, after)
		}
		if err == nil && res.Appended {
			if n, verr := wholeValidBatches(b); verr != nil || n != res.Bytes {
				t.Fatalf("appended %d bytes of a fetch whose valid prefix is %d (%v)", res.Bytes, n, verr)
			}
		}
		if err := p.SetFollowerHighWatermark(after+10, 0); err != nil {
			t.Fatal(err)
		}
		if hw := p.HighWatermark(); hw > after {
			t.Fatalf("high watermark %d past the log end %d", hw, after)
		}
		_ = p.Producers()
	})
}
