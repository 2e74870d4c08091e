package config

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
)

// RackAwareReplicaSelector is the one replica.selector.class Sluice knows, by Kafka's class name.
const RackAwareReplicaSelector = "org.apache.kafka.common.replica.RackAwareReplicaSelector"

// Broker config names, one for every row of brokerTable (the configs that share a topic
// config's name, such as compression.type, use the topic constant).
const (
	NodeID                                               Name = "node.id"
	BrokerID                                             Name = "broker.id"
	BrokerRack                                           Name = "broker.rack"
	ControllerQuorumVoters                               Name = "controller.quorum.voters"
	ControllerQuorumElectionTimeoutMs                    Name = "controller.quorum.election.timeout.ms"
	ProcessRoles                                         Name = "process.roles"
	BrokerHeartbeatIntervalMs                            Name = "broker.heartbeat.interval.ms"
	BrokerSessionTimeoutMs                               Name = "broker.session.timeout.ms"
	ControlledShutdownEnable                             Name = "controlled.shutdown.enable"
	SluiceControlledShutdownTimeoutMs                    Name = "sluice.controlled.shutdown.timeout.ms"
	SluiceBrokerConnectionLossFenceMs                    Name = "sluice.broker.connection.loss.fence.ms"
	LogDirs                                              Name = "log.dirs"
	NumPartitions                                        Name = "num.partitions"
	DefaultReplicationFactor                             Name = "default.replication.factor"
	AutoCreateTopicsEnable                               Name = "auto.create.topics.enable"
	DeleteTopicEnable                                    Name = "delete.topic.enable"
	MessageMaxBytes                                      Name = "message.max.bytes"
	SocketRequestMaxBytes                                Name = "socket.request.max.bytes"
	ConnectionsMaxIdleMs                                 Name = "connections.max.idle.ms"
	QueuedMaxRequestBytes                                Name = "queued.max.request.bytes"
	MaxConnections                                       Name = "max.connections"
	MaxConnectionsPerIP                                  Name = "max.connections.per.ip"
	MaxConnectionsPerIPOverrides                         Name = "max.connections.per.ip.overrides"
	FetchMaxBytes                                        Name = "fetch.max.bytes"
	LogCleanupPolicy                                     Name = "log.cleanup.policy"
	LogSegmentBytes                                      Name = "log.segment.bytes"
	LogRollMs                                            Name = "log.roll.ms"
	LogRollHours                                         Name = "log.roll.hours"
	LogRollJitterMs                                      Name = "log.roll.jitter.ms"
	LogRollJitterHours                                   Name = "log.roll.jitter.hours"
	LogRetentionMs                                       Name = "log.retention.ms"
	LogRetentionMinutes                                  Name = "log.retention.minutes"
	LogRetentionHours                                    Name = "log.retention.hours"
	LogRetentionBytes                                    Name = "log.retention.bytes"
	LogRetentionCheckIntervalMs                          Name = "log.retention.check.interval.ms"
	LogIndexSizeMaxBytes                                 Name = "log.index.size.max.bytes"
	LogIndexIntervalBytes                                Name = "log.index.interval.bytes"
	LogFlushIntervalMessages                             Name = "log.flush.interval.messages"
	LogFlushIntervalMs                                   Name = "log.flush.interval.ms"
	LogFlushSchedulerIntervalMs                          Name = "log.flush.scheduler.interval.ms"
	LogFlushOffsetCheckpointIntervalMs                   Name = "log.flush.offset.checkpoint.interval.ms"
	LogSegmentDeleteDelayMs                              Name = "log.segment.delete.delay.ms"
	LogPreallocate                                       Name = "log.preallocate"
	LogMessageTimestampType                              Name = "log.message.timestamp.type"
	LogMessageTimestampBeforeMaxMs                       Name = "log.message.timestamp.before.max.ms"
	LogMessageTimestampAfterMaxMs                        Name = "log.message.timestamp.after.max.ms"
	LogMessageDownconversionEnable                       Name = "log.message.downconversion.enable"
	LogLocalRetentionMs                                  Name = "log.local.retention.ms"
	LogLocalRetentionBytes                               Name = "log.local.retention.bytes"
	LogCleanerEnable                                     Name = "log.cleaner.enable"
	LogCleanerThreads                                    Name = "log.cleaner.threads"
	LogCleanerBackoffMs                                  Name = "log.cleaner.backoff.ms"
	LogCleanerDedupeBufferSize                           Name = "log.cleaner.dedupe.buffer.size"
	LogCleanerIOMaxBytesPerSecond                        Name = "log.cleaner.io.max.bytes.per.second"
	LogCleanerIOBufferSize                               Name = "log.cleaner.io.buffer.size"
	LogCleanerDeleteRetentionMs                          Name = "log.cleaner.delete.retention.ms"
	LogCleanerMinCompactionLagMs                         Name = "log.cleaner.min.compaction.lag.ms"
	LogCleanerMaxCompactionLagMs                         Name = "log.cleaner.max.compaction.lag.ms"
	LogCleanerMinCleanableRatio                          Name = "log.cleaner.min.cleanable.ratio"
	ReplicaLagTimeMaxMs                                  Name = "replica.lag.time.max.ms"
	ReplicaFetchMaxBytes                                 Name = "replica.fetch.max.bytes"
	ReplicaFetchResponseMaxBytes                         Name = "replica.fetch.response.max.bytes"
	ReplicaFetchWaitMaxMs                                Name = "replica.fetch.wait.max.ms"
	ReplicaFetchMinBytes                                 Name = "replica.fetch.min.bytes"
	ReplicaFetchBackoffMs                                Name = "replica.fetch.backoff.ms"
	NumReplicaFetchers                                   Name = "num.replica.fetchers"
	LeaderReplicationThrottledRate                       Name = "leader.replication.throttled.rate"
	FollowerReplicationThrottledRate                     Name = "follower.replication.throttled.rate"
	QuotaWindowNum                                       Name = "quota.window.num"
	QuotaWindowSizeSeconds                               Name = "quota.window.size.seconds"
	ReplicaSelectorClass                                 Name = "replica.selector.class"
	AuthorizerClassName                                  Name = "authorizer.class.name"
	SuperUsers                                           Name = "super.users"
	AllowEveryoneIfNoACLFound                            Name = "allow.everyone.if.no.acl.found"
	ReplicaHighWatermarkCheckpointIntervalMs             Name = "replica.high.watermark.checkpoint.interval.ms"
	AutoLeaderRebalanceEnable                            Name = "auto.leader.rebalance.enable"
	LeaderImbalanceCheckIntervalSeconds                  Name = "leader.imbalance.check.interval.seconds"
	LeaderImbalancePerBrokerPercentage                   Name = "leader.imbalance.per.broker.percentage"
	OffsetsTopicNumPartitions                            Name = "offsets.topic.num.partitions"
	OffsetsTopicReplicationFactor                        Name = "offsets.topic.replication.factor"
	OffsetsTopicSegmentBytes                             Name = "offsets.topic.segment.bytes"
	OffsetsTopicCompressionCodec                         Name = "offsets.topic.compression.codec"
	OffsetsRetentionMinutes                              Name = "offsets.retention.minutes"
	OffsetsRetentionCheckIntervalMs                      Name = "offsets.retention.check.interval.ms"
	OffsetsCommitTimeoutMs                               Name = "offsets.commit.timeout.ms"
	OffsetsLoadBufferSize                                Name = "offsets.load.buffer.size"
	GroupInitialRebalanceDelayMs                         Name = "group.initial.rebalance.delay.ms"
	GroupMinSessionTimeoutMs                             Name = "group.min.session.timeout.ms"
	GroupMaxSessionTimeoutMs                             Name = "group.max.session.timeout.ms"
	GroupMaxSize                                         Name = "group.max.size"
	GroupCoordinatorRebalanceProtocols                   Name = "group.coordinator.rebalance.protocols"
	GroupConsumerSessionTimeoutMs                        Name = "group.consumer.session.timeout.ms"
	GroupConsumerHeartbeatIntervalMs                     Name = "group.consumer.heartbeat.interval.ms"
	GroupConsumerMinSessionTimeoutMs                     Name = "group.consumer.min.session.timeout.ms"
	GroupConsumerMaxSessionTimeoutMs                     Name = "group.consumer.max.session.timeout.ms"
	GroupConsumerMinHeartbeatIntervalMs                  Name = "group.consumer.min.heartbeat.interval.ms"
	GroupConsumerMaxHeartbeatIntervalMs                  Name = "group.consumer.max.heartbeat.interval.ms"
	GroupConsumerMaxSize                                 Name = "group.consumer.max.size"
	GroupConsumerAssignors                               Name = "group.consumer.assignors"
	GroupShareSessionTimeoutMs                           Name = "group.share.session.timeout.ms"
	GroupShareMinSessionTimeoutMs                        Name = "group.share.min.session.timeout.ms"
	GroupShareMaxSessionTimeoutMs                        Name = "group.share.max.session.timeout.ms"
	GroupShareHeartbeatIntervalMs                        Name = "group.share.heartbeat.interval.ms"
	GroupShareMinHeartbeatIntervalMs                     Name = "group.share.min.heartbeat.interval.ms"
	GroupShareMaxHeartbeatIntervalMs                     Name = "group.share.max.heartbeat.interval.ms"
	GroupShareMaxSize                                    Name = "group.share.max.size"
	GroupShareAssignors                                  Name = "group.share.assignors"
	GroupShareRecordLockDurationMs                       Name = "group.share.record.lock.duration.ms"
	GroupShareMinRecordLockDurationMs                    Name = "group.share.min.record.lock.duration.ms"
	GroupShareMaxRecordLockDurationMs                    Name = "group.share.max.record.lock.duration.ms"
	GroupShareDeliveryCountLimit                         Name = "group.share.delivery.count.limit"
	GroupSharePartitionMaxRecordLocks                    Name = "group.share.partition.max.record.locks"
	GroupShareMaxShareSessions                           Name = "group.share.max.share.sessions"
	TransactionStateLogNumPartitions                     Name = "transaction.state.log.num.partitions"
	TransactionStateLogReplication                       Name = "transaction.state.log.replication.factor"
	TransactionStateLogMinIsr                            Name = "transaction.state.log.min.isr"
	TransactionStateLogSegmentBytes                      Name = "transaction.state.log.segment.bytes"
	TransactionMaxTimeoutMs                              Name = "transaction.max.timeout.ms"
	TransactionalIDExpirationMs                          Name = "transactional.id.expiration.ms"
	TransactionAbortTimedOutTransactionCleanupIntervalMs Name = "transaction.abort.timed.out.transaction.cleanup.interval.ms"
	TransactionRemoveExpiredTransactionCleanupIntervalMs Name = "transaction.remove.expired.transaction.cleanup.interval.ms"
	ProducerIDExpirationMs                               Name = "producer.id.expiration.ms"
	ProducerIDExpirationCheckIntervalMs                  Name = "producer.id.expiration.check.interval.ms"
	SluiceGroupCommit                                    Name = "sluice.group.commit"
	SluiceProtocolLegacyVersionsEnable                   Name = "sluice.protocol.legacy.versions.enable"
)

var intMax = strconv.FormatInt(math.MaxInt32, 10)

// voters accepts controller.quorum.voters entries "id@host:port".
var voters = Func("id@host:port,id@host:port,...", func(_ string, list []string) error {
	for _, e := range list {
		if _, _, err := ParseVoter(e); err != nil {
			return err
		}
	}
	return nil
})

// ParseVoter splits a controller.quorum.voters entry "id@host:port".
func ParseVoter(s string) (id int32, addr string, err error) {
	idText, addr, ok := strings.Cut(s, "@")
	if !ok {
		return 0, "", fmt.Errorf("voter %q is not id@host:port", s)
	}
	n, err := strconv.ParseInt(idText, 10, 32)
	if err != nil || n < 0 {
		return 0, "", fmt.Errorf("voter %q: id is not a non-negative integer", s)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return 0, "", fmt.Errorf("voter %q: address is not host:port", s)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return 0, "", fmt.Errorf("voter %q: port is not in 1..65535", s)
	}
	return int32(n), addr, nil
}

// connectionOverrides accepts max.connections.per.ip.overrides: "host:count,ip:count".
var connectionOverrides = Func("[host:count,ip:count,...]", func(s string, _ []string) error {
	_, err := ParseConnectionOverrides(s)
	return err
})

// ParseConnectionOverrides splits max.connections.per.ip.overrides, "host:count,...", into
// host (a name or an IP literal, IPv6 without brackets) → count >= 0. The count follows the
// last colon.
func ParseConnectionOverrides(s string) (map[string]int, error) {
	out := make(map[string]int)
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		i := strings.LastIndexByte(e, ':')
		if i <= 0 {
			return nil, fmt.Errorf("override %q is not host:count", e)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(e[i+1:]), 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("override %q: count is not a non-negative integer", e)
		}
		out[strings.TrimSpace(e[:i])] = int(n)
	}
	return out, nil
}

var oneDir = Func("one directory", func(_ string, list []string) error {
	if len(list) != 1 || list[0] == "" {
		return fmt.Errorf("exactly one directory is supported")
	}
	return nil
})

// brokerTable is the broker configs a Kafka operator expects, plus Sluice's own (sluice.*).
// The log.* configs that stand in for topic configs are dynamic cluster-wide exactly when Kafka
// makes them so: the highest-precedence synonym is, the hours/minutes fallbacks are not.
var brokerTable = []Def{
	// Identity and cluster membership.
	{Name: NodeID, Type: TypeInt, Default: "1", Valid: AtLeast(0), Mode: ModeReadOnly,
		Doc: "This node's id, unique in the cluster. Kafka requires it; Sluice defaults to 1 so a single node needs no configuration."},
	{Name: BrokerID, Type: TypeInt, Default: "-1", Valid: AtLeast(-1), Mode: ModeReadOnly,
		Doc: "Kafka's older name for node.id. If set, it must equal node.id."},
	{Name: BrokerRack, Type: TypeString, NoDefault: true, Mode: ModeReadOnly,
		Doc: "Rack (or zone) of this broker, registered with the controller and reported in Metadata and DescribeCluster. " +
			"The controller spreads each partition's replicas over racks."},
	{Name: ReplicaSelectorClass, Type: TypeClass, NoDefault: true, Valid: OneOf(RackAwareReplicaSelector), Mode: ModeReadOnly,
		Doc: "How a partition leader picks the replica a consumer (Fetch v11+) should read from (KIP-392). Unset: the leader. " +
			RackAwareReplicaSelector + ": a follower in the ISR in the consumer's client.rack (matched against broker.rack) " +
			"that holds the consumer's position, unless the leader is in that rack."},
	{Name: ControllerQuorumVoters, Type: TypeList, Default: "", Valid: voters, Mode: ModeReadOnly,
		Doc: "The metadata quorum's voters as id@host:port (their controller addresses). Empty: this " +
			"node alone is a one-voter quorum."},
	{Name: ControllerQuorumElectionTimeoutMs, Type: TypeInt, NoDefault: true, Valid: Between(5, 60000), Mode: ModeReadOnly,
		Doc: "How long a metadata-quorum follower waits without hearing from the leader before it " +
			"calls an election; a first election waits between this and twice this. Unset: 150 with " +
			"other voters (Kafka's default is 1000), 10 when this node is the only voter, which has " +
			"nobody to wait for and so starts in milliseconds."},
	{Name: ProcessRoles, Type: TypeList, Default: "broker,controller", Valid: ListOf(false, "broker", "controller"), Mode: ModeReadOnly,
		Doc: "The roles of this node: broker (hosts partitions and serves clients), controller (a voter of " +
			"the metadata quorum, which may become the active controller), or both. A controller-only node " +
			"must be listed in controller.quorum.voters; a broker-only node follows the metadata log as an observer."},
	{Name: BrokerHeartbeatIntervalMs, Type: TypeInt, Default: "2000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "How often a broker heartbeats to the active controller (more often while it is fenced or shutting down)."},
	{Name: BrokerSessionTimeoutMs, Type: TypeInt, Default: "9000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "How long the active controller waits for a broker's heartbeat before it fences the broker: out of every ISR, " +
			"its leaderships moved to other replicas. Read by the controller; a new controller gives every broker a full session."},
	{Name: ControlledShutdownEnable, Type: TypeBoolean, Default: "true", Mode: ModeReadOnly,
		Doc: "Whether a broker that is stopped (SIGTERM) first asks the controller to move its leaderships to other " +
			"replicas and waits for that (at most sluice.controlled.shutdown.timeout.ms)."},
	{Name: SluiceBrokerConnectionLossFenceMs, Type: TypeInt, Default: "500", Valid: AtLeast(0), Mode: ModeReadOnly,
		Doc: "The active controller fences a broker this long after every connection it heartbeated on closed, " +
			"unless it heartbeats again first: a process that died (SIGKILL, a crash) has its sockets closed by the " +
			"kernel at once, so its partitions get new leaders in well under a second instead of after " +
			"broker.session.timeout.ms. A broker that is paused or cut off keeps its connections and is fenced " +
			"by the session timeout as in Kafka. 0 turns this off."},
	{Name: SluiceControlledShutdownTimeoutMs, Type: TypeInt, Default: "30000", Valid: AtLeast(0), Mode: ModeReadOnly,
		Doc: "Sluice's bound on the wait of a controlled shutdown; the broker stops when it passes, and the controller " +
			"fences it after broker.session.timeout.ms."},
	{Name: LogDirs, Type: TypeList, Default: "./sluice-data", Valid: oneDir, Mode: ModeReadOnly,
		Doc: "The data directory: partition logs and the metadata log (__cluster_metadata) live here. Sluice supports one directory."},

	// Topic creation.
	{Name: NumPartitions, Type: TypeInt, Default: "1", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Partitions of an auto-created topic, and of a created topic that asks for -1."},
	{Name: DefaultReplicationFactor, Type: TypeShort, Default: "1", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Replication factor of an auto-created topic, and of a created topic that asks for -1."},
	{Name: AutoCreateTopicsEnable, Type: TypeBoolean, Default: "true", Mode: ModeReadOnly,
		Doc: "Create a topic when a client asks for metadata of, or produces to, a topic that does not exist."},
	{Name: DeleteTopicEnable, Type: TypeBoolean, Default: "true", Mode: ModeReadOnly,
		Doc: "Allow DeleteTopics. When false, deleting fails with TOPIC_DELETION_DISABLED."},

	// Requests and connections.
	{Name: MessageMaxBytes, Type: TypeInt, Default: "1048588", Valid: AtLeast(0), Mode: ModeClusterWide,
		Doc: "Default of max.message.bytes: the largest record batch a topic accepts."},
	{Name: SocketRequestMaxBytes, Type: TypeInt, Default: "104857600", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Largest request frame the broker reads; a larger size prefix closes the connection before anything is allocated."},
	{Name: ConnectionsMaxIdleMs, Type: TypeLong, Default: "600000", Mode: ModeReadOnly,
		Doc: "Close client connections idle for longer than this."},
	{Name: QueuedMaxRequestBytes, Type: TypeLong, Default: "104857600", Mode: ModeReadOnly,
		Doc: "Bytes of requests read (or being read) and not yet answered, across all connections, " +
			"before connections wait to start reading another. Kafka's default is -1 (no bound); " +
			"Sluice's is 100 MiB, socket.request.max.bytes, so any legal request is still read. A frame " +
			"is charged as its bytes arrive past its first 16 KiB, not by its size prefix, so a client that " +
			"announces a large request and sends it slowly holds only what it sent; frames already started may take the " +
			"total to twice this, then wait (up to 10 s, then their connection is closed). -1 or 0: no bound."},
	{Name: MaxConnections, Type: TypeInt, Default: intMax, Valid: AtLeast(0), Mode: ModeReadOnly,
		Doc: "Connections the broker keeps open at once; past it, a new connection is closed at " +
			"accept (Kafka's acceptor waits for a slot instead). Kafka makes it dynamic; Sluice reads it at start."},
	{Name: MaxConnectionsPerIP, Type: TypeInt, Default: intMax, Valid: AtLeast(0), Mode: ModeReadOnly,
		Doc: "Connections from one IP address; past it, a new connection from that address is closed " +
			"at accept. max.connections.per.ip.overrides sets other limits for named hosts; 0 (as in Kafka) " +
			"refuses every address the overrides do not name."},
	{Name: MaxConnectionsPerIPOverrides, Type: TypeString, Default: "", Valid: connectionOverrides, Mode: ModeReadOnly,
		Doc: "Per-address exceptions to max.connections.per.ip, as host:count pairs separated by " +
			"commas (e.g. 127.0.0.1:200,app1.example.com:50). Host names are resolved at start."},
	// Listeners (internal/config/listeners.go parses them; the broker binds and registers them).
	{Name: Listeners, Type: TypeList, NoDefault: true, Mode: ModeReadOnly,
		Doc: "The Kafka listeners as NAME://host:port, e.g. PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9094; an empty " +
			"host binds every interface, port 0 a free port. Each name needs a protocol in listener.security.protocol.map; " +
			"names and ports must differ. A listener named in controller.listener.names gives the controller address " +
			"(as --controller-addr). Unset: the one PLAINTEXT listener of --kafka-addr."},
	{Name: AdvertisedListeners, Type: TypeList, NoDefault: true, Mode: ModeReadOnly,
		Doc: "The listeners as clients and other brokers are told to reach them (registered with the controller), same " +
			"form and names as listeners; a listener it does not name is advertised as bound. Unset: listeners (or " +
			"--advertised-addr). Metadata, FindCoordinator and DescribeCluster answer with the addresses of the listener " +
			"the request came in on."},
	{Name: ListenerSecurityProtocolMap, Type: TypeString, Default: defaultListenerProtocolMap, Mode: ModeReadOnly,
		Doc: "Security protocol of each listener name, as NAME:PROTOCOL pairs (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)."},
	{Name: InterBrokerListenerName, Type: TypeString, NoDefault: true, Mode: ModeReadOnly,
		Doc: "The listener other brokers' replica fetchers and transaction markers connect to. Unset: the listener " +
			"named like security.inter.broker.protocol. Only one of the two may be set."},
	{Name: SecurityInterBrokerProtocol, Type: TypeString, Default: "PLAINTEXT", Valid: OneOf("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"), Mode: ModeReadOnly,
		Doc: "Names the inter-broker listener when inter.broker.listener.name is unset (the listener of that name)."},
	{Name: ControllerListenerNames, Type: TypeList, Default: "CONTROLLER", Mode: ModeReadOnly,
		Doc: "Names of the controller listeners in listeners; the first gives the controller address and its protocol " +
			"(listener.security.protocol.map). PLAINTEXT, SSL or SASL_SSL: on SSL and SASL_SSL the metadata quorum's Raft " +
			"traffic runs inside TLS too and must present a client certificate the truststore verifies; SASL_PLAINTEXT is refused."},
	// Authorization (internal/security/acl).
	{Name: AuthorizerClassName, Type: TypeClass, Default: "",
		Valid: OneOf("", "org.apache.kafka.metadata.authorizer.StandardAuthorizer", "sluice"), Mode: ModeReadOnly,
		Doc: "The authorizer. Empty: none, every request is allowed and the ACL APIs answer SECURITY_DISABLED. " +
			"org.apache.kafka.metadata.authorizer.StandardAuthorizer (or sluice): the ACLs in the cluster metadata decide, with " +
			"Kafka's StandardAuthorizer rules (DENY wins, LITERAL and PREFIXED patterns, implied DESCRIBE and DESCRIBE_CONFIGS)."},
	{Name: SuperUsers, Type: TypeString, Default: "", Mode: ModeReadOnly,
		Doc: "Principals the authorizer allows everything, separated by semicolons: User:admin;User:bob."},
	{Name: AllowEveryoneIfNoACLFound, Type: TypeBoolean, Default: "false", Mode: ModeReadOnly,
		Doc: "With the authorizer on, allow a request on a resource that has no ACL at all (for any principal); " +
			"false denies it."},
	// SASL (internal/security/sasl; the server's gate is internal/server/sasl.go).
	{Name: SaslEnabledMechanisms, Type: TypeList, Default: "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER",
		Valid: ListOf(false, "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"), Mode: ModeReadOnly,
		Doc: "Mechanisms a SASL listener (SASL_PLAINTEXT, SASL_SSL) accepts; per listener as " +
			"listener.name.<listener>.sasl.enabled.mechanisms. Kafka's default is GSSAPI, which Sluice does not implement; " +
			"Sluice's default enables SCRAM always, PLAIN when users are configured and OAUTHBEARER when a JWKS is. " +
			"Naming a mechanism without its credentials configured is an error."},
	{Name: SaslMechanismInterBrokerProtocol, Type: TypeString, Default: "PLAIN",
		Valid: OneOf("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"), Mode: ModeReadOnly,
		Doc: "Mechanism this broker's own connections to a SASL inter-broker listener authenticate with, using the " +
			"username and password options of that listener's sasl.jaas.config (Kafka's default is GSSAPI)."},
	{Name: SaslMechanismControllerProtocol, Type: TypeString, Default: "PLAIN",
		Valid: OneOf("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"), Mode: ModeReadOnly,
		Doc: "Mechanism this node's connections to a SASL_SSL controller listener (registration, heartbeats, forwarded " +
			"requests) authenticate with, using the username and password options of the controller listener's " +
			"sasl.jaas.config (Kafka's default is GSSAPI)."},
	{Name: SaslJaasConfig, Type: TypePassword, NoDefault: true, Mode: ModeReadOnly,
		Doc: "JAAS login module configuration, normally per listener and mechanism as " +
			"listener.name.<listener>.<mechanism>.sasl.jaas.config. PLAIN users come from PlainLoginModule's " +
			"user_<name>=\"<password>\" options; the username and password options are what this broker " +
			"authenticates to other brokers with."},
	{Name: SluiceHTTPSSLEnabled, Type: TypeBoolean, Default: "false", Mode: ModeReadOnly,
		Doc: "Serve the HTTP listener (metrics, health, admin) over TLS with the ssl.* configs, overridden for it as " +
			"listener.name.http.ssl.* (certificates reloaded when their files change, as the Kafka listeners'); " +
			"ssl.client.auth applies too."},
	{Name: SluiceHTTPAuthenticationMethods, Type: TypeList, Default: "", Valid: ListOf(true, "basic", "bearer"), Mode: ModeReadOnly,
		Doc: "How HTTP callers authenticate: basic (HTTP basic against the cluster's SCRAM users and the PLAIN users " +
			"of listener.name.http.plain.sasl.jaas.config or sluice.sasl.plain.users.file) and/or bearer (a JWT validated " +
			"with the sasl.oauthbearer.* configs, listener.name.http.sasl.oauthbearer.* overriding). Empty: no " +
			"authentication. /healthz and /readyz stay open; with an authorizer, other endpoints need Describe on the cluster."},
	{Name: SluiceHTTPMetricsAuthentication, Type: TypeBoolean, Default: "true", Mode: ModeReadOnly,
		Doc: "Whether /metrics needs authentication when sluice.http.authentication.methods is set; false leaves it " +
			"open to scrapers."},
	{Name: SluiceSaslPlainUsersFile, Type: TypeString, NoDefault: true, Mode: ModeReadOnly,
		Doc: "A file of PLAIN users, one user=password a line (# comments), read at start; adds to the JAAS users."},
	{Name: SaslServerMaxReceiveSize, Type: TypeInt, Default: "524288", Valid: AtLeast(1024), Mode: ModeReadOnly,
		Doc: "Largest request a connection may send before it has authenticated; larger ones close it."},
	{Name: ConnectionsMaxReauthMs, Type: TypeLong, Default: "0", Valid: AtLeast(0), Mode: ModeReadOnly,
		Doc: "Lifetime of a SASL session (KIP-368): a client must re-authenticate within it (SaslAuthenticate " +
			"answers session_lifetime_ms), else its next request closes the connection. 0: sessions end only when " +
			"their credential does (an OAUTHBEARER token's exp)."},
	{Name: SaslOauthbearerJwksEndpointURL, Type: TypeString, NoDefault: true, Mode: ModeReadOnly,
		Doc: "Where OAUTHBEARER's token signing keys are: an https://, http:// or file:// URL of a JWKS. Setting it " +
			"enables OAUTHBEARER."},
	{Name: SaslOauthbearerJwksEndpointRefreshMs, Type: TypeLong, Default: "3600000", Valid: AtLeast(1000), Mode: ModeReadOnly,
		Doc: "How often the JWKS is fetched again (also at once, at most every 10 s, for a token naming an unknown key id)."},
	{Name: SaslOauthbearerClockSkewSeconds, Type: TypeInt, Default: "30", Valid: AtLeast(0), Mode: ModeReadOnly,
		Doc: "Clock difference allowed when checking a token's exp, nbf and iat."},
	{Name: SaslOauthbearerExpectedIssuer, Type: TypeString, NoDefault: true, Mode: ModeReadOnly,
		Doc: "If set, a token's iss must equal it."},
	{Name: SaslOauthbearerExpectedAudience, Type: TypeList, NoDefault: true, Mode: ModeReadOnly,
		Doc: "If set, a token's aud must contain one of these."},
	{Name: SaslOauthbearerSubClaimName, Type: TypeString, Default: "sub", Mode: ModeReadOnly,
		Doc: "The claim whose value is the principal's name (User:<value>)."},
	{Name: SaslOauthbearerScopeClaimName, Type: TypeString, Default: "scope", Mode: ModeReadOnly,
		Doc: "The claim holding the token's scope."},
	// TLS (internal/security/tlsconf). Each may be set for one listener as
	// listener.name.<lower-case listener name>.<config>, which wins over the broker-wide value.
	{Name: SslKeystoreType, Type: TypeString, Default: "JKS", Valid: OneOf("JKS", "PKCS12", "PEM"), Mode: ModeReadOnly,
		Doc: "Format of the keystore: PKCS12 or PEM (KIP-651). Kafka's default JKS is not readable by Sluice; a JKS " +
			"keystore is refused at start (convert it with keytool -importkeystore -deststoretype PKCS12)."},
	{Name: SslKeystoreLocation, Type: TypeString, NoDefault: true, Mode: ModeReadOnly,
		Doc: "The keystore file: the listener's certificate chain and private key (the client certificate of inter-broker " +
			"connections). PEM: the key and the chain in one file. Re-read when it changes on disk."},
	{Name: SslKeystorePassword, Type: TypePassword, NoDefault: true, Mode: ModeReadOnly,
		Doc: "Password of a PKCS12 keystore."},
	{Name: SslKeyPassword, Type: TypePassword, NoDefault: true, Mode: ModeReadOnly,
		Doc: "Password of the private key in a PKCS12 keystore, when it differs from ssl.keystore.password. Encrypted PEM keys are not supported."},
	{Name: SslKeystoreKey, Type: TypePassword, NoDefault: true, Mode: ModeReadOnly,
		Doc: "The private key in PEM, inline (with ssl.keystore.type=PEM and ssl.keystore.certificate.chain, instead of ssl.keystore.location)."},
	{Name: SslKeystoreCertificateChain, Type: TypePassword, NoDefault: true, Mode: ModeReadOnly,
		Doc: "The certificate chain in PEM, inline (with ssl.keystore.key)."},
	{Name: SslTruststoreType, Type: TypeString, Default: "JKS", Valid: OneOf("JKS", "PKCS12", "PEM"), Mode: ModeReadOnly,
		Doc: "Format of the truststore: PKCS12 or PEM. JKS is refused at start."},
	{Name: SslTruststoreLocation, Type: TypeString, NoDefault: true, Mode: ModeReadOnly,
		Doc: "The truststore file: the CA certificates that client certificates (and, for inter-broker connections, " +
			"other brokers' certificates) must chain to. Unset: the system's CAs. Re-read when it changes on disk."},
	{Name: SslTruststorePassword, Type: TypePassword, NoDefault: true, Mode: ModeReadOnly,
		Doc: "Password of a PKCS12 truststore."},
	{Name: SslTruststoreCertificates, Type: TypePassword, NoDefault: true, Mode: ModeReadOnly,
		Doc: "The trusted certificates in PEM, inline (with ssl.truststore.type=PEM, instead of ssl.truststore.location)."},
	{Name: SslClientAuth, Type: TypeString, Default: "none", Valid: OneOf("none", "requested", "required"), Mode: ModeReadOnly,
		Doc: "Whether TLS clients must present a certificate: required (refused without one), requested (verified if " +
			"given) or none. A verified certificate's subject, mapped by ssl.principal.mapping.rules, is the principal."},
	{Name: SslEnabledProtocols, Type: TypeList, Default: "TLSv1.2,TLSv1.3", Valid: ListOf(false, "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"), Mode: ModeReadOnly,
		Doc: "TLS versions accepted (and offered by inter-broker connections); the lowest and highest listed bound the range."},
	{Name: SslProtocol, Type: TypeString, Default: "TLSv1.3", Valid: OneOf("TLS", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"), Mode: ModeReadOnly,
		Doc: "The highest TLS version (Java's SSLContext protocol): TLSv1.2 caps ssl.enabled.protocols at TLS 1.2."},
	{Name: SslCipherSuites, Type: TypeList, Default: "", Mode: ModeReadOnly,
		Doc: "Cipher suites by IANA name (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, …) for TLS 1.2 and below; an unknown name " +
			"is a start error. Empty: Go's defaults. TLS 1.3's suites are not configurable in Go and are always enabled."},
	{Name: SslEndpointIdentificationAlgorithm, Type: TypeString, Default: "https", Mode: ModeReadOnly,
		Doc: "How inter-broker connections check the other broker's certificate: https verifies that it names the host " +
			"dialled; empty checks only that it chains to the truststore."},
	{Name: SslPrincipalMappingRules, Type: TypeString, Default: "DEFAULT", Mode: ModeReadOnly,
		Doc: "How a client certificate's subject (its RFC 2253 DN, e.g. CN=alice,OU=eng,O=acme) becomes the principal's name " +
			"(KIP-371): RULE:pattern/replacement/ with an optional L or U (lower or upper case), tried in order, and " +
			"DEFAULT (the DN itself). A DN no rule matches is refused."},
	{Name: FetchMaxBytes, Type: TypeInt, Default: "57671680", Valid: AtLeast(1024), Mode: ModeReadOnly,
		Doc: "Upper bound on the bytes of one Fetch response, whatever the client asks for."},

	// Defaults of topic configs (synonyms).
	{Name: LogCleanupPolicy, Type: TypeList, Default: CleanupPolicyDelete,
		Valid: ListOf(false, CleanupPolicyCompact, CleanupPolicyDelete), Mode: ModeClusterWide,
		Doc: "Default of cleanup.policy."},
	{Name: CompressionType, Type: TypeString, Default: CompressionProducer, Valid: compressionTypes, Mode: ModeClusterWide,
		Doc: "Default of the topic config compression.type."},
	{Name: CompressionGzipLevel, Type: TypeInt, Default: "-1", Valid: gzipLevel, Mode: ModeClusterWide,
		Doc: "Default of the topic config compression.gzip.level."},
	{Name: CompressionLz4Level, Type: TypeInt, Default: "9", Valid: lz4Level, Mode: ModeClusterWide,
		Doc: "Default of the topic config compression.lz4.level."},
	{Name: CompressionZstdLevel, Type: TypeInt, Default: "3", Valid: zstdLevel, Mode: ModeClusterWide,
		Doc: "Default of the topic config compression.zstd.level."},
	{Name: MinInsyncReplicas, Type: TypeInt, Default: "1", Valid: AtLeast(1), Mode: ModeClusterWide,
		Doc: "Default of min.insync.replicas."},
	{Name: UncleanLeaderElectionEnable, Type: TypeBoolean, Default: "false", Mode: ModeClusterWide,
		Doc: "Default of unclean.leader.election.enable."},
	{Name: LogSegmentBytes, Type: TypeInt, Default: "1073741824", Valid: AtLeast(1 << 20), Mode: ModeClusterWide,
		Doc: "Default of segment.bytes."},
	{Name: LogRollMs, Type: TypeLong, NoDefault: true, Valid: AtLeast(1), Mode: ModeClusterWide,
		Doc: "Default of segment.ms. If unset, log.roll.hours applies."},
	{Name: LogRollHours, Type: TypeInt, Default: "168", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Default of segment.ms in hours, used when log.roll.ms is unset."},
	{Name: LogRollJitterMs, Type: TypeLong, NoDefault: true, Valid: AtLeast(0), Mode: ModeClusterWide,
		Doc: "Default of segment.jitter.ms. If unset, log.roll.jitter.hours applies."},
	{Name: LogRollJitterHours, Type: TypeInt, Default: "0", Valid: AtLeast(0), Mode: ModeReadOnly,
		Doc: "Default of segment.jitter.ms in hours, used when log.roll.jitter.ms is unset."},
	{Name: LogRetentionMs, Type: TypeLong, NoDefault: true, Valid: AtLeast(-1), Mode: ModeClusterWide,
		Doc: "Default of retention.ms; -1 means no time limit. If unset, log.retention.minutes applies."},
	{Name: LogRetentionMinutes, Type: TypeInt, NoDefault: true, Mode: ModeReadOnly,
		Doc: "Default of retention.ms in minutes, used when log.retention.ms is unset. If unset too, log.retention.hours applies."},
	{Name: LogRetentionHours, Type: TypeInt, Default: "168", Mode: ModeReadOnly,
		Doc: "Default of retention.ms in hours (7 days), used when neither log.retention.ms nor log.retention.minutes is set."},
	{Name: LogRetentionBytes, Type: TypeLong, Default: "-1", Mode: ModeClusterWide,
		Doc: "Default of retention.bytes; -1 means no size limit."},
	{Name: LogRetentionCheckIntervalMs, Type: TypeLong, Default: "300000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "How often the broker looks for segments that retention should delete."},
	{Name: LogIndexSizeMaxBytes, Type: TypeInt, Default: "10485760", Valid: AtLeast(4), Mode: ModeClusterWide,
		Doc: "Default of segment.index.bytes."},
	{Name: LogIndexIntervalBytes, Type: TypeInt, Default: "4096", Valid: AtLeast(0), Mode: ModeClusterWide,
		Doc: "Default of index.interval.bytes."},
	{Name: LogFlushIntervalMessages, Type: TypeLong, Default: longMax, Valid: AtLeast(1), Mode: ModeClusterWide,
		Doc: "Default of flush.messages."},
	{Name: LogFlushIntervalMs, Type: TypeLong, NoDefault: true, Mode: ModeClusterWide,
		Doc: "Default of flush.ms. If unset, log.flush.scheduler.interval.ms applies."},
	{Name: LogFlushSchedulerIntervalMs, Type: TypeLong, Default: longMax, Mode: ModeReadOnly,
		Doc: "How often the broker checks whether a log is due for a time-based flush (flush.ms); also the fallback default " +
			"of flush.ms. Kafka's default never checks, which leaves flush.ms without effect; while this is unset " +
			"Sluice checks every second."},
	{Name: LogFlushOffsetCheckpointIntervalMs, Type: TypeInt, Default: "60000", Valid: AtLeast(0), Mode: ModeReadOnly,
		Doc: "How often the recovery point (the offset up to which data is known flushed) is checkpointed."},
	{Name: LogSegmentDeleteDelayMs, Type: TypeLong, Default: "60000", Valid: AtLeast(0), Mode: ModeClusterWide,
		Doc: "Default of file.delete.delay.ms."},
	{Name: LogPreallocate, NoEffect: true, Type: TypeBoolean, Default: "false", Mode: ModeClusterWide,
		Doc: "Default of preallocate."},
	{Name: LogMessageTimestampType, Type: TypeString, Default: TimestampCreateTime,
		Valid: OneOf(TimestampCreateTime, TimestampLogAppendTime), Mode: ModeClusterWide,
		Doc: "Default of message.timestamp.type."},
	{Name: LogMessageTimestampBeforeMaxMs, Type: TypeLong, Default: longMax, Valid: AtLeast(0), Mode: ModeClusterWide,
		Doc: "Default of message.timestamp.before.max.ms."},
	{Name: LogMessageTimestampAfterMaxMs, Type: TypeLong, Default: "3600000", Valid: AtLeast(0), Mode: ModeClusterWide,
		Doc: "Default of message.timestamp.after.max.ms."},
	{Name: LogMessageDownconversionEnable, Type: TypeBoolean, Default: "true", Mode: ModeClusterWide,
		Doc: "Default of message.downconversion.enable."},
	{Name: LogLocalRetentionMs, NoEffect: true, Type: TypeLong, Default: "-2", Valid: AtLeast(-2), Mode: ModeClusterWide,
		Doc: "Default of local.retention.ms."},
	{Name: LogLocalRetentionBytes, NoEffect: true, Type: TypeLong, Default: "-2", Valid: AtLeast(-2), Mode: ModeClusterWide,
		Doc: "Default of local.retention.bytes."},

	// Compaction.
	{Name: LogCleanerEnable, Type: TypeBoolean, Default: "true", Mode: ModeReadOnly,
		Doc: "Run the cleaner that compacts topics with cleanup.policy=compact."},
	{Name: LogCleanerThreads, Type: TypeInt, Default: "1", Valid: AtLeast(0), Mode: ModeClusterWide,
		Doc: "Number of concurrent compactions."},
	{Name: LogCleanerBackoffMs, Type: TypeLong, Default: "15000", Valid: AtLeast(0), Mode: ModeClusterWide,
		Doc: "Pause of the cleaner when no log needs compacting."},
	{Name: LogCleanerDedupeBufferSize, Type: TypeLong, Default: "134217728", Mode: ModeClusterWide,
		Doc: "Memory for the key map of compaction, shared by all cleaner threads."},
	{Name: LogCleanerIOMaxBytesPerSecond, Type: TypeDouble, Default: "1.7976931348623157e+308", Mode: ModeClusterWide,
		Doc: "Bytes per second the cleaner may read and write, all cleaner threads together (the default is no limit)."},
	{Name: LogCleanerIOBufferSize, Type: TypeInt, Default: "524288", Valid: AtLeast(0), Mode: ModeClusterWide,
		Doc: "Read and write buffer memory of the cleaner, shared by all cleaner threads."},
	{Name: LogCleanerDeleteRetentionMs, Type: TypeLong, Default: "86400000", Valid: AtLeast(0), Mode: ModeClusterWide,
		Doc: "Default of delete.retention.ms."},
	{Name: LogCleanerMinCompactionLagMs, Type: TypeLong, Default: "0", Valid: AtLeast(0), Mode: ModeClusterWide,
		Doc: "Default of min.compaction.lag.ms."},
	{Name: LogCleanerMaxCompactionLagMs, Type: TypeLong, Default: longMax, Valid: AtLeast(1), Mode: ModeClusterWide,
		Doc: "Default of max.compaction.lag.ms."},
	{Name: LogCleanerMinCleanableRatio, Type: TypeDouble, Default: "0.5", Valid: FloatBetween(0, 1), Mode: ModeClusterWide,
		Doc: "Default of min.cleanable.dirty.ratio."},

	// Replication.
	{Name: ReplicaLagTimeMaxMs, Type: TypeLong, Default: "30000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "A follower that has not caught up with the leader's log end for this long leaves the ISR."},
	{Name: ReplicaFetchMaxBytes, Type: TypeInt, Default: "1048576", Valid: AtLeast(0), Mode: ModeReadOnly,
		Doc: "Bytes a follower asks for per partition in one fetch (at least one batch is always returned)."},
	{Name: ReplicaFetchResponseMaxBytes, Type: TypeInt, Default: "10485760", Valid: AtLeast(0), Mode: ModeReadOnly,
		Doc: "Bytes a follower asks for in one whole fetch response."},
	{Name: ReplicaFetchWaitMaxMs, Type: TypeInt, Default: "500", Mode: ModeReadOnly,
		Doc: "How long a follower's fetch waits on the leader for new data."},
	{Name: ReplicaFetchMinBytes, Type: TypeInt, Default: "1", Mode: ModeReadOnly,
		Doc: "Bytes a follower's fetch waits for before the leader answers."},
	{Name: ReplicaFetchBackoffMs, Type: TypeInt, Default: "1000", Valid: AtLeast(0), Mode: ModeReadOnly,
		Doc: "Pause of a follower after a failed fetch."},
	{Name: ReplicaHighWatermarkCheckpointIntervalMs, Type: TypeLong, Default: "5000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "How often every hosted partition's high watermark is written to replication-offset-checkpoint (also at shutdown)."},
	{Name: LeaderReplicationThrottledRate, Type: TypeLong, Default: longMax, Valid: AtLeast(1), Mode: ModePerBroker,
		Doc: "Bytes per second this broker, as leader, sends to followers that are not in the ISR of the partitions a topic's " +
			"leader.replication.throttled.replicas names (reassignment catch-up, a restarted replica); in-sync followers are never throttled."},
	{Name: FollowerReplicationThrottledRate, Type: TypeLong, Default: longMax, Valid: AtLeast(1), Mode: ModePerBroker,
		Doc: "Bytes per second this broker, as a follower not in the ISR, fetches for the partitions a topic's " +
			"follower.replication.throttled.replicas names; in-sync replicas are never throttled."},
	{Name: QuotaWindowNum, Type: TypeInt, Default: "11", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Samples client quotas keep: a client's rate is measured over this many windows (its latest quota.window.num-1 whole ones at least)."},
	{Name: QuotaWindowSizeSeconds, Type: TypeInt, Default: "1", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Length of one client quota window in seconds."},
	{Name: NumReplicaFetchers, NoEffect: true, Type: TypeInt, Default: "1", Mode: ModeClusterWide,
		Doc: "Fetcher connections a follower opens per source broker." +
			" Accepted; Sluice always runs one fetcher per source broker, Kafka's default."},
	{Name: AutoLeaderRebalanceEnable, Type: TypeBoolean, Default: "true", Mode: ModeReadOnly,
		Doc: "The active controller moves leadership back to each partition's preferred (first) replica, when that" +
			" replica is active and in the ISR, for every broker whose imbalance exceeds leader.imbalance.per.broker.percentage."},
	{Name: LeaderImbalanceCheckIntervalSeconds, Type: TypeLong, Default: "300", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "How often the controller checks for partitions not led by their preferred replica."},
	{Name: LeaderImbalancePerBrokerPercentage, Type: TypeInt, Default: "10", Valid: AtLeast(0), Mode: ModeReadOnly,
		Doc: "A broker's leader imbalance is the share of the partitions it is preferred for that it does not lead;" +
			" above this percentage the controller elects it back as their leader (auto.leader.rebalance.enable)."},

	// Consumer groups.
	{Name: OffsetsTopicNumPartitions, Type: TypeInt, Default: "50", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Partitions of __consumer_offsets. Fixed once the topic exists."},
	{Name: OffsetsTopicReplicationFactor, Type: TypeShort, Default: "3", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Replication factor of __consumer_offsets. While fewer brokers are alive the topic is not " +
			"created and FindCoordinator answers COORDINATOR_NOT_AVAILABLE, as in Kafka. A node started " +
			"without other voters sets 1 unless configured (as Kafka's single-node server.properties)."},
	{Name: OffsetsTopicSegmentBytes, Type: TypeInt, Default: "104857600", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "segment.bytes of __consumer_offsets, kept small so compaction and loading stay quick."},
	{Name: OffsetsTopicCompressionCodec, Type: TypeInt, Default: "0", Valid: Between(0, 4), Mode: ModeReadOnly,
		Doc: "Codec of the batches the group coordinator writes to __consumer_offsets (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)."},
	{Name: OffsetsRetentionMinutes, Type: TypeInt, Default: "10080", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Committed offsets of a group that has been empty this long are removed."},
	{Name: OffsetsRetentionCheckIntervalMs, Type: TypeLong, Default: "600000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "How often expired offsets are looked for."},
	{Name: OffsetsCommitTimeoutMs, Type: TypeInt, Default: "5000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "A write of the group coordinator (an offset commit, a group's metadata) waits at most this long to be committed " +
			"in __consumer_offsets; past it the client gets COORDINATOR_NOT_AVAILABLE and retries."},
	{Name: OffsetsLoadBufferSize, Type: TypeInt, Default: "5242880", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Read size used when a coordinator loads a __consumer_offsets partition (at least one whole batch is read)."},
	{Name: GroupInitialRebalanceDelayMs, Type: TypeInt, Default: "3000", Mode: ModeReadOnly,
		Doc: "A new classic group waits this long for more members before its first rebalance."},
	{Name: GroupMinSessionTimeoutMs, Type: TypeInt, Default: "6000", Mode: ModeReadOnly,
		Doc: "Smallest session timeout a classic group member may ask for."},
	{Name: GroupMaxSessionTimeoutMs, Type: TypeInt, Default: "1800000", Mode: ModeReadOnly,
		Doc: "Largest session timeout a classic group member may ask for."},
	{Name: GroupMaxSize, Type: TypeInt, Default: intMax, Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Most members a classic group may have."},
	{Name: GroupCoordinatorRebalanceProtocols, Type: TypeList, Default: "classic,consumer",
		Valid: ListOf(false, "classic", "consumer", "share", "streams"), Mode: ModeReadOnly,
		Doc: "Group protocols the coordinator serves: classic (JoinGroup/SyncGroup) and consumer (KIP-848)."},
	{Name: GroupConsumerSessionTimeoutMs, Type: TypeInt, Default: "45000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Session timeout of members of consumer-protocol (KIP-848) groups."},
	{Name: GroupConsumerHeartbeatIntervalMs, Type: TypeInt, Default: "5000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Heartbeat interval the coordinator gives members of consumer-protocol groups."},
	{Name: GroupConsumerMinSessionTimeoutMs, Type: TypeInt, Default: "45000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Smallest session timeout of consumer-protocol groups: the broker does not start with a smaller " +
			"group.consumer.session.timeout.ms (Sluice has no per-group overrides for it to bound)."},
	{Name: GroupConsumerMaxSessionTimeoutMs, Type: TypeInt, Default: "60000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Largest session timeout of consumer-protocol groups: the broker does not start with a larger " +
			"group.consumer.session.timeout.ms."},
	{Name: GroupConsumerMinHeartbeatIntervalMs, Type: TypeInt, Default: "5000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Smallest heartbeat interval of consumer-protocol groups: the broker does not start with a smaller " +
			"group.consumer.heartbeat.interval.ms."},
	{Name: GroupConsumerMaxHeartbeatIntervalMs, Type: TypeInt, Default: "15000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Largest heartbeat interval of consumer-protocol groups: the broker does not start with a larger " +
			"group.consumer.heartbeat.interval.ms."},
	{Name: GroupConsumerMaxSize, Type: TypeInt, Default: intMax, Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Most members a consumer-protocol group may have."},
	{Name: GroupConsumerAssignors, Type: TypeList, Default: "uniform,range", Valid: ListOf(false, "uniform", "range"), Mode: ModeReadOnly,
		Doc: "Server-side assignors of consumer-protocol groups; the first is the default."},

	// Share groups (KIP-932): membership in the group coordinator, delivery in the
	// share-partition leaders. A group's own configs (share.*) override the defaults within
	// the min/max bounds.
	{Name: GroupShareSessionTimeoutMs, Type: TypeInt, Default: "45000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Session timeout of share group members: a member not heard from for this long is removed."},
	{Name: GroupShareMinSessionTimeoutMs, Type: TypeInt, Default: "45000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Smallest share group session timeout (group.share.session.timeout.ms and the group config share.session.timeout.ms)."},
	{Name: GroupShareMaxSessionTimeoutMs, Type: TypeInt, Default: "60000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Largest share group session timeout."},
	{Name: GroupShareHeartbeatIntervalMs, Type: TypeInt, Default: "5000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Heartbeat interval the coordinator gives share group members."},
	{Name: GroupShareMinHeartbeatIntervalMs, Type: TypeInt, Default: "5000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Smallest share group heartbeat interval (group.share.heartbeat.interval.ms and the group config share.heartbeat.interval.ms)."},
	{Name: GroupShareMaxHeartbeatIntervalMs, Type: TypeInt, Default: "15000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Largest share group heartbeat interval."},
	{Name: GroupShareMaxSize, Type: TypeInt, Default: "200", Valid: Between(1, 1000), Mode: ModeReadOnly,
		Doc: "Most members a share group may have: a new member gets GROUP_MAX_SIZE_REACHED."},
	{Name: GroupShareAssignors, Type: TypeList, Default: "simple", Valid: ListOf(false, "simple"), Mode: ModeReadOnly, NoEffect: true,
		Doc: "Share group assignors: only Kafka's simple assignor (a partition may be shared by several members), so there is no choice to make."},
	{Name: GroupShareRecordLockDurationMs, Type: TypeInt, Default: "30000", Valid: Between(1000, 3600000), Mode: ModeReadOnly,
		Doc: "How long a record delivered to a share group member stays acquired before it is available again."},
	{Name: GroupShareMinRecordLockDurationMs, Type: TypeInt, Default: "15000", Valid: Between(1000, 30000), Mode: ModeReadOnly,
		Doc: "Smallest record lock duration (group.share.record.lock.duration.ms and the group config share.record.lock.duration.ms)."},
	{Name: GroupShareMaxRecordLockDurationMs, Type: TypeInt, Default: "60000", Valid: Between(30000, 3600000), Mode: ModeReadOnly,
		Doc: "Largest record lock duration."},
	{Name: GroupShareDeliveryCountLimit, Type: TypeInt, Default: "5", Valid: Between(2, 10), Mode: ModeReadOnly,
		Doc: "Deliveries of a record to a share group before it is archived (not delivered again)."},
	{Name: GroupSharePartitionMaxRecordLocks, Type: TypeInt, Default: "2000", Valid: Between(100, 10000), Mode: ModeReadOnly,
		Doc: "Records of one share-partition that may be in flight (acquired) at once."},
	{Name: GroupShareMaxShareSessions, Type: TypeInt, Default: "2000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Share sessions (one per share group member fetching here) this broker keeps; a new one past it gets SHARE_SESSION_LIMIT_REACHED."},

	// Transactions and producer ids.
	{Name: TransactionStateLogNumPartitions, Type: TypeInt, Default: "50", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Partitions of __transaction_state. Fixed once the topic exists."},
	{Name: TransactionStateLogReplication, Type: TypeShort, Default: "3", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Replication factor of __transaction_state. While fewer brokers are alive the topic is not " +
			"created and FindCoordinator answers COORDINATOR_NOT_AVAILABLE, as in Kafka. A node started " +
			"without other voters sets 1 unless configured (as Kafka's single-node server.properties)."},
	{Name: TransactionStateLogMinIsr, Type: TypeInt, Default: "2", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "min.insync.replicas of __transaction_state. A node started without other voters sets 1 " +
			"unless configured (as Kafka's single-node server.properties)."},
	{Name: TransactionStateLogSegmentBytes, Type: TypeInt, Default: "104857600", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "segment.bytes of __transaction_state."},
	{Name: TransactionMaxTimeoutMs, Type: TypeInt, Default: "900000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Largest transaction timeout a producer may ask for."},
	{Name: TransactionalIDExpirationMs, Type: TypeInt, Default: "604800000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "A transactional id unused this long is forgotten."},
	{Name: TransactionAbortTimedOutTransactionCleanupIntervalMs, Type: TypeInt, Default: "10000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "How often timed-out transactions are looked for and aborted."},
	{Name: TransactionRemoveExpiredTransactionCleanupIntervalMs, Type: TypeInt, Default: "3600000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "How often expired transactional ids are removed."},
	{Name: ProducerIDExpirationMs, Type: TypeInt, Default: "86400000", Valid: AtLeast(1), Mode: ModeClusterWide,
		Doc: "A producer id that has not written to a partition for this long is forgotten by that partition."},
	{Name: ProducerIDExpirationCheckIntervalMs, Type: TypeInt, Default: "600000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "How often expired producer ids are looked for."},

	// The share coordinator (KIP-932): share groups' delivery state in __share_group_state.
	{Name: ShareCoordinatorStateTopicNumPartitions, Type: TypeInt, Default: "50", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Partitions of __share_group_state. Fixed once the topic exists."},
	{Name: ShareCoordinatorStateTopicReplicationFactor, Type: TypeShort, Default: "3", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Replication factor of __share_group_state. While fewer brokers are alive the topic is not created " +
			"and share groups' state cannot be written (COORDINATOR_NOT_AVAILABLE). A node started without other " +
			"voters sets 1 unless configured (as Kafka's single-node server.properties)."},
	{Name: ShareCoordinatorStateTopicMinIsr, Type: TypeShort, Default: "2", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "min.insync.replicas of __share_group_state. A node started without other voters sets 1 unless " +
			"configured (as Kafka's single-node server.properties)."},
	{Name: ShareCoordinatorStateTopicSegmentBytes, Type: TypeInt, Default: "104857600", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "segment.bytes of __share_group_state."},
	{Name: ShareCoordinatorStateTopicCompressionCodec, Type: TypeInt, Default: "0", Valid: Between(0, 4), Mode: ModeReadOnly,
		Doc: "Compression of the share coordinator's record batches (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)."},
	{Name: ShareCoordinatorSnapshotUpdateRecordsPerSnapshot, Type: TypeInt, Default: "500", Valid: Between(0, 500), Mode: ModeReadOnly,
		Doc: "ShareUpdate records written for a share-partition before the next write is a whole ShareSnapshot."},
	{Name: ShareCoordinatorWriteTimeoutMs, Type: TypeInt, Default: "5000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "How long a share coordinator write waits for its record to be committed in __share_group_state."},
	{Name: ShareCoordinatorLoadBufferSize, Type: TypeInt, Default: "5242880", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "Read size when loading a __share_group_state partition on becoming its leader."},
	{Name: ShareCoordinatorStateTopicPruneIntervalMs, Type: TypeLong, Default: "300000", Valid: AtLeast(1), Mode: ModeReadOnly,
		Doc: "How often the share coordinator deletes the records of each __share_group_state partition it leads below the " +
			"oldest ShareSnapshot a share-partition still needs (the topic has unlimited retention)."},

	// Sluice's own.
	{Name: SluiceGroupCommit, Type: TypeBoolean, Default: "false", Mode: ModeReadOnly,
		Doc: "Fsync appended batches before acknowledging them, sharing one fsync among the requests " +
			"that arrive meanwhile (group commit). Off by default, as in Kafka, where durability comes from replication."},
	{Name: SluiceProtocolLegacyVersionsEnable, Type: TypeBoolean, Default: "true", Mode: ModeClusterWide,
		Doc: "Serve the request versions Kafka 3.9 served and Kafka 4.0 removed (KIP-896: ListOffsets v0, " +
			"OffsetCommit v0–1, OffsetFetch v0, CreateTopics v0–1, …), which older clients and tools still send. " +
			"Off: only Kafka 4's versions are served and advertised in ApiVersions; a request at a removed version " +
			"closes its connection (ApiVersions answers UNSUPPORTED_VERSION), as in Kafka 4. Takes effect for new requests at once."},
}
