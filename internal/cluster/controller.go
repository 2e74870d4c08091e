package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/metadata"
)

// Controller is the metadata controller as a node's own code sees it: the local
// metadata.Controller while this node is the active controller, and the active controller
// over the network otherwise, for what a broker asks of it on its own account — topic
// creation (Metadata's auto-creation, the internal topics) and producer id blocks. Requests
// of clients reach the active controller through forwarding instead (api.Forwarder), so the
// other methods stay the local controller's, which answers NOT_CONTROLLER when it is not
// active.
type Controller struct {
	*metadata.Controller
	client *Client
	nodeID int32
	epoch  func() int64
}

// NewController returns the controller a node hands its handlers and coordinators; epoch is
// this broker's current broker epoch (AllocateProducerIds carries it).
func NewController(local *metadata.Controller, client *Client, nodeID int32, epoch func() int64) *Controller {
	return &Controller{Controller: local, client: client, nodeID: nodeID, epoch: epoch}
}

// CreateTopics creates topics on the active controller.
func (c *Controller) CreateTopics(ctx context.Context, topics []metadata.CreateTopic, validateOnly bool) []metadata.CreatedTopic {
	if c.client.ControllerIsLocal() {
		return c.Controller.CreateTopics(ctx, topics, validateOnly)
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.ValidateOnly = validateOnly
	req.TimeoutMillis = 30000
	if d, ok := ctx.Deadline(); ok {
		req.TimeoutMillis = int32(max(time.Until(d).Milliseconds(), 1))
	}
	for _, t := range topics {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = t.Name, t.NumPartitions, t.ReplicationFactor
		for _, a := range t.Assignments {
			ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			ra.Partition, ra.Replicas = a.Partition, a.Replicas
			rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
		}
		for k, v := range t.Configs {
			rc := kmsg.NewCreateTopicsRequestTopicConfig()
			rc.Name, rc.Value = k, kmsg.StringPtr(v)
			rt.Configs = append(rt.Configs, rc)
		}
		req.Topics = append(req.Topics, rt)
	}
	out := make([]metadata.CreatedTopic, len(topics))
	for i, t := range topics {
		out[i] = metadata.CreatedTopic{Name: t.Name, NumPartitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor}
	}
	resp, err := c.client.ToController(ctx, req, func(r kmsg.Response) bool {
		for _, t := range r.(*kmsg.CreateTopicsResponse).Topics {
			if t.ErrorCode != kerr.NotController.Code {
				return false
			}
		}
		return true
	})
	if err != nil {
		for i := range out {
			out[i].Err = fmt.Errorf("%w: %w", metadata.ErrNotController, err)
		}
		return out
	}
	byName := make(map[string]kmsg.CreateTopicsResponseTopic)
	for _, t := range resp.(*kmsg.CreateTopicsResponse).Topics {
		byName[t.Topic] = t
	}
	for i := range out {
		t, ok := byName[out[i].Name]
		switch {
		case !ok:
			out[i].Err = fmt.Errorf("%w: the controller did not answer for topic %q", metadata.ErrInvalidRequest, out[i].Name)
		case t.ErrorCode != 0:
			out[i].Err = api.ErrorForCode(t.ErrorCode)
			if t.ErrorMessage != nil {
				out[i].Err = fmt.Errorf("%w: %s", out[i].Err, *t.ErrorMessage)
			}
		default:
			out[i].ID = metadata.TopicID(t.TopicID)
			out[i].NumPartitions, out[i].ReplicationFactor = t.NumPartitions, t.ReplicationFactor
		}
	}
	return out
}

// AllocateProducerIDs takes a block of size producer ids from the active controller
// (AllocateProducerIds); size must be the controller's block size, api.ProducerIDBlockSize.
func (c *Controller) AllocateProducerIDs(ctx context.Context, brokerID int32, size int64) (int64, error) {
	if c.client.ControllerIsLocal() {
		return c.Controller.AllocateProducerIDs(ctx, brokerID, size)
	}
	req := kmsg.NewPtrAllocateProducerIDsRequest()
	req.BrokerID, req.BrokerEpoch = brokerID, c.epoch()
	resp, err := c.client.ToController(ctx, req, func(r kmsg.Response) bool {
		return r.(*kmsg.AllocateProducerIDsResponse).ErrorCode == kerr.NotController.Code
	})
	if err != nil {
		return 0, err
	}
	r := resp.(*kmsg.AllocateProducerIDsResponse)
	if err := api.ErrorForCode(r.ErrorCode); err != nil {
		return 0, fmt.Errorf("allocate producer ids: %w", err)
	}
	if int64(r.ProducerIDLen) != size {
		return 0, fmt.Errorf("allocate producer ids: the controller handed %d ids, %d were asked", r.ProducerIDLen, size)
	}
	return r.ProducerIDStart, nil
}

// AlterPartition asks the active controller to change ISRs (AlterPartition v3, or v2 when the
// controller knows no newer): the leader side of KIP-497. brokerID and brokerEpoch are this
// broker's. A request-level error (STALE_BROKER_EPOCH, or no controller reachable before ctx
// ends) is returned as err; per-partition errors are in the results, as the errors of
// api.ErrorForCode.
func (c *Controller) AlterPartition(ctx context.Context, brokerID int32, brokerEpoch int64, changes []metadata.ISRChange, v2 bool) ([]metadata.ISRChangeResult, error) {
	if c.client.ControllerIsLocal() {
		return c.Controller.AlterPartition(ctx, brokerID, brokerEpoch, changes, v2)
	}
	req := kmsg.NewPtrAlterPartitionRequest()
	req.BrokerID, req.BrokerEpoch = brokerID, brokerEpoch
	type key struct {
		topic int
		part  int
	}
	topics := make(map[metadata.TopicID]int)
	at := make([]key, len(changes))
	for i, ch := range changes {
		ti, ok := topics[ch.TopicID]
		if !ok {
			ti = len(req.Topics)
			topics[ch.TopicID] = ti
			rt := kmsg.NewAlterPartitionRequestTopic()
			rt.TopicID = ch.TopicID
			req.Topics = append(req.Topics, rt)
		}
		rp := kmsg.NewAlterPartitionRequestTopicPartition()
		rp.Partition, rp.LeaderEpoch, rp.PartitionEpoch = ch.Partition, ch.LeaderEpoch, ch.PartitionEpoch
		rp.LeaderRecoveryState = ch.LeaderRecoveryState
		for _, m := range ch.NewISR {
			rp.NewISR = append(rp.NewISR, m.ID) // v2
			e := kmsg.NewAlterPartitionRequestTopicPartitionNewEpochISR()
			e.BrokerID, e.BrokerEpoch = m.ID, m.BrokerEpoch
			rp.NewEpochISR = append(rp.NewEpochISR, e) // v3
		}
		at[i] = key{ti, len(req.Topics[ti].Partitions)}
		req.Topics[ti].Partitions = append(req.Topics[ti].Partitions, rp)
	}
	resp, err := c.client.ToController(ctx, req, func(r kmsg.Response) bool {
		return r.(*kmsg.AlterPartitionResponse).ErrorCode == kerr.NotController.Code
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", metadata.ErrNotController, err)
	}
	r := resp.(*kmsg.AlterPartitionResponse)
	if err := api.ErrorForCode(r.ErrorCode); err != nil {
		return nil, fmt.Errorf("alter partition: %w", err)
	}
	results := make([]metadata.ISRChangeResult, len(changes))
	for i, k := range at {
		if k.topic >= len(r.Topics) || k.part >= len(r.Topics[k.topic].Partitions) ||
			r.Topics[k.topic].Partitions[k.part].Partition != changes[i].Partition {
			results[i].Err = fmt.Errorf("%w: the controller did not answer for partition %d", metadata.ErrInvalidRequest, changes[i].Partition)
			continue
		}
		p := r.Topics[k.topic].Partitions[k.part]
		if err := api.ErrorForCode(p.ErrorCode); err != nil {
			results[i].Err = fmt.Errorf("alter partition %d: %w", p.Partition, err)
			continue
		}
		results[i] = metadata.ISRChangeResult{Leader: p.LeaderID, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: p.ISR}
	}
	return results, nil
}
