// Package partition is one hosted partition's state over its storage log:
// leader epoch, replica set and ISR, follower progress, the high watermark
// and last stable offset, produce validation, and the notifications fetch
// long polls and acks=all wait on. A Manager holds the partitions of this
// node; the broker creates, updates and deletes them as metadata changes.
//
// # Invariants
//
//   - Only the leader appends (Append) and serves consumer reads (Read,
//     ListOffset, EndOffsetForEpoch, DeleteRecordsBefore); elsewhere they
//     fail with ErrNotLeader. A request's current leader epoch, when given,
//     must match (ErrFencedLeaderEpoch / ErrUnknownLeaderEpoch, KIP-320).
//   - The high watermark is the minimum of the leader's durable offset and
//     the followers' log end offsets over the ISR (from their fetches), and
//     never moves back. The durable offset is the log end offset in
//     page-cache mode and what the last completed fsync round covered in
//     group-commit mode, so there nothing a power loss can take back is ever
//     visible or acknowledged. Append does not wait for durability; acks=-1
//     waits for the high watermark (Committed), acks=1 in group-commit mode
//     for the durable offset (Durable).
//     The last stable offset is the high watermark or, if lower, the first
//     offset of the earliest open transaction; read_committed consumers
//     read up to it and get the aborted transactions in what they read.
//   - Batches of idempotent and transactional producers pass Kafka's
//     producer-state checks (producer.go, producer_append.go): a retry of
//     one of the producer's last five batches gets the original offsets
//     and appends nothing; epochs never go back; sequences follow on. The
//     table is snapshotted beside the log (<offset>.snapshot) on rolls and
//     Manager.Close and rebuilt at open from the newest snapshot plus a
//     replay of the log after it.
//   - Produced records are validated before anything is appended, in
//     Kafka's order: framing and magic (record.ErrUnsupportedMagic), size
//     against max.message.bytes (ErrMessageTooLarge), CRC32C
//     (record.ErrCorrupt), Kafka's rules for client batches and every
//     record's framing (ErrInvalidRecord), then per-record keys on compacted
//     topics and timestamps (*RecordErrors, KIP-467). A failure rejects all
//     of the partition's records. Record bytes are never copied.
//   - Every change a waiter could wait for (append, high watermark, state,
//     deletion) wakes the partition's watchers; nothing polls on a timer.
//
// # Example
//
//	p, _ := manager.Create(tp, topicID, logCfg, partition.DefaultConfig())
//	_ = p.SetState(partition.State{Leader: nodeID, LeaderEpoch: 0, Replicas: []int32{nodeID}, ISR: []int32{nodeID}})
//	res, err := p.Append(records, -1)           // acks=all
//	w := partition.NewWaiter()
//	for {
//		p.Watch(w)
//		if ok, err := p.Committed(res.LastOffset + 1); ok || err != nil {
//			p.Unwatch(w)
//			break
//		}
//		<-w.C()
//	}
package partition
