package partition

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/storage"
)

// hostOn hosts partition t-0 on node id over real storage in a temp dir.
func hostOn(t testing.TB, id int32, dir string) (*Manager, *storage.Manager, *Partition) {
	t.Helper()
	store, err := storage.Open(storage.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	m := NewManager(ManagerOptions{NodeID: id, Storage: store})
	p, err := m.Create(TopicPartition{Topic: "t", Partition: 0}, [16]byte{1}, storage.DefaultLogConfig(), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return m, store, p
}

// copyLog reads the leader's log from offset as a follower would fetch it (up to its log end)
// and returns the raw batches.
func copyLog(t *testing.T, leader *Partition, offset int64, follower int32) []byte {
	t.Helper()
	res, err := leader.Read(offset, ReadOptions{MaxBytes: 1 << 20, MinOneBatch: true,
		CurrentLeaderEpoch: NoLeaderEpoch, LastFetchedEpoch: NoLeaderEpoch, Replica: follower, ReplicaEpoch: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Records.Release()
	var buf bytes.Buffer
	for _, rg := range res.Records.Regions {
		b := make([]byte, rg.Len())
		if _, err := rg.ReadAt(b, 0); err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	return buf.Bytes()
}

func producerBatch(t testing.TB, id int64, seq int32, n int, txn bool) []byte {
	t.Helper()
	bl := record.NewBuilder(record.None)
	bl.ProducerID, bl.ProducerEpoch, bl.BaseSequence, bl.Transactional = id, 0, seq, txn
	for range n {
		bl.Add(1_700_000_000_000, nil, []byte("v"))
	}
	out, err := bl.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFollowerAppendAndTruncate: a follower that appends the leader's batches ends with the
// leader's producer table, open transactions (its last stable offset) and aborted transaction
// index; truncating it removes what the cut records built; and as the next leader it keeps
// idempotence: a retried batch is a duplicate, the next sequence is accepted.
func TestFollowerAppendAndTruncate(t *testing.T) {
	_, lstore, leader := hostOn(t, 1, t.TempDir())
	defer lstore.Close()
	_, fstore, follower := hostOn(t, 2, t.TempDir())
	defer fstore.Close()
	st := State{Leader: 1, LeaderEpoch: 0, PartitionEpoch: 0, Replicas: []int32{1, 2}, ISR: []int32{1}}
	if err := leader.SetState(st); err != nil {
		t.Fatal(err)
	}
	if err := follower.SetState(st); err != nil {
		t.Fatal(err)
	}
	idem := producerBatch(t, 7, 0, 3, false)
	mustAppendLeader(t, leader, slices.Clone(idem))                            // offsets 0-2
	mustAppendLeader(t, leader, producerBatch(t, 8, 0, 2, true))               // 3-4, txn of 8
	if _, err := leader.WriteTxnMarker(TxnMarker{ProducerID: 8}); err != nil { // 5: abort
		t.Fatal(err)
	}
	mustAppendLeader(t, leader, producerBatch(t, 9, 0, 2, true)) // 6-7, txn of 9 stays open

	fetched := copyLog(t, leader, 0, 2)
	// A torn last batch (a fetch cut by its byte budget) is left for the next fetch.
	res, err := follower.AppendAsFollower(fetched[:len(fetched)-5], 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.LogEndOffset != 6 {
		t.Fatalf("after a torn fetch the log ends at %d, want 6", res.LogEndOffset)
	}
	if _, err := follower.AppendAsFollower(copyLog(t, leader, 6, 2), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := follower.AppendAsFollower(fetched, 1); !errors.Is(err, ErrNotFollower) {
		t.Fatalf("append in another leader epoch: %v, want ErrNotFollower", err)
	}
	if err := follower.SetFollowerHighWatermark(8, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := follower.Producers(), leader.Producers(); !sameProducers(got, want) {
		t.Fatalf("follower producers %+v, leader %+v", got, want)
	}
	if hw, lso := follower.HighWatermark(), follower.LastStableOffset(); hw != 8 || lso != 6 {
		t.Fatalf("follower HW %d LSO %d, want 8 and 6 (producer 9's open transaction)", hw, lso)
	}
	aborted, err := follower.Log().AbortedTxns(0, 8)
	if err != nil || len(aborted) != 1 || aborted[0].ProducerID != 8 || aborted[0].FirstOffset != 3 {
		t.Fatalf("follower's aborted transactions %+v (%v), want producer 8 from 3", aborted, err)
	}

	// The records of producer 9's transaction were never committed: a new leader cut them.
	if err := follower.TruncateTo(6); err != nil {
		t.Fatal(err)
	}
	if end, hw, lso := follower.LogEndOffset(), follower.HighWatermark(), follower.LastStableOffset(); end != 6 || hw != 6 || lso != 6 {
		t.Fatalf("after truncation: end %d HW %d LSO %d, want 6, 6, 6", end, hw, lso)
	}
	for _, ps := range follower.Producers() {
		if ps.ProducerID == 9 {
			t.Fatalf("producer 9 survived the truncation of its only batch: %+v", ps)
		}
	}

	// Leader now: producer 7's retry is a duplicate, its next batch in sequence is taken.
	if err := follower.SetState(State{Leader: 2, LeaderEpoch: 1, PartitionEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{2}}); err != nil {
		t.Fatal(err)
	}
	dup, err := follower.Append(slices.Clone(idem), 1)
	if err != nil || !dup.Duplicate || dup.BaseOffset != 0 {
		t.Fatalf("retried batch on the new leader: %+v %v, want a duplicate at 0", dup, err)
	}
	next, err := follower.Append(producerBatch(t, 7, 3, 1, false), 1)
	if err != nil || next.BaseOffset != 6 {
		t.Fatalf("next batch on the new leader: %+v %v, want offset 6", next, err)
	}
	if err := follower.TruncateTo(0); !errors.Is(err, ErrNotFollower) {
		t.Fatalf("truncating a leader: %v, want ErrNotFollower", err)
	}
}

// TestFollowerRejectsCorruptFetch: a fetched batch whose CRC does not match is not written.
func TestFollowerRejectsCorruptFetch(t *testing.T) {
	_, fstore, follower := hostOn(t, 2, t.TempDir())
	defer fstore.Close()
	if err := follower.SetState(State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}); err != nil {
		t.Fatal(err)
	}
	b := producerBatch(t, -1, -1, 2, false)
	b[len(b)-1] ^= 0xff
	if _, err := follower.AppendAsFollower(b, 0); !errors.Is(err, record.ErrCorrupt) {
		t.Fatalf("corrupt batch: %v, want ErrCorrupt", err)
	}
	if end := follower.LogEndOffset(); end != 0 {
		t.Fatalf("log end %d after a refused fetch", end)
	}
}

// TestHighWatermarkCheckpointRestored: the high watermarks written to
// replication-offset-checkpoint come back as each partition's starting high watermark.
func TestHighWatermarkCheckpointRestored(t *testing.T) {
	dir := t.TempDir()
	m, store, p := hostOn(t, 2, dir)
	if err := p.SetState(State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AppendAsFollower(fetchedRecords(t, 5), 0); err != nil {
		t.Fatal(err)
	}
	if err := p.SetFollowerHighWatermark(3, 0); err != nil {
		t.Fatal(err)
	}
	if err := store.WriteHighWatermarks(m.HighWatermarks()); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	_, store, p = hostOn(t, 2, dir)
	defer store.Close()
	if hw := p.HighWatermark(); hw != 3 {
		t.Fatalf("high watermark after restart %d, want 3", hw)
	}
}

// fetchedRecords builds n records at offsets 0.. in leader epoch 0, as a fetch returns them.
func fetchedRecords(t testing.TB, n int) []byte {
	t.Helper()
	b := producerBatch(t, -1, -1, n, false)
	record.SetPartitionLeaderEpoch(b, 0)
	return b
}

func mustAppendLeader(t *testing.T, p *Partition, b []byte) {
	t.Helper()
	if _, err := p.Append(b, 1); err != nil {
		t.Fatal(err)
	}
}

func sameProducers(a, b []ProducerState) bool {
	key := func(ps []ProducerState) []ProducerState {
		out := slices.Clone(ps)
		slices.SortFunc(out, func(x, y ProducerState) int { return int(x.ProducerID - y.ProducerID) })
		return out
	}
	return slices.Equal(key(a), key(b))
}

// TestNewLeaderNotYetAppliedAnswersUnknownEpoch: a fetch naming a leader epoch this node has
// not applied yet gets UNKNOWN_LEADER_EPOCH (retried at once) even though this node is not the
// leader in what it applied — the new leader of a move whose metadata reached the fetcher
// first — and an older epoch gets FENCED_LEADER_EPOCH, both before NOT_LEADER_OR_FOLLOWER, as
// in Kafka.
func TestNewLeaderNotYetAppliedAnswersUnknownEpoch(t *testing.T) {
	_, store, p := hostOn(t, 2, t.TempDir())
	defer store.Close()
	if err := p.SetState(State{Leader: 1, LeaderEpoch: 4, PartitionEpoch: 4, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	read := func(epoch int32) error {
		res, err := p.Read(0, ReadOptions{MaxBytes: 1024, CurrentLeaderEpoch: epoch, LastFetchedEpoch: NoLeaderEpoch, Replica: 3, ReplicaEpoch: -1})
		res.Records.Release()
		return err
	}
	if err := read(5); !errors.Is(err, ErrUnknownLeaderEpoch) {
		t.Errorf("newer epoch on a node still following: %v, want ErrUnknownLeaderEpoch", err)
	}
	if err := read(3); !errors.Is(err, ErrFencedLeaderEpoch) {
		t.Errorf("older epoch: %v, want ErrFencedLeaderEpoch", err)
	}
	if err := read(4); !errors.Is(err, ErrNotLeader) {
		t.Errorf("current epoch on a follower: %v, want ErrNotLeader", err)
	}
}
