// Command eosapp is the consume-transform-produce process of the exactly-once end-to-end
// test (tests/transactions_test.go): in a franz-go GroupTransactSession it reads an input
// topic with read_committed, writes each record's value with "out-" prepended to an output
// topic, and commits the consumed offsets in the same transaction. Once a transaction's
// records are acknowledged it prints "inflight" and pauses before ending it, so a test can
// SIGKILL it mid-transaction; it prints "committed N" after each committed transaction.
//
// Usage: eosapp BROKERS INPUT OUTPUT GROUP TRANSACTIONAL_ID
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: eosapp BROKERS INPUT OUTPUT GROUP TRANSACTIONAL_ID")
		os.Exit(2)
	}
	brokers, input, output, groupID, txnID := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	if err := run(brokers, input, output, groupID, txnID); err != nil {
		fmt.Fprintln(os.Stderr, "eosapp:", err)
		os.Exit(1)
	}
}

func run(brokers, input, output, groupID, txnID string) error {
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(brokers),
		kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(10*time.Second),
		kgo.ConsumerGroup(groupID),
		kgo.InstanceID(txnID), // a restarted process takes over its membership at once (KIP-345)
		kgo.ConsumeTopics(input),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DefaultProduceTopic(output),
		kgo.SessionTimeout(6*time.Second),
		kgo.FetchMaxWait(200*time.Millisecond),
	)
	if err != nil {
		return err
	}
	defer sess.Close()
	ctx := context.Background()
	committed := 0
	for {
		fetches := sess.PollRecords(ctx, 20)
		if err := fetches.Err0(); errors.Is(err, kgo.ErrClientClosed) {
			return err
		}
		var recs []*kgo.Record
		fetches.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		for _, r := range recs {
			out := &kgo.Record{Key: r.Key, Value: append([]byte("out-"), r.Value...)}
			sess.Produce(ctx, out, func(_ *kgo.Record, err error) {
				if err != nil {
					fmt.Fprintln(os.Stderr, "produce:", err)
				}
			})
		}
		// The records are in the log, the transaction not yet ended: the test kills here.
		if err := sess.Client().Flush(ctx); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
		fmt.Println("inflight")
		time.Sleep(30 * time.Millisecond)
		ok, err := sess.End(ctx, kgo.TryCommit)
		if err != nil {
			return fmt.Errorf("end: %w", err)
		}
		if ok {
			committed += len(recs)
			fmt.Printf("committed %d\n", committed)
		}
	}
}
