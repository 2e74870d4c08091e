package api_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/share"
)

// shareConfig answers a share group's configuration (the group coordinator's part, not
// under test here) and takes every member.
type shareConfig struct{ cfg share.GroupConfig }

func (s shareConfig) ShareMember(string, string) error          { return nil }
func (s shareConfig) ShareGroupConfig(string) share.GroupConfig { return s.cfg }

// testClock is a settable clock for lock timeouts.
type testClock struct{ nanos atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.nanos.Store(time.Now().UnixNano())
	return c
}
func (c *testClock) now() time.Time      { return time.Unix(0, c.nanos.Load()) }
func (c *testClock) add(d time.Duration) { c.nanos.Add(int64(d)) }

// shareBroker is the test broker with a share-partition leader on a settable clock.
type shareBroker struct {
	*testBroker
	addr      string
	clock     *testClock
	shares    *share.Manager
	persister *share.MemoryPersister
	topicID   [16]byte
}

func startShareBroker(t *testing.T, cfg share.GroupConfig) *shareBroker {
	t.Helper()
	b := startBroker(t)
	sb := &shareBroker{testBroker: b, clock: newTestClock(), persister: share.NewMemoryPersister()}
	sb.shares = share.NewManager(share.ManagerOptions{Persister: sb.persister, Membership: shareConfig{cfg}, Now: sb.clock.now})
	env := *b.env
	env.Shares = sb.shares
	sb.addr = b.serveAsNode(&env, func() {})
	sb.topicID = [16]byte(b.createTopic("jobs", 1, nil))
	return sb
}

func (sb *shareBroker) conn() *rawConn {
	sb.t.Helper()
	nc, err := net.Dial("tcp", sb.addr)
	if err != nil {
		sb.t.Fatal(err)
	}
	sb.t.Cleanup(func() { nc.Close() })
	return &rawConn{t: sb.t, nc: nc, br: bufio.NewReader(nc)}
}

func (sb *shareBroker) produce(n int, prefix string) {
	sb.t.Helper()
	cl := sb.client(kgo.DefaultProduceTopic("jobs"), kgo.ProducerLinger(0))
	for i := range n {
		if err := cl.ProduceSync(context.Background(), kgo.StringRecord(prefix+strconv.Itoa(i))).FirstErr(); err != nil {
			sb.t.Fatal(err)
		}
	}
}

// produceBatch produces n records in one batch.
func (sb *shareBroker) produceBatch(n int, prefix string) {
	sb.t.Helper()
	cl := sb.client(kgo.DefaultProduceTopic("jobs"), kgo.ProducerLinger(0))
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, kgo.StringRecord(prefix+strconv.Itoa(i)))
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		sb.t.Fatal(err)
	}
}

func (sb *shareBroker) fetchReq(version int16, member string, epoch int32, maxRecords int32, acks ...kmsg.ShareFetchRequestTopicPartitionAcknowledgementBatch) *kmsg.ShareFetchRequest {
	r := kmsg.NewPtrShareFetchRequest()
	r.Version, r.GroupID, r.MemberID, r.ShareSessionEpoch = version, kmsg.StringPtr("workers"), kmsg.StringPtr(member), epoch
	r.MaxRecords, r.BatchSize, r.MaxBytes = maxRecords, maxRecords, 1<<20
	r.Topics = []kmsg.ShareFetchRequestTopic{{TopicID: sb.topicID, Partitions: []kmsg.ShareFetchRequestTopicPartition{{Partition: 0, AcknowledgementBatches: acks}}}}
	return r
}

func ack(first, last int64, types ...int8) kmsg.ShareFetchRequestTopicPartitionAcknowledgementBatch {
	return kmsg.ShareFetchRequestTopicPartitionAcknowledgementBatch{FirstOffset: first, LastOffset: last, AcknowledgeTypes: types}
}

func (sb *shareBroker) ackReq(member string, epoch int32, first, last int64, types ...int8) *kmsg.ShareAcknowledgeRequest {
	r := kmsg.NewPtrShareAcknowledgeRequest()
	r.Version, r.GroupID, r.MemberID, r.ShareSessionEpoch = 1, kmsg.StringPtr("workers"), kmsg.StringPtr(member), epoch
	r.Topics = []kmsg.ShareAcknowledgeRequestTopic{{TopicID: sb.topicID, Partitions: []kmsg.ShareAcknowledgeRequestTopicPartition{{Partition: 0,
		AcknowledgementBatches: []kmsg.ShareAcknowledgeRequestTopicPartitionAcknowledgementBatch{{FirstOffset: first, LastOffset: last, AcknowledgeTypes: types}}}}}}
	return r
}

// acquiredRange is an AcquiredRecords entry, comparable.
type acquiredRange struct {
	first, last int64
	count       int16
}

// fetched checks a ShareFetch answer has no errors and returns the acquired ranges and the
// values of the acquired records in its batches.
func fetched(t *testing.T, resp kmsg.Response) ([]acquiredRange, []string) {
	t.Helper()
	r := resp.(*kmsg.ShareFetchResponse)
	if r.ErrorCode != 0 {
		t.Fatalf("share fetch error %d", r.ErrorCode)
	}
	var ranges []acquiredRange
	var values []string
	for _, tp := range r.Topics {
		for _, p := range tp.Partitions {
			if p.ErrorCode != 0 || p.AcknowledgeErrorCode != 0 {
				t.Fatalf("partition %d: error %d, acknowledge error %d", p.Partition, p.ErrorCode, p.AcknowledgeErrorCode)
			}
			for _, a := range p.AcquiredRecords {
				ranges = append(ranges, acquiredRange{a.FirstOffset, a.LastOffset, a.DeliveryCount})
			}
			for _, v := range recordValues(t, p.Records) {
				for _, a := range p.AcquiredRecords {
					if v.offset >= a.FirstOffset && v.offset <= a.LastOffset {
						values = append(values, v.value)
					}
				}
			}
		}
	}
	return ranges, values
}

type offsetValue struct {
	offset int64
	value  string
}

func recordValues(t *testing.T, b []byte) []offsetValue {
	t.Helper()
	var out []offsetValue
	for len(b) > 0 {
		var batch kmsg.RecordBatch
		if err := batch.ReadFrom(b); err != nil {
			t.Fatalf("record batch: %v", err)
		}
		b = b[12+int(batch.Length):]
		recs := batch.Records
		for i := int32(0); i < batch.NumRecords; i++ {
			var r kmsg.Record
			if err := r.ReadFrom(recs); err != nil {
				t.Fatalf("record: %v", err)
			}
			_, n := binary.Varint(recs)
			recs = recs[n+int(r.Length):]
			out = append(out, offsetValue{batch.FirstOffset + int64(r.OffsetDelta), string(r.Value)})
		}
	}
	return out
}

func rng(first, last int64, count int16) acquiredRange {
	return acquiredRange{first, last, count}
}

func earliestConfig() share.GroupConfig {
	cfg := share.DefaultGroupConfig()
	cfg.AutoOffsetReset = "earliest"
	return cfg
}

// TestShareFetchRaw walks two members through ShareFetch and ShareAcknowledge v1 and v2:
// acquisition, acknowledgement types, redelivery with delivery counts, lock timeouts, the
// delivery count limit, session epochs and their errors, and the state the persister holds.
func TestShareFetchRaw(t *testing.T) {
	cfg := earliestConfig()
	cfg.DeliveryCountLimit = 3
	sb := startShareBroker(t, cfg)
	sb.produce(10, "r")
	a, b := sb.conn(), sb.conn()

	got, values := fetched(t, a.send(sb.fetchReq(1, "member-a", 0, 500)))
	if want := []acquiredRange{rng(0, 9, 1)}; !slices.Equal(got, want) {
		t.Fatalf("a acquired %v, want %v", got, want)
	}
	if len(values) != 10 || values[0] != "r0" || values[9] != "r9" {
		t.Fatalf("a got values %v", values)
	}
	if got, _ := fetched(t, b.send(sb.fetchReq(2, "member-b", 0, 500))); len(got) != 0 {
		t.Fatalf("b acquired %v while a holds everything", got)
	}

	// a accepts 0..3, releases 4..6, rejects 7, and leaves 8..9 acquired.
	r := a.send(sb.ackReq("member-a", 1, 0, 7, 1, 1, 1, 1, 2, 2, 2, 3)).(*kmsg.ShareAcknowledgeResponse)
	if r.ErrorCode != 0 || r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("ack: %+v", r)
	}
	got, values = fetched(t, b.send(sb.fetchReq(2, "member-b", 1, 500)))
	if want := []acquiredRange{rng(4, 6, 2)}; !slices.Equal(got, want) || !slices.Equal(values, []string{"r4", "r5", "r6"}) {
		t.Fatalf("b acquired %v %v, want %v", got, values, want)
	}
	// a acknowledging b's records, or records already done, is INVALID_RECORD_STATE.
	for i, span := range [][2]int64{{4, 4}, {0, 0}, {7, 7}, {10, 10}} {
		r = a.send(sb.ackReq("member-a", int32(2+i), span[0], span[1], 1)).(*kmsg.ShareAcknowledgeResponse)
		if code := r.Topics[0].Partitions[0].ErrorCode; code != kerr.InvalidRecordState.Code {
			t.Fatalf("ack %v by a: code %d, want INVALID_RECORD_STATE", span, code)
		}
	}

	// Session epochs.
	for _, tc := range []struct {
		name string
		req  kmsg.Request
		code int16
	}{
		{"ack at a stale epoch", sb.ackReq("member-a", 1, 8, 8, 1), kerr.InvalidShareSessionEpoch.Code},
		{"ack opening a session", sb.ackReq("member-a", 0, 8, 8, 1), kerr.InvalidShareSessionEpoch.Code},
		{"ack without a session", sb.ackReq("member-z", 4, 8, 8, 1), kerr.ShareSessionNotFound.Code},
		{"fetch without a session", sb.fetchReq(1, "member-z", 3, 500), kerr.ShareSessionNotFound.Code},
		{"fetch opening a session with acknowledgements", sb.fetchReq(1, "member-z", 0, 500, ack(8, 8, 1)), kerr.InvalidRequest.Code},
		{"empty member id", sb.fetchReq(1, "", 0, 500), kerr.InvalidRequest.Code},
	} {
		var code int16
		switch resp := a.send(tc.req).(type) {
		case *kmsg.ShareAcknowledgeResponse:
			code = resp.ErrorCode
		case *kmsg.ShareFetchResponse:
			code = resp.ErrorCode
		}
		if code != tc.code {
			t.Fatalf("%s: code %d, want %d", tc.name, code, tc.code)
		}
	}

	// a's lock on 8..9 times out: b gets them with delivery count 2. b's own lock on 4..6
	// times out too (same duration, acquired earlier on the same clock).
	sb.clock.add(cfg.RecordLockDuration + time.Second)
	sb.shares.ExpireNow(context.Background())
	got, _ = fetched(t, b.send(sb.fetchReq(2, "member-b", 2, 500)))
	if want := []acquiredRange{rng(4, 6, 3), rng(8, 9, 2)}; !slices.Equal(got, want) {
		t.Fatalf("after the lock timeout b acquired %v, want %v", got, want)
	}
	// b releases 4..6 at their third delivery: the delivery count limit (3) archives them;
	// b accepts 8..9 piggybacked on the next fetch, which finds nothing more.
	got, _ = fetched(t, b.send(sb.fetchReq(2, "member-b", 3, 500, ack(4, 6, 2), ack(8, 9, 1))))
	if len(got) != 0 {
		t.Fatalf("acquired %v after the limit archived the rest", got)
	}
	ps, err := sb.persister.Read(context.Background(), share.Key{Group: "workers", TopicID: sb.topicID, Partition: 0}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ps.StartOffset != 10 || len(ps.Batches) != 0 {
		t.Fatalf("persisted start %d batches %v, want 10 and none", ps.StartOffset, ps.Batches)
	}

	// Renew (v2): a renewed lock survives the lock duration.
	sb.produce(2, "s")
	got, _ = fetched(t, b.send(sb.fetchReq(2, "member-b", 4, 500)))
	if want := []acquiredRange{rng(10, 11, 1)}; !slices.Equal(got, want) {
		t.Fatalf("acquired %v, want %v", got, want)
	}
	sb.clock.add(cfg.RecordLockDuration / 2)
	renew := sb.fetchReq(2, "member-b", 5, 0, ack(10, 11, 4))
	renew.IsRenewAck, renew.MaxBytes, renew.BatchSize = true, 0, 0
	fetched(t, b.send(renew))
	sb.clock.add(cfg.RecordLockDuration/2 + time.Second)
	sb.shares.ExpireNow(context.Background())
	fetched(t, b.send(sb.fetchReq(2, "member-b", 6, 500, ack(10, 11, 1))))

	// The final epoch closes b's session.
	if resp := b.send(sb.fetchReq(2, "member-b", -1, 500)).(*kmsg.ShareFetchResponse); resp.ErrorCode != 0 {
		t.Fatalf("close: %d", resp.ErrorCode)
	}
	if resp := b.send(sb.fetchReq(2, "member-b", 7, 500)).(*kmsg.ShareFetchResponse); resp.ErrorCode != kerr.ShareSessionNotFound.Code {
		t.Fatalf("fetch after close: %d", resp.ErrorCode)
	}
}

// TestShareFetchLongPollAndRelease: a fetch with nothing to acquire waits for an append;
// closing a connection releases its member's records to the others at once.
func TestShareFetchLongPollAndRelease(t *testing.T) {
	sb := startShareBroker(t, earliestConfig())
	a, b := sb.conn(), sb.conn()
	fetched(t, a.send(sb.fetchReq(1, "member-a", 0, 500)))

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(200 * time.Millisecond)
		sb.produceBatch(3, "late")
	}()
	req := sb.fetchReq(1, "member-a", 1, 500)
	req.MaxWaitMillis, req.MinBytes = 20000, 1
	got, values := fetched(t, a.send(req))
	wg.Wait()
	if want := []acquiredRange{rng(0, 2, 1)}; !slices.Equal(got, want) || len(values) != 3 {
		t.Fatalf("long poll acquired %v %v, want %v", got, values, want)
	}

	// b waits; a's connection closes: its records come to b, redelivered.
	if got, _ := fetched(t, b.send(sb.fetchReq(1, "member-b", 0, 500))); len(got) != 0 {
		t.Fatalf("b acquired %v while a holds everything", got)
	}
	done := make(chan kmsg.Response, 1)
	go func() {
		req := sb.fetchReq(1, "member-b", 1, 500)
		req.MaxWaitMillis = 20000
		done <- b.send(req)
	}()
	time.Sleep(200 * time.Millisecond)
	a.nc.Close()
	if got, _ := fetched(t, <-done); !slices.Equal(got, []acquiredRange{rng(0, 2, 2)}) {
		t.Fatalf("after a's connection closed b acquired %v", got)
	}
}

// TestShareAcknowledgeTopicAuthorization: with READ on the group but not the topic, a share
// session opens, and the partition is TOPIC_AUTHORIZATION_FAILED in ShareFetch and
// ShareAcknowledge alike (one connection: the session lives as long as it).
func TestShareAcknowledgeTopicAuthorization(t *testing.T) {
	b := startBroker(t)
	az := &testAuthorizer{allowed: map[aclKey]bool{}, hosts: map[string]string{}}
	for _, p := range []string{"", "User:ANONYMOUS"} {
		az.grant(p, opRead, resGroup, "workers")
	}
	env := *b.env
	env.Authorizer = az
	sb := &shareBroker{testBroker: b, addr: b.serveAsNode(&env, func() {}), topicID: [16]byte(b.createTopic("jobs", 1, nil))}
	c := sb.conn()
	f := c.send(sb.fetchReq(1, "member-a", 0, 500)).(*kmsg.ShareFetchResponse)
	if f.ErrorCode != 0 || f.Topics[0].Partitions[0].ErrorCode != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("share fetch: %+v", f)
	}
	a := c.send(sb.ackReq("member-a", 1, 0, 0, 1)).(*kmsg.ShareAcknowledgeResponse)
	if a.ErrorCode != 0 || a.Topics[0].Partitions[0].ErrorCode != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("share acknowledge: %+v", a)
	}
}

// TestShareSessionLimit: past group.share.max.share.sessions a new member's session is
// SHARE_SESSION_LIMIT_REACHED; a member re-opening its own session replaces it.
func TestShareSessionLimit(t *testing.T) {
	b := startBroker(t)
	env := *b.env
	env.ShareSessions = api.NewShareSessions(1)
	sb := &shareBroker{testBroker: b, addr: b.serveAsNode(&env, func() {}), topicID: [16]byte(b.createTopic("jobs", 1, nil))}
	c := sb.conn()
	fetched(t, c.send(sb.fetchReq(1, "member-a", 0, 500)))
	fetched(t, c.send(sb.fetchReq(1, "member-a", 0, 500)))
	if r := c.send(sb.fetchReq(1, "member-b", 0, 500)).(*kmsg.ShareFetchResponse); r.ErrorCode != kerr.ShareSessionLimitReached.Code {
		t.Fatalf("second member's session: code %d, want SHARE_SESSION_LIMIT_REACHED", r.ErrorCode)
	}
}

// TestShareFetchReadCommitted: with share.isolation.level=read_committed a share group is
// never handed an aborted transaction's records nor the transaction markers; read_uncommitted
// gets the aborted ones too (never the markers).
func TestShareFetchReadCommitted(t *testing.T) {
	tb := startTxnBroker(t)
	topicID := [16]byte(tb.createTopic("jobs", 1, nil))
	cl, err := kgo.NewClient(kgo.SeedBrokers(tb.txnAddr), kgo.TransactionalID("tx-share"), kgo.DefaultProduceTopic("jobs"),
		kgo.TransactionTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, commit := range []bool{true, false, true} {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		var recs []*kgo.Record
		for j := range 3 {
			recs = append(recs, kgo.StringRecord("t"+strconv.Itoa(i)+"-"+strconv.Itoa(j)))
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	// EndTransaction returns once the commit is decided; the markers are written after. Wait
	// for the last one: the last stable offset is then the log end (3 x (3 records + marker)).
	adm := kadm.NewClient(cl)
	for {
		lso, err := adm.ListCommittedOffsets(ctx, "jobs")
		if err != nil {
			t.Fatal(err)
		}
		if o, ok := lso.Lookup("jobs", 0); ok && o.Err == nil && o.Offset == 12 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("last stable offset %+v, want 12", lso)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, tc := range []struct {
		readCommitted bool
		want          []acquiredRange
		values        int
	}{
		{true, []acquiredRange{rng(0, 2, 1), rng(8, 10, 1)}, 6},
		{false, []acquiredRange{rng(0, 2, 1), rng(4, 6, 1), rng(8, 10, 1)}, 9},
	} {
		cfg := earliestConfig()
		cfg.ReadCommitted = tc.readCommitted
		env := *tb.env
		env.Shares = share.NewManager(share.ManagerOptions{Persister: share.NewMemoryPersister(), Membership: shareConfig{cfg}})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		serve(t, &env, ln, func() {})
		sb := &shareBroker{testBroker: tb.testBroker, addr: ln.Addr().String(), topicID: topicID}
		got, values := fetched(t, sb.conn().send(sb.fetchReq(1, "member-a", 0, 500)))
		if !slices.Equal(got, tc.want) || len(values) != tc.values {
			t.Fatalf("read_committed %v: acquired %v %v, want %v", tc.readCommitted, got, values, tc.want)
		}
	}
}
