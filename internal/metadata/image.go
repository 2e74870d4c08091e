package metadata

import (
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Broker is a registered broker as the Image holds it.
type Broker struct {
	ID          int32
	Incarnation [16]byte
	Epoch       int64
	Endpoints   []Endpoint
	Rack        string // "" when none
	// Fenced brokers lead no partition and get no new replicas. A new registration starts
	// fenced; the controller unfences it once it has caught up (BrokerHeartbeat).
	Fenced bool
	// InControlledShutdown: the broker asked to shut down and the controller is moving its
	// leaderships away; it gets no new replicas or leaderships.
	InControlledShutdown bool
}

// Active reports whether the broker may lead partitions and receive new replicas: unfenced and
// not shutting down (Kafka's "active" broker).
func (b *Broker) Active() bool { return !b.Fenced && !b.InControlledShutdown }

// Endpoint returns the broker's endpoint for a listener name, or its first endpoint when
// listener is "".
func (b *Broker) Endpoint(listener string) (Endpoint, bool) {
	for _, e := range b.Endpoints {
		if listener == "" || e.Listener == listener {
			return e, true
		}
	}
	return Endpoint{}, false
}

// Topic is a topic as the Image holds it.
type Topic struct {
	Name string
	ID   TopicID
	// Partitions[i] is partition i.
	Partitions []Partition
	// Configs are the topic's overrides in canonical form (see internal/config); resolve them
	// with config.ResolveTopic to get effective values.
	Configs map[string]string
}

// Partition is one partition's replica state.
type Partition struct {
	Partition      int32
	Replicas       []int32 // the first is the preferred leader
	ISR            []int32
	Leader         int32 // -1 when none
	LeaderEpoch    int32
	PartitionEpoch int32
	// AddingReplicas and RemovingReplicas are a reassignment in progress (KIP-455), nil when
	// none: Replicas is the target set followed by the replicas being removed; the adding ones
	// are catching up, and the controller completes the move once the ISR holds every target
	// replica (controller_reassign.go).
	AddingReplicas   []int32
	RemovingReplicas []int32
}

// Reassigning reports whether a reassignment of the partition is in progress.
func (p *Partition) Reassigning() bool {
	return len(p.AddingReplicas) > 0 || len(p.RemovingReplicas) > 0
}

// Partition returns partition p, or false when the topic has no such partition.
func (t *Topic) Partition(p int32) (*Partition, bool) {
	if p < 0 || int(p) >= len(t.Partitions) {
		return nil, false
	}
	return &t.Partitions[p], true
}

// ReplicationFactor is the number of replicas of partition 0 (Kafka reports the same), not
// counting the replicas a reassignment of it is adding: new partitions get the topic's
// replication factor, not that of a move in progress.
func (t *Topic) ReplicationFactor() int16 {
	if len(t.Partitions) == 0 {
		return 0
	}
	p := &t.Partitions[0]
	return int16(len(p.Replicas) - len(p.AddingReplicas))
}

// IsInternal reports whether the topic is one of the internal topics Kafka marks in Metadata.
func (t *Topic) IsInternal() bool { return IsInternalTopic(t.Name) }

// Internal topic names.
const (
	ConsumerOffsetsTopic  = "__consumer_offsets"
	TransactionStateTopic = "__transaction_state"
	ShareGroupStateTopic  = "__share_group_state" // the share coordinator's (KIP-932)
	ClusterMetadataTopic  = "__cluster_metadata"  // the metadata log's name; never a real topic
)

// IsInternalTopic reports whether name is an internal topic.
func IsInternalTopic(name string) bool {
	return name == ConsumerOffsetsTopic || name == TransactionStateTopic || name == ShareGroupStateTopic
}

// Image is an immutable snapshot of the cluster metadata at one offset of the metadata log.
//
// Nothing reachable from an Image is ever modified once the Image is published: applying records
// builds a new Image that shares every unchanged broker, topic and partition with the old one
// (so pointer equality of two *Topic means "unchanged"). Callers must treat every slice and map
// they get from an Image as read-only. Images are safe for concurrent use.
type Image struct {
	offset         int64
	clusterID      string
	brokers        map[int32]*Broker
	topicsByName   map[string]*Topic
	topicsByID     map[TopicID]*Topic
	brokerConfigs  map[string]map[string]string // "" = cluster default, "<id>" = one broker
	groupConfigs   map[string]map[string]string // group id → its configs (image_group.go); nil when none
	features       map[string]int16
	nextProducerID int64
	// topicsOffset is the offset of the last batch that changed any topic, so that DiffTopics
	// can skip the scan when nothing changed.
	topicsOffset int64
	// scram and acls are the SCRAM credentials and ACLs (image_acl.go); nil when none.
	scram *scramSet
	acls  *aclSet
	// clientQuotas is nil until the first ClientQuotaRecord (image_quota.go).
	clientQuotas *ClientQuotas

	// Sorted views, built on first use.
	sortedOnce    sync.Once
	sortedTopics  []*Topic
	sortedBrokers []*Broker
}

// Empty is the Image before any record: offset -1, no cluster id.
func Empty() *Image {
	return &Image{
		offset:        -1,
		brokers:       map[int32]*Broker{},
		topicsByName:  map[string]*Topic{},
		topicsByID:    map[TopicID]*Topic{},
		brokerConfigs: map[string]map[string]string{},
		features:      map[string]int16{},
	}
}

// Offset is the metadata log offset (hashicorp/raft index) of the last record batch applied.
func (img *Image) Offset() int64 { return img.offset }

// ClusterID returns the cluster id, "" until the first leader has written it.
func (img *Image) ClusterID() string { return img.clusterID }

// Broker returns a registered broker.
func (img *Image) Broker(id int32) (*Broker, bool) {
	b, ok := img.brokers[id]
	return b, ok
}

// Brokers returns every registered broker, fenced ones included, by id.
func (img *Image) Brokers() []*Broker {
	img.sortOnce()
	return img.sortedBrokers
}

// Topic returns a topic by name.
func (img *Image) Topic(name string) (*Topic, bool) {
	t, ok := img.topicsByName[name]
	return t, ok
}

// TopicByID returns a topic by id.
func (img *Image) TopicByID(id TopicID) (*Topic, bool) {
	t, ok := img.topicsByID[id]
	return t, ok
}

// Topics returns every topic, by name.
func (img *Image) Topics() []*Topic {
	img.sortOnce()
	return img.sortedTopics
}

// NumTopics returns the number of topics.
func (img *Image) NumTopics() int { return len(img.topicsByName) }

// BrokerConfigs returns the dynamic broker configs of one resource: "" for the cluster-wide
// default, the decimal broker id for one broker. The map may be nil.
func (img *Image) BrokerConfigs(resourceName string) map[string]string {
	return img.brokerConfigs[resourceName]
}

// DynamicConfigsFor returns the dynamic configs that apply to a broker: its own and the
// cluster-wide default, ready for config.Layers.
func (img *Image) DynamicConfigsFor(brokerID int32) (perBroker, clusterDefault map[string]string) {
	return img.brokerConfigs[strconv.Itoa(int(brokerID))], img.brokerConfigs[""]
}

// FeatureLevel returns the finalized level of a feature, 0 when not finalized.
func (img *Image) FeatureLevel(name string) int16 { return img.features[name] }

// Features returns every finalized feature and its level.
func (img *Image) Features() map[string]int16 { return img.features }

// NextProducerID is the first producer id not yet handed out.
func (img *Image) NextProducerID() int64 { return img.nextProducerID }

func (img *Image) sortOnce() {
	img.sortedOnce.Do(func() {
		topics := make([]*Topic, 0, len(img.topicsByName))
		for _, t := range img.topicsByName {
			topics = append(topics, t)
		}
		slices.SortFunc(topics, func(a, b *Topic) int { return strings.Compare(a.Name, b.Name) })
		brokers := make([]*Broker, 0, len(img.brokers))
		for _, b := range img.brokers {
			brokers = append(brokers, b)
		}
		slices.SortFunc(brokers, func(a, b *Broker) int { return int(a.ID) - int(b.ID) })
		img.sortedTopics, img.sortedBrokers = topics, brokers
	})
}
