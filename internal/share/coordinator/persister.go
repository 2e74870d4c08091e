package coordinator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/share"
)

// Sender sends one request to the Kafka listener at addr (*cluster.Client).
type Sender interface {
	Send(ctx context.Context, addr string, req kmsg.Request) (kmsg.Response, error)
}

// Persister is the share.Persister share-partition leaders use: each call goes to the share
// coordinator of the key — this node's Coordinator when it leads the key's
// __share_group_state partition, else that partition's leader through the RPCs
// (InitializeShareGroupState … ReadShareGroupStateSummary) on its inter-broker listener, as
// Kafka's DefaultStatePersister does. Retriable answers (NOT_COORDINATOR,
// COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, the coordinator unreachable) are
// retried with backoff until ctx ends or MaxWait passes; the last error is returned.
type Persister struct {
	Local  *Coordinator
	NodeID int32
	// Image is the latest metadata (the state partitions' leaders, brokers' endpoints).
	Image func() *metadata.Image
	// Remote sends the RPCs to other brokers; nil: every key is tried locally.
	Remote Sender
	// Listener is the inter-broker listener name.
	Listener string
	// Create creates __share_group_state (the controller); the first use does, as Kafka's
	// persister's FindCoordinator lookup does. Nil: it is never created here.
	Create func(ctx context.Context) error
	// MaxWait bounds the retries of one call (0: share.coordinator.write.timeout.ms's
	// default, 5 s... doubled: 10 s).
	MaxWait time.Duration
}

var _ share.Persister = (*Persister)(nil)

// retriable reports whether err is worth another try at the (possibly moved) coordinator.
func retriable(err error) bool {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke == kerr.NotCoordinator || ke == kerr.CoordinatorLoadInProgress || ke == kerr.CoordinatorNotAvailable ||
			ke == kerr.RequestTimedOut || ke == kerr.NotLeaderForPartition
	}
	return err != nil // transport errors
}

// do runs fn against k's coordinator (local: addr ""), retrying retriable failures.
func (p *Persister) do(ctx context.Context, k share.Key, fn func(ctx context.Context, addr string) error) error {
	wait := p.MaxWait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	backoff := 20 * time.Millisecond
	var last error
	created := false
	for {
		addr, err := p.route(k)
		if errors.Is(err, errNoTopic) && !created && p.Create != nil {
			created = true
			if cerr := p.Create(ctx); cerr != nil {
				err = fmt.Errorf("%w: create %s: %w", kerr.CoordinatorNotAvailable, StateTopic, cerr)
			}
		}
		if err == nil {
			err = fn(ctx, addr)
			if err == nil || !retriable(err) {
				return err
			}
		}
		last = err
		select {
		case <-ctx.Done():
			if errors.Is(last, errNoTopic) || !isKerr(last) {
				return fmt.Errorf("%w: %w", kerr.CoordinatorNotAvailable, last)
			}
			return last
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}

func isKerr(err error) bool {
	var ke *kerr.Error
	return errors.As(err, &ke)
}

var errNoTopic = errors.New("__share_group_state does not exist yet")

// route returns "" when this node is k's coordinator, else the coordinator's inter-broker
// address.
func (p *Persister) route(k share.Key) (string, error) {
	if p.Image == nil || p.Remote == nil {
		return "", nil
	}
	img := p.Image()
	t, ok := img.Topic(StateTopic)
	if !ok || len(t.Partitions) == 0 {
		return "", errNoTopic
	}
	idx := PartitionFor(k, int32(len(t.Partitions)))
	leader := t.Partitions[idx].Leader
	if leader == p.NodeID {
		return "", nil
	}
	b, ok := img.Broker(leader)
	if leader < 0 || !ok || b.Fenced {
		return "", fmt.Errorf("%w: %s-%d has no live leader", kerr.CoordinatorNotAvailable, StateTopic, idx)
	}
	e, ok := b.Endpoint(p.Listener)
	if !ok {
		return "", fmt.Errorf("%w: broker %d has no endpoint for listener %q", kerr.CoordinatorNotAvailable, leader, p.Listener)
	}
	return net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port))), nil
}

// partitionErr is the error of one partition's answer.
func partitionErr(code int16, msg *string) error {
	if code == 0 {
		return nil
	}
	err := kerr.ErrorForCode(code)
	if msg != nil && *msg != "" {
		return fmt.Errorf("%w: %s", err, *msg)
	}
	return err
}

var errShortAnswer = fmt.Errorf("%w: the share coordinator's answer lacks the partition", kerr.UnknownServerError)

// Initialize implements share.Persister.
func (p *Persister) Initialize(ctx context.Context, k share.Key, stateEpoch int32, startOffset int64) error {
	return p.do(ctx, k, func(ctx context.Context, addr string) error {
		if addr == "" {
			return p.Local.Initialize(ctx, k, stateEpoch, startOffset)
		}
		req := kmsg.NewPtrInitializeShareGroupStateRequest()
		req.GroupID = k.Group
		t := kmsg.NewInitializeShareGroupStateRequestTopic()
		t.TopicID = k.TopicID
		pp := kmsg.NewInitializeShareGroupStateRequestTopicPartition()
		pp.Partition, pp.StateEpoch, pp.StartOffset = k.Partition, stateEpoch, startOffset
		t.Partitions = append(t.Partitions, pp)
		req.Topics = append(req.Topics, t)
		resp, err := p.Remote.Send(ctx, addr, req)
		if err != nil {
			return err
		}
		r := resp.(*kmsg.InitializeShareGroupStateResponse)
		if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
			return errShortAnswer
		}
		rp := r.Topics[0].Partitions[0]
		return partitionErr(rp.ErrorCode, rp.ErrorMessage)
	})
}

// Read implements share.Persister. Over the RPC the answer carries no leader epoch: the one
// asked for is reported (the coordinator stored it).
func (p *Persister) Read(ctx context.Context, k share.Key, leaderEpoch int32) (share.PartitionState, error) {
	var out share.PartitionState
	err := p.do(ctx, k, func(ctx context.Context, addr string) error {
		if addr == "" {
			st, err := p.Local.Read(ctx, k, leaderEpoch)
			out = st
			return err
		}
		req := kmsg.NewPtrReadShareGroupStateRequest()
		req.GroupID = k.Group
		t := kmsg.NewReadShareGroupStateRequestTopic()
		t.TopicID = k.TopicID
		pp := kmsg.NewReadShareGroupStateRequestTopicPartition()
		pp.Partition, pp.LeaderEpoch = k.Partition, leaderEpoch
		t.Partitions = append(t.Partitions, pp)
		req.Topics = append(req.Topics, t)
		resp, err := p.Remote.Send(ctx, addr, req)
		if err != nil {
			return err
		}
		r := resp.(*kmsg.ReadShareGroupStateResponse)
		if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
			return errShortAnswer
		}
		rp := r.Topics[0].Partitions[0]
		if err := partitionErr(rp.ErrorCode, rp.ErrorMessage); err != nil {
			return err
		}
		out = share.PartitionState{StateEpoch: rp.StateEpoch, LeaderEpoch: leaderEpoch, StartOffset: rp.StartOffset, DeliveryCompleteCount: -1}
		for _, b := range rp.StateBatches {
			out.Batches = append(out.Batches, share.StateBatch{FirstOffset: b.FirstOffset, LastOffset: b.LastOffset,
				DeliveryState: b.DeliveryState, DeliveryCount: b.DeliveryCount})
		}
		return nil
	})
	return out, err
}

// Write implements share.Persister.
func (p *Persister) Write(ctx context.Context, k share.Key, w share.Write) error {
	return p.do(ctx, k, func(ctx context.Context, addr string) error {
		if addr == "" {
			return p.Local.Write(ctx, k, w)
		}
		req := kmsg.NewPtrWriteShareGroupStateRequest()
		req.Version = 1
		req.GroupID = k.Group
		t := kmsg.NewWriteShareGroupStateRequestTopic()
		t.TopicID = k.TopicID
		pp := kmsg.NewWriteShareGroupStateRequestTopicPartition()
		pp.Partition, pp.StateEpoch, pp.LeaderEpoch, pp.StartOffset = k.Partition, w.StateEpoch, w.LeaderEpoch, w.StartOffset
		pp.DeliveryCompleteCount = w.DeliveryCompleteCount
		for _, b := range w.Batches {
			sb := kmsg.NewWriteShareGroupStateRequestTopicPartitionStateBatch()
			sb.FirstOffset, sb.LastOffset, sb.DeliveryState, sb.DeliveryCount = b.FirstOffset, b.LastOffset, b.DeliveryState, b.DeliveryCount
			pp.StateBatches = append(pp.StateBatches, sb)
		}
		t.Partitions = append(t.Partitions, pp)
		req.Topics = append(req.Topics, t)
		resp, err := p.Remote.Send(ctx, addr, req)
		if err != nil {
			return err
		}
		r := resp.(*kmsg.WriteShareGroupStateResponse)
		if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
			return errShortAnswer
		}
		rp := r.Topics[0].Partitions[0]
		return partitionErr(rp.ErrorCode, rp.ErrorMessage)
	})
}

// Delete implements share.Persister.
func (p *Persister) Delete(ctx context.Context, k share.Key) error {
	return p.do(ctx, k, func(ctx context.Context, addr string) error {
		if addr == "" {
			return p.Local.Delete(ctx, k)
		}
		req := kmsg.NewPtrDeleteShareGroupStateRequest()
		req.GroupID = k.Group
		t := kmsg.NewDeleteShareGroupStateRequestTopic()
		t.TopicID = k.TopicID
		pp := kmsg.NewDeleteShareGroupStateRequestTopicPartition()
		pp.Partition = k.Partition
		t.Partitions = append(t.Partitions, pp)
		req.Topics = append(req.Topics, t)
		resp, err := p.Remote.Send(ctx, addr, req)
		if err != nil {
			return err
		}
		r := resp.(*kmsg.DeleteShareGroupStateResponse)
		if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
			return errShortAnswer
		}
		rp := r.Topics[0].Partitions[0]
		return partitionErr(rp.ErrorCode, rp.ErrorMessage)
	})
}

// ReadSummary implements share.Persister.
func (p *Persister) ReadSummary(ctx context.Context, k share.Key, leaderEpoch int32) (share.Summary, error) {
	var out share.Summary
	err := p.do(ctx, k, func(ctx context.Context, addr string) error {
		if addr == "" {
			s, err := p.Local.ReadSummary(ctx, k, leaderEpoch)
			out = s
			return err
		}
		req := kmsg.NewPtrReadShareGroupStateSummaryRequest()
		req.Version = 1
		req.GroupID = k.Group
		t := kmsg.NewReadShareGroupStateSummaryRequestTopic()
		t.TopicID = k.TopicID
		pp := kmsg.NewReadShareGroupStateSummaryRequestTopicPartition()
		pp.Partition, pp.LeaderEpoch = k.Partition, leaderEpoch
		t.Partitions = append(t.Partitions, pp)
		req.Topics = append(req.Topics, t)
		resp, err := p.Remote.Send(ctx, addr, req)
		if err != nil {
			return err
		}
		r := resp.(*kmsg.ReadShareGroupStateSummaryResponse)
		if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
			return errShortAnswer
		}
		rp := r.Topics[0].Partitions[0]
		if err := partitionErr(rp.ErrorCode, rp.ErrorMessage); err != nil {
			return err
		}
		out = share.Summary{StateEpoch: rp.StateEpoch, LeaderEpoch: rp.LeaderEpoch, StartOffset: rp.StartOffset,
			DeliveryCompleteCount: rp.DeliveryCompleteCount}
		return nil
	})
	return out, err
}
