package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// topicLog is one of distributed mode's internal topics (Kafka Connect's KafkaBasedLog): a
// goroutine of its own reads every partition from the start for as long as the log is open
// and hands each record to apply, in offset order per partition; readToEnd waits until it has
// read everything committed when it was called. Writes go through the shared producer and
// return once acknowledged (acks=all).
//
// It reads read_committed and keeps control records (to skip them), so its position passes
// transaction markers and aborted records never reach apply: a transactional producer may
// write to it (KIP-618).
type topicLog struct {
	topic    string
	log      *slog.Logger
	consumer *kgo.Client
	producer *kgo.Client
	adm      *kadm.Client
	apply    func(*kgo.Record) // called by the reader goroutine only

	mu struct {
		sync.Mutex
		next    map[int32]int64 // the next offset to read, per partition
		advance chan struct{}   // closed (and replaced) whenever next moves
	}
	cancel context.CancelFunc
	done   chan struct{}
}

// openTopicLog starts reading topic (which must exist) from its start.
func openTopicLog(topic string, clientOpts []kgo.Opt, producer *kgo.Client, logger *slog.Logger, apply func(*kgo.Record)) (*topicLog, error) {
	opts := append(append([]kgo.Opt(nil), clientOpts...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	l := &topicLog{topic: topic, log: logger, consumer: cl, producer: producer, adm: kadm.NewClient(cl), apply: apply,
		done: make(chan struct{})}
	l.mu.next = map[int32]int64{}
	l.mu.advance = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.read(ctx)
	return l, nil
}

func (l *topicLog) read(ctx context.Context) {
	defer close(l.done)
	for {
		fetches := l.consumer.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				l.log.Warn("reading an internal topic", "topic", t, "partition", p, "err", err)
			}
		})
		moved := map[int32]int64{}
		fetches.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				l.apply(r)
			}
			moved[r.Partition] = r.Offset + 1
		})
		if len(moved) == 0 {
			continue
		}
		l.mu.Lock()
		for p, o := range moved {
			l.mu.next[p] = o
		}
		close(l.mu.advance)
		l.mu.advance = make(chan struct{})
		l.mu.Unlock()
	}
}

// readToEnd waits until every record committed to the topic when it was called has been
// applied.
func (l *topicLog) readToEnd(ctx context.Context) error {
	ends, err := l.adm.ListCommittedOffsets(ctx, l.topic)
	if err != nil {
		return fmt.Errorf("connect: the end offsets of %s: %w", l.topic, err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("connect: the end offsets of %s: %w", l.topic, err)
	}
	for {
		l.mu.Lock()
		behind := false
		ends.Each(func(o kadm.ListedOffset) {
			if o.Offset > 0 && l.mu.next[o.Partition] < o.Offset {
				behind = true
			}
		})
		advance := l.mu.advance
		l.mu.Unlock()
		if !behind {
			return nil
		}
		select {
		case <-advance:
		case <-l.done:
			return fmt.Errorf("connect: %s is closed", l.topic)
		case <-ctx.Done():
			return fmt.Errorf("connect: reading %s to its end: %w", l.topic, ctx.Err())
		}
	}
}

// position is the next offset of partition 0 to read: the config topic's offset.
func (l *topicLog) position() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.next[0]
}

// send writes records to the topic and waits for their acknowledgements.
func (l *topicLog) send(ctx context.Context, recs ...*kgo.Record) error {
	for _, r := range recs {
		r.Topic = l.topic
	}
	if err := l.producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("connect: writing to %s: %w", l.topic, err)
	}
	return nil
}

// sendAsync writes a record without waiting; failures are logged.
func (l *topicLog) sendAsync(r *kgo.Record) {
	r.Topic = l.topic
	l.producer.Produce(context.Background(), r, func(r *kgo.Record, err error) {
		if err != nil {
			l.log.Warn("writing to an internal topic", "topic", r.Topic, "key", string(r.Key), "err", err)
		}
	})
}

func (l *topicLog) close() {
	l.cancel()
	<-l.done
	l.consumer.Close()
}

// internalTopic is an internal topic to create when missing.
type internalTopic struct {
	name        string
	partitions  int32
	replication int16 // -1: the broker's default
}

// ensureTopics creates the topics that are missing, compacted, and checks that the config
// topic (the first) has a single partition, as Kafka Connect insists.
func ensureTopics(ctx context.Context, adm *kadm.Client, topics []internalTopic) error {
	compact := "compact"
	for _, t := range topics {
		resp, err := adm.CreateTopic(ctx, t.partitions, t.replication, map[string]*string{"cleanup.policy": &compact}, t.name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("connect: creating the internal topic %s: %w", t.name, err)
		}
	}
	details, err := adm.ListTopics(ctx, topics[0].name)
	if err != nil {
		return fmt.Errorf("connect: describing %s: %w", topics[0].name, err)
	}
	d, ok := details[topics[0].name]
	if !ok || d.Err != nil {
		return fmt.Errorf("connect: describing %s: %v", topics[0].name, d.Err)
	}
	if n := len(d.Partitions); n != 1 {
		return fmt.Errorf("connect: the config topic %s has %d partitions; it must have exactly 1 (config.storage.topic), as Kafka Connect requires, so that the order of its records is kept", topics[0].name, n)
	}
	return nil
}

// intProp reads an integer worker property, or dflt when it is not set.
func intProp(props map[string]string, key string, dflt int64) (int64, error) {
	v, ok := props[key]
	if !ok || v == "" {
		return dflt, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("connect: %s %q is not a number", key, v)
	}
	return n, nil
}
