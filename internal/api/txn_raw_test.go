package api_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/record"
)

// TestTransactionRawVersions walks one transaction through every transactional API at the
// oldest, a middle and the newest versions: FindCoordinator (key type 1), InitProducerId,
// AddPartitionsToTxn (an unknown partition included), AddOffsetsToTxn, TxnOffsetCommit,
// OffsetFetch with require_stable, DescribeTransactions, ListTransactions, EndTxn.
func TestTransactionRawVersions(t *testing.T) {
	tb := startTxnBroker(t)
	topicID := tb.createTopic("t", 2, nil)
	cases := []struct {
		name                                      string
		init, add, addOffsets, commit, end, fetch int16
		list                                      int16
	}{
		{"oldest", 0, 0, 0, 0, 0, 7, 0},
		{"middle", 3, 2, 2, 3, 3, 7, 1},
		{"newest", 5, 3, 4, 5, 5, 10, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tb.txnConn()
			id, gid := "raw-"+tc.name, "g-"+tc.name
			fc := kmsg.NewPtrFindCoordinatorRequest()
			fc.Version, fc.CoordinatorType, fc.CoordinatorKey = 3, 1, id
			if fr := c.send(fc).(*kmsg.FindCoordinatorResponse); fr.ErrorCode != 0 || fr.NodeID != 1 {
				t.Fatalf("find transaction coordinator: %+v", fr)
			}
			if topic, ok := tb.Image().Topic(metadata.TransactionStateTopic); !ok || topic.Configs["cleanup.policy"] != "compact" {
				t.Fatalf("FindCoordinator did not create a compacted %s", metadata.TransactionStateTopic)
			}

			ip := kmsg.NewPtrInitProducerIDRequest()
			ip.Version, ip.TransactionalID, ip.TransactionTimeoutMillis, ip.ProducerID, ip.ProducerEpoch = tc.init, &id, 30000, -1, -1
			ir := c.send(ip).(*kmsg.InitProducerIDResponse)
			if ir.ErrorCode != 0 || ir.ProducerEpoch != 0 {
				t.Fatalf("init: %+v", ir)
			}
			pid, epoch := ir.ProducerID, ir.ProducerEpoch

			ap := kmsg.NewPtrAddPartitionsToTxnRequest()
			ap.Version, ap.TransactionalID, ap.ProducerID, ap.ProducerEpoch = tc.add, id, pid, epoch
			ap.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "t", Partitions: []int32{0, 9}}}
			codes := addCodes(c.send(ap).(*kmsg.AddPartitionsToTxnResponse))
			if codes[0] != kerr.OperationNotAttempted.Code || codes[9] != kerr.UnknownTopicOrPartition.Code {
				t.Fatalf("add with an unknown partition: %v", codes)
			}
			ap.Topics[0].Partitions = []int32{0, 1}
			if codes := addCodes(c.send(ap).(*kmsg.AddPartitionsToTxnResponse)); codes[0] != 0 || codes[1] != 0 {
				t.Fatalf("add: %v", codes)
			}

			ao := kmsg.NewPtrAddOffsetsToTxnRequest()
			ao.Version, ao.TransactionalID, ao.ProducerID, ao.ProducerEpoch, ao.Group = tc.addOffsets, id, pid, epoch, gid
			if r := c.send(ao).(*kmsg.AddOffsetsToTxnResponse); r.ErrorCode != 0 {
				t.Fatalf("add offsets: %d", r.ErrorCode)
			}
			tc2 := kmsg.NewPtrTxnOffsetCommitRequest()
			tc2.Version, tc2.TransactionalID, tc2.Group, tc2.ProducerID, tc2.ProducerEpoch, tc2.Generation = tc.commit, id, gid, pid, epoch, -1
			tc2.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0, Offset: 5, LeaderEpoch: -1}}}}
			if r := c.send(tc2).(*kmsg.TxnOffsetCommitResponse); r.Topics[0].Partitions[0].ErrorCode != 0 {
				t.Fatalf("txn offset commit: %d", r.Topics[0].Partitions[0].ErrorCode)
			}
			if code, off := fetchStable(c, tc.fetch, gid, topicID); code != kerr.UnstableOffsetCommit.Code || off != -1 {
				t.Fatalf("require_stable fetch while pending: code %d offset %d", code, off)
			}

			dt := kmsg.NewPtrDescribeTransactionsRequest()
			dt.TransactionalIDs = []string{id, "nobody"}
			dr := c.send(dt).(*kmsg.DescribeTransactionsResponse)
			if s := dr.TransactionStates[0]; s.ErrorCode != 0 || s.State != "Ongoing" || s.ProducerID != pid || len(s.Topics) != 2 {
				t.Fatalf("describe: %+v", s)
			}
			if dr.TransactionStates[1].ErrorCode != kerr.TransactionalIDNotFound.Code {
				t.Fatalf("describe unknown: %+v", dr.TransactionStates[1])
			}
			lt := kmsg.NewPtrListTransactionsRequest()
			lt.Version, lt.StateFilters, lt.ProducerIDFilters = tc.list, []string{"Ongoing", "Bogus"}, []int64{pid}
			if lr := c.send(lt).(*kmsg.ListTransactionsResponse); len(lr.TransactionStates) != 1 || lr.TransactionStates[0].TransactionalID != id ||
				len(lr.UnknownStateFilters) != 1 || lr.UnknownStateFilters[0] != "Bogus" {
				t.Fatalf("list: %+v", lr)
			}

			et := kmsg.NewPtrEndTxnRequest()
			et.Version, et.TransactionalID, et.ProducerID, et.ProducerEpoch, et.Commit = tc.end, id, pid, epoch, true
			er := c.send(et).(*kmsg.EndTxnResponse)
			if er.ErrorCode != 0 || (tc.end >= 5 && (er.ProducerID != pid || er.ProducerEpoch != epoch+1)) {
				t.Fatalf("end: %+v", er)
			}
			waitFetchStable(t, c, tc.fetch, gid, topicID, 5)

			// The old epoch after a bump is fenced (INVALID_PRODUCER_EPOCH before v2).
			ip.ProducerID, ip.ProducerEpoch = -1, -1
			if tc.init >= 3 {
				ip.ProducerID, ip.ProducerEpoch = pid, epoch
				if tc.end >= 5 {
					ip.ProducerEpoch = epoch + 1
				}
			}
			if ir := c.send(ip).(*kmsg.InitProducerIDResponse); ir.ErrorCode != 0 {
				t.Fatalf("second init: %+v", ir)
			}
			ap.Topics[0].Partitions = []int32{1}
			want := kerr.ProducerFenced.Code
			if tc.add < 2 {
				want = kerr.InvalidProducerEpoch.Code
			}
			if codes := addCodes(c.send(ap).(*kmsg.AddPartitionsToTxnResponse)); codes[1] != want {
				t.Fatalf("add with the fenced epoch: %v, want %d", codes, want)
			}
		})
	}
}

func addCodes(r *kmsg.AddPartitionsToTxnResponse) map[int32]int16 {
	out := map[int32]int16{}
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			out[p.Partition] = p.ErrorCode
		}
	}
	return out
}

// fetchStable fetches the group's offset of t-0 with require_stable.
func fetchStable(c *rawConn, version int16, gid string, topicID [16]byte) (int16, int64) {
	of := kmsg.NewPtrOffsetFetchRequest()
	of.Version, of.RequireStable = version, true
	if version >= 8 {
		of.Groups = []kmsg.OffsetFetchRequestGroup{{Group: gid, Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", TopicID: topicID, Partitions: []int32{0}}}}}
		p := c.send(of).(*kmsg.OffsetFetchResponse).Groups[0].Topics[0].Partitions[0]
		return p.ErrorCode, p.Offset
	}
	of.Group, of.Topics = gid, []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0}}}
	p := c.send(of).(*kmsg.OffsetFetchResponse).Topics[0].Partitions[0]
	return p.ErrorCode, p.Offset
}

// waitFetchStable waits until the markers made the transactional commit visible.
func waitFetchStable(t *testing.T, c *rawConn, version int16, gid string, topicID [16]byte, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, off := fetchStable(c, version, gid, topicID)
		if code == 0 && off == want {
			return
		}
		if time.Now().After(deadline) || (code != 0 && code != kerr.UnstableOffsetCommit.Code) {
			t.Fatalf("require_stable fetch after commit: code %d offset %d, want offset %d", code, off, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAddPartitionsVerifyOnlyAndWriteTxnMarkers: the broker-to-coordinator APIs — KIP-890
// verification (AddPartitionsToTxn v4+ verifyOnly) and WriteTxnMarkers.
func TestAddPartitionsVerifyOnlyAndWriteTxnMarkers(t *testing.T) {
	tb := startTxnBroker(t)
	tb.createTopic("t", 2, nil)
	c := tb.txnConn()
	id := "verify"
	ip := kmsg.NewPtrInitProducerIDRequest()
	ip.Version, ip.TransactionalID, ip.TransactionTimeoutMillis, ip.ProducerID, ip.ProducerEpoch = 5, &id, 30000, -1, -1
	ir := c.send(ip).(*kmsg.InitProducerIDResponse)
	ap := kmsg.NewPtrAddPartitionsToTxnRequest()
	ap.Version = 3
	ap.TransactionalID, ap.ProducerID, ap.ProducerEpoch = id, ir.ProducerID, ir.ProducerEpoch
	ap.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "t", Partitions: []int32{0}}}
	if codes := addCodes(c.send(ap).(*kmsg.AddPartitionsToTxnResponse)); codes[0] != 0 {
		t.Fatalf("add: %v", codes)
	}
	for _, v := range []int16{4, 5} {
		vr := kmsg.NewPtrAddPartitionsToTxnRequest()
		vr.Version = v
		vr.Transactions = []kmsg.AddPartitionsToTxnRequestTransaction{{TransactionalID: id, ProducerID: ir.ProducerID, ProducerEpoch: ir.ProducerEpoch,
			VerifyOnly: true, Topics: []kmsg.AddPartitionsToTxnRequestTransactionTopic{{Topic: "t", Partitions: []int32{0, 1}}}}}
		resp := c.send(vr).(*kmsg.AddPartitionsToTxnResponse)
		if resp.ErrorCode != 0 || len(resp.Transactions) != 1 {
			t.Fatalf("v%d verify: %+v", v, resp)
		}
		got := map[int32]int16{}
		for _, p := range resp.Transactions[0].Topics[0].Partitions {
			got[p.Partition] = p.ErrorCode
		}
		if got[0] != 0 || got[1] != kerr.InvalidTxnState.Code {
			t.Fatalf("v%d verify: %v, want t-0 in the transaction and t-1 not", v, got)
		}
	}

	for _, v := range []int16{0, 1, 2} { // v0 is legacy (KIP-896), served while the switch is on
		wm := kmsg.NewPtrWriteTxnMarkersRequest()
		wm.Version = v
		wm.Markers = []kmsg.WriteTxnMarkersRequestMarker{{ProducerID: 777, ProducerEpoch: 0, Committed: false,
			Topics: []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "t", Partitions: []int32{1}}, {Topic: "gone", Partitions: []int32{0}}}}}
		resp := c.send(wm).(*kmsg.WriteTxnMarkersResponse)
		if len(resp.Markers) != 1 || resp.Markers[0].Topics[0].Partitions[0].ErrorCode != 0 ||
			resp.Markers[0].Topics[1].Partitions[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Fatalf("v%d write markers: %+v", v, resp.Markers)
		}
	}
	p, _ := tb.parts.Partition("t", 1)
	if p.HighWatermark() != 3 {
		t.Fatalf("t-1 high watermark %d after three markers, want 3", p.HighWatermark())
	}
}

// TestProduceVerifiesTransactionalBatches: KIP-890 part 1 — a transactional batch for a
// partition the producer did not add to its transaction is INVALID_TXN_STATE and not
// appended; once added, the same batch is accepted.
func TestProduceVerifiesTransactionalBatches(t *testing.T) {
	tb := startTxnBroker(t)
	tb.createTopic("t", 2, nil)
	c := tb.txnConn()
	id := "verified"
	ip := kmsg.NewPtrInitProducerIDRequest()
	ip.Version, ip.TransactionalID, ip.TransactionTimeoutMillis, ip.ProducerID, ip.ProducerEpoch = 4, &id, 30000, -1, -1
	ir := c.send(ip).(*kmsg.InitProducerIDResponse)
	b := record.NewBuilder(record.None)
	b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.Transactional = ir.ProducerID, ir.ProducerEpoch, 0, true
	b.Add(time.Now().UnixMilli(), nil, []byte("v"))
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	produce := func() int16 {
		pr := kmsg.NewPtrProduceRequest()
		pr.Version, pr.TransactionID, pr.Acks, pr.TimeoutMillis = 9, &id, -1, 5000
		pr.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 1, Records: batch}}}}
		return c.send(pr).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode
	}
	if code := produce(); code != kerr.InvalidTxnState.Code {
		t.Fatalf("produce outside the transaction: code %d, want INVALID_TXN_STATE", code)
	}
	if p, _ := tb.parts.Partition("t", 1); p.LogEndOffset() != 0 {
		t.Fatalf("the refused batch was appended: log end offset %d", p.LogEndOffset())
	}
	ap := kmsg.NewPtrAddPartitionsToTxnRequest()
	ap.Version, ap.TransactionalID, ap.ProducerID, ap.ProducerEpoch = 3, id, ir.ProducerID, ir.ProducerEpoch
	ap.Topics = []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "t", Partitions: []int32{1}}}
	if codes := addCodes(c.send(ap).(*kmsg.AddPartitionsToTxnResponse)); codes[1] != 0 {
		t.Fatalf("add: %v", codes)
	}
	if code := produce(); code != 0 {
		t.Fatalf("produce inside the transaction: code %d", code)
	}
}
