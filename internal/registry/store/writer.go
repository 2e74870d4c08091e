package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/registry"
)

// EndpointName is the name under which a node's broker registration carries its registry
// listener (host, port; security protocol 0 for http, 1 for https). Kafka listener names are
// upper case, so no client connection's listener ever matches it: Metadata, DescribeCluster
// and the leader hints of Produce and Fetch, which answer with the endpoints of the listener a
// request came in on, never show it.
const EndpointName = "sluice-schema-registry"

// Endpoint is the registration endpoint of a registry listener at host:port.
func Endpoint(host string, port int, https bool) metadata.Endpoint {
	e := metadata.Endpoint{Listener: EndpointName, Host: host, Port: int32(port)}
	if https {
		e.SecurityProtocol = 1
	}
	return e
}

// URLOf is the registry base URL of broker id from its registration, ok false when it has no
// registry listener (or is not registered).
func URLOf(img *metadata.Image, id int32) (string, bool) {
	b, ok := img.Broker(id)
	if !ok {
		return "", false
	}
	for _, e := range b.Endpoints {
		if e.Listener != EndpointName {
			continue
		}
		scheme := "http"
		if e.SecurityProtocol == 1 {
			scheme = "https"
		}
		return scheme + "://" + net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port))), true
	}
	return "", false
}

// leaderOf is the leader of _schemas partition 0 and its epoch in img; -1 when the topic does
// not exist or the partition has no leader.
func leaderOf(img *metadata.Image) (leader, epoch int32, exists bool) {
	t, ok := img.Topic(registry.TopicName)
	if !ok || len(t.Partitions) == 0 {
		return -1, -1, false
	}
	p := t.Partitions[0]
	return p.Leader, p.LeaderEpoch, true
}

// Writer implements registry.Log: the URL of the leader of _schemas partition 0. When _schemas
// does not exist yet (no write has happened), it creates it and waits (at most 10 s) for its
// leader: the registry asks Writer before its first write, as Kafka creates __consumer_offsets
// when a client first needs it, so that the replication factor counts the brokers up by then.
func (s *Store) Writer() (url string, self bool, ok bool) {
	img := s.opts.Image()
	leader, _, exists := leaderOf(img)
	if !exists {
		s.ensureTopic()
		img = s.opts.Image()
		leader, _, _ = leaderOf(img)
	}
	if leader < 0 {
		return "", false, false
	}
	if b, found := img.Broker(leader); !found || b.Fenced {
		return "", false, false
	}
	url, ok = URLOf(img, leader)
	return url, leader == s.opts.NodeID, ok
}

// elect is the election goroutine: this node is the writer while it leads _schemas-0. On
// becoming leader (or in a new leader epoch) it appends a NOOP and waits until the reader has
// applied it before Append accepts records.
func (s *Store) elect() {
	defer s.wg.Done()
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.imageChanged:
		case <-retry.C:
		}
		again, err := s.electOnce()
		if err != nil && s.ctx.Err() == nil {
			s.opts.Logger.Warn("schema registry: becoming the _schemas writer", "err", err)
		}
		if again {
			retry.Reset(50 * time.Millisecond)
		}
	}
}

// electOnce brings the writer state in line with the latest Image; again reports that it
// should be tried again shortly (the local replica has not caught up with the Image yet, or
// catching up failed).
func (s *Store) electOnce() (again bool, err error) {
	leader, epoch, _ := leaderOf(s.opts.Image())
	if leader != s.opts.NodeID {
		s.setWriter(nil)
		return false, nil
	}
	if w := s.writer.Load(); w != nil && w.epoch == epoch {
		return false, nil
	}
	s.setWriter(nil)
	p, ok := s.opts.Partitions.Partition(registry.TopicName, 0)
	if !ok || !p.IsLeader() || p.State().LeaderEpoch != epoch {
		return true, nil // reconcile has not applied this Image to the replica yet
	}
	if err := s.catchUp(p); err != nil {
		return true, err
	}
	s.setWriter(&writerState{p: p, epoch: epoch})
	s.opts.Logger.Info("schema registry: this node is the _schemas writer", "leader_epoch", epoch, "applied", s.Applied())
	return false, nil
}

// catchUp appends a NOOP record to p and waits until it is committed and applied: then the
// state holds everything in _schemas before it.
func (s *Store) catchUp(p *partition.Partition) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.WriteTimeout)
	defer cancel()
	batch, err := buildBatch([]registry.Record{{Key: registry.Key{KeyType: registry.KeyNoop}}})
	if err != nil {
		return err
	}
	res, err := p.Append(batch, -1)
	if err != nil {
		return fmt.Errorf("append NOOP: %w", err)
	}
	if err := p.WaitCommitted(ctx, res.LastOffset+1); err != nil {
		return fmt.Errorf("NOOP at %d not committed: %w", res.LastOffset, err)
	}
	return s.waitApplied(ctx, res.LastOffset+1)
}

func (s *Store) setWriter(w *writerState) {
	old := s.writer.Swap(w)
	if old != w {
		s.opts.Metrics.setWriter(w != nil)
		s.notifyChanged()
	}
}

// buildBatch encodes recs as one uncompressed record batch.
func buildBatch(recs []registry.Record) ([]byte, error) {
	b := record.NewBuilder(record.None)
	now := time.Now().UnixMilli()
	for _, r := range recs {
		v, err := EncodeValue(r)
		if err != nil {
			return nil, err
		}
		b.Add(now, EncodeKey(r.Key), v)
	}
	return b.Build(nil)
}

// Append implements registry.Log. On the writer it appends recs as one batch to the leader
// replica of _schemas-0 (acks=all) and returns once they are applied; while this node is
// becoming the writer it waits (within ctx). Elsewhere it returns registry.ErrNotWriter,
// creating _schemas first if it does not exist yet (the first write, as Kafka creates
// __consumer_offsets on first use), so that a writer comes to be.
func (s *Store) Append(ctx context.Context, recs []registry.Record) error {
	if len(recs) == 0 {
		return nil
	}
	batch, err := buildBatch(recs)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	w, err := s.awaitWriter(ctx)
	if err != nil {
		return err
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	if s.writer.Load() != w {
		return ErrCatchingUp
	}
	if w.p.State().LeaderEpoch != w.epoch || w.p.LogEndOffset() != s.Applied() {
		// Something is in the log that the state has not seen (a write of ours that timed
		// out, or another leader's): the caller's records may be stale. Catch up again.
		s.dropWriter(w)
		return ErrCatchingUp
	}
	res, err := w.p.Append(batch, -1)
	if errors.Is(err, partition.ErrNotLeader) {
		s.dropWriter(w)
		return fmt.Errorf("%w: %w", registry.ErrNotWriter, err)
	}
	if err != nil {
		return fmt.Errorf("store: append to %s: %w", registry.TopicName, err)
	}
	if err := w.p.WaitCommitted(ctx, res.LastOffset+1); err != nil {
		s.dropWriter(w) // the records may still be committed later: catch up before the next
		return fmt.Errorf("store: write to %s not committed: %w", registry.TopicName, err)
	}
	return s.waitApplied(ctx, res.LastOffset+1)
}

// dropWriter gives up writership w so that the election catches up again.
func (s *Store) dropWriter(w *writerState) {
	if s.writer.CompareAndSwap(w, nil) {
		s.opts.Metrics.setWriter(false)
		s.notifyChanged()
		s.Observe()
	}
}

// ensureTopic creates _schemas if it does not exist and waits (at most 10 s) until the
// metadata Image names its leader.
func (s *Store) ensureTopic() {
	s.createMu.Lock()
	defer s.createMu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if _, _, exists := leaderOf(s.opts.Image()); !exists {
		if err := s.createTopic(ctx); err != nil {
			s.opts.Logger.Warn("schema registry: creating _schemas", "err", err)
			return
		}
	}
	for {
		if leader, _, _ := leaderOf(s.opts.Image()); leader >= 0 {
			return
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return
		}
	}
}

// awaitWriter returns this node's writer state, waiting while this node leads _schemas-0 but
// has not caught up; registry.ErrNotWriter when another node leads it or none does.
func (s *Store) awaitWriter(ctx context.Context) (*writerState, error) {
	created := false
	for {
		s.mu.Lock()
		ch := s.mu.changed
		s.mu.Unlock()
		if w := s.writer.Load(); w != nil {
			return w, nil
		}
		leader, _, exists := leaderOf(s.opts.Image())
		switch {
		case !exists && !created:
			created = true
			s.ensureTopic()
			continue
		case exists && leader != s.opts.NodeID:
			return nil, registry.ErrNotWriter
		}
		select { // becoming writer, or the new topic's leader not known yet
		case <-ch:
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			if !exists {
				return nil, fmt.Errorf("store: %s has no leader yet: %w", registry.TopicName, registry.ErrNotWriter)
			}
			return nil, fmt.Errorf("store: becoming the %s writer: %w", registry.TopicName, ErrCatchingUp)
		}
	}
}

// createTopic creates _schemas as Confluent's registry does (compacted, one partition,
// kafkastore.topic.replication.factor 3, here capped by the active brokers), with
// min.insync.replicas 2 (capped by the replication factor) as Kafka's
// transaction.state.log.min.isr gives its own system topic.
func (s *Store) createTopic(ctx context.Context) error {
	rf := s.opts.ReplicationFactor
	if rf <= 0 {
		active := 0
		for _, b := range s.opts.Image().Brokers() {
			if b.Active() {
				active++
			}
		}
		rf = min(3, max(active, 1))
	}
	create := metadata.CreateTopic{Name: registry.TopicName, NumPartitions: 1, ReplicationFactor: int16(rf),
		Configs: map[string]string{
			string(config.CleanupPolicy):     config.CleanupPolicyCompact,
			string(config.MinInsyncReplicas): strconv.Itoa(min(2, rf)),
		}}
	res := s.opts.Creator.CreateTopics(ctx, []metadata.CreateTopic{create}, false)
	if len(res) == 1 && res[0].Err != nil && !errors.Is(res[0].Err, metadata.ErrTopicExists) {
		return fmt.Errorf("store: create %s: %w", registry.TopicName, res[0].Err)
	}
	s.opts.Logger.Info("schema registry: created _schemas", "replication_factor", rf)
	return nil
}

// Sync implements registry.Log: it waits until the reader has applied _schemas up to its high
// watermark as of the call (asked of the partition's leader; read locally on the writer).
func (s *Store) Sync(ctx context.Context) error {
	end, err := s.endOffset(ctx)
	if err != nil {
		return err
	}
	return s.waitApplied(ctx, end)
}

// endOffset is _schemas-0's high watermark; 0 when the topic does not exist. Elsewhere than
// on the writer it is asked of the leader, and concurrent callers share requests: a caller
// waits for the next ListOffsets sent after it arrived (one in flight at a time), so every
// caller still gets an end at least as late as its call, at one request per round trip
// whatever the number of readers.
func (s *Store) endOffset(ctx context.Context) (int64, error) {
	if w := s.writer.Load(); w != nil {
		return w.p.HighWatermark(), nil
	}
	if _, _, exists := leaderOf(s.opts.Image()); !exists {
		return 0, nil
	}
	s.end.Lock()
	if s.end.closed {
		s.end.Unlock()
		return 0, errors.New("store: closed")
	}
	q := s.end.next
	if q == nil {
		q = &endQuery{done: make(chan struct{})}
		s.end.next = q
	}
	if !s.end.inFlight {
		s.end.inFlight, s.end.next = true, nil
		s.wg.Add(1)
		go s.queryEnds(q)
	}
	s.end.Unlock()
	select {
	case <-q.done:
		return q.end, q.err
	case <-ctx.Done():
		return 0, fmt.Errorf("store: end offset of %s: %w", registry.TopicName, context.Cause(ctx))
	}
}

// endQuery is one ListOffsets shared by the callers that joined it.
type endQuery struct {
	done chan struct{} // closed when end and err are set
	end  int64
	err  error
}

// queryEnds answers q, then the query callers joined meanwhile, until none is waiting.
func (s *Store) queryEnds(q *endQuery) {
	defer s.wg.Done()
	for q != nil {
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		q.end, q.err = s.listEnd(ctx)
		cancel()
		close(q.done)
		s.end.Lock()
		q, s.end.next = s.end.next, nil
		s.end.inFlight = q != nil
		s.end.Unlock()
	}
}

// listEnd asks the leader of _schemas-0 for its high watermark, again through elections.
func (s *Store) listEnd(ctx context.Context) (int64, error) {
	adm := kadm.NewClient(s.client)
	for {
		offs, err := adm.ListEndOffsets(ctx, registry.TopicName)
		if err == nil {
			o, ok := offs.Lookup(registry.TopicName, 0)
			switch {
			case ok && o.Err == nil:
				return o.Offset, nil
			case ok && errors.Is(o.Err, kerr.UnknownTopicOrPartition):
				return 0, nil
			case ok:
				err = o.Err
			default:
				err = errors.New("no answer for partition 0")
			}
		}
		select { // a leader election or a metadata refresh in progress: ask again
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return 0, fmt.Errorf("store: end offset of %s: %w (%w)", registry.TopicName, err, context.Cause(ctx))
		}
	}
}
