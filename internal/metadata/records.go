package metadata

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
)

// RecordType identifies a record in the encoding (docs/format/metadata-records.md).
type RecordType uint8

const (
	TypeClusterID       RecordType = 1
	TypeRegisterBroker  RecordType = 2
	TypeTopic           RecordType = 3
	TypePartition       RecordType = 4
	TypePartitionChange RecordType = 5
	TypeConfig          RecordType = 6
	TypeRemoveTopic     RecordType = 7
	TypeFeatureLevel    RecordType = 8
	TypeProducerIDs     RecordType = 9
	// TypeBrokerRegistrationChange fences, unfences or marks in controlled shutdown one
	// registration (Kafka's FenceBrokerRecord, UnfenceBrokerRecord and
	// BrokerRegistrationChangeRecord in one).
	TypeBrokerRegistrationChange RecordType = 10
	// Reserved for the security records (issue #14), one number each so that work in
	// parallel does not collide: 11 UserScramCredential, 12 RemoveUserScramCredential,
	// 13 AccessControlEntry, 14 RemoveAccessControlEntry, 15 ClientQuota.
)

func (t RecordType) String() string {
	switch t {
	case TypeClusterID:
		return "ClusterID"
	case TypeRegisterBroker:
		return "RegisterBroker"
	case TypeTopic:
		return "Topic"
	case TypePartition:
		return "Partition"
	case TypePartitionChange:
		return "PartitionChange"
	case TypeConfig:
		return "Config"
	case TypeRemoveTopic:
		return "RemoveTopic"
	case TypeFeatureLevel:
		return "FeatureLevel"
	case TypeProducerIDs:
		return "ProducerIDs"
	case TypeBrokerRegistrationChange:
		return "BrokerRegistrationChange"
	case TypeClientQuota:
		return "ClientQuota"
	}
	if name := securityRecordName(t); name != "" {
		return name
	}
	return fmt.Sprintf("RecordType(%d)", uint8(t))
}

// Record is one change to the cluster metadata. The concrete types are the *...Record structs
// of this package; a batch of them is applied atomically (Image.Apply).
type Record interface {
	Type() RecordType
	encode(e *encoder)
}

// TopicID is Kafka's 16-byte topic id (KIP-516).
type TopicID [16]byte

// String is Kafka's text form: URL-safe base64 without padding (22 characters).
func (id TopicID) String() string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// IsZero reports whether id is the all-zero id, which Kafka uses for "no id".
func (id TopicID) IsZero() bool { return id == TopicID{} }

// NewTopicID returns a random topic id from r (crypto/rand when nil) that Kafka would also
// accept: not zero, not the reserved metadata-topic id 1, and not starting with '-' in text form
// (command-line tools would read it as a flag).
func NewTopicID(r io.Reader) (TopicID, error) {
	if r == nil {
		r = rand.Reader
	}
	for {
		var id TopicID
		if _, err := io.ReadFull(r, id[:]); err != nil {
			return TopicID{}, fmt.Errorf("generate topic id: %w", err)
		}
		if id.IsZero() || id == (TopicID{15: 1}) || id.String()[0] == '-' {
			continue
		}
		return id, nil
	}
}

// ClusterIDRecord fixes the cluster id, once, on the first start of a new cluster.
type ClusterIDRecord struct {
	ClusterID string
}

// Endpoint is one listener of a broker.
type Endpoint struct {
	Listener         string // listener name, "PLAINTEXT" by default
	Host             string
	Port             int32
	SecurityProtocol int16 // Kafka's numbering: 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL
}

// RegisterBrokerRecord adds or replaces a broker's registration. A replaced registration's
// controlled-shutdown mark is dropped: a new registration is a new incarnation's.
type RegisterBrokerRecord struct {
	BrokerID int32
	// Incarnation is a random id chosen at each process start, so a restarted broker is told
	// apart from a stale registration of its previous run.
	Incarnation [16]byte
	// Epoch is the broker epoch. A controller proposes -1, meaning "the metadata offset this
	// record is committed at" (as in Kafka); snapshots carry the assigned value.
	Epoch     int64
	Endpoints []Endpoint
	Rack      string // "" when none
	Fenced    bool
}

// TopicRecord creates a topic with no partitions; PartitionRecords follow in the same batch.
type TopicRecord struct {
	Name    string
	TopicID TopicID
}

// PartitionRecord sets the whole state of one partition. Partition numbers are dense: a record
// either replaces an existing partition or appends the next one.
type PartitionRecord struct {
	TopicID        TopicID
	Partition      int32
	Replicas       []int32
	ISR            []int32
	Leader         int32 // -1 when none
	LeaderEpoch    int32
	PartitionEpoch int32
	// AddingReplicas and RemovingReplicas describe a reassignment in progress (KIP-455): both
	// are subsets of Replicas, disjoint; nil or empty when none. Encoded in record version 1,
	// written only when one of them is non-empty, so older data stays version 0.
	AddingReplicas   []int32
	RemovingReplicas []int32
}

// NoLeaderChange in PartitionChangeRecord.Leader leaves the leader as it is.
const NoLeaderChange int32 = -2

// PartitionChangeRecord changes some fields of a partition. A nil slice leaves the field as
// it is. Applying it bumps the partition epoch, and the leader epoch when the leader changes.
type PartitionChangeRecord struct {
	TopicID   TopicID
	Partition int32
	Leader    int32   // NoLeaderChange, -1 (no leader) or a replica
	ISR       []int32 // nil: unchanged
	Replicas  []int32 // nil: unchanged
	// AddingReplicas and RemovingReplicas set the reassignment state; nil leaves it unchanged,
	// an empty non-nil slice clears it. Either being non-nil makes the record version 1.
	AddingReplicas   []int32
	RemovingReplicas []int32
}

// ConfigResourceType is Kafka's resource type numbering for configs.
type ConfigResourceType int8

const (
	ConfigResourceTopic  ConfigResourceType = 2
	ConfigResourceBroker ConfigResourceType = 4
	ConfigResourceGroup  ConfigResourceType = 32 // a group id's configs (Kafka's GroupConfig)
)

// ConfigRecord sets or deletes one config of a topic or a broker. For brokers, ResourceName
// is the decimal broker id, or "" for the cluster-wide default.
type ConfigRecord struct {
	ResourceType ConfigResourceType
	ResourceName string
	Name         string
	Value        string
	Delete       bool
}

// RemoveTopicRecord deletes a topic, its partitions and its configs.
type RemoveTopicRecord struct {
	TopicID TopicID
}

// FeatureLevelRecord finalizes a feature at a level; level 0 removes it.
type FeatureLevelRecord struct {
	Name  string
	Level int16
}

// ProducerIDsRecord hands a block of producer ids to a broker: ids below NextProducerID are
// taken. It only ever grows.
type ProducerIDsRecord struct {
	BrokerID       int32
	BrokerEpoch    int64
	NextProducerID int64
}

// Values of BrokerRegistrationChangeRecord.Fenced.
const (
	BrokerUnfence       int8 = -1
	BrokerFenceNoChange int8 = 0
	BrokerFence         int8 = 1
)

// BrokerRegistrationChangeRecord changes the state of one registration. It applies only to the
// registration with BrokerEpoch, so a change decided for a broker's previous incarnation can
// never touch its next one.
type BrokerRegistrationChangeRecord struct {
	BrokerID    int32
	BrokerEpoch int64
	// Fenced is BrokerUnfence, BrokerFenceNoChange or BrokerFence.
	Fenced int8
	// InControlledShutdown is 0 (unchanged) or 1 (the broker asked to shut down; the controller
	// is moving its leaderships away). Only a new registration clears it.
	InControlledShutdown int8
}

func (*ClusterIDRecord) Type() RecordType       { return TypeClusterID }
func (*RegisterBrokerRecord) Type() RecordType  { return TypeRegisterBroker }
func (*TopicRecord) Type() RecordType           { return TypeTopic }
func (*PartitionRecord) Type() RecordType       { return TypePartition }
func (*PartitionChangeRecord) Type() RecordType { return TypePartitionChange }
func (*ConfigRecord) Type() RecordType          { return TypeConfig }
func (*RemoveTopicRecord) Type() RecordType     { return TypeRemoveTopic }
func (*FeatureLevelRecord) Type() RecordType    { return TypeFeatureLevel }
func (*ProducerIDsRecord) Type() RecordType     { return TypeProducerIDs }
func (*BrokerRegistrationChangeRecord) Type() RecordType {
	return TypeBrokerRegistrationChange
}
