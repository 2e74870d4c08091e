package api_test

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/record"
)

// fetchReq builds a fetch of partitions of topic at offset 0 (or the given
// offsets), by name before v13 and by id after.
func fetchReq(version int16, topic string, id [16]byte, offsets map[int32]int64) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = version, 0, 0, 1<<20
	req.SessionEpoch = -1
	if len(offsets) == 0 {
		return req
	}
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	for p := int32(0); p < 16; p++ {
		off, ok := offsets[p]
		if !ok {
			continue
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, off, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

func partitionsIn(resp *kmsg.FetchResponse) map[int32]kmsg.FetchResponseTopicPartition {
	out := map[int32]kmsg.FetchResponseTopicPartition{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[p.Partition] = p
		}
	}
	return out
}

func TestFetchSessions(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic("s", 2, nil)
	c := b.dial()
	produceAt(t, c, "s", 1, 2)

	// Epoch 0 opens a session with a full fetch.
	req := fetchReq(12, "s", id, map[int32]int64{0: 0, 1: 0})
	req.SessionEpoch = 0
	resp := c.send(req).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 || resp.SessionID == 0 {
		t.Fatalf("opening fetch: error %d session %d", resp.ErrorCode, resp.SessionID)
	}
	if got := partitionsIn(resp); len(got) != 2 {
		t.Fatalf("full fetch answered %d partitions", len(got))
	}
	session := resp.SessionID

	// The client moves partition 0 past what it read; nothing else
	// changed, so the incremental answer lists no partition.
	inc := fetchReq(12, "s", id, map[int32]int64{0: 2})
	inc.SessionID, inc.SessionEpoch = session, 1
	resp = c.send(inc).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 || len(partitionsIn(resp)) != 0 {
		t.Fatalf("unchanged incremental fetch: error %d, %d partitions", resp.ErrorCode, len(partitionsIn(resp)))
	}

	// An append to partition 1 (produced by offset 0 moved) shows only it.
	rec := record.NewBuilder(record.None)
	rec.Add(5, nil, []byte("p1"))
	recs, _ := rec.Build(nil)
	preq := kmsg.NewPtrProduceRequest()
	preq.Version, preq.Acks = 9, -1
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "s"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Partition, pp.Records = 1, recs
	pt.Partitions = append(pt.Partitions, pp)
	preq.Topics = append(preq.Topics, pt)
	c.send(preq)
	inc.SessionEpoch, inc.Topics = 2, nil
	resp = c.send(inc).(*kmsg.FetchResponse)
	got := partitionsIn(resp)
	if len(got) != 1 || got[1].HighWatermark != 1 || len(got[1].RecordBatches) == 0 {
		t.Fatalf("incremental after append to p1: %+v", got)
	}

	// A replayed epoch is refused; an unknown session too.
	resp = c.send(inc).(*kmsg.FetchResponse)
	if resp.ErrorCode != kerr.InvalidFetchSessionEpoch.Code {
		t.Fatalf("replayed epoch: error %d", resp.ErrorCode)
	}
	bogus := fetchReq(12, "s", id, nil)
	bogus.SessionID, bogus.SessionEpoch = session+1, 1
	if resp = c.send(bogus).(*kmsg.FetchResponse); resp.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("unknown session: error %d", resp.ErrorCode)
	}

	// Switching to topic ids within a session is refused.
	v13 := fetchReq(13, "s", id, nil)
	v13.SessionID, v13.SessionEpoch = session, 3
	if resp = c.send(v13).(*kmsg.FetchResponse); resp.ErrorCode != kerr.FetchSessionTopicIDError.Code {
		t.Fatalf("topic id switch: error %d", resp.ErrorCode)
	}

	// Forgetting partition 0 removes it; the session stays (p1 remains).
	inc.SessionEpoch = 3
	inc.ForgottenTopics = []kmsg.FetchRequestForgottenTopic{{Topic: "s", Partitions: []int32{0}}}
	inc.Topics = fetchReq(12, "s", id, map[int32]int64{1: 1}).Topics // the client consumed p1's record
	c.send(inc)
	inc.Topics = nil
	produceAt(t, c, "s", 9) // moves partition 0 only
	inc.SessionEpoch, inc.ForgottenTopics = 4, nil
	if got := partitionsIn(c.send(inc).(*kmsg.FetchResponse)); len(got) != 0 {
		t.Fatalf("forgotten partition still answered: %+v", got)
	}

	// Epoch -1 closes the session.
	before := b.env.FetchSessions.Len()
	closing := fetchReq(12, "s", id, map[int32]int64{1: 0})
	closing.SessionID, closing.SessionEpoch = session, -1
	if resp = c.send(closing).(*kmsg.FetchResponse); resp.SessionID != 0 {
		t.Fatalf("closing fetch answered session %d", resp.SessionID)
	}
	if after := b.env.FetchSessions.Len(); after != before-1 {
		t.Fatalf("sessions %d before close, %d after", before, after)
	}
}

func TestFetchErrorsAndLimits(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic("f", 2, nil)
	c := b.dial()
	for range 3 {
		produceAt(t, c, "f", 1, 2, 3) // three batches in partition 0
	}

	// Out of range: past the log end offset.
	resp := c.send(fetchReq(13, "f", id, map[int32]int64{0: 100})).(*kmsg.FetchResponse)
	if p := partitionsIn(resp)[0]; p.ErrorCode != kerr.OffsetOutOfRange.Code || p.HighWatermark != -1 {
		t.Fatalf("past the end: error %d hw %d", p.ErrorCode, p.HighWatermark)
	}
	// Unknown topic id.
	resp = c.send(fetchReq(13, "", [16]byte{7}, map[int32]int64{0: 0})).(*kmsg.FetchResponse)
	if p := partitionsIn(resp)[0]; p.ErrorCode != kerr.UnknownTopicID.Code {
		t.Fatalf("unknown topic id: error %d", p.ErrorCode)
	}
	// Fetch in the middle of a batch returns that whole batch.
	resp = c.send(fetchReq(13, "f", id, map[int32]int64{0: 4})).(*kmsg.FetchResponse)
	p := partitionsIn(resp)[0]
	h, err := record.ReadHeader(p.RecordBatches)
	if err != nil || h.BaseOffset != 3 {
		t.Fatalf("fetch at 4: first batch base %d, err %v", h.BaseOffset, err)
	}
	// MaxBytes of 1 still returns the first batch whole (KIP-74), and only it.
	req := fetchReq(13, "f", id, map[int32]int64{0: 0})
	req.MaxBytes = 1
	p = partitionsIn(c.send(req).(*kmsg.FetchResponse))[0]
	it := record.NewBatches(p.RecordBatches)
	n := 0
	for _, _, ok := it.Next(); ok; _, _, ok = it.Next() {
		n++
	}
	if n != 1 || it.Err() != nil {
		t.Fatalf("MaxBytes 1 returned %d batches (err %v), want exactly 1", n, it.Err())
	}
	// A stale current leader epoch is fenced.
	req = fetchReq(13, "f", id, map[int32]int64{0: 0})
	req.Topics[0].Partitions[0].CurrentLeaderEpoch = 7
	if p = partitionsIn(c.send(req).(*kmsg.FetchResponse))[0]; p.ErrorCode != kerr.UnknownLeaderEpoch.Code {
		t.Fatalf("future leader epoch: error %d", p.ErrorCode)
	}
}

// TestFetchWireMatchesKmsg reads a fetch response spliced from real
// segment files and checks that its bytes are exactly what kmsg encodes for
// the same response with the records copied in — at a classic and at a
// flexible version.
func TestFetchWireMatchesKmsg(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic("w", 2, nil)
	c := b.dial()
	for range 4 {
		produceAt(t, c, "w", 1, 2, 3)
	}
	for _, version := range []int16{4, 11, 12, 18} {
		req := fetchReq(version, "w", id, map[int32]int64{0: 0, 1: 0})
		c.corr++
		if _, err := c.nc.Write(kmsg.NewRequestFormatter().AppendRequest(nil, req, c.corr)); err != nil {
			t.Fatal(err)
		}
		frame, err := c.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		header := 4
		if version >= 12 {
			header = 5 // response header v1: tagged fields
		}
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = version
		if err := resp.ReadFrom(frame[header:]); err != nil {
			t.Fatalf("v%d: %v", version, err)
		}
		if n := len(partitionsIn(resp)[0].RecordBatches); n == 0 {
			t.Fatalf("v%d: no records", version)
		}
		again := resp.AppendTo(append([]byte(nil), frame[:header]...))
		if !bytes.Equal(again, frame) {
			t.Fatalf("v%d: wire bytes differ from kmsg's encoding of the same response", version)
		}
	}
}
