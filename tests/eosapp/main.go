// Command eosapp is the consume-transform-produce process of the exactly-once end-to-end
// tests (tests/transactions_test.go, tests/txn_restart_test.go): in a franz-go
// GroupTransactSession it reads an input topic with read_committed, writes each record's
// value with "out-" prepended to an output topic, and commits the consumed offsets in the
// same transaction.
//
// Lines on stdout, for the test driving it: "received N" when a poll returned N records;
// "inflight" once a transaction's records are acknowledged (it then pauses 30 ms before
// ending it, so a test can SIGKILL it mid-transaction); "committed N" after each committed
// transaction; "holding STAGE" when it stops for good at a kill point (below).
//
// Environment (all optional):
//   - EOSAPP_HOLD=produced|offsets: after EOSAPP_HOLD_AFTER (default 2) committed
//     transactions, the next one stops for good once its records are acknowledged
//     ("produced") or once its TxnOffsetCommit was answered, before EndTxn ("offsets"),
//     so the test kills it at a known point of the transaction.
//   - EOSAPP_LOG=debug|info: franz-go's log at that level on stderr.
//
// Usage: eosapp BROKERS INPUT OUTPUT GROUP TRANSACTIONAL_ID
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
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

// holdAtOffsets stops the process for good when a TxnOffsetCommit response is read while
// armed: the offsets are then pending in the broker and EndTxn is never sent.
type holdAtOffsets struct{ armed atomic.Bool }

func (h *holdAtOffsets) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	const txnOffsetCommit = 28
	if key == txnOffsetCommit && err == nil && h.armed.Load() {
		hold("offsets")
	}
}

// hold announces the kill point and blocks until the test kills the process.
func hold(stage string) {
	fmt.Println("holding " + stage)
	select {}
}

var _ kgo.HookBrokerRead = (*holdAtOffsets)(nil)

func run(brokers, input, output, groupID, txnID string) error {
	holdStage := os.Getenv("EOSAPP_HOLD")
	holdAfter := 2
	if v := os.Getenv("EOSAPP_HOLD_AFTER"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("EOSAPP_HOLD_AFTER: %w", err)
		}
		holdAfter = n
	}
	offsetsHook := &holdAtOffsets{}
	opts := []kgo.Opt{
		kgo.SeedBrokers(brokers),
		kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(10 * time.Second),
		kgo.ConsumerGroup(groupID),
		kgo.InstanceID(txnID), // a restarted process takes over its membership at once (KIP-345)
		kgo.ConsumeTopics(input),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DefaultProduceTopic(output),
		kgo.SessionTimeout(6 * time.Second),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.WithHooks(offsetsHook),
	}
	switch os.Getenv("EOSAPP_LOG") {
	case "debug":
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, timestamp)))
	case "info":
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, timestamp)))
	}
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return err
	}
	defer sess.Close()
	ctx := context.Background()
	committed, transactions := 0, 0
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
		fmt.Printf("received %d\n", len(recs))
		holding := holdStage != "" && transactions >= holdAfter
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
		switch {
		case holding && holdStage == "produced":
			hold("produced")
		case holding && holdStage == "offsets":
			offsetsHook.armed.Store(true)
		}
		time.Sleep(30 * time.Millisecond)
		ok, err := sess.End(ctx, kgo.TryCommit)
		if err != nil {
			return fmt.Errorf("end: %w", err)
		}
		transactions++
		if ok {
			committed += len(recs)
			fmt.Printf("committed %d\n", committed)
		}
	}
}

func timestamp() string { return time.Now().UTC().Format("15:04:05.000") + " " }
