package metadata

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// ErrInvalidRecord: a record cannot be applied to the Image (a partition of an unknown topic,
// a second cluster id, …). Every node rejects such a batch the same way, because application
// is deterministic, so the Images stay equal.
var ErrInvalidRecord = errors.New("metadata: invalid record")

// Apply returns the Image that results from applying a batch of records committed at offset.
// The batch is atomic: if any record is invalid, Apply returns an error wrapping
// ErrInvalidRecord and no Image (the receiver is untouched either way).
func (img *Image) Apply(offset int64, records []Record) (*Image, error) {
	b := newBuilder(img, offset)
	for i, r := range records {
		if err := b.apply(r); err != nil {
			return nil, fmt.Errorf("record %d of %d (%s) at offset %d: %w", i, len(records), r.Type(), offset, err)
		}
	}
	return b.next, nil
}

// WithOffset returns a copy of img at a new offset, for a batch that was rejected.
func (img *Image) WithOffset(offset int64) *Image {
	next := img.shallowCopy()
	next.offset = offset
	return next
}

func (img *Image) shallowCopy() *Image {
	return &Image{
		offset:         img.offset,
		clusterID:      img.clusterID,
		brokers:        img.brokers,
		topicsByName:   img.topicsByName,
		topicsByID:     img.topicsByID,
		brokerConfigs:  img.brokerConfigs,
		groupConfigs:   img.groupConfigs,
		features:       img.features,
		nextProducerID: img.nextProducerID,
		topicsOffset:   img.topicsOffset,
		scram:          img.scram,
		acls:           img.acls,
		clientQuotas:   img.clientQuotas,
	}
}

// builder copies each part of the base Image at most once per batch, on first write.
type builder struct {
	next           *Image
	offset         int64
	brokersCopied  bool
	topicsCopied   bool
	configsCopied  bool
	featuresCopied bool
	scramCopied    bool            // SCRAM credentials copied in this batch (image_acl.go)
	aclsCopied     bool            // ACLs copied in this batch (image_acl.go)
	ownTopics      map[*Topic]bool // topics copied in this batch, safe to modify
	ownConfigs     map[string]bool // broker config maps copied in this batch
	groupsCopied   bool            // group configs copied in this batch (image_group.go)
	ownGroups      map[string]bool // group config maps copied in this batch
	quotasCopied   bool
	ownQuotas      map[ClientQuotaEntity]bool // client quota maps copied in this batch
}

func newBuilder(base *Image, offset int64) *builder {
	next := base.shallowCopy()
	next.offset = offset
	return &builder{next: next, offset: offset, ownTopics: map[*Topic]bool{}, ownConfigs: map[string]bool{}}
}

func (b *builder) apply(r Record) error {
	switch r := r.(type) {
	case *ClusterIDRecord:
		return b.clusterID(r)
	case *RegisterBrokerRecord:
		return b.registerBroker(r)
	case *TopicRecord:
		return b.topic(r)
	case *PartitionRecord:
		return b.partition(r)
	case *PartitionChangeRecord:
		return b.partitionChange(r)
	case *ConfigRecord:
		return b.config(r)
	case *RemoveTopicRecord:
		return b.removeTopic(r)
	case *FeatureLevelRecord:
		return b.featureLevel(r)
	case *ProducerIDsRecord:
		return b.producerIDs(r)
	case *BrokerRegistrationChangeRecord:
		return b.brokerRegistrationChange(r)
	case *ClientQuotaRecord:
		return b.clientQuota(r)
	}
	if handled, err := b.applySecurity(r); handled {
		return err
	}
	return errorf(ErrInvalidRecord, "unknown record type %T", r)
}

func (b *builder) clusterID(r *ClusterIDRecord) error {
	switch {
	case r.ClusterID == "":
		return errorf(ErrInvalidRecord, "empty cluster id")
	case b.next.clusterID != "" && b.next.clusterID != r.ClusterID:
		return errorf(ErrInvalidRecord, "cluster id is already %s, record says %s", b.next.clusterID, r.ClusterID)
	}
	b.next.clusterID = r.ClusterID
	return nil
}

func (b *builder) registerBroker(r *RegisterBrokerRecord) error {
	if r.BrokerID < 0 {
		return errorf(ErrInvalidRecord, "broker id %d", r.BrokerID)
	}
	epoch := r.Epoch
	if epoch < 0 {
		epoch = b.offset
	}
	if !b.brokersCopied {
		b.next.brokers = maps.Clone(b.next.brokers)
		b.brokersCopied = true
	}
	b.next.brokers[r.BrokerID] = &Broker{
		ID: r.BrokerID, Incarnation: r.Incarnation, Epoch: epoch,
		Endpoints: slices.Clone(r.Endpoints), Rack: r.Rack, Fenced: r.Fenced,
	}
	return nil
}

func (b *builder) brokerRegistrationChange(r *BrokerRegistrationChangeRecord) error {
	old, ok := b.next.brokers[r.BrokerID]
	switch {
	case !ok:
		return errorf(ErrInvalidRecord, "broker %d is not registered", r.BrokerID)
	case old.Epoch != r.BrokerEpoch:
		return errorf(ErrInvalidRecord, "broker %d has epoch %d, record is for epoch %d", r.BrokerID, old.Epoch, r.BrokerEpoch)
	case r.Fenced < BrokerUnfence || r.Fenced > BrokerFence:
		return errorf(ErrInvalidRecord, "broker %d: fenced change %d", r.BrokerID, r.Fenced)
	case r.InControlledShutdown < 0 || r.InControlledShutdown > 1:
		return errorf(ErrInvalidRecord, "broker %d: controlled shutdown change %d", r.BrokerID, r.InControlledShutdown)
	}
	if !b.brokersCopied {
		b.next.brokers = maps.Clone(b.next.brokers)
		b.brokersCopied = true
	}
	nb := *old
	switch r.Fenced {
	case BrokerFence:
		nb.Fenced = true
	case BrokerUnfence:
		nb.Fenced = false
	}
	if r.InControlledShutdown == 1 {
		nb.InControlledShutdown = true
	}
	b.next.brokers[r.BrokerID] = &nb
	return nil
}

func (b *builder) copyTopicMaps() {
	if !b.topicsCopied {
		b.next.topicsByName = maps.Clone(b.next.topicsByName)
		b.next.topicsByID = maps.Clone(b.next.topicsByID)
		b.next.topicsOffset = b.offset
		b.topicsCopied = true
	}
}

// ownTopic returns a copy of the topic with the given id that this batch may modify.
func (b *builder) ownTopic(id TopicID) (*Topic, error) {
	t, ok := b.next.topicsByID[id]
	if !ok {
		return nil, errorf(ErrInvalidRecord, "unknown topic id %s", id)
	}
	if b.ownTopics[t] {
		return t, nil
	}
	b.copyTopicMaps()
	c := &Topic{Name: t.Name, ID: t.ID, Partitions: slices.Clone(t.Partitions), Configs: maps.Clone(t.Configs)}
	b.next.topicsByName[c.Name] = c
	b.next.topicsByID[c.ID] = c
	b.ownTopics[c] = true
	return c, nil
}

func (b *builder) topic(r *TopicRecord) error {
	if err := ValidateTopicName(r.Name); err != nil {
		return errorf(ErrInvalidRecord, "%v", err)
	}
	if r.TopicID.IsZero() {
		return errorf(ErrInvalidRecord, "topic %s has the zero id", r.Name)
	}
	if _, ok := b.next.topicsByName[r.Name]; ok {
		return errorf(ErrInvalidRecord, "topic %s exists", r.Name)
	}
	if _, ok := b.next.topicsByID[r.TopicID]; ok {
		return errorf(ErrInvalidRecord, "topic id %s exists", r.TopicID)
	}
	b.copyTopicMaps()
	t := &Topic{Name: r.Name, ID: r.TopicID}
	b.next.topicsByName[t.Name] = t
	b.next.topicsByID[t.ID] = t
	b.ownTopics[t] = true
	return nil
}

func (b *builder) partition(r *PartitionRecord) error {
	t, err := b.ownTopic(r.TopicID)
	if err != nil {
		return err
	}
	if r.Partition < 0 || int(r.Partition) > len(t.Partitions) {
		return errorf(ErrInvalidRecord, "topic %s has %d partitions; record is for partition %d", t.Name, len(t.Partitions), r.Partition)
	}
	p := Partition{
		Partition: r.Partition, Replicas: slices.Clone(r.Replicas), ISR: slices.Clone(r.ISR),
		Leader: r.Leader, LeaderEpoch: r.LeaderEpoch, PartitionEpoch: r.PartitionEpoch,
		AddingReplicas: cloneNonEmpty(r.AddingReplicas), RemovingReplicas: cloneNonEmpty(r.RemovingReplicas),
	}
	if err := checkPartition(&p); err != nil {
		return errorf(ErrInvalidRecord, "%s-%d: %v", t.Name, r.Partition, err)
	}
	if int(r.Partition) == len(t.Partitions) {
		t.Partitions = append(t.Partitions, p)
	} else {
		t.Partitions[r.Partition] = p
	}
	return nil
}

func (b *builder) partitionChange(r *PartitionChangeRecord) error {
	t, err := b.ownTopic(r.TopicID)
	if err != nil {
		return err
	}
	if r.Partition < 0 || int(r.Partition) >= len(t.Partitions) {
		return errorf(ErrInvalidRecord, "topic %s has no partition %d", t.Name, r.Partition)
	}
	p := t.Partitions[r.Partition]
	if r.Replicas != nil {
		p.Replicas = slices.Clone(r.Replicas)
	}
	if r.ISR != nil {
		p.ISR = slices.Clone(r.ISR)
	}
	if r.AddingReplicas != nil {
		p.AddingReplicas = cloneNonEmpty(r.AddingReplicas)
	}
	if r.RemovingReplicas != nil {
		p.RemovingReplicas = cloneNonEmpty(r.RemovingReplicas)
	}
	if r.Leader != NoLeaderChange && r.Leader != p.Leader {
		p.Leader = r.Leader
		p.LeaderEpoch++
	}
	p.PartitionEpoch++
	if err := checkPartition(&p); err != nil {
		return errorf(ErrInvalidRecord, "%s-%d: %v", t.Name, r.Partition, err)
	}
	t.Partitions[r.Partition] = p
	return nil
}

// cloneNonEmpty copies s, or returns nil when it is empty: a partition holds nil for "no
// reassignment", so that equal states compare equal however they were reached.
func cloneNonEmpty(s []int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// checkPartition enforces the shape every partition keeps: replicas non-empty and distinct,
// the ISR a subset of them, adding and removing replicas disjoint subsets of them that leave at
// least one replica, the leader a member of the ISR or -1.
func checkPartition(p *Partition) error {
	if len(p.Replicas) == 0 {
		return errors.New("no replicas")
	}
	for i, r := range p.Replicas {
		if r < 0 || slices.Contains(p.Replicas[:i], r) {
			return fmt.Errorf("replicas %v: invalid or repeated broker %d", p.Replicas, r)
		}
	}
	for i, r := range p.ISR {
		if !slices.Contains(p.Replicas, r) || slices.Contains(p.ISR[:i], r) {
			return fmt.Errorf("ISR %v is not a set of replicas %v", p.ISR, p.Replicas)
		}
	}
	for i, r := range p.AddingReplicas {
		if !slices.Contains(p.Replicas, r) || slices.Contains(p.AddingReplicas[:i], r) {
			return fmt.Errorf("adding replicas %v are not a set of replicas %v", p.AddingReplicas, p.Replicas)
		}
	}
	for i, r := range p.RemovingReplicas {
		if !slices.Contains(p.Replicas, r) || slices.Contains(p.RemovingReplicas[:i], r) || slices.Contains(p.AddingReplicas, r) {
			return fmt.Errorf("removing replicas %v are not a set of replicas %v apart from adding %v", p.RemovingReplicas, p.Replicas, p.AddingReplicas)
		}
	}
	if len(p.RemovingReplicas) == len(p.Replicas) {
		return fmt.Errorf("every replica of %v is being removed", p.Replicas)
	}
	if p.Leader != -1 && !slices.Contains(p.ISR, p.Leader) {
		return fmt.Errorf("leader %d is not in ISR %v", p.Leader, p.ISR)
	}
	if p.LeaderEpoch < 0 || p.PartitionEpoch < 0 {
		return fmt.Errorf("negative epoch")
	}
	return nil
}

func (b *builder) config(r *ConfigRecord) error {
	if r.Name == "" {
		return errorf(ErrInvalidRecord, "config record without a name")
	}
	switch r.ResourceType {
	case ConfigResourceTopic:
		t, ok := b.next.topicsByName[r.ResourceName]
		if !ok {
			return errorf(ErrInvalidRecord, "config %s for unknown topic %s", r.Name, r.ResourceName)
		}
		t, err := b.ownTopic(t.ID)
		if err != nil {
			return err
		}
		t.Configs = setConfig(t.Configs, r)
		return nil
	case ConfigResourceBroker:
		if r.ResourceName != "" {
			if id, err := strconv.ParseInt(r.ResourceName, 10, 32); err != nil || id < 0 || strconv.FormatInt(id, 10) != r.ResourceName {
				return errorf(ErrInvalidRecord, "broker config resource %q is not a broker id", r.ResourceName)
			}
		}
		if !b.configsCopied {
			b.next.brokerConfigs = maps.Clone(b.next.brokerConfigs)
			b.configsCopied = true
		}
		m := b.next.brokerConfigs[r.ResourceName]
		if !b.ownConfigs[r.ResourceName] {
			m = maps.Clone(m)
			b.ownConfigs[r.ResourceName] = true
		}
		m = setConfig(m, r)
		if len(m) == 0 {
			delete(b.next.brokerConfigs, r.ResourceName)
		} else {
			b.next.brokerConfigs[r.ResourceName] = m
		}
		return nil
	case ConfigResourceGroup:
		return b.groupConfig(r)
	}
	return errorf(ErrInvalidRecord, "config resource type %d", r.ResourceType)
}

// setConfig applies r to m, which the caller owns; it returns the (possibly new) map.
func setConfig(m map[string]string, r *ConfigRecord) map[string]string {
	if r.Delete {
		delete(m, r.Name)
		return m
	}
	if m == nil {
		m = map[string]string{}
	}
	m[r.Name] = r.Value
	return m
}

func (b *builder) removeTopic(r *RemoveTopicRecord) error {
	t, ok := b.next.topicsByID[r.TopicID]
	if !ok {
		return errorf(ErrInvalidRecord, "remove unknown topic id %s", r.TopicID)
	}
	b.copyTopicMaps()
	delete(b.next.topicsByName, t.Name)
	delete(b.next.topicsByID, t.ID)
	return nil
}

func (b *builder) featureLevel(r *FeatureLevelRecord) error {
	if r.Name == "" || r.Level < 0 {
		return errorf(ErrInvalidRecord, "feature %q level %d", r.Name, r.Level)
	}
	if !b.featuresCopied {
		b.next.features = maps.Clone(b.next.features)
		b.featuresCopied = true
	}
	if r.Level == 0 {
		delete(b.next.features, r.Name)
	} else {
		b.next.features[r.Name] = r.Level
	}
	return nil
}

func (b *builder) producerIDs(r *ProducerIDsRecord) error {
	if r.NextProducerID <= b.next.nextProducerID {
		return errorf(ErrInvalidRecord, "next producer id %d does not advance %d", r.NextProducerID, b.next.nextProducerID)
	}
	b.next.nextProducerID = r.NextProducerID
	return nil
}
