package api_test

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/record"
)

// batch builds a valid v2 batch of n records with keys (nil keys when
// keyless).
func batch(t *testing.T, n int, keyless bool) []byte {
	t.Helper()
	bld := record.NewBuilder(record.None)
	for i := range n {
		var key []byte
		if !keyless {
			key = []byte{byte('a' + i)}
		}
		bld.Add(1_700_000_000_000+int64(i), key, []byte("value"))
	}
	b, err := bld.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixCRC recomputes a batch's CRC32C after an edit, so the edit is
// "intact but wrong" rather than damaged.
func fixCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func produceRaw(c *rawConn, version int16, topic string, records []byte) kmsg.ProduceResponseTopicPartition {
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = version, -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return c.send(req).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
}

func TestProduceInvalidBatches(t *testing.T) {
	b := startBroker(t)
	b.createTopic("plain", 1, nil)
	b.createTopic("compacted", 1, map[string]string{"cleanup.policy": "compact"})
	b.createTopic("small", 1, map[string]string{"max.message.bytes": "100"})
	cases := []struct {
		name        string
		topic       string
		records     func() []byte
		code        *kerr.Error
		recordError bool
	}{
		{"valid", "plain", func() []byte { return batch(t, 3, false) }, nil, false},
		{"bad crc", "plain", func() []byte { b := batch(t, 3, false); b[len(b)-1] ^= 0xff; return b }, kerr.CorruptMessage, false},
		{"record count too high", "plain", func() []byte {
			b := batch(t, 3, false)
			binary.BigEndian.PutUint32(b[57:], 4)
			binary.BigEndian.PutUint32(b[23:], 3) // last offset delta to match
			return fixCRC(b)
		}, kerr.InvalidRecord, false},
		{"record count disagrees with offsets", "plain", func() []byte {
			b := batch(t, 3, false)
			binary.BigEndian.PutUint32(b[57:], 2)
			return fixCRC(b)
		}, kerr.InvalidRecord, false},
		{"truncated batch", "plain", func() []byte { b := batch(t, 3, false); return b[:len(b)-5] }, kerr.CorruptMessage, false},
		{"magic 1", "plain", func() []byte { b := batch(t, 1, false); b[16] = 1; return b }, kerr.InvalidRecord, false},
		{"nonzero base offset", "plain", func() []byte {
			b := batch(t, 1, false)
			binary.BigEndian.PutUint64(b, 7)
			return b // base offset is outside the CRC
		}, kerr.InvalidRecord, false},
		{"too large", "small", func() []byte { return batch(t, 10, false) }, kerr.MessageTooLarge, false},
		{"keyless on compacted", "compacted", func() []byte { return batch(t, 2, true) }, kerr.InvalidRecord, true},
		{"unknown topic", "nope", func() []byte { return batch(t, 1, false) }, kerr.UnknownTopicOrPartition, false},
	}
	c := b.dial()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := produceRaw(c, 9, tc.topic, tc.records())
			want := int16(0)
			if tc.code != nil {
				want = tc.code.Code
			}
			if p.ErrorCode != want {
				t.Fatalf("error %v (%d), want %v; message %v", kerr.ErrorForCode(p.ErrorCode), p.ErrorCode, tc.code, deref(p.ErrorMessage))
			}
			if tc.recordError && len(p.ErrorRecords) != 2 {
				t.Fatalf("%d record errors, want 2 (KIP-467)", len(p.ErrorRecords))
			}
			if tc.code != nil && p.BaseOffset != -1 {
				t.Fatalf("failed produce reported base offset %d", p.BaseOffset)
			}
		})
	}
	// Nothing from the failed cases reached the log.
	p, _ := b.parts.Partition("plain", 0)
	if leo := p.LogEndOffset(); leo != 3 {
		t.Fatalf("log end offset %d, want 3 (only the valid batch)", leo)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestProduceAcksZeroFailureClosesConnection(t *testing.T) {
	b := startBroker(t)
	c := b.dial()
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks = 9, 0
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "missing"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch(t, 1, false)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	if _, err := c.nc.Write(kmsg.NewRequestFormatter().AppendRequest(nil, req, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.readFrame(); err == nil {
		t.Fatal("acks=0 produce got a response, or the connection stayed open")
	}
}

func TestProduceAcksZeroSendsNothing(t *testing.T) {
	b := startBroker(t)
	b.createTopic("t", 1, nil)
	c := b.dial()
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks = 9, 0
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch(t, 1, false)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	if _, err := c.nc.Write(kmsg.NewRequestFormatter().AppendRequest(nil, req, 99)); err != nil {
		t.Fatal(err)
	}
	c.corr = 99 // the next response must be for the next request, not for the produce
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 12
	if resp := c.send(md).(*kmsg.MetadataResponse); len(resp.Topics) != 1 {
		t.Fatalf("metadata lists %d topics", len(resp.Topics))
	}
	p, _ := b.parts.Partition("t", 0)
	if p.LogEndOffset() != 1 {
		t.Fatalf("acks=0 record not appended: log end offset %d", p.LogEndOffset())
	}
}

func TestProduceByTopicIDAndRedirect(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic("mine", 1, nil)
	// A second broker leads "theirs"; this node hosts nothing of it.
	b.apply([]metadata.Record{&metadata.RegisterBrokerRecord{BrokerID: 2, Epoch: 1,
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "10.0.0.2", Port: 9092}}}})
	theirs, _ := metadata.NewTopicID(nil)
	b.apply([]metadata.Record{&metadata.TopicRecord{Name: "theirs", TopicID: theirs},
		&metadata.PartitionRecord{TopicID: theirs, Replicas: []int32{2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 7}})
	c := b.dial()
	send := func(topicID [16]byte) kmsg.ProduceResponse {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis = 13, -1, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.TopicID = topicID
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = batch(t, 1, false)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return *c.send(req).(*kmsg.ProduceResponse)
	}
	if p := send(id).Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("by id: error %d base %d", p.ErrorCode, p.BaseOffset)
	}
	if p := send([16]byte{42}).Topics[0].Partitions[0]; p.ErrorCode != kerr.UnknownTopicID.Code {
		t.Fatalf("unknown id: error %d", p.ErrorCode)
	}
	resp := send(theirs)
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != kerr.NotLeaderForPartition.Code || p.CurrentLeader.LeaderID != 2 || p.CurrentLeader.LeaderEpoch != 7 {
		t.Fatalf("not leader: error %d current leader %+v", p.ErrorCode, p.CurrentLeader)
	}
	if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 2 || resp.Brokers[0].Host != "10.0.0.2" {
		t.Fatalf("node endpoints %+v (KIP-951)", resp.Brokers)
	}
}
