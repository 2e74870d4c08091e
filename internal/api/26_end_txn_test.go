package api_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// consumeAll reads topic from the start until want records arrived or the deadline passed,
// with the given isolation level, and returns the values.
func consumeAll(t *testing.T, addr, topic string, isolation kgo.IsolationLevel, want int) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(isolation),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []string
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}

// TestTransactionsCommitAndAbort: a franz-go transactional producer commits one transaction
// and aborts another; read_committed sees only the committed records, read_uncommitted both.
func TestTransactionsCommitAndAbort(t *testing.T) {
	tb := startTxnBroker(t)
	tb.createTopic("out", 2, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(tb.txnAddr), kgo.TransactionalID("tx-1"), kgo.DefaultProduceTopic("out"),
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
		for j := range 5 {
			r := kgo.StringRecord("t" + strconv.Itoa(i) + "-" + strconv.Itoa(j))
			r.Partition = int32(j % 2)
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatalf("end transaction %d (commit %v): %v", i, commit, err)
		}
	}
	committed := consumeAll(t, tb.txnAddr, "out", kgo.ReadCommitted(), 10)
	if len(committed) != 10 {
		t.Fatalf("read_committed saw %d records, want 10: %v", len(committed), committed)
	}
	for _, v := range committed {
		if v[:2] == "t1" {
			t.Fatalf("read_committed saw aborted record %s", v)
		}
	}
	if all := consumeAll(t, tb.txnAddr, "out", kgo.ReadUncommitted(), 15); len(all) != 15 {
		t.Fatalf("read_uncommitted saw %d records, want 15", len(all))
	}
	d, err := tb.coord.Describe("tx-1")
	if err != nil || d.State.String() != "CompleteCommit" && d.State.String() != "PrepareCommit" {
		t.Fatalf("describe: %+v, %v", d, err)
	}
}
