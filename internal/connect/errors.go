package connect

import (
	"context"
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
	if sink {
		h.dlq = strings.TrimSpace(c["errors.deadletterqueue.topic.name"])
		h.ctxHeaders = c["errors.deadletterqueue.context.headers.enable"] == "true"
	}
	return h
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
