package api_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/record"
)

// produceTo appends one one-record batch to a partition, its value "topic/partition".
func produceTo(t *testing.T, c *rawConn, topic string, partition int32) {
	t.Helper()
	bld := record.NewBuilder(record.None)
	bld.Add(1, nil, fmt.Appendf(nil, "%s/%d", topic, partition))
	recs, err := bld.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, recs
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	if p := c.send(req).(*kmsg.ProduceResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 {
		t.Fatalf("produce %s/%d: %v", topic, partition, kerr.ErrorForCode(p.ErrorCode))
	}
}

// fetchOf is a fetch of the given partitions per topic, in the order given (a topic may be
// named twice), by name before v13 and by id after.
type fetchPart struct {
	topic     string
	id        [16]byte
	partition int32
	offset    int64
}

func fetchOf(version int16, parts ...fetchPart) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = version, 0, 0, 1<<20
	req.SessionEpoch = -1
	for _, p := range parts {
		n := len(req.Topics)
		if n == 0 || req.Topics[n-1].Topic != p.topic {
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = p.topic, p.id
			req.Topics = append(req.Topics, rt)
			n++
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p.partition, p.offset, 1<<20
		rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset = -1, -1, -1
		req.Topics[n-1].Partitions = append(req.Topics[n-1].Partitions, rp)
	}
	return req
}

// topicEntries checks that every topic opens one entry in the response, and that each
// partition's records are its own (record sets are spliced into the encoding in the order
// the entries are written), and returns the partitions answered per topic name, sorted.
func topicEntries(t *testing.T, version int16, resp *kmsg.FetchResponse, names map[[16]byte]string) map[string][]int32 {
	t.Helper()
	if resp.ErrorCode != 0 {
		t.Fatalf("v%d: fetch error %v", version, kerr.ErrorForCode(resp.ErrorCode))
	}
	out := map[string][]int32{}
	for _, rt := range resp.Topics {
		name := rt.Topic
		if version >= 13 {
			name = names[rt.TopicID]
		}
		if _, dup := out[name]; dup {
			t.Fatalf("v%d: topic %q (id %x) opens more than one entry: %+v", version, name, rt.TopicID, resp.Topics)
		}
		for _, p := range rt.Partitions {
			if p.ErrorCode != 0 {
				t.Fatalf("v%d: %s/%d: %v", version, name, p.Partition, kerr.ErrorForCode(p.ErrorCode))
			}
			if len(p.RecordBatches) > 0 && !bytes.Contains(p.RecordBatches, fmt.Appendf(nil, "%s/%d", name, p.Partition)) {
				t.Fatalf("v%d: %s/%d carries another partition's records", version, name, p.Partition)
			}
			out[name] = append(out[name], p.Partition)
		}
		slices.Sort(out[name])
	}
	return out
}

// TestFetchGroupsPartitionsByTopic: every Fetch version 0–18 answers one topic entry per
// topic holding all its partitions — full fetches, a request naming a topic twice, and (v7+)
// incremental session fetches whose session order interleaves topics after partitions that
// returned records moved to its end. sarama-based clients (Burrow) keep only the last entry of
// a repeated topic. v0–v3 carry down-converted message sets (legacy versions, served by default).
func TestFetchGroupsPartitionsByTopic(t *testing.T) {
	b := startBroker(t)
	c := b.dial()
	for v := int16(0); v <= 18; v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			g, h := fmt.Sprintf("g%d", v), fmt.Sprintf("h%d", v)
			gid, hid := b.createTopic(g, 3, nil), b.createTopic(h, 2, nil)
			names := map[[16]byte]string{gid: g, hid: h}
			gp := func(p int32, off int64) fetchPart { return fetchPart{g, gid, p, off} }
			hp := func(p int32, off int64) fetchPart { return fetchPart{h, hid, p, off} }
			for p := int32(0); p < 3; p++ {
				produceTo(t, c, g, p)
			}
			for p := int32(0); p < 2; p++ {
				produceTo(t, c, h, p)
			}
			want := map[string][]int32{g: {0, 1, 2}, h: {0, 1}}

			// Full, sessionless.
			full := fetchOf(v, gp(0, 0), gp(1, 0), gp(2, 0), hp(0, 0), hp(1, 0))
			if got := topicEntries(t, v, c.send(full).(*kmsg.FetchResponse), names); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("full fetch answered %v, want %v", got, want)
			}
			// A request naming g twice, around h.
			split := fetchOf(v, gp(0, 0), gp(1, 0), hp(0, 0), hp(1, 0), gp(2, 0))
			resp := c.send(split).(*kmsg.FetchResponse)
			if got := topicEntries(t, v, resp, names); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("split request answered %v, want %v", got, want)
			}
			for _, rt := range resp.Topics {
				for _, p := range rt.Partitions {
					if len(p.RecordBatches) == 0 || p.HighWatermark != 1 {
						t.Fatalf("%x/%d: %d bytes, high watermark %d", rt.TopicID, p.Partition, len(p.RecordBatches), p.HighWatermark)
					}
				}
			}
			if v < 7 {
				return
			}

			// A session over g0 g1 g2 h0 h1, opened at offset 1 for all but g0: only g0
			// returns records, so it moves to the end: g1 g2 h0 h1 g0.
			open := fetchOf(v, gp(0, 0), gp(1, 1), gp(2, 1), hp(0, 1), hp(1, 1))
			open.SessionEpoch = 0
			resp = c.send(open).(*kmsg.FetchResponse)
			if resp.SessionID == 0 {
				t.Fatal("no session opened")
			}
			if got := topicEntries(t, v, resp, names); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("session's full fetch answered %v, want %v", got, want)
			}
			// g0 consumed; appends to g1, h0 and g0 change exactly those, answered in
			// session order g1 h0 g0: g must still be one entry.
			produceTo(t, c, g, 1)
			produceTo(t, c, h, 0)
			produceTo(t, c, g, 0)
			inc := fetchOf(v, gp(0, 1))
			inc.SessionID, inc.SessionEpoch = resp.SessionID, 1
			resp = c.send(inc).(*kmsg.FetchResponse)
			wantInc := map[string][]int32{g: {0, 1}, h: {0}}
			if got := topicEntries(t, v, resp, names); fmt.Sprint(got) != fmt.Sprint(wantInc) {
				t.Fatalf("incremental fetch answered %v, want %v", got, wantInc)
			}
			for _, rt := range resp.Topics {
				for _, p := range rt.Partitions {
					if len(p.RecordBatches) == 0 || p.HighWatermark != 2 {
						t.Fatalf("incremental %x/%d: %d bytes, high watermark %d", rt.TopicID, p.Partition, len(p.RecordBatches), p.HighWatermark)
					}
				}
			}
			if resp.Topics[0].Partitions[0].Partition != 1 {
				t.Fatalf("incremental answer does not start at g1, the session's order: %+v", resp.Topics)
			}
		})
	}
}
