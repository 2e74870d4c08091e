package metadata

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/internal/config"
)

// Leader elections beyond the ones broker events cause (controller_brokers.go):
//
//   - unclean: a partition with no active ISR member elects the first active replica, with an
//     ISR of only itself, when unclean.leader.election.enable holds for its topic (the topic's
//     override, else the dynamic or static broker default). It is part of the partition rule
//     (planPartition), so it happens when the last ISR member is fenced and, after the config
//     is turned on, on the next maintenance pass.
//   - preferred: the first replica becomes leader when it is active, in the ISR and not leader
//     already; on request (ElectLeaders) and by auto rebalance (Maintain).
//
// Every election of one request or pass is proposed in as few batches as MaxRecordsPerBatch
// allows.

// ElectionType is Kafka's election type of ElectLeaders.
type ElectionType int8

const (
	ElectPreferred ElectionType = 0
	ElectUnclean   ElectionType = 1
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// ElectionResult is the outcome of one partition's election.
type ElectionResult struct {
	TopicPartition
	// Err is nil (elected), or wraps ErrElectionNotNeeded, ErrPreferredLeaderNotAvailable,
	// ErrEligibleLeadersNotAvailable, ErrUnknownTopic, or the error of the proposal.
	Err error
}

// uncleanRule returns whether a topic of img allows unclean leader elections, resolving the
// broker default once and a topic's own override only for topics that have one.
func (c *Controller) uncleanRule(img *Image) func(*Topic) bool {
	var brokerDefault *bool
	return func(t *Topic) bool {
		if _, ok := t.Configs[string(config.UncleanLeaderElectionEnable)]; ok {
			per, def := img.DynamicConfigsFor(c.opts.NodeID)
			r := config.ResolveTopic(config.Layers{Topic: t.Configs, DynamicBroker: per, DynamicDefault: def, Static: c.opts.StaticConfig})
			return r.Bool(config.UncleanLeaderElectionEnable)
		}
		if brokerDefault == nil {
			v := c.brokerConfig(img).Bool(config.UncleanLeaderElectionEnable)
			brokerDefault = &v
		}
		return *brokerDefault
	}
}

// ElectLeaders runs preferred or unclean elections (Kafka's ElectLeaders). partitions nil means
// every partition; then partitions that need no election are left out of the results, as Kafka
// does. Otherwise there is one result per distinct partition, in request order.
//
// Preferred: ErrElectionNotNeeded when the first replica leads already,
// ErrPreferredLeaderNotAvailable when it is not active or not in the ISR. Unclean:
// ErrElectionNotNeeded when the partition has a leader; else the first active ISR member in
// replica order, else the first active replica (its ISR becomes just itself; records the others
// had may be lost), else ErrEligibleLeadersNotAvailable. Unknown partitions get
// ErrUnknownTopic. The returned error is for the whole request (ErrNotController,
// ErrInvalidRequest for an unknown election type).
func (c *Controller) ElectLeaders(ctx context.Context, typ ElectionType, partitions []TopicPartition) ([]ElectionResult, error) {
	if typ != ElectPreferred && typ != ElectUnclean {
		return nil, errorf(ErrInvalidRequest, "unknown election type %d", typ)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	img, err := c.leaderImage(ctx)
	if err != nil {
		return nil, err
	}
	active := func(id int32) bool { return isActive(img, id) }
	var results []ElectionResult
	var records []Record
	var owners []int // owners[i] is the result records[i] elects for
	elect := func(t *Topic, p *Partition, tp TopicPartition, all bool) {
		rec, err := electionChange(t, p, typ, active)
		if all && err != nil && isKind(err, ErrElectionNotNeeded) {
			return
		}
		results = append(results, ElectionResult{TopicPartition: tp, Err: err})
		if rec != nil {
			records, owners = append(records, rec), append(owners, len(results)-1)
		}
	}
	if partitions == nil {
		for _, t := range img.Topics() {
			for i := range t.Partitions {
				elect(t, &t.Partitions[i], TopicPartition{t.Name, t.Partitions[i].Partition}, true)
			}
		}
	} else {
		seen := make(map[TopicPartition]bool, len(partitions))
		for _, tp := range partitions {
			if seen[tp] {
				continue
			}
			seen[tp] = true
			t, ok := img.Topic(tp.Topic)
			if !ok {
				results = append(results, ElectionResult{tp, errorf(ErrUnknownTopic, "topic %s does not exist", tp.Topic)})
				continue
			}
			p, ok := t.Partition(tp.Partition)
			if !ok {
				results = append(results, ElectionResult{tp, errorf(ErrUnknownTopic, "topic %s has no partition %d", tp.Topic, tp.Partition)})
				continue
			}
			elect(t, p, tp, false)
		}
	}
	if failed, err := c.proposeInBatches(ctx, records); err != nil {
		for i := failed; i < len(records); i++ {
			results[owners[i]].Err = err
		}
	}
	if n := len(records); n > 0 {
		c.logger.Info("controller: leader elections", "type", typ, "partitions", n)
	}
	return results, nil
}

// proposeInBatches proposes independent records in batches of at most MaxRecordsPerBatch. On
// an error it returns the index of the first record not committed.
func (c *Controller) proposeInBatches(ctx context.Context, records []Record) (int, error) {
	for start := 0; start < len(records); start += MaxRecordsPerBatch {
		end := min(start+MaxRecordsPerBatch, len(records))
		if _, err := c.log.Propose(ctx, records[start:end]); err != nil {
			return start, err
		}
	}
	return len(records), nil
}

// electionChange plans one partition's election of the given type.
func electionChange(t *Topic, p *Partition, typ ElectionType, active func(int32) bool) (*PartitionChangeRecord, error) {
	name := t.Name + "-" + strconv.Itoa(int(p.Partition))
	if typ == ElectPreferred {
		preferred := p.Replicas[0]
		switch {
		case p.Leader == preferred:
			return nil, errorf(ErrElectionNotNeeded, "%s: the preferred replica %d leads already", name, preferred)
		case !active(preferred):
			return nil, errorf(ErrPreferredLeaderNotAvailable, "%s: the preferred replica %d is not active (fenced, shutting down or not registered)", name, preferred)
		case !slices.Contains(p.ISR, preferred):
			return nil, errorf(ErrPreferredLeaderNotAvailable, "%s: the preferred replica %d is not in the ISR %v", name, preferred, p.ISR)
		}
		return &PartitionChangeRecord{TopicID: t.ID, Partition: p.Partition, Leader: preferred}, nil
	}
	if p.Leader != -1 {
		return nil, errorf(ErrElectionNotNeeded, "%s has a leader (%d)", name, p.Leader)
	}
	if l := electLeader(p.Replicas, p.ISR, active); l != -1 {
		return &PartitionChangeRecord{TopicID: t.ID, Partition: p.Partition, Leader: l}, nil
	}
	l := firstActive(p.Replicas, active)
	if l == -1 {
		return nil, errorf(ErrEligibleLeadersNotAvailable, "%s: none of the replicas %v is active", name, p.Replicas)
	}
	return &PartitionChangeRecord{TopicID: t.ID, Partition: p.Partition, Leader: l, ISR: []int32{l}}, nil
}

// isKind reports whether err is an opError of the given kind.
func isKind(err, kind error) bool {
	e, ok := err.(*opError)
	return ok && e.kind == kind
}

// Maintain is the active controller's periodic work, called by the broker package's controller
// loop with FenceStaleBrokers (every node with the controller role calls both; elsewhere they
// return ErrNotController). It applies the partition rule (planPartition) when the Image moved
// since the last scan — which completes reassignments whose new replicas joined the ISR and
// makes a newly allowed unclean election happen — and, every
// leader.imbalance.check.interval.seconds while auto.leader.rebalance.enable holds, moves
// leadership back to preferred replicas (rebalanceLeaders).
func (c *Controller) Maintain(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	img, err := c.leaderImage(ctx)
	if err != nil {
		c.mu.rebalanceAt = time.Time{}
		return err
	}
	if img.Offset() != c.mu.scannedAt {
		next, err := c.proposeBrokerChanges(ctx, img, nil, nil)
		if err != nil {
			return fmt.Errorf("maintain partitions: %w", err)
		}
		c.mu.scannedAt = next.Offset()
		img = next
	}
	cfg := c.brokerConfig(img)
	if !cfg.Bool(config.AutoLeaderRebalanceEnable) {
		return nil
	}
	now := c.opts.Now()
	interval := time.Duration(cfg.Int64(config.LeaderImbalanceCheckIntervalSeconds)) * time.Second
	if c.mu.rebalanceAt.IsZero() {
		// The first check is one interval after this node became the active controller, as
		// in Kafka: brokers that just restarted get time to catch up and rejoin ISRs.
		c.mu.rebalanceAt = now.Add(interval)
		return nil
	}
	if now.Before(c.mu.rebalanceAt) {
		return nil
	}
	c.mu.rebalanceAt = now.Add(interval)
	records := rebalanceLeaders(img, func(id int32) bool { return isActive(img, id) }, int(cfg.Int(config.LeaderImbalancePerBrokerPercentage)))
	if len(records) == 0 {
		return nil
	}
	if _, err := c.proposeInBatches(ctx, records); err != nil {
		return fmt.Errorf("auto leader rebalance: %w", err)
	}
	c.logger.Info("controller: auto leader rebalance elected preferred replicas", "partitions", len(records))
	return nil
}

// rebalanceLeaders returns the preferred elections of auto rebalance: for every broker whose
// imbalance — the share of the partitions it is the preferred (first) replica of that it does
// not lead — exceeds pct percent, each such partition where it is active and in the ISR gets
// it back as leader. Partitions being reassigned are left alone: their replica list is in flux.
func rebalanceLeaders(img *Image, active func(int32) bool, pct int) []Record {
	type counts struct{ preferred, notLed int }
	per := map[int32]*counts{}
	for _, t := range img.Topics() {
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if p.Reassigning() {
				continue
			}
			c := per[p.Replicas[0]]
			if c == nil {
				c = &counts{}
				per[p.Replicas[0]] = c
			}
			c.preferred++
			if p.Leader != p.Replicas[0] {
				c.notLed++
			}
		}
	}
	var out []Record
	for _, t := range img.Topics() {
		for i := range t.Partitions {
			p := &t.Partitions[i]
			b := p.Replicas[0]
			c := per[b]
			if p.Reassigning() || p.Leader == b || c.notLed*100 <= pct*c.preferred {
				continue
			}
			if active(b) && slices.Contains(p.ISR, b) {
				out = append(out, &PartitionChangeRecord{TopicID: t.ID, Partition: p.Partition, Leader: b})
			}
		}
	}
	return out
}
