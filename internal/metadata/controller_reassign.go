package metadata

import (
	"context"
	"slices"
)

// Partition reassignment (KIP-455), as Kafka's KRaft controller does it:
//
//  1. AlterPartitionReassignments with target replicas R' for a partition with replicas R:
//     replicas become R' followed by R−R' (so the target's first is the preferred leader),
//     AddingReplicas = R'−R, RemovingReplicas = R−R'. Brokers start hosting the adding replicas
//     (they are in Replicas) and the leader adds them to the ISR once caught up (AlterPartition).
//  2. Once the ISR without the removing replicas holds every replica of R', the move completes:
//     replicas = R', ISR = ISR−removing, both lists cleared, and a new leader from R' if the
//     leader was being removed. planPartition does this on every scan of the Image (Maintain,
//     FenceStaleBrokers), and AlterPartitionReassignments at once when R' is already in sync.
//  3. Cancelling (null replicas) reverts: replicas = R (without the adding ones), ISR without the
//     adding ones; if that leaves the ISR empty, the first original replica alone, which is an
//     unclean election and so needs unclean.leader.election.enable.
//
// A new target for a partition already being reassigned starts from its current replica list,
// as in Kafka: replicas of the previous target that the new one drops are removed; those it
// keeps that were being added stay in AddingReplicas (Kafka would list them as neither).

// Reassignment is one partition of an AlterPartitionReassignments request.
type Reassignment struct {
	Topic     string
	Partition int32
	// Replicas is the target replica list; nil cancels the reassignment in progress.
	Replicas []int32
}

// ReassignmentResult is the outcome of one Reassignment, in request order.
type ReassignmentResult struct {
	TopicPartition
	// Err wraps ErrUnknownTopic, ErrNoReassignmentInProgress, ErrInvalidReplicaAssignment,
	// ErrInvalidReplicationFactor, ErrInvalidRequest, or the proposal's error.
	Err error
}

// OngoingReassignment is a partition being reassigned.
type OngoingReassignment struct {
	TopicPartition
	Replicas, AddingReplicas, RemovingReplicas []int32
}

// AlterPartitionReassignments starts, replaces or cancels partition reassignments; the changes
// of one request are proposed together (in batches of MaxRecordsPerBatch). With
// allowReplicationFactorChange false (KIP-860), a target of another size than the partition's
// current replication factor gets ErrInvalidReplicationFactor. A partition named twice gets
// ErrInvalidRequest. The returned error is for the whole request (ErrNotController).
func (c *Controller) AlterPartitionReassignments(ctx context.Context, reqs []Reassignment, allowReplicationFactorChange bool) ([]ReassignmentResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img, err := c.leaderImage(ctx)
	if err != nil {
		return nil, err
	}
	active := func(id int32) bool { return isActive(img, id) }
	unclean := c.uncleanRule(img)
	count := make(map[TopicPartition]int, len(reqs))
	for _, r := range reqs {
		count[TopicPartition{r.Topic, r.Partition}]++
	}
	results := make([]ReassignmentResult, len(reqs))
	var records []Record
	var owners []int
	for i, r := range reqs {
		tp := TopicPartition{r.Topic, r.Partition}
		results[i].TopicPartition = tp
		if count[tp] > 1 {
			results[i].Err = errorf(ErrInvalidRequest, "partition %s-%d appears more than once in the request", r.Topic, r.Partition)
			continue
		}
		rec, err := c.planReassignment(img, r, allowReplicationFactorChange, active, unclean)
		if err != nil {
			results[i].Err = err
			continue
		}
		if rec != nil {
			records, owners = append(records, rec), append(owners, i)
		}
	}
	if failed, err := c.proposeInBatches(ctx, records); err != nil {
		for j := failed; j < len(records); j++ {
			results[owners[j]].Err = err
		}
	}
	if len(records) > 0 {
		c.logger.Info("controller: partition reassignments changed", "partitions", len(records))
	}
	return results, nil
}

// planReassignment validates one Reassignment and returns its change (nil when nothing changes).
func (c *Controller) planReassignment(img *Image, r Reassignment, allowRF bool, active func(int32) bool, unclean func(*Topic) bool) (*PartitionChangeRecord, error) {
	t, ok := img.Topic(r.Topic)
	if !ok {
		return nil, errorf(ErrUnknownTopic, "topic %s does not exist", r.Topic)
	}
	p, ok := t.Partition(r.Partition)
	if !ok {
		return nil, errorf(ErrUnknownTopic, "topic %s has no partition %d", r.Topic, r.Partition)
	}
	if r.Replicas == nil {
		return cancelReassignment(t, p, active, unclean)
	}
	if err := validateTargetReplicas(img, r); err != nil {
		return nil, err
	}
	if current := len(p.Replicas) - len(p.AddingReplicas); !allowRF && len(r.Replicas) != current {
		return nil, errorf(ErrInvalidReplicationFactor, "%s-%d: the target has %d replicas, the partition's replication factor is %d, and the request does not allow changing it",
			r.Topic, r.Partition, len(r.Replicas), current)
	}
	// Adding counts from the original replicas, so a replica the previous target was adding
	// and this one keeps is still reported (and waited for) as adding.
	removing := without(p.Replicas, r.Replicas)
	adding := without(r.Replicas, without(p.Replicas, p.AddingReplicas))
	merged := append(slices.Clone(r.Replicas), removing...)
	next := *p
	next.Replicas, next.AddingReplicas, next.RemovingReplicas = merged, adding, removing
	rec := &PartitionChangeRecord{TopicID: t.ID, Partition: p.Partition, Leader: NoLeaderChange,
		AddingReplicas: nonNil(adding), RemovingReplicas: nonNil(removing)}
	if !slices.Equal(merged, p.Replicas) {
		rec.Replicas = merged
	}
	// Complete at once when the target is in sync already (a reordering, a shrink).
	if done := planPartition(t, &next, active, unclean); done != nil && done.Replicas != nil {
		done.AddingReplicas, done.RemovingReplicas = []int32{}, []int32{}
		return done, nil
	}
	if rec.Replicas == nil && slices.Equal(adding, p.AddingReplicas) && slices.Equal(removing, p.RemovingReplicas) {
		return nil, nil
	}
	return rec, nil
}

// cancelReassignment plans the revert of a reassignment in progress.
func cancelReassignment(t *Topic, p *Partition, active func(int32) bool, unclean func(*Topic) bool) (*PartitionChangeRecord, error) {
	if !p.Reassigning() {
		return nil, errorf(ErrNoReassignmentInProgress, "no reassignment of %s-%d is in progress", t.Name, p.Partition)
	}
	replicas := without(p.Replicas, p.AddingReplicas)
	isr := without(p.ISR, p.AddingReplicas)
	if len(isr) == 0 {
		if !unclean(t) {
			return nil, errorf(ErrInvalidReplicaAssignment, "reverting %s-%d would need an unclean leader election: no original replica is in the ISR %v, and unclean.leader.election.enable is false",
				t.Name, p.Partition, p.ISR)
		}
		isr = []int32{replicas[0]}
	}
	leader := p.Leader
	if leader == -1 || !slices.Contains(isr, leader) || !active(leader) {
		leader = electLeader(replicas, isr, active)
	}
	rec := &PartitionChangeRecord{TopicID: t.ID, Partition: p.Partition, Leader: NoLeaderChange,
		Replicas: replicas, AddingReplicas: []int32{}, RemovingReplicas: []int32{}}
	if !slices.Equal(isr, p.ISR) {
		rec.ISR = isr
	}
	if leader != p.Leader {
		rec.Leader = leader
	}
	return rec, nil
}

// validateTargetReplicas applies Kafka's rules for a manual assignment: non-empty, distinct,
// registered brokers, not all of them fenced or shutting down.
func validateTargetReplicas(img *Image, r Reassignment) error {
	if len(r.Replicas) == 0 {
		return errorf(ErrInvalidReplicaAssignment, "%s-%d: the target replica list is empty", r.Topic, r.Partition)
	}
	anyActive := false
	for i, id := range r.Replicas {
		if slices.Contains(r.Replicas[:i], id) {
			return errorf(ErrInvalidReplicaAssignment, "%s-%d: broker %d appears twice in the target replicas %v", r.Topic, r.Partition, id, r.Replicas)
		}
		b, ok := img.Broker(id)
		if !ok {
			return errorf(ErrInvalidReplicaAssignment, "%s-%d: the target replicas %v include broker %d, which is not registered", r.Topic, r.Partition, r.Replicas, id)
		}
		anyActive = anyActive || b.Active()
	}
	if !anyActive {
		return errorf(ErrInvalidReplicaAssignment, "%s-%d: every broker of the target replicas %v is fenced or shutting down", r.Topic, r.Partition, r.Replicas)
	}
	return nil
}

// completedReassignment returns the replicas and ISR a reassignment ends with, and whether it
// can end now: the ISR without the removing replicas is non-empty and holds every remaining
// replica.
func completedReassignment(replicas, isr, removing []int32) (target, targetISR []int32, ok bool) {
	target = without(replicas, removing)
	targetISR = without(isr, removing)
	if len(target) == 0 || len(targetISR) == 0 {
		return nil, nil, false
	}
	for _, r := range target {
		if !slices.Contains(targetISR, r) {
			return nil, nil, false
		}
	}
	return target, targetISR, true
}

// ListPartitionReassignments returns the reassignments in progress: of every partition when
// topics is nil, else of the named partitions (unknown topics and partitions, and partitions not
// being reassigned, are left out, as in Kafka). Ordered by topic name and partition when topics
// is nil, else in request order.
func (c *Controller) ListPartitionReassignments(ctx context.Context, topics []TopicPartition) ([]OngoingReassignment, error) {
	img, err := c.leaderImage(ctx)
	if err != nil {
		return nil, err
	}
	ongoing := func(t *Topic, p *Partition) OngoingReassignment {
		return OngoingReassignment{TopicPartition: TopicPartition{t.Name, p.Partition},
			Replicas: p.Replicas, AddingReplicas: nonNil(p.AddingReplicas), RemovingReplicas: nonNil(p.RemovingReplicas)}
	}
	var out []OngoingReassignment
	if topics == nil {
		for _, t := range img.Topics() {
			for i := range t.Partitions {
				if p := &t.Partitions[i]; p.Reassigning() {
					out = append(out, ongoing(t, p))
				}
			}
		}
		return out, nil
	}
	for _, tp := range topics {
		t, ok := img.Topic(tp.Topic)
		if !ok {
			continue
		}
		if p, ok := t.Partition(tp.Partition); ok && p.Reassigning() {
			out = append(out, ongoing(t, p))
		}
	}
	return out, nil
}

// without returns the members of a that are not in b, in a's order (a new slice).
func without(a, b []int32) []int32 {
	out := make([]int32, 0, len(a))
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}
