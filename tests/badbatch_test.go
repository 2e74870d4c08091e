package tests

import (
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/record"
)

// TestInvalidBatches produces hand-damaged record batches over a raw connection and checks
// that each gets Kafka's error code, that nothing is appended, and that a valid batch on the
// same connection afterwards succeeds at offset 0.
func TestInvalidBatches(t *testing.T) {
	n := startNode(t)
	n.createTopic("strict", 1, nil)
	valid := func() []byte {
		b := record.NewBuilder(record.None)
		now := time.Now().UnixMilli()
		for i := 0; i < 3; i++ {
			b.Add(now, []byte("k"), []byte("value"))
		}
		batch, err := b.Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		return batch
	}
	recrc := func(batch []byte) {
		binary.BigEndian.PutUint32(batch[17:21], crc32.Checksum(batch[21:], crc32.MakeTable(crc32.Castagnoli)))
	}
	tests := []struct {
		name   string
		damage func([]byte) []byte
		want   []error // the codes Kafka may answer for this damage
	}{
		{name: "bad CRC", damage: func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b }, want: []error{kerr.CorruptMessage}},
		{name: "record count larger than records", damage: func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[57:61], 4)
			recrc(b)
			return b
		}, want: []error{kerr.CorruptMessage, kerr.InvalidRecord}},
		{name: "magic 1", damage: func(b []byte) []byte { b[16] = 1; return b }, want: []error{kerr.CorruptMessage, kerr.InvalidRecord}},
		{name: "truncated batch", damage: func(b []byte) []byte { return b[:len(b)-5] }, want: []error{kerr.CorruptMessage}},
	}
	c := dialRaw(t, n.kafkaAddr)
	produce := func(batch []byte) kmsg.ProduceResponseTopicPartition {
		req := kmsg.NewPtrProduceRequest()
		req.SetVersion(9)
		req.Acks = -1
		req.TimeoutMillis = 5000
		topic := kmsg.NewProduceRequestTopic()
		topic.Topic = "strict"
		part := kmsg.NewProduceRequestTopicPartition()
		part.Records = batch
		topic.Partitions = append(topic.Partitions, part)
		req.Topics = append(req.Topics, topic)
		resp := c.roundTrip(req).(*kmsg.ProduceResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("produce response has %d topics", len(resp.Topics))
		}
		return resp.Topics[0].Partitions[0]
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := produce(tc.damage(valid()))
			err := kerr.ErrorForCode(got.ErrorCode)
			for _, want := range tc.want {
				if err == want {
					return
				}
			}
			t.Fatalf("error %v, want one of %v", err, tc.want)
		})
	}
	if got := produce(valid()); got.ErrorCode != 0 || got.BaseOffset != 0 {
		t.Fatalf("valid batch after the bad ones: error %v at base offset %d, want offset 0", kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
	}
}
