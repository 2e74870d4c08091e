package connect

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// errorHandler applies a connector's errors.* settings (KIP-298) to records that fail in a
// converter or transform: errors.tolerance none (the default) fails the task; all skips the
// record, logs it when errors.log.enable, and for sinks writes the original record to
// errors.deadletterqueue.topic.name, with the error in __connect.errors.* headers when
// errors.deadletterqueue.context.headers.enable.
type errorHandler struct {
	t          *taskRunner
	retryFor   time.Duration // errors.retry.timeout; < 0: without end
	retryMax   time.Duration // errors.retry.delay.max.ms
	all        bool
	log        bool
	logMsgs    bool
	dlq        string
	ctxHeaders bool
	producer   *kgo.Client
	skipped    int64
}

func newErrorHandler(t *taskRunner, sink bool) *errorHandler {
	c := t.config
	h := &errorHandler{t: t, all: strings.EqualFold(c["errors.tolerance"], "all"),
		log: c["errors.log.enable"] == "true", logMsgs: c["errors.log.include.messages"] == "true"}
	h.retryFor, h.retryMax = msConfig(c, "errors.retry.timeout", 0), msConfig(c, "errors.retry.delay.max.ms", 60000)
	if sink {
		h.dlq = strings.TrimSpace(c["errors.deadletterqueue.topic.name"])
		h.ctxHeaders = c["errors.deadletterqueue.context.headers.enable"] == "true"
	}
	return h
}

func msConfig(c map[string]string, name string, dflt int64) time.Duration {
	ms, err := strconv.ParseInt(strings.TrimSpace(c[name]), 10, 64)
	if err != nil {
		ms = dflt // validated when the connector was created
	}
	return time.Duration(ms) * time.Millisecond
}

// retriable reports whether err says a later attempt may succeed (a schema registry that did
// not answer, a broker error Kafka marks retriable): any error in its chain with a
// Retriable() bool method that returns true.
func retriable(err error) bool {
	var r interface{ Retriable() bool }
	return errors.As(err, &r) && r.Retriable()
}

// retry runs op again while it fails with a retriable error, for up to errors.retry.timeout
// (0, the default: once; -1: without end), waiting 300 ms, then twice as long each time, at
// most errors.retry.delay.max.ms, as Kafka Connect's RetryWithToleranceOperator; it returns
// op's last error, or the context's when the task is stopped meanwhile.
func (h *errorHandler) retry(ctx context.Context, op func() error) error {
	err := op()
	if err == nil || h.retryFor == 0 || !retriable(err) {
		return err
	}
	deadline := time.Now().Add(h.retryFor)
	delay := 300 * time.Millisecond
	for attempt := 1; ; attempt++ {
		wait := min(delay, h.retryMax)
		if h.retryFor > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return err
			}
			wait = min(wait, left)
		}
		h.t.cs.w.log.Warn("a record failed with a retriable error; retrying", "connector", h.t.cs.name, "task", h.t.id,
			"attempt", attempt, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		h.t.cs.w.met.recordRetries.WithLabelValues(h.t.labels()...).Inc()
		if err = op(); err == nil || !retriable(err) {
			return err
		}
		delay *= 2
	}
}

// tolerate returns nil when the failed record is to be skipped, else the error to fail with.
func (h *errorHandler) tolerate(r *kgo.Record, stage string, err error) error {
	if !h.all {
		return err
	}
	h.skipped++
	h.t.cs.w.met.recordErrors.WithLabelValues(h.t.labels()...).Inc()
	if h.log {
		args := []any{"connector", h.t.cs.name, "task", h.t.id, "stage", stage, "err", err}
		if h.logMsgs && r != nil {
			args = append(args, "key", string(r.Key), "value", string(r.Value))
		}
		h.t.cs.w.log.Error("a record failed and is skipped (errors.tolerance=all)", args...)
	}
	if h.dlq == "" || r == nil {
		return nil
	}
	if h.producer == nil {
		var perr error
		if h.producer, perr = kgo.NewClient(h.t.cs.w.clientOpts(kgo.AllowAutoTopicCreation(),
			kgo.ClientID(fmt.Sprintf("connector-dlq-producer-%s-%d", h.t.cs.name, h.t.id)))...); perr != nil {
			return perr
		}
	}
	dr := &kgo.Record{Topic: h.dlq, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp, Headers: append([]kgo.RecordHeader(nil), r.Headers...)}
	if h.ctxHeaders {
		add := func(k, v string) {
			dr.Headers = append(dr.Headers, kgo.RecordHeader{Key: "__connect.errors." + k, Value: []byte(v)})
		}
		add("topic", r.Topic)
		add("partition", strconv.Itoa(int(r.Partition)))
		add("offset", strconv.FormatInt(r.Offset, 10))
		add("connector.name", h.t.cs.name)
		add("task.id", strconv.Itoa(h.t.id))
		add("stage", stage)
		add("exception.class.name", "org.apache.kafka.connect.errors.DataException")
		add("exception.message", err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Synchronous: the record's offset is committed only once it is in the queue.
	if perr := h.producer.ProduceSync(ctx, dr).FirstErr(); perr != nil {
		return fmt.Errorf("writing to the dead letter queue %s: %w", h.dlq, perr)
	}
	h.t.cs.noteTopic(h.dlq)
	h.t.cs.w.met.deadLetter.WithLabelValues(h.t.labels()...).Inc()
	return nil
}

func (h *errorHandler) close() {
	if h.producer != nil {
		h.producer.Close()
	}
}
