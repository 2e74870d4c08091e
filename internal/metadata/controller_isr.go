package metadata

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ISR changes through the controller (KIP-497 AlterPartition, KIP-841 eligibility, KIP-903
// broker epochs). A partition's leader decides when a follower leaves or joins the ISR and asks
// the active controller to record it; the controller checks the request against the Image and
// commits a PartitionChangeRecord, which bumps the partition epoch. The checks and their order
// are Kafka's (ReplicationControlManager.validateAlterPartitionData):
//
//	unknown partition                          UNKNOWN_TOPIC_OR_PARTITION (ErrUnknownTopic)
//	leader or partition epoch ahead of ours     NOT_CONTROLLER (this controller is behind)
//	older leader epoch                          FENCED_LEADER_EPOCH
//	sender is not the leader                    INVALID_REQUEST
//	older partition epoch                       INVALID_UPDATE_VERSION
//	new ISR not distinct replicas, or without
//	the leader, or leader recovery asked        INVALID_REQUEST
//	a member not registered, fenced, in
//	controlled shutdown or of another broker
//	epoch                                       INELIGIBLE_REPLICA (v0-1: OPERATION_NOT_ATTEMPTED)
//
// The sender's own broker epoch is checked first, for the whole request (STALE_BROKER_EPOCH).

// Errors of AlterPartition beside those of errors.go; internal/api maps them to the Kafka codes
// shown.
var (
	ErrFencedLeaderEpoch     = errors.New("metadata: fenced leader epoch")     // FENCED_LEADER_EPOCH
	ErrIneligibleReplica     = errors.New("metadata: ineligible replica")      // INELIGIBLE_REPLICA
	ErrOperationNotAttempted = errors.New("metadata: operation not attempted") // OPERATION_NOT_ATTEMPTED
)

// ISRMember is one broker of a proposed ISR with the broker epoch the leader saw in its fetches
// (KIP-903); BrokerEpoch -1 skips the epoch check (AlterPartition v2 and older).
type ISRMember struct {
	ID          int32
	BrokerEpoch int64
}

// ISRChange is one partition of an AlterPartition request.
type ISRChange struct {
	TopicID   TopicID
	Partition int32
	// LeaderEpoch and PartitionEpoch are the leader's view of the partition; the change applies
	// only to exactly that state.
	LeaderEpoch    int32
	PartitionEpoch int32
	NewISR         []ISRMember
	// LeaderRecoveryState is KIP-704's (0 recovered, 1 recovering). Sluice never elects a leader
	// into the recovering state, so only 0 is accepted.
	LeaderRecoveryState int8
}

// ISRChangeResult is the answer for one ISRChange: Err, or the partition's state after the
// change (the same state when the ISR asked for is already the ISR).
type ISRChangeResult struct {
	Err            error
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	ISR            []int32
}

// AlterPartition applies a partition leader's ISR changes (AlterPartition). brokerID and
// brokerEpoch identify the sender; a request not from the current registration fails as a whole
// with ErrStaleBrokerEpoch (Kafka's answer also for an unregistered sender). Each change is
// checked on its own (the table above) and the accepted ones are committed together, in
// batches of at most MaxRecordsPerBatch records; results[i] answers changes[i]. A partition
// named twice in one request is changed once: the second sees the first's new partition epoch
// and gets ErrInvalidUpdateVersion. v2 says whether the request is AlterPartition v2 or newer
// (INELIGIBLE_REPLICA rather than OPERATION_NOT_ATTEMPTED).
//
// The request-level error is ErrStaleBrokerEpoch or ErrNotController; a failed proposal fails
// every change that was not yet committed with its error.
func (c *Controller) AlterPartition(ctx context.Context, brokerID int32, brokerEpoch int64, changes []ISRChange, v2 bool) ([]ISRChangeResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img, err := c.leaderImage(ctx)
	if err != nil {
		return nil, err
	}
	switch b, ok := img.Broker(brokerID); {
	case !ok:
		return nil, errorf(ErrStaleBrokerEpoch, "broker %d is not registered", brokerID)
	case b.Epoch != brokerEpoch:
		return nil, errorf(ErrStaleBrokerEpoch, "broker %d's registration has epoch %d; the request carries %d", brokerID, b.Epoch, brokerEpoch)
	}
	results := make([]ISRChangeResult, len(changes))
	type key struct {
		id TopicID
		p  int32
	}
	seen := make(map[key]bool, len(changes))
	var records []Record
	var pending []int // indexes of changes whose record is in records
	for i := range changes {
		ch := &changes[i]
		k := key{ch.TopicID, ch.Partition}
		t, p, err := c.checkISRChange(img, brokerID, ch, v2)
		if err == nil && seen[k] {
			err = errorf(ErrInvalidUpdateVersion, "%s-%d is changed earlier in the same request; its partition epoch is no longer %d",
				t.Name, ch.Partition, ch.PartitionEpoch)
		}
		if err != nil {
			results[i].Err = err
			continue
		}
		seen[k] = true
		isr := make([]int32, len(ch.NewISR))
		for j, m := range ch.NewISR {
			isr[j] = m.ID
		}
		if slices.Equal(isr, p.ISR) {
			results[i] = ISRChangeResult{Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: p.ISR}
			continue
		}
		records = append(records, &PartitionChangeRecord{TopicID: ch.TopicID, Partition: ch.Partition, Leader: NoLeaderChange, ISR: isr})
		pending = append(pending, i)
	}
	for len(records) > 0 {
		n := min(len(records), MaxRecordsPerBatch)
		next, err := c.log.Propose(ctx, records[:n])
		if err != nil {
			for _, i := range pending {
				results[i].Err = fmt.Errorf("alter partition: %w", err)
			}
			return results, nil
		}
		for _, i := range pending[:n] {
			ch := &changes[i]
			t, _ := next.TopicByID(ch.TopicID)
			p, _ := t.Partition(ch.Partition)
			results[i] = ISRChangeResult{Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: p.ISR}
			c.logger.Info("controller: ISR changed", "topic", t.Name, "partition", ch.Partition, "leader", p.Leader,
				"isr", p.ISR, "partition_epoch", p.PartitionEpoch)
		}
		records, pending = records[n:], pending[n:]
	}
	return results, nil
}

// checkISRChange validates one change against img (the table at the top of this file) and
// returns the partition it changes.
func (c *Controller) checkISRChange(img *Image, brokerID int32, ch *ISRChange, v2 bool) (*Topic, *Partition, error) {
	t, ok := img.TopicByID(ch.TopicID)
	if !ok {
		return nil, nil, errorf(ErrUnknownTopicID, "no topic has id %s", ch.TopicID)
	}
	p, ok := t.Partition(ch.Partition)
	if !ok {
		return nil, nil, errorf(ErrUnknownTopic, "topic %s has no partition %d", t.Name, ch.Partition)
	}
	name := func() string { return fmt.Sprintf("%s-%d", t.Name, ch.Partition) }
	switch {
	case ch.LeaderEpoch > p.LeaderEpoch:
		return nil, nil, errorf(ErrNotController, "%s: the request's leader epoch %d is ahead of this controller's %d", name(), ch.LeaderEpoch, p.LeaderEpoch)
	case ch.PartitionEpoch > p.PartitionEpoch:
		return nil, nil, errorf(ErrNotController, "%s: the request's partition epoch %d is ahead of this controller's %d", name(), ch.PartitionEpoch, p.PartitionEpoch)
	case ch.LeaderEpoch < p.LeaderEpoch:
		return nil, nil, errorf(ErrFencedLeaderEpoch, "%s: leader epoch %d is fenced; the current one is %d", name(), ch.LeaderEpoch, p.LeaderEpoch)
	case brokerID != p.Leader:
		return nil, nil, errorf(ErrInvalidRequest, "%s: broker %d is not the leader (%d)", name(), brokerID, p.Leader)
	case ch.PartitionEpoch < p.PartitionEpoch:
		return nil, nil, errorf(ErrInvalidUpdateVersion, "%s: partition epoch %d is stale; the current one is %d", name(), ch.PartitionEpoch, p.PartitionEpoch)
	case ch.LeaderRecoveryState != 0:
		return nil, nil, errorf(ErrInvalidRequest, "%s: leader recovery state %d; the partition is recovered", name(), ch.LeaderRecoveryState)
	}
	leaderIn := false
	for j, m := range ch.NewISR {
		if !slices.Contains(p.Replicas, m.ID) {
			return nil, nil, errorf(ErrInvalidRequest, "%s: broker %d of the new ISR is not a replica %v", name(), m.ID, p.Replicas)
		}
		for _, o := range ch.NewISR[:j] {
			if o.ID == m.ID {
				return nil, nil, errorf(ErrInvalidRequest, "%s: broker %d is twice in the new ISR", name(), m.ID)
			}
		}
		leaderIn = leaderIn || m.ID == p.Leader
	}
	if !leaderIn {
		return nil, nil, errorf(ErrInvalidRequest, "%s: the new ISR lacks the leader %d", name(), p.Leader)
	}
	ineligible := ErrIneligibleReplica
	if !v2 {
		ineligible = ErrOperationNotAttempted
	}
	for _, m := range ch.NewISR {
		b, ok := img.Broker(m.ID)
		switch {
		case !ok:
			return nil, nil, errorf(ineligible, "%s: broker %d is not registered", name(), m.ID)
		case b.InControlledShutdown:
			return nil, nil, errorf(ineligible, "%s: broker %d is shutting down", name(), m.ID)
		case b.Fenced:
			return nil, nil, errorf(ineligible, "%s: broker %d is fenced", name(), m.ID)
		case m.BrokerEpoch != -1 && m.BrokerEpoch != b.Epoch:
			return nil, nil, errorf(ineligible, "%s: broker %d's epoch is %d, the leader saw %d", name(), m.ID, b.Epoch, m.BrokerEpoch)
		}
	}
	return t, p, nil
}
