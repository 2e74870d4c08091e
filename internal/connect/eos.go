package connect

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Exactly-once source connectors (KIP-618). With the worker's exactly.once.source.support=enabled
// (distributed mode only: the offsets live in the offsets topic), each source task produces
// through its own transactional producer, transactional.id "<group.id>-<connector>-<task>", and
// writes the records of a transaction and the source offsets they reach to the offsets topic in
// the same transaction: a crash or a fenced zombie leaves neither or both, and the offsets
// reader (read_committed) sees only committed offsets, so a task that restarts resumes exactly
// after what read_committed consumers can read. A new instance of a task fences the previous
// one when it initialises its producer id (same transactional.id).
//
// Connector configs: exactly.once.support (requested, the default: run exactly-once on a worker
// that has it; required: refuse the connector unless the worker has it and the plugin declares
// Plugin.ExactlyOnce), transaction.boundary (poll, the default: one transaction per non-empty
// poll; interval: every transaction.boundary.interval.ms, default offset.flush.interval.ms;
// connector: refused, no connector here defines its own boundaries).

// Values of exactly.once.source.support.
const (
	eosDisabled  = "disabled"
	eosPreparing = "preparing"
	eosEnabled   = "enabled"
)

// exactlyOnceSupport parses the worker's exactly.once.source.support.
func exactlyOnceSupport(props map[string]string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(props["exactly.once.source.support"]))
	switch v {
	case "":
		return eosDisabled, nil
	case eosDisabled, eosPreparing, eosEnabled:
		return v, nil
	}
	return "", fmt.Errorf("connect: invalid value %q for exactly.once.source.support: one of disabled, preparing, enabled", props["exactly.once.source.support"])
}

// checkExactlyOnceWorker refuses exactly.once.source.support other than disabled where it cannot
// work: without the offsets topic (standalone) or without group.id.
func checkExactlyOnceWorker(cfg WorkerConfig) error {
	v, err := exactlyOnceSupport(cfg.Props)
	if err != nil || v == eosDisabled {
		return err
	}
	if _, ok := cfg.Offsets.(*TopicOffsets); !ok {
		return errors.New("connect: exactly.once.source.support applies to distributed workers (--group-id): a standalone worker's offsets file cannot be written in a transaction")
	}
	if cfg.Props["group.id"] == "" {
		return errors.New("connect: exactly.once.source.support needs group.id (the task producers' transactional ids start with it)")
	}
	return nil
}

// sourceEOS is one source task's exactly-once settings; nil when it runs at least once.
type sourceEOS struct {
	txnID    string
	offsets  *TopicOffsets
	interval time.Duration // 0: a transaction per poll
}

// exactlyOnce returns the task's settings, or nil when the worker does not have exactly-once
// sources enabled.
func (t *taskRunner) exactlyOnce() (*sourceEOS, error) {
	w := t.cs.w
	if v, _ := exactlyOnceSupport(w.cfg.Props); v != eosEnabled {
		return nil, nil
	}
	offsets, ok := w.cfg.Offsets.(*TopicOffsets)
	if !ok {
		return nil, errors.New("exactly-once sources need the offsets topic")
	}
	e := &sourceEOS{txnID: fmt.Sprintf("%s-%s-%d", w.cfg.Props["group.id"], t.cs.name, t.id), offsets: offsets}
	switch b := strings.ToLower(t.config["transaction.boundary"]); b {
	case "", "poll":
	case "interval":
		e.interval = w.flushInterval()
		if v := t.config["transaction.boundary.interval.ms"]; v != "" {
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ms <= 0 {
				return nil, fmt.Errorf("transaction.boundary.interval.ms %q is not a positive number", v)
			}
			e.interval = time.Duration(ms) * time.Millisecond
		}
	default:
		return nil, fmt.Errorf("transaction.boundary %q is not supported by this connector", b)
	}
	return e, nil
}

// fence initialises a producer id for the task's transactional id before the task starts and
// reads its offsets, as Kafka Connect's initTransactions does: that fences the task's previous
// instance (a zombie on a paused or partitioned worker) and aborts its open transaction, so
// the offsets read next are final.
func (e *sourceEOS) fence(ctx context.Context, cl *kgo.Client) error {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	for {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = &e.txnID
		req.TransactionTimeoutMillis = int32(time.Minute.Milliseconds())
		req.ProducerID, req.ProducerEpoch = -1, -1
		resp, err := req.RequestWith(ctx, cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err == nil {
			return nil
		}
		if !kerr.IsRetriable(err) && !errors.Is(err, kerr.ConcurrentTransactions) {
			return fmt.Errorf("fencing the previous producers of %s: %w", e.txnID, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fencing the previous producers of %s: %w (last: %v)", e.txnID, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// opts are the task producer's transactional settings.
func (e *sourceEOS) opts() []kgo.Opt {
	return []kgo.Opt{kgo.TransactionalID(e.txnID), kgo.TransactionTimeout(time.Minute)}
}

// commit ends the open transaction: it adds the offset records of entries, flushes, and
// commits; if anything failed it aborts instead and returns why (the task then fails, as
// Kafka Connect's does). produceErr reports a failed produce callback.
func (e *sourceEOS) commit(ctx context.Context, cl *kgo.Client, connector string, entries []OffsetEntry, produceErr func() error) error {
	recs, err := e.offsets.OffsetRecords(connector, entries)
	if err == nil {
		for _, r := range recs {
			cl.Produce(ctx, r, nil) // a failure shows in Flush's result or the commit's
		}
		err = cl.Flush(ctx)
	}
	if err == nil {
		err = produceErr()
	}
	if err != nil {
		actx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if aerr := cl.AbortBufferedRecords(actx); aerr == nil {
			_ = cl.EndTransaction(actx, kgo.TryAbort)
		}
		return fmt.Errorf("transaction aborted: %w", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("committing the transaction: %w", err)
	}
	// The reader applies them too once it reads the commit; applying now lets a Get that
	// follows see them at once.
	e.offsets.mu.Lock()
	defer e.offsets.mu.Unlock()
	return e.offsets.apply(connector, entries)
}

// exactlyOnceErrors are the connector-level checks of exactly.once.support and
// transaction.boundary (Validate adds them to those keys).
func (w *Worker) exactlyOnceErrors(plugin *Plugin, config map[string]string) map[string]string {
	errs := map[string]string{}
	if plugin == nil || plugin.Kind != Source {
		return errs
	}
	support, _ := exactlyOnceSupport(w.cfg.Props)
	if strings.EqualFold(config["exactly.once.support"], "required") {
		switch {
		case support != eosEnabled:
			errs["exactly.once.support"] = "This worker does not have exactly-once source support enabled (exactly.once.source.support=enabled, distributed mode)"
		case !plugin.ExactlyOnce:
			errs["exactly.once.support"] = fmt.Sprintf("The connector %s does not declare exactly-once support", plugin.Class)
		}
	}
	if strings.EqualFold(config["transaction.boundary"], "connector") {
		errs["transaction.boundary"] = fmt.Sprintf("The connector %s does not define its own transaction boundaries: use poll or interval", plugin.Class)
	}
	return errs
}
