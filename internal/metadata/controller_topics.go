package metadata

import (
	"context"
	"slices"

	"github.com/sluicehq/sluice/internal/config"
)

// CreateTopic is one topic of a CreateTopics request.
type CreateTopic struct {
	Name              string
	NumPartitions     int32 // -1: the broker's num.partitions
	ReplicationFactor int16 // -1: the broker's default.replication.factor
	// Assignments, when non-empty, place the replicas by hand: one entry per partition,
	// numbered 0..n-1. NumPartitions and ReplicationFactor must then be -1.
	Assignments []Assignment
	Configs     map[string]string
}

// Assignment is the replica list of one partition, the first being the preferred leader.
type Assignment struct {
	Partition int32
	Replicas  []int32
}

// CreatedTopic is the outcome for one CreateTopic, in request order.
type CreatedTopic struct {
	Name              string
	ID                TopicID // zero on error
	NumPartitions     int32
	ReplicationFactor int16
	Configs           map[string]string // the topic's overrides, canonical
	Err               error
}

// CreateTopics validates each topic independently (Kafka's rules) and creates the valid ones
// in one batch; with validateOnly it only validates. Errors wrap ErrInvalidTopic,
// ErrTopicExists, ErrInvalidPartitions, ErrInvalidReplicationFactor,
// ErrInvalidReplicaAssignment, ErrInvalidConfig, ErrInvalidRequest or ErrPolicyViolation; if
// proposing fails (ErrNotController, a cancelled ctx), every topic that was valid gets that error.
func (c *Controller) CreateTopics(ctx context.Context, topics []CreateTopic, validateOnly bool) []CreatedTopic {
	c.mu.Lock()
	defer c.mu.Unlock()
	results := make([]CreatedTopic, len(topics))
	img, err := c.log.LeaderImage(ctx)
	if err != nil {
		for i, t := range topics {
			results[i] = CreatedTopic{Name: t.Name, Err: err}
		}
		return results
	}
	broker := c.brokerConfig(img)
	collisions := map[string]string{}
	for _, t := range img.Topics() {
		collisions[collisionKey(t.Name)] = t.Name
	}
	seen := map[string]int{}
	for _, t := range topics {
		seen[t.Name]++
	}
	var records []Record
	budget := MaxPartitionsPerRequest
	for i, t := range topics {
		res := &results[i]
		res.Name = t.Name
		if seen[t.Name] > 1 {
			res.Err = errorf(ErrInvalidRequest, "topic %s appears more than once in the request", t.Name)
			continue
		}
		recs, err := c.planTopic(img, broker, t, collisions, &budget, res)
		if err != nil {
			res.Err = err
			continue
		}
		collisions[collisionKey(t.Name)] = t.Name
		records = append(records, recs...)
	}
	if validateOnly || len(records) == 0 {
		return results
	}
	if _, err := c.log.Propose(ctx, records); err != nil {
		for i := range results {
			if results[i].Err == nil {
				results[i].Err = err
				results[i].ID = TopicID{}
			}
		}
	}
	return results
}

// planTopic validates one topic and returns its records, filling res.
func (c *Controller) planTopic(img *Image, broker *config.Resolved, t CreateTopic, collisions map[string]string, budget *int, res *CreatedTopic) ([]Record, error) {
	if err := ValidateTopicName(t.Name); err != nil {
		return nil, err
	}
	if t.Name == ClusterMetadataTopic {
		return nil, errorf(ErrInvalidRequest, "%s is reserved for the metadata log", t.Name)
	}
	if _, ok := img.Topic(t.Name); ok {
		return nil, errorf(ErrTopicExists, "topic %s already exists", t.Name)
	}
	if other, ok := collisions[collisionKey(t.Name)]; ok {
		return nil, errorf(ErrInvalidTopic, "topic %s collides with existing topic %s ('.' and '_' are interchangeable in metric names)", t.Name, other)
	}
	assignments, err := c.topicAssignments(img, broker, t, *budget)
	if err != nil {
		return nil, err
	}
	configs, err := config.ValidateTopic(t.Configs)
	if err != nil {
		return nil, errorf(ErrInvalidConfig, "%w", err)
	}
	id, err := NewTopicID(c.opts.Random)
	if err != nil {
		return nil, err
	}
	*budget -= len(assignments)
	res.ID, res.NumPartitions, res.ReplicationFactor, res.Configs = id, int32(len(assignments)), int16(len(assignments[0])), configs
	recs := make([]Record, 0, 1+len(assignments)+len(configs))
	recs = append(recs, &TopicRecord{Name: t.Name, TopicID: id})
	for p, replicas := range assignments {
		isr := slices.DeleteFunc(slices.Clone(replicas), func(b int32) bool { return !isActive(img, b) })
		recs = append(recs, &PartitionRecord{TopicID: id, Partition: int32(p), Replicas: replicas, ISR: isr, Leader: isr[0]})
	}
	for _, k := range sortedKeys(configs) {
		recs = append(recs, &ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: t.Name, Name: k, Value: configs[k]})
	}
	return recs, nil
}

// topicAssignments returns the replicas of each partition of a new topic, placed by hand or
// automatically.
func (c *Controller) topicAssignments(img *Image, broker *config.Resolved, t CreateTopic, budget int) ([][]int32, error) {
	if len(t.Assignments) > 0 {
		if t.NumPartitions != -1 || t.ReplicationFactor != -1 {
			return nil, errorf(ErrInvalidRequest, "a manual replica assignment was given, so the number of partitions and the replication factor must both be -1")
		}
		if len(t.Assignments) > budget {
			return nil, errorf(ErrPolicyViolation, "%d partitions in one request; the limit is %d", len(t.Assignments), MaxPartitionsPerRequest)
		}
		return manualAssignments(img, t.Assignments, 0, -1)
	}
	partitions, rf := t.NumPartitions, t.ReplicationFactor
	if partitions == -1 {
		partitions = broker.Int(config.NumPartitions)
	}
	if rf == -1 {
		rf = int16(broker.Int(config.DefaultReplicationFactor))
	}
	if partitions <= 0 {
		return nil, errorf(ErrInvalidPartitions, "%d partitions requested; ask for at least 1, or -1 for the broker default", t.NumPartitions)
	}
	if rf <= 0 {
		return nil, errorf(ErrInvalidReplicationFactor, "replication factor %d; ask for at least 1, or -1 for the broker default", t.ReplicationFactor)
	}
	if int(partitions) > budget {
		return nil, errorf(ErrPolicyViolation, "%d partitions in one request; the limit is %d", partitions, MaxPartitionsPerRequest)
	}
	pl, err := newPlacer(img, int(rf))
	if err != nil {
		return nil, err
	}
	return pl.place(int(partitions), 0, c.mu.rng.IntN(pl.numBrokers()), c.mu.rng.IntN(pl.numBrokers())), nil
}

// DeleteTopic names a topic to delete by name or, when Name is "", by id.
type DeleteTopic struct {
	Name string
	ID   TopicID
}

// DeletedTopic is the outcome for one DeleteTopic, in request order.
type DeletedTopic struct {
	Name string
	ID   TopicID
	Err  error // ErrUnknownTopic, ErrUnknownTopicID, ErrTopicDeletionDisabled, ErrInvalidRequest, ...
}

// DeleteTopics removes topics with their partitions and configs, in one batch.
func (c *Controller) DeleteTopics(ctx context.Context, topics []DeleteTopic) []DeletedTopic {
	c.mu.Lock()
	defer c.mu.Unlock()
	results := make([]DeletedTopic, len(topics))
	for i, t := range topics {
		results[i] = DeletedTopic{Name: t.Name, ID: t.ID}
	}
	img, err := c.log.LeaderImage(ctx)
	if err != nil {
		for i := range results {
			results[i].Err = err
		}
		return results
	}
	if !c.brokerConfig(img).Bool(config.DeleteTopicEnable) {
		for i := range results {
			results[i].Err = errorf(ErrTopicDeletionDisabled, "delete.topic.enable is false on the controller")
		}
		return results
	}
	count := map[TopicID]int{}
	for i, t := range topics {
		res := &results[i]
		top, err := lookupForDelete(img, t)
		if err != nil {
			res.Err = err
			continue
		}
		res.Name, res.ID = top.Name, top.ID
		count[top.ID]++
	}
	var records []Record
	for i := range results {
		res := &results[i]
		switch {
		case res.Err != nil:
		case count[res.ID] > 1:
			res.Err = errorf(ErrInvalidRequest, "topic %s is named more than once in the request", res.Name)
		default:
			records = append(records, &RemoveTopicRecord{TopicID: res.ID})
		}
	}
	if len(records) == 0 {
		return results
	}
	if _, err := c.log.Propose(ctx, records); err != nil {
		for i := range results {
			if results[i].Err == nil {
				results[i].Err = err
			}
		}
	}
	return results
}

func lookupForDelete(img *Image, t DeleteTopic) (*Topic, error) {
	switch {
	case t.Name != "" && !t.ID.IsZero():
		return nil, errorf(ErrInvalidRequest, "give a topic name or a topic id, not both")
	case t.Name != "":
		top, ok := img.Topic(t.Name)
		if !ok {
			return nil, errorf(ErrUnknownTopic, "%s", t.Name)
		}
		return top, nil
	case !t.ID.IsZero():
		top, ok := img.TopicByID(t.ID)
		if !ok {
			return nil, errorf(ErrUnknownTopicID, "%s", t.ID)
		}
		return top, nil
	}
	return nil, errorf(ErrInvalidRequest, "neither a topic name nor a topic id")
}

// CreatePartitions asks for a topic to have Count partitions in total.
type CreatePartitions struct {
	Topic string
	Count int32
	// Assignments, if non-nil, place the new partitions by hand: one replica list per new
	// partition, in order.
	Assignments [][]int32
}

// CreatedPartitions is the outcome for one CreatePartitions, in request order.
type CreatedPartitions struct {
	Topic string
	Err   error // ErrUnknownTopic, ErrInvalidPartitions, ErrInvalidReplicaAssignment, ErrInvalidRequest, ...
}

// CreatePartitions adds partitions to existing topics (never removes any), in one batch; with
// validateOnly it only validates.
func (c *Controller) CreatePartitions(ctx context.Context, reqs []CreatePartitions, validateOnly bool) []CreatedPartitions {
	c.mu.Lock()
	defer c.mu.Unlock()
	results := make([]CreatedPartitions, len(reqs))
	img, err := c.log.LeaderImage(ctx)
	if err != nil {
		for i, r := range reqs {
			results[i] = CreatedPartitions{Topic: r.Topic, Err: err}
		}
		return results
	}
	seen := map[string]int{}
	for _, r := range reqs {
		seen[r.Topic]++
	}
	var records []Record
	budget := MaxPartitionsPerRequest
	for i, r := range reqs {
		results[i].Topic = r.Topic
		if seen[r.Topic] > 1 {
			results[i].Err = errorf(ErrInvalidRequest, "topic %s appears more than once in the request", r.Topic)
			continue
		}
		recs, err := c.planPartitions(img, r, &budget)
		if err != nil {
			results[i].Err = err
			continue
		}
		records = append(records, recs...)
	}
	if validateOnly || len(records) == 0 {
		return results
	}
	if _, err := c.log.Propose(ctx, records); err != nil {
		for i := range results {
			if results[i].Err == nil {
				results[i].Err = err
			}
		}
	}
	return results
}

func (c *Controller) planPartitions(img *Image, r CreatePartitions, budget *int) ([]Record, error) {
	t, ok := img.Topic(r.Topic)
	if !ok {
		return nil, errorf(ErrUnknownTopic, "%s", r.Topic)
	}
	current := int32(len(t.Partitions))
	switch {
	case r.Count < current:
		return nil, errorf(ErrInvalidPartitions, "topic %s has %d partitions; %d would not be an increase (partitions cannot be removed)", r.Topic, current, r.Count)
	case r.Count == current:
		return nil, errorf(ErrInvalidPartitions, "topic %s already has %d partitions", r.Topic, current)
	case int(r.Count-current) > *budget:
		return nil, errorf(ErrPolicyViolation, "%d new partitions in one request; the limit is %d", r.Count-current, MaxPartitionsPerRequest)
	}
	added := int(r.Count - current)
	rf := int(t.ReplicationFactor())
	var assignments [][]int32
	if r.Assignments != nil {
		if len(r.Assignments) != added {
			return nil, errorf(ErrInvalidReplicaAssignment, "%d partitions are being added but %d assignments were given", added, len(r.Assignments))
		}
		as := make([]Assignment, added)
		for i, replicas := range r.Assignments {
			as[i] = Assignment{Partition: current + int32(i), Replicas: replicas}
		}
		var err error
		if assignments, err = manualAssignments(img, as, current, rf); err != nil {
			return nil, err
		}
	} else {
		pl, err := newPlacer(img, rf)
		if err != nil {
			return nil, err
		}
		// Continue the rotation where partition 0's leader starts, as Kafka does, so the new
		// partitions' leaders extend the existing round-robin.
		start := pl.index(t.Partitions[0].Replicas[0])
		if start < 0 {
			start = c.mu.rng.IntN(pl.numBrokers())
		}
		assignments = pl.place(added, int(current), start, c.mu.rng.IntN(pl.numBrokers()))
	}
	*budget -= added
	recs := make([]Record, 0, added)
	for i, replicas := range assignments {
		isr := slices.DeleteFunc(slices.Clone(replicas), func(b int32) bool { return !isActive(img, b) })
		recs = append(recs, &PartitionRecord{TopicID: t.ID, Partition: current + int32(i), Replicas: replicas, ISR: isr, Leader: isr[0]})
	}
	return recs, nil
}
