package api

import (
	"context"
	"log/slog"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/quorum"
	"github.com/sluicehq/sluice/internal/replica"
	"github.com/sluicehq/sluice/internal/share"
	"github.com/sluicehq/sluice/internal/txn"
)

// Env is what handlers reach of the rest of the broker. The broker builds
// one and hands it to the server; handlers treat it as read-only.
//
// Each interface field is declared here by the handlers that use it, so a
// handler file states exactly what it needs. A handler file that needs
// another method adds it to the interface here (an additive change) rather
// than reaching around Env.
type Env struct {
	// NodeID is this broker's node id.
	NodeID int32
	// Logger is the handlers' logger; never nil once the broker built Env.
	Logger *slog.Logger
	// StaticConfig is this broker's start-up configuration in canonical
	// form (the STATIC_BROKER_CONFIG layer of config.Layers).
	StaticConfig map[string]string
	// Metadata is the node's view of the metadata log (*quorum.Quorum).
	Metadata Metadata
	// Controller turns admin requests into metadata records
	// (*metadata.Controller); it answers only on the Raft leader.
	Controller Controller
	// Partitions holds the partitions this node hosts.
	Partitions *partition.Manager
	// FetchSessions caches incremental fetch sessions (KIP-227).
	FetchSessions *FetchSessions
	// LogDir is the data directory partitions live in (DescribeLogDirs).
	LogDir string
	// FetchMaxBytes caps a Fetch response (fetch.max.bytes, a read-only broker config, so
	// resolved once at start); 0 means no cap beyond the request's own.
	FetchMaxBytes int32
	// ReplicaSelector is replica.selector.class (read-only, resolved at start): "" keeps
	// consumers on the leader; config.RackAwareReplicaSelector sends a consumer with a
	// client.rack to an in-sync follower in its rack (Fetch's PreferredReadReplica, KIP-392).
	ReplicaSelector string
	// LeaderThrottle bounds the bytes this broker, as leader, sends to out-of-ISR followers of
	// the partitions a topic's leader.replication.throttled.replicas names here
	// (leader.replication.throttled.rate); nil throttles nothing.
	LeaderThrottle *replica.Throttle
	// TopicMetrics counts produced and fetched bytes and records per topic
	// (*metrics.Metrics); nil counts nothing.
	TopicMetrics TopicMetrics
	// Groups is the classic group coordinator (*group.Coordinator); nil answers group
	// requests with COORDINATOR_NOT_AVAILABLE.
	Groups Groups
	// Txns is the transaction coordinator (*txn.Coordinator); nil answers transactional
	// requests with COORDINATOR_NOT_AVAILABLE.
	Txns Txns
	// Forwarder carries Forward APIs' requests from the broker listener to the active
	// controller (*cluster.Client); nil runs them here (a node on its own).
	Forwarder Forwarder
	// Lifecycle is the active controller's broker lifecycle (*metadata.Controller), which the
	// controller listener's BrokerRegistration, BrokerHeartbeat and AllocateProducerIds
	// reach; nil answers them NOT_CONTROLLER.
	Lifecycle Lifecycle
	// Authorizer authorizes every request by its principal (Authorize); nil allows
	// everything (no authorizer.class.name).
	Authorizer Authorizer
	// Quotas enforces client quotas (*quota.Manager, quotas.go); nil enforces none.
	Quotas Quotas
	// ShareMembership is share-group membership and configuration (*group.Coordinator) for
	// the share-partition leader (ShareFetch, ShareAcknowledge); nil: no share groups.
	ShareMembership share.Membership
	// Quorum is the metadata quorum's membership (*quorum.Quorum): DescribeQuorum,
	// AddRaftVoter, RemoveRaftVoter; nil answers them NOT_CONTROLLER.
	Quorum Quorum
	// Versions switches the request versions Kafka 4 removed (sluice.protocol.legacy.versions.enable,
	// versions.go); nil serves them.
	Versions *VersionGate
	// SharePersister stores share-partitions' delivery state (*sharecoord.Persister: this
	// node's share coordinator or, over the RPCs, the one leading the key's
	// __share_group_state partition); nil: share groups cannot persist state.
	SharePersister share.Persister
	// ShareCoordinator is this node's share coordinator (*sharecoord.Coordinator), which the
	// RPCs InitializeShareGroupState … ReadShareGroupStateSummary (83–87) reach; nil answers
	// them COORDINATOR_NOT_AVAILABLE.
	ShareCoordinator share.Persister
	// ShareEndOffset returns a partition's end as its leader reports it (the high watermark,
	// or the last stable offset when readCommitted), for DescribeShareGroupOffsets' lag; nil:
	// only partitions led here are known.
	ShareEndOffset func(ctx context.Context, topic string, partition int32, readCommitted bool) (int64, error)
	// Shares is this broker's share-partition leader (*share.Manager: ShareFetch,
	// ShareAcknowledge); nil answers them UNSUPPORTED_VERSION.
	Shares *share.Manager
	// ShareSessions caches share sessions (KIP-932), bounded by group.share.max.share.sessions.
	ShareSessions *ShareSessions
	// SchemaIDs checks produced schema ids for topics with schema id validation on
	// (schema_ids.go; NewSchemaIDValidator over the node's *registry.Service); nil refuses
	// their records, saying this broker serves no schema registry.
	SchemaIDs *SchemaIDValidator
}

// Quorum is what the quorum APIs (DescribeQuorum, AddRaftVoter, RemoveRaftVoter) ask of the
// metadata quorum. Each answers only on the active controller (metadata.ErrNotController
// elsewhere) and may wait: call them from Finish.
type Quorum interface {
	Describe(ctx context.Context) (quorum.State, error)
	AddVoter(ctx context.Context, id int32, dir quorum.DirectoryID, addr string) error
	RemoveVoter(ctx context.Context, id int32, dir quorum.DirectoryID) error
	// Voters are the voters of this node's Raft configuration (DescribeCluster's controller
	// endpoints, KIP-919).
	Voters() ([]quorum.ReplicaState, error)
}

// Txns is what the transaction APIs (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
// EndTxn, WriteTxnMarkers, DescribeTransactions, ListTransactions) ask of the transaction
// coordinator. Methods that write __transaction_state wait for it: call them from Finish.
type Txns interface {
	InitProducerID(ctx context.Context, req txn.InitRequest) (txn.InitResult, error)
	AddPartitions(ctx context.Context, transactionalID string, producerID int64, epoch int16, parts txn.TopicPartitions) error
	VerifyPartitions(transactionalID string, producerID int64, epoch int16, parts txn.TopicPartitions) (map[string]map[int32]error, error)
	AddOffsets(ctx context.Context, transactionalID string, producerID int64, epoch int16, groupID string) error
	EndTxn(ctx context.Context, req txn.EndRequest) (txn.InitResult, error)
	WriteMarker(ctx context.Context, topic string, partition int32, m txn.Marker) error
	Describe(transactionalID string) (txn.Description, error)
	List(f txn.ListFilter) ([]txn.Description, error)
}

// TxnGroups is what TxnOffsetCommit and OffsetFetch (require_stable) ask of the group
// coordinator (*group.Coordinator); Env.Groups implements it when it serves transactions.
type TxnGroups interface {
	// CommitTxnOffsets waits for a __consumer_offsets append: call it from Finish.
	CommitTxnOffsets(ctx context.Context, tc group.TxnCommit) error
	HasPendingTxnOffsets(groupID, topic string, partition int32) bool
}

// Groups is what the group APIs (FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups) ask of
// the group coordinator. Join and Sync answer on a channel that receives exactly one result.
type Groups interface {
	Join(req group.JoinRequest) <-chan group.JoinResult
	Sync(req group.SyncRequest) <-chan group.SyncResult
	Heartbeat(groupID, memberID, instanceID string, generation int32) error
	Leave(groupID string, members []group.LeavingMember) []error
	// CommitOffsets, Delete and DeleteOffsets wait for __consumer_offsets appends: call them
	// from Finish.
	CommitOffsets(ctx context.Context, groupID, memberID, instanceID string, generation int32, offsets []group.OffsetCommit) error
	FetchOffset(groupID, topic string, partition int32) (group.OffsetCommit, bool)
	FetchAllOffsets(groupID string) []group.OffsetCommit
	Describe(groupID string) group.Description
	List() []group.Listing
	Delete(ctx context.Context, groupID string) error
	DeleteOffsets(ctx context.Context, groupID string, parts []group.OffsetCommit, subscribedTopics func(metadata []byte) []string) ([]error, error)
	// ConsumerHeartbeat (ConsumerGroupHeartbeat, KIP-848) waits for __consumer_offsets
	// appends: call it from Finish.
	ConsumerHeartbeat(ctx context.Context, req group.ConsumerHeartbeatRequest) group.ConsumerHeartbeatResult
	DescribeConsumerGroup(groupID string) (group.ConsumerGroupDescription, error)
	// ShareHeartbeat (ShareGroupHeartbeat, KIP-932) waits for __consumer_offsets appends:
	// call it from Finish. DescribeShareGroup serves ShareGroupDescribe.
	ShareHeartbeat(ctx context.Context, req group.ShareHeartbeatRequest) group.ShareHeartbeatResult
	DescribeShareGroup(groupID string) (group.ShareGroupDescription, error)
	// IsConsumerMember: OffsetCommit below v9 is refused to consumer group members.
	IsConsumerMember(groupID, memberID string) bool
	// CheckOffsetFetch: OffsetFetch v9+ from a consumer group member is checked against its
	// member epoch.
	CheckOffsetFetch(groupID, memberID string, epoch int32) error
	// CoordinatorStatus is nil when this node coordinates the group now; else
	// group.ErrNotCoordinator or group.ErrCoordinatorLoadInProgress. Every group request
	// checks it first (groupStatus).
	CoordinatorStatus(groupID string) error
	// ListStatus: ListGroups fails with it (a partition still loading).
	ListStatus() error
}

// TopicMetrics is what Produce and Fetch report of their traffic. Calls are
// on the request path: implementations must not block or allocate per call.
type TopicMetrics interface {
	// ProducedTo counts a partition's appended batch bytes and records.
	ProducedTo(topic string, bytes, records int64)
	// FetchedFrom counts a partition's returned batch bytes and the offset
	// span of those batches.
	FetchedFrom(topic string, bytes, records int64)
}

// ConversionMetrics, when the TopicMetrics implement it too, counts records converted between
// message formats (Kafka's ProduceMessageConversionsPerSec and FetchMessageConversionsPerSec):
// only old clients' requests call it.
type ConversionMetrics interface {
	ProduceConverted(topic string, records int64)
	FetchConverted(topic string, records int64)
}

// Metadata is the latest applied metadata and who the controller is.
type Metadata interface {
	// Image is the latest applied Image; never nil.
	Image() *metadata.Image
	// Leader is the current controller (Raft leader), if known.
	Leader() (id int32, ok bool)
}

// Controller is what handlers ask of the metadata controller. Admin
// handler files add the methods they call.
type Controller interface {
	// CreateTopics creates topics (CreateTopics; Metadata's auto-creation).
	CreateTopics(ctx context.Context, topics []metadata.CreateTopic, validateOnly bool) []metadata.CreatedTopic
	// DeleteTopics deletes topics by name or id (DeleteTopics).
	DeleteTopics(ctx context.Context, topics []metadata.DeleteTopic) []metadata.DeletedTopic
	// CreatePartitions adds partitions (CreatePartitions).
	CreatePartitions(ctx context.Context, reqs []metadata.CreatePartitions, validateOnly bool) []metadata.CreatedPartitions
	// AlterConfigs replaces resources' dynamic configs (AlterConfigs).
	AlterConfigs(ctx context.Context, reqs []metadata.AlterConfigs, validateOnly bool) []metadata.ConfigResult
	// IncrementalAlterConfigs edits resources' dynamic configs (IncrementalAlterConfigs).
	IncrementalAlterConfigs(ctx context.Context, reqs []metadata.IncrementalAlterConfigs, validateOnly bool) []metadata.ConfigResult
	// UpdateFeatures finalizes feature levels (UpdateFeatures).
	UpdateFeatures(ctx context.Context, updates []metadata.FeatureUpdate, validateOnly bool) []metadata.FeatureResult
	// ElectLeaders runs preferred or unclean leader elections (ElectLeaders).
	ElectLeaders(ctx context.Context, typ metadata.ElectionType, partitions []metadata.TopicPartition) ([]metadata.ElectionResult, error)
	// AlterPartitionReassignments starts or cancels reassignments (AlterPartitionReassignments).
	AlterPartitionReassignments(ctx context.Context, reqs []metadata.Reassignment, allowReplicationFactorChange bool) ([]metadata.ReassignmentResult, error)
	// ListPartitionReassignments lists reassignments in progress (ListPartitionReassignments).
	ListPartitionReassignments(ctx context.Context, partitions []metadata.TopicPartition) ([]metadata.OngoingReassignment, error)
	// AlterClientQuotas sets and removes client quotas (AlterClientQuotas).
	AlterClientQuotas(ctx context.Context, alts []metadata.QuotaAlteration, validateOnly bool) []error
	// AlterUserScramCredentials sets and deletes SCRAM credentials (AlterUserScramCredentials).
	AlterUserScramCredentials(ctx context.Context, deletions []metadata.ScramDeletion, upsertions []metadata.ScramUpsertion) []metadata.ScramResult
	// CreateACLs adds ACLs (CreateAcls).
	CreateACLs(ctx context.Context, bindings []metadata.ACLBinding) []error
	// DeleteACLs removes the ACLs each filter matches (DeleteAcls).
	DeleteACLs(ctx context.Context, filters []metadata.ACLFilter) []metadata.DeletedACLs
}

// BrokerConfig resolves this broker's effective configuration from its
// static config and the dynamic broker configs in img.
func (e *Env) BrokerConfig(img *metadata.Image) *config.Resolved {
	perBroker, clusterDefault := img.DynamicConfigsFor(e.NodeID)
	return config.ResolveBroker(config.Layers{DynamicBroker: perBroker, DynamicDefault: clusterDefault, Static: e.StaticConfig})
}

// TopicConfig resolves a topic's effective configuration on this broker.
func (e *Env) TopicConfig(img *metadata.Image, t *metadata.Topic) *config.Resolved {
	perBroker, clusterDefault := img.DynamicConfigsFor(e.NodeID)
	return config.ResolveTopic(config.Layers{Topic: t.Configs, DynamicBroker: perBroker, DynamicDefault: clusterDefault, Static: e.StaticConfig})
}
