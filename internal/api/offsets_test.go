package api_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/record"
)

// produceAt appends one batch with the given record timestamps.
func produceAt(t *testing.T, c *rawConn, topic string, timestamps ...int64) {
	t.Helper()
	bld := record.NewBuilder(record.None)
	for _, ts := range timestamps {
		bld.Add(ts, nil, []byte("v"))
	}
	recs, err := bld.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := produceRaw(c, 9, topic, recs); p.ErrorCode != 0 {
		t.Fatalf("produce: %v", kerr.ErrorForCode(p.ErrorCode))
	}
}

func listOffset(c *rawConn, version int16, topic string, ts int64) kmsg.ListOffsetsResponseTopicPartition {
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version = version
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = ts
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return c.send(req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
}

func TestListOffsets(t *testing.T) {
	b := startBroker(t)
	b.createTopic("ts", 1, map[string]string{"message.timestamp.after.max.ms": "9223372036854775807"})
	c := b.dial()
	base := int64(1_700_000_000_000)
	produceAt(t, c, "ts", base, base+10, base+20)       // offsets 0-2
	produceAt(t, c, "ts", base+100, base+500, base+200) // offsets 3-5; max timestamp at 4
	cases := []struct {
		name       string
		version    int16
		timestamp  int64
		wantOffset int64
		wantTs     int64
	}{
		{"earliest", 1, -2, 0, -1},
		{"latest", 1, -1, 6, -1},
		{"by timestamp exact", 4, base + 10, 1, base + 10},
		{"by timestamp between", 4, base + 15, 2, base + 20},
		{"by timestamp in second batch", 11, base + 150, 4, base + 500},
		{"after every record", 4, base + 1000, -1, -1},
		{"max timestamp", 7, -3, 4, base + 500},
		{"earliest local", 8, -4, 0, -1},
		{"latest tiered", 9, -5, -1, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := listOffset(c, tc.version, "ts", tc.timestamp)
			if p.ErrorCode != 0 || p.Offset != tc.wantOffset || p.Timestamp != tc.wantTs {
				t.Fatalf("error %d offset %d timestamp %d, want offset %d timestamp %d", p.ErrorCode, p.Offset, p.Timestamp, tc.wantOffset, tc.wantTs)
			}
		})
	}
	if p := listOffset(c, 4, "ts", -2); p.LeaderEpoch != 0 {
		t.Fatalf("leader epoch %d for offset 0, want 0", p.LeaderEpoch)
	}
}

func TestDeleteRecordsAndOffsetForLeaderEpoch(t *testing.T) {
	b := startBroker(t)
	b.createTopic("d", 1, nil)
	c := b.dial()
	produceAt(t, c, "d", 1, 2, 3, 4)
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.Version = 2
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = "d"
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Offset = 2
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	if p := c.send(req).(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 || p.LowWatermark != 2 {
		t.Fatalf("delete records: error %d low watermark %d", p.ErrorCode, p.LowWatermark)
	}
	if p := listOffset(c, 4, "d", -2); p.Offset != 2 {
		t.Fatalf("earliest after delete: %d", p.Offset)
	}
	req.Topics[0].Partitions[0].Offset = 99
	if p := c.send(req).(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]; p.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("delete beyond the high watermark: error %d", p.ErrorCode)
	}

	ofe := kmsg.NewPtrOffsetForLeaderEpochRequest()
	ofe.Version = 4
	ot := kmsg.NewOffsetForLeaderEpochRequestTopic()
	ot.Topic = "d"
	op := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	op.CurrentLeaderEpoch, op.LeaderEpoch = 0, 0
	ot.Partitions = append(ot.Partitions, op)
	ofe.Topics = append(ofe.Topics, ot)
	p := c.send(ofe).(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0]
	if p.ErrorCode != 0 || p.LeaderEpoch != 0 || p.EndOffset != 4 {
		t.Fatalf("offset for epoch 0: error %d epoch %d end %d", p.ErrorCode, p.LeaderEpoch, p.EndOffset)
	}
	ofe.Topics[0].Partitions[0].CurrentLeaderEpoch = 5
	if p := c.send(ofe).(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0]; p.ErrorCode != kerr.UnknownLeaderEpoch.Code {
		t.Fatalf("future current epoch: error %d", p.ErrorCode)
	}
	// v0–1 (legacy, KIP-896) carry no current epoch (the 5 set above is not sent), so nothing
	// is fenced; v0 answers no epoch.
	for _, v := range []int16{0, 1} {
		ofe.Version = v
		p := c.send(ofe).(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0]
		wantEpoch := int32(0)
		if v == 0 {
			wantEpoch = -1 // not in the v0 response: kmsg's default
		}
		if p.ErrorCode != 0 || p.EndOffset != 4 || p.LeaderEpoch != wantEpoch {
			t.Fatalf("v%d offset for epoch 0: error %d epoch %d end %d", v, p.ErrorCode, p.LeaderEpoch, p.EndOffset)
		}
	}
}

func TestDescribeLogDirs(t *testing.T) {
	b := startBroker(t)
	b.createTopic("x", 2, nil)
	c := b.dial()
	produceAt(t, c, "x", 1, 2)
	req := kmsg.NewPtrDescribeLogDirsRequest()
	for _, v := range []int16{0, 2, 4} { // v0 is legacy (KIP-896), served while the switch is on
		req.Version = v
		resp := c.send(req).(*kmsg.DescribeLogDirsResponse)
		if len(resp.Dirs) != 1 || resp.Dirs[0].Dir != b.dir || (v >= 4) != (resp.Dirs[0].TotalBytes > 0) {
			t.Fatalf("v%d: dirs %+v", v, resp.Dirs)
		}
		parts := resp.Dirs[0].Topics[0].Partitions
		if len(parts) != 2 || parts[0].Size == 0 {
			t.Fatalf("v%d: partitions %+v", v, parts)
		}
	}
}
