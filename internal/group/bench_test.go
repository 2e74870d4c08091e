package group

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCommitOffsets measures one OffsetCommit of 10 partitions through the coordinator:
// generation checks, encoding the batch and appending it to an in-memory log (the disk is not
// in this figure).
func BenchmarkCommitOffsets(b *testing.B) {
	log := &memLog{}
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 50})
	defer c.Close()
	offsets := make([]OffsetCommit, 10)
	for i := range offsets {
		offsets[i] = OffsetCommit{Topic: "orders", Partition: int32(i), LeaderEpoch: -1}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for j := range offsets {
			offsets[j].Offset = int64(i)
		}
		if err := c.CommitOffsets(ctx, "bench", "", "", -1, offsets); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 0 {
			log.mu.Lock()
			log.batches = log.batches[:0]
			log.mu.Unlock()
		}
	}
}

// BenchmarkCommitOffsetsFollowingLeadership is BenchmarkCommitOffsets on a coordinator that
// follows leadership (it owns the group's partition): the ownership check every request makes
// (CoordinatorStatus) plus the commit. Compare with BenchmarkCommitOffsets in the same run.
func BenchmarkCommitOffsetsFollowingLeadership(b *testing.B) {
	log := &memLog{}
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 50, FollowLeadership: true})
	defer c.Close()
	c.mu.Lock()
	c.electLocked(Partition("bench", 50)).loaded = true
	c.mu.Unlock()
	offsets := make([]OffsetCommit, 10)
	for i := range offsets {
		offsets[i] = OffsetCommit{Topic: "orders", Partition: int32(i), LeaderEpoch: -1}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for j := range offsets {
			offsets[j].Offset = int64(i)
		}
		if err := c.CoordinatorStatus("bench"); err != nil {
			b.Fatal(err)
		}
		if err := c.CommitOffsets(ctx, "bench", "", "", -1, offsets); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 0 {
			log.mu.Lock()
			log.batches = log.batches[:0]
			log.mu.Unlock()
		}
	}
}
