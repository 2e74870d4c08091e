package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/httpapi"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/quorum"
	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/replica"
	"github.com/sluicehq/sluice/internal/security/acl"
	"github.com/sluicehq/sluice/internal/security/quota"
	"github.com/sluicehq/sluice/internal/security/sasl"
	"github.com/sluicehq/sluice/internal/security/tlsconf"
	"github.com/sluicehq/sluice/internal/share"
	sharecoord "github.com/sluicehq/sluice/internal/share/coordinator"
	"github.com/sluicehq/sluice/internal/storage"
	"github.com/sluicehq/sluice/internal/txn"
	"github.com/sluicehq/sluice/internal/vfs"
)

// Config is what a broker process is started with.
type Config struct {
	NodeID int32
	// DataDir holds partition logs and, in __cluster_metadata, the metadata quorum's Raft log.
	DataDir string
	// KafkaAddr is the Kafka listener (host:port; port 0 picks one).
	KafkaAddr string
	// AdvertisedAddr is the host:port clients are told to use; empty means the bound KafkaAddr.
	AdvertisedAddr string
	// HTTPAddr is the metrics and health listener; empty disables it.
	HTTPAddr string
	// Console serves the web console (internal/console) at / of the HTTP listener.
	Console bool
	// ConsoleConnectURL is the Kafka Connect REST API the console manages connectors through
	// ("" hides the connectors pages).
	ConsoleConnectURL string
	// SchemaRegistryAddr is the schema registry's listener (host:port; port 0 picks one);
	// empty disables the registry on this node (schema_registry.go).
	SchemaRegistryAddr string
	// ControllerAddr is the metadata quorum's Raft listener: where it listens and what the other
	// voters are told (their --peers name it).
	ControllerAddr string
	// ControllerListenAddr, if set, is where the controller listener binds instead, while
	// ControllerAddr stays the address others dial (a proxy in front of it, as the
	// fault-injection tests put one).
	ControllerListenAddr string
	// Peers are the other quorum voters as id@host:port; none makes a one-voter quorum.
	Peers []string
	// Overrides are static broker configs under Kafka's names (log.retention.ms, ...).
	Overrides map[string]string
	// AddScram are SCRAM credentials written into the metadata when this node creates the
	// cluster, in kafka-storage format --add-scram syntax
	// ('SCRAM-SHA-256=[name=admin,password=admin-secret]'); ignored for an existing cluster.
	AddScram []string
	Logger   *slog.Logger
	// FS is the file system for partition logs; nil means the real one.
	FS vfs.FS
}

// Broker is a running Sluice node.
type Broker struct {
	// quotas enforces client quotas on every listener (quotaManager); built once at start.
	quotas   *quota.Manager
	cfg      Config
	logger   *slog.Logger
	static   map[string]string // validated static broker configs, canonical form
	registry *prometheus.Registry
	metrics  *metrics.Metrics // request, traffic and connection metrics

	saslMetrics     *sasl.Metrics            // authentications by listener and mechanism (sasl.go)
	tokenValidators []*sasl.TokenValidator   // OAUTHBEARER JWKS refreshers, closed at shutdown
	interBrokerSASL *cluster.SASLCredentials // nil unless the inter-broker listener is SASL (sasl.go)
	// httpTokenValidator validates the HTTP listener's bearer tokens (http_security.go); closed
	// after the HTTP listener.
	httpTokenValidator *sasl.TokenValidator
	// openedQuorum is quorum once it is open, for the HTTP listener's goroutines, which start
	// before it (httpImage).
	openedQuorum atomic.Pointer[quorum.Quorum]

	roles      roles
	quorum     *quorum.Quorum
	controller *metadata.Controller // this node's controller; it acts only while active
	remote     *cluster.Controller  // the active controller, wherever it is (this node's own requests)
	cp         controlPlane
	storage    *storage.Manager
	partitions *partition.Manager
	replicas   *replica.Manager // this node's follower replicas' fetchers
	isr        *isrLoop         // ISR shrinks and expansions of the partitions this node leads (isr.go)
	replClient *cluster.Client  // the fetchers' connections to the leaders' Kafka listeners
	// leaderThrottle and followerThrottle are leader/follower.replication.throttled.rate.
	leaderThrottle, followerThrottle *replica.Throttle
	// stopHWCheckpoint ends the replication-offset-checkpoint writer; hwCheckpointDone closes
	// when it has.
	stopHWCheckpoint, hwCheckpointDone chan struct{}
	groups                             *group.Coordinator
	txns                               *txn.Coordinator
	shares                             *sharecoord.Coordinator // the share coordinator (sharestate.go)
	env                                *api.Env                // what the Kafka API handlers reach
	stopShares                         func()                  // stops the share-partition leader's lock timeouts
	// listenerSet is the resolved listener configs; listeners are the Kafka listeners, bound
	// by listen (so that the advertised addresses are known for registration) and served by
	// serve (after the broker is unfenced), in listeners' order (listeners.go).
	listenerSet    *config.ListenerSet
	legacyListener bool // the --kafka-addr listener, advertised as bound
	listeners      []*kafkaListener
	// interBrokerTLS is the TLS client side of connections to other brokers' inter-broker
	// listener (nil when it is not SSL or SASL_SSL); markerClient carries transaction markers
	// over it (the control plane's client stays plain).
	interBrokerTLS func(addr string) *tls.Config
	tlsMetrics     *tlsconf.Metrics // registered once a TLS listener or client exists
	markerClient   *cluster.Client
	// ctlSec secures the controller address (controller_security.go).
	ctlSec controllerSecurity
	http   *httpapi.Server
	// consoleSlot is the web console's handler on the HTTP listener (console.go), nil when off.
	consoleSlot *consoleSlot
	// httpSec is the HTTP listener's authentication and TLS, built once (httpSecurity): the
	// schema registry's listener uses them too.
	httpSec struct {
		done bool
		auth *httpapi.Auth
		tls  *tls.Config
	}
	// schemas is the schema registry (schema_registry.go), nil when --schema-registry-addr is
	// empty. Its state (the registry.Applier the store feeds) is schemas.applier.
	schemas *schemaRegistry

	unsubscribe func()
	// authorizer is the ACL authorizer (authorizer.class.name), nil when none; unfollowACLs
	// ends its subscription to the quorum's Images (authorizer.go).
	authorizer   *acl.Authorizer
	bootstrap    []metadata.Record // --add-scram credentials for a new cluster (authorizer.go)
	unfollowACLs func()
	// versions serves or refuses the request versions Kafka 4 removed (both listeners'
	// Env.Versions); unfollowVersions ends its subscription to the quorum's Images (versions.go).
	versions         api.VersionGate
	unfollowVersions func()
	ready            atomic.Bool
	// phase is what Start is doing, for /readyz's answer until ready (stored after the fields
	// that phase's check reads are set).
	phase     atomic.Pointer[string]
	closeOnce sync.Once
	closeErr  error

	// cleanerPartitions is partitions for the log cleaner's goroutines, which start with
	// storage (before partitions exists) and ask it for each log's cleanable limit.
	cleanerPartitions atomic.Pointer[partition.Manager]
}

// Start builds and starts a broker; on error everything already started is stopped again.
func Start(ctx context.Context, cfg Config) (_ *Broker, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.FS == nil {
		cfg.FS = vfs.OS
	}
	static, err := config.ValidateBrokerStatic(cfg.Overrides)
	if err != nil {
		return nil, fmt.Errorf("broker configs: %w", err)
	}
	describeIdentity(static, cfg)
	applySingleNodeDefaults(static, cfg)
	b := &Broker{cfg: cfg, logger: cfg.Logger, static: static, registry: prometheus.NewRegistry()}
	b.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	b.metrics = metrics.New(b.registry)
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	brokerCfg := config.ResolveBroker(config.Layers{Static: static})
	if err := checkConsumerGroupBounds(brokerCfg); err != nil {
		return nil, fmt.Errorf("broker configs: %w", err)
	}
	if err := checkShareGroupBounds(brokerCfg); err != nil {
		return nil, fmt.Errorf("broker configs: %w", err)
	}
	if b.listenerSet, b.legacyListener, err = resolveListeners(cfg, brokerCfg); err != nil {
		return nil, err
	}
	if err := b.startInterBrokerTLS(brokerCfg); err != nil {
		return nil, fmt.Errorf("broker configs: %w", err)
	}
	if b.interBrokerSASL, err = b.interBrokerCredentials(brokerCfg); err != nil {
		return nil, err
	}
	if err := b.startControllerSecurity(brokerCfg); err != nil {
		return nil, fmt.Errorf("broker configs: %w", err)
	}
	if b.cfg.ControllerAddr == "" && len(b.listenerSet.Controller) > 0 {
		b.cfg.ControllerAddr = b.listenerSet.Controller[0].Addr() // listeners' CONTROLLER://host:port
	}
	// /metrics and /readyz answer from the start: until ready, /readyz says what the start
	// waits for (most often the metadata quorum's other voters).
	b.setPhase(phaseQuorum)
	// The authorizer first: the HTTP listener asks it too.
	if err := b.newAuthorizer(brokerCfg); err != nil {
		return nil, err
	}
	if err := b.startHTTP(brokerCfg); err != nil {
		return nil, err
	}

	b.roles = parseRoles(brokerCfg)
	bootstrap, err := bootstrapScram(cfg.AddScram)
	if err != nil {
		return nil, err
	}
	b.bootstrap = bootstrap
	if err := b.openQuorum(ctx, brokerCfg); err != nil {
		return nil, err
	}
	if b.roles.controller {
		b.startFencing(time.Duration(brokerCfg.Int64(config.BrokerSessionTimeoutMs)) * time.Millisecond)
	}
	if !b.roles.broker {
		// A dedicated controller: the quorum and the controller listener, no partitions.
		b.registry.MustRegister(metrics.NewClusterCollector(metrics.ClusterSource{Image: b.quorum.Image, IsController: b.quorum.Active, QuorumLeader: b.quorum.Leader, QuorumEpoch: b.quorum.Epoch}))
		b.ready.Store(true)
		return b, nil
	}
	b.remote = cluster.NewController(b.controller, b.cp.client, cfg.NodeID, b.brokerEpoch)
	b.setPhase(phaseLogs)
	if err := b.openStorage(brokerCfg); err != nil {
		return nil, err
	}
	b.partitions = partition.NewManager(partition.ManagerOptions{NodeID: cfg.NodeID, Storage: b.storage, Logger: b.logger,
		ProducerIDExpirationMs:              brokerCfg.Int64(config.ProducerIDExpirationMs),
		ProducerIDExpirationCheckIntervalMs: brokerCfg.Int64(config.ProducerIDExpirationCheckIntervalMs)})
	b.cleanerPartitions.Store(b.partitions)
	b.groups = group.New(b.groupConfig(brokerCfg))
	b.txns = txn.New(b.txnConfig(brokerCfg))
	b.groups.SetTxnAborter(b.txns) // transactions abandoned by members gone from their group
	b.env = &api.Env{
		NodeID:          cfg.NodeID,
		Logger:          b.logger,
		StaticConfig:    static,
		Metadata:        b.quorum,
		Controller:      b.remote,
		Forwarder:       b.cp.client,
		Partitions:      b.partitions,
		FetchSessions:   api.NewFetchSessions(1000),
		LogDir:          cfg.DataDir,
		FetchMaxBytes:   brokerCfg.Int(config.FetchMaxBytes),
		ReplicaSelector: brokerCfg.String(config.ReplicaSelectorClass),
		TopicMetrics:    b.metrics,
		Groups:          b.groups,
		ShareMembership: b.groups,
		Txns:            b.txns,
		Quorum:          b.quorum,
		Authorizer:      b.apiAuthorizer(),
		Versions:        &b.versions,
		SchemaIDs:       schemaIDValidator(cfg.SchemaRegistryAddr), // registry set in startRegistry
	}
	b.env.Quotas = b.quotaManager(brokerCfg)
	b.startShareState(brokerCfg)
	b.startShareLeader(b.env.SharePersister, b.env.ShareMembership, int(brokerCfg.Int(config.GroupShareMaxShareSessions)))
	b.registry.MustRegister(metrics.NewPartitionCollector(b.partitions, b.quorum.Image, cfg.NodeID))
	b.registry.MustRegister(metrics.NewLagCollector(b.groups, b.partitions))
	b.registry.MustRegister(metrics.NewClusterCollector(metrics.ClusterSource{Image: b.quorum.Image, IsController: b.quorum.Active,
		QuorumLeader: b.quorum.Leader, QuorumEpoch: b.quorum.Epoch}))
	b.dropOrphanLogs(b.quorum.Image())
	b.startReplication(brokerCfg)
	b.startISR(brokerCfg)
	b.unsubscribe = b.quorum.Subscribe(b.reconcile)
	// The first reconcile reopened the hosted __consumer_offsets partitions: load their offsets
	// before any client can ask for them.
	if err := group.LoadPartitions(b.groups, b.partitions); err != nil {
		b.logger.Warn("loading committed offsets", "err", err)
	}
	// Then the transactions in the hosted __transaction_state partitions; Start completes the
	// prepared ones (their markers are written again) and begins the timeout sweep.
	if err := txn.LoadPartitions(b.txns, b.partitions); err != nil {
		b.logger.Warn("loading transaction state", "err", err)
	}
	b.txns.Start()
	b.loadShareState()

	if err := b.listen(brokerCfg); err != nil {
		return nil, err
	}
	if err := b.listenRegistry(brokerCfg); err != nil {
		return nil, err
	}
	if err := b.startConsole(brokerCfg); err != nil {
		return nil, err
	}
	b.setPhase(phaseRegistering)
	if err := b.startLifecycle(ctx, brokerCfg); err != nil {
		return nil, err
	}
	b.serve()
	if err := b.startRegistry(brokerCfg); err != nil {
		return nil, err
	}
	b.ready.Store(true)
	return b, nil
}

// What Start is doing, as /readyz reports it until the node is ready.
const (
	phaseQuorum       = "waiting for the metadata quorum to elect a leader (a majority of --peers must be up)"
	phaseLogs         = "opening partition logs"
	phaseRegistering  = "registering with the controller"
	phaseShuttingDown = "shutting down"
)

func (b *Broker) setPhase(phase string) { b.phase.Store(&phase) }

// startHTTP starts the metrics and health listener, if configured.
func (b *Broker) startHTTP(brokerCfg *config.Resolved) (err error) {
	if b.cfg.HTTPAddr == "" {
		return nil
	}
	auth, tlsCfg, err := b.httpSecurity(brokerCfg)
	if err != nil {
		return err
	}
	opts := httpapi.Options{Addr: b.cfg.HTTPAddr, Gatherer: b.registry, Ready: b.Ready, Logger: b.logger,
		Auth: auth, TLS: tlsCfg}
	if b.cfg.Console {
		b.consoleSlot = &consoleSlot{}
		opts.Console = b.consoleSlot
	}
	b.http, err = httpapi.Start(opts)
	return err
}

// httpSecurity is the HTTP listener's authentication (nil when off) and TLS (nil when off),
// built on first use and shared with the schema registry's listener.
func (b *Broker) httpSecurity(brokerCfg *config.Resolved) (*httpapi.Auth, *tls.Config, error) {
	if b.httpSec.done {
		return b.httpSec.auth, b.httpSec.tls, nil
	}
	auth, err := b.httpAuth(brokerCfg)
	if err != nil {
		return nil, nil, err
	}
	tlsCfg, certPrincipal, err := b.httpTLS(brokerCfg)
	if err != nil {
		return nil, nil, err
	}
	if auth != nil {
		auth.Certificate = certPrincipal
	}
	b.httpSec.done, b.httpSec.auth, b.httpSec.tls = true, auth, tlsCfg
	return auth, tlsCfg, nil
}

// describeIdentity records the node id and data directory Config carries (from --node-id and
// --data-dir) as the static node.id and log.dirs, unless the broker configs set them, so that
// DescribeConfigs reports what the broker runs with rather than the built-in defaults.
func describeIdentity(static map[string]string, cfg Config) {
	if _, ok := static[string(config.NodeID)]; !ok {
		static[string(config.NodeID)] = strconv.Itoa(int(cfg.NodeID))
	}
	if _, ok := static[string(config.LogDirs)]; !ok && cfg.DataDir != "" && !strings.Contains(cfg.DataDir, ",") {
		static[string(config.LogDirs)] = cfg.DataDir
	}
}

// checkConsumerGroupBounds holds group.consumer.session.timeout.ms and
// group.consumer.heartbeat.interval.ms to their min/max configs, and the interval below the
// timeout, as Kafka's group coordinator config does at start.
func checkConsumerGroupBounds(brokerCfg *config.Resolved) error {
	if err := checkBounds(brokerCfg, config.GroupConsumerSessionTimeoutMs,
		config.GroupConsumerMinSessionTimeoutMs, config.GroupConsumerMaxSessionTimeoutMs); err != nil {
		return err
	}
	if err := checkBounds(brokerCfg, config.GroupConsumerHeartbeatIntervalMs,
		config.GroupConsumerMinHeartbeatIntervalMs, config.GroupConsumerMaxHeartbeatIntervalMs); err != nil {
		return err
	}
	if hb, st := brokerCfg.Int(config.GroupConsumerHeartbeatIntervalMs), brokerCfg.Int(config.GroupConsumerSessionTimeoutMs); hb >= st {
		return fmt.Errorf("%s=%d must be less than %s=%d", config.GroupConsumerHeartbeatIntervalMs, hb, config.GroupConsumerSessionTimeoutMs, st)
	}
	return nil
}

// checkShareGroupBounds holds the group.share.* session timeout, heartbeat interval and
// record lock duration to their min/max configs, and the interval below the timeout, as
// Kafka's group coordinator and share group configs do at start.
func checkShareGroupBounds(brokerCfg *config.Resolved) error {
	if err := checkBounds(brokerCfg, config.GroupShareSessionTimeoutMs,
		config.GroupShareMinSessionTimeoutMs, config.GroupShareMaxSessionTimeoutMs); err != nil {
		return err
	}
	if err := checkBounds(brokerCfg, config.GroupShareHeartbeatIntervalMs,
		config.GroupShareMinHeartbeatIntervalMs, config.GroupShareMaxHeartbeatIntervalMs); err != nil {
		return err
	}
	if err := checkBounds(brokerCfg, config.GroupShareRecordLockDurationMs,
		config.GroupShareMinRecordLockDurationMs, config.GroupShareMaxRecordLockDurationMs); err != nil {
		return err
	}
	if hb, st := brokerCfg.Int(config.GroupShareHeartbeatIntervalMs), brokerCfg.Int(config.GroupShareSessionTimeoutMs); hb >= st {
		return fmt.Errorf("%s=%d must be less than %s=%d", config.GroupShareHeartbeatIntervalMs, hb, config.GroupShareSessionTimeoutMs, st)
	}
	return nil
}

// checkBounds holds int config value within [lo, hi], themselves configs.
func checkBounds(brokerCfg *config.Resolved, value, lo, hi config.Name) error {
	v, l, h := brokerCfg.Int(value), brokerCfg.Int(lo), brokerCfg.Int(hi)
	switch {
	case l > h:
		return fmt.Errorf("%s=%d is greater than %s=%d", lo, l, hi, h)
	case v < l:
		return fmt.Errorf("%s=%d is less than %s=%d", value, v, lo, l)
	case v > h:
		return fmt.Errorf("%s=%d is greater than %s=%d", value, v, hi, h)
	}
	return nil
}

// groupConfig is the group coordinator's configuration: group.* and offsets.* broker configs,
// __consumer_offsets on this node's partitions.
func (b *Broker) groupConfig(brokerCfg *config.Resolved) group.Config {
	return group.Config{
		MinSessionTimeout:     time.Duration(brokerCfg.Int64(config.GroupMinSessionTimeoutMs)) * time.Millisecond,
		MaxSessionTimeout:     time.Duration(brokerCfg.Int64(config.GroupMaxSessionTimeoutMs)) * time.Millisecond,
		InitialRebalanceDelay: time.Duration(brokerCfg.Int64(config.GroupInitialRebalanceDelayMs)) * time.Millisecond,
		Log: &group.PartitionLog{Partitions: b.partitions, Controller: b.remote,
			NumPartitions:     b.coordinatorPartitions(metadata.ConsumerOffsetsTopic, brokerCfg.Int(config.OffsetsTopicNumPartitions)),
			ReplicationFactor: int16(brokerCfg.Int(config.OffsetsTopicReplicationFactor)),
			SegmentBytes:      int(brokerCfg.Int(config.OffsetsTopicSegmentBytes))},
		NumPartitions: b.coordinatorPartitions(metadata.ConsumerOffsetsTopic, brokerCfg.Int(config.OffsetsTopicNumPartitions)),
		// Serve only the groups of the __consumer_offsets partitions led here (reconcile.go).
		FollowLeadership: true,
		Compression:      record.Codec(brokerCfg.Int(config.OffsetsTopicCompressionCodec)),
		CommitTimeout:    time.Duration(brokerCfg.Int64(config.OffsetsCommitTimeoutMs)) * time.Millisecond,
		LoadBufferSize:   int(brokerCfg.Int(config.OffsetsLoadBufferSize)),
		Logger:           b.logger,
		// KIP-848 consumer groups (group.consumer.*; the protocol is served while
		// group.coordinator.rebalance.protocols lists "consumer").
		ConsumerSessionTimeout:    time.Duration(brokerCfg.Int64(config.GroupConsumerSessionTimeoutMs)) * time.Millisecond,
		ConsumerHeartbeatInterval: time.Duration(brokerCfg.Int64(config.GroupConsumerHeartbeatIntervalMs)) * time.Millisecond,
		ConsumerAssignors:         brokerCfg.List(config.GroupConsumerAssignors),
		ConsumerMaxSize:           int(brokerCfg.Int(config.GroupConsumerMaxSize)),
		// Share groups (KIP-932, group.share.*); a group's own configs come from the metadata
		// Image's GROUP config resources.
		ShareSessionTimeout:    time.Duration(brokerCfg.Int64(config.GroupShareSessionTimeoutMs)) * time.Millisecond,
		ShareHeartbeatInterval: time.Duration(brokerCfg.Int64(config.GroupShareHeartbeatIntervalMs)) * time.Millisecond,
		ShareMaxSize:           int(brokerCfg.Int(config.GroupShareMaxSize)),
		// Share groups are on while the share.version feature is finalized at 1 (Kafka 4.2).
		ShareEnabled: func() bool { return b.quorum.Image().FeatureLevel(metadata.ShareVersionFeature) >= 1 },
		// A group's own configs (IncrementalAlterConfigs on the GROUP resource), validated by the
		// controller, read from the current metadata Image at each use.
		GroupConfigs: func(g string) map[string]string { return b.quorum.Image().GroupConfigs(g) },
		ShareDefaults: share.GroupConfig{
			AutoOffsetReset:         "latest",
			RecordLockDuration:      time.Duration(brokerCfg.Int64(config.GroupShareRecordLockDurationMs)) * time.Millisecond,
			DeliveryCountLimit:      int(brokerCfg.Int(config.GroupShareDeliveryCountLimit)),
			PartitionMaxRecordLocks: int(brokerCfg.Int(config.GroupSharePartitionMaxRecordLocks)),
		},
		MaxSize:                 int(brokerCfg.Int(config.GroupMaxSize)),
		DisableConsumerProtocol: !slices.Contains(brokerCfg.List(config.GroupCoordinatorRebalanceProtocols), "consumer"),
		OffsetsRetention:        time.Duration(brokerCfg.Int64(config.OffsetsRetentionMinutes)) * time.Minute,
		RetentionCheckInterval:  time.Duration(brokerCfg.Int64(config.OffsetsRetentionCheckIntervalMs)) * time.Millisecond,
		PanicRecovered:          b.metrics.PanicRecovered,
	}
}

// txnConfig is the transaction coordinator's configuration: __transaction_state on this
// node's partitions, markers written directly into them.
func (b *Broker) txnConfig(brokerCfg *config.Resolved) txn.Config {
	ms := func(name config.Name) time.Duration { return time.Duration(brokerCfg.Int64(name)) * time.Millisecond }
	return txn.Config{
		ProducerIDs: txn.NewProducerIDs(b.remote, b.cfg.NodeID, txn.ProducerIDBlockSize),
		Log: &txn.PartitionLog{Partitions: b.partitions, Controller: b.remote,
			NumPartitions:     b.coordinatorPartitions(metadata.TransactionStateTopic, brokerCfg.Int(config.TransactionStateLogNumPartitions)),
			ReplicationFactor: int16(brokerCfg.Int(config.TransactionStateLogReplication)),
			MinISR:            int(brokerCfg.Int(config.TransactionStateLogMinIsr)),
			SegmentBytes:      int(brokerCfg.Int(config.TransactionStateLogSegmentBytes))},
		NumPartitions:            b.coordinatorPartitions(metadata.TransactionStateTopic, brokerCfg.Int(config.TransactionStateLogNumPartitions)),
		OffsetsNumPartitions:     b.coordinatorPartitions(metadata.ConsumerOffsetsTopic, brokerCfg.Int(config.OffsetsTopicNumPartitions)),
		FollowLeadership:         true, // only the __transaction_state partitions led here (reconcile.go)
		Markers:                  b.txnMarkers(),
		MaxTimeout:               ms(config.TransactionMaxTimeoutMs),
		IDExpiration:             ms(config.TransactionalIDExpirationMs),
		CleanupInterval:          ms(config.TransactionAbortTimedOutTransactionCleanupIntervalMs),
		ExpiredIDCleanupInterval: ms(config.TransactionRemoveExpiredTransactionCleanupIntervalMs),
		Logger:                   b.logger,
		PanicRecovered:           b.metrics.PanicRecovered,
	}
}

func (b *Broker) openQuorum(ctx context.Context, brokerCfg *config.Resolved) error {
	var ln net.Listener
	if b.cfg.ControllerListenAddr != "" {
		var err error
		if ln, err = net.Listen("tcp", b.cfg.ControllerListenAddr); err != nil {
			return fmt.Errorf("metadata quorum: listen on %s: %w", b.cfg.ControllerListenAddr, err)
		}
	}
	q, err := quorum.Open(quorum.Options{
		NodeID:          b.cfg.NodeID,
		Dir:             filepath.Join(b.cfg.DataDir, "__cluster_metadata"),
		ControllerAddr:  b.cfg.ControllerAddr,
		Listener:        ln,
		Peers:           b.cfg.Peers,
		ElectionTimeout: time.Duration(brokerCfg.Int64(config.ControllerQuorumElectionTimeoutMs)) * time.Millisecond,
		// A broker-only node follows the metadata log without voting.
		Observer:  !b.roles.controller,
		Bootstrap: b.bootstrap,
		TLS:       b.ctlSec.quorum,
		Logger:    b.logger,
	})
	if err != nil {
		return fmt.Errorf("metadata quorum: %w", err)
	}
	b.quorum = q
	b.openedQuorum.Store(q)
	b.followACLs()
	b.followVersions()
	b.controller = metadata.NewController(q, metadata.ControllerOptions{NodeID: b.cfg.NodeID, StaticConfig: b.static, Logger: b.logger,
		SessionTimeout:      time.Duration(brokerCfg.Int64(config.BrokerSessionTimeoutMs)) * time.Millisecond,
		ConnectionLossGrace: time.Duration(brokerCfg.Int(config.SluiceBrokerConnectionLossFenceMs)) * time.Millisecond})
	b.quotaManager(brokerCfg) // the controller listener enforces controller_mutation_rate on forwarded requests
	if err := b.startControlPlane(); err != nil {
		return err
	}
	if err := q.WaitReady(ctx); err != nil {
		return fmt.Errorf("metadata quorum: %w", err)
	}
	return nil
}

func cleanerThreads(brokerCfg *config.Resolved) int {
	n := int(brokerCfg.Int(config.LogCleanerThreads))
	if !brokerCfg.Bool(config.LogCleanerEnable) || n == 0 {
		return -1
	}
	return n
}

// cleanerConfig is the log cleaner's part of the broker configs that Kafka lets change at run
// time (log.cleaner.threads, backoff, I/O rate, dedupe and I/O buffers); reconcile applies it
// again when a dynamic broker config changes.
func cleanerConfig(brokerCfg *config.Resolved) storage.CleanerConfig {
	return storage.CleanerConfig{
		Threads:             max(cleanerThreads(brokerCfg), 0), // 0 while log.cleaner.enable=false
		Backoff:             time.Duration(brokerCfg.Int64(config.LogCleanerBackoffMs)) * time.Millisecond,
		IOMaxBytesPerSecond: brokerCfg.Float64(config.LogCleanerIOMaxBytesPerSecond),
		DedupeBufferSize:    brokerCfg.Int64(config.LogCleanerDedupeBufferSize),
		IOBufferSize:        int(brokerCfg.Int(config.LogCleanerIOBufferSize)),
	}
}

// flushCheckInterval is log.flush.scheduler.interval.ms, how often flush.ms deadlines are
// checked. Kafka's default (Long.MaxValue) never checks, which silently disables every
// topic's flush.ms; unless it is set, Sluice keeps storage's 1 s check.
func flushCheckInterval(brokerCfg *config.Resolved) time.Duration {
	e, _ := brokerCfg.Entry(config.LogFlushSchedulerIntervalMs)
	ms := brokerCfg.Int64(config.LogFlushSchedulerIntervalMs)
	if e.Source == config.SourceDefault || ms <= 0 {
		return 0
	}
	return time.Duration(min(ms, int64(math.MaxInt64/time.Millisecond))) * time.Millisecond
}

// cleanableLimit is the offset below which the cleaner may compact a hosted partition's log:
// its last stable offset, never past the high watermark.
func (b *Broker) cleanableLimit(tp storage.TopicPartition) (int64, bool) {
	pm := b.cleanerPartitions.Load()
	if pm == nil {
		return 0, false
	}
	p, ok := pm.Partition(tp.Topic, tp.Partition)
	if !ok {
		return 0, false
	}
	return min(p.LastStableOffset(), p.HighWatermark()), true
}

func (b *Broker) openStorage(brokerCfg *config.Resolved) error {
	defaults, _ := partition.ConfigsFromResolved(config.ResolveTopic(config.Layers{Static: b.static}))
	cleaner := cleanerConfig(brokerCfg)
	m, err := storage.Open(storage.Options{
		FS:                     b.cfg.FS,
		Dir:                    b.cfg.DataDir,
		Logger:                 b.logger,
		Metrics:                storage.NewMetrics(b.registry),
		GroupCommit:            brokerCfg.Bool(config.SluiceGroupCommit),
		DefaultConfig:          &defaults,
		RetentionCheckInterval: time.Duration(brokerCfg.Int64(config.LogRetentionCheckIntervalMs)) * time.Millisecond,
		CheckpointInterval:     time.Duration(brokerCfg.Int64(config.LogFlushOffsetCheckpointIntervalMs)) * time.Millisecond,
		FlushCheckInterval:     flushCheckInterval(brokerCfg),
		// The log cleaner (log.cleaner.*): no goroutines when disabled or with 0 threads.
		CleanerThreads:             cleanerThreads(brokerCfg),
		CleanerBackoff:             cleaner.Backoff,
		CleanerIOMaxBytesPerSecond: cleaner.IOMaxBytesPerSecond,
		CleanerDedupeBufferSize:    cleaner.DedupeBufferSize,
		CleanerIOBufferSize:        cleaner.IOBufferSize,
		CleanableLimit:             b.cleanableLimit,
	})
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	b.storage = m
	return nil
}

// kafkaLimit turns a Kafka connection limit (0: none allowed) into the server's (0: no limit,
// negative: none allowed).
func kafkaLimit(n int32) int {
	if n == 0 {
		return -1
	}
	return int(n)
}

// connectionOverrides parses max.connections.per.ip.overrides into IP → limit, resolving host
// names (every address of a name gets its limit) at start, as Kafka does. An IP literal wins
// over a name that resolves to the same address.
func connectionOverrides(value string) (map[string]int, error) {
	hosts, err := config.ParseConnectionOverrides(value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.MaxConnectionsPerIPOverrides, err)
	}
	out := make(map[string]int, len(hosts))
	literals := make(map[string]int)
	for host, n := range hosts {
		if ip := net.ParseIP(host); ip != nil {
			literals[ip.String()] = n
			continue
		}
		ips, err := net.LookupIP(host)
		if err != nil {
			return nil, fmt.Errorf("%s: resolve %q: %w", config.MaxConnectionsPerIPOverrides, host, err)
		}
		for _, ip := range ips {
			out[ip.String()] = n
		}
	}
	maps.Copy(out, literals)
	return out, nil
}

// Ready reports whether the node serves clients: nil once Start has finished and, on a broker,
// while the controller has it registered and unfenced.
func (b *Broker) Ready() error {
	if !b.ready.Load() {
		phase := b.phase.Load()
		switch {
		case phase == nil:
			return errors.New("starting")
		case *phase == phaseRegistering:
			// b.quorum was set before this phase was stored.
			if err := httpapi.BrokerReady(b.cfg.NodeID, b.quorum.Image, b.brokerEpoch)(); err != nil {
				return fmt.Errorf("starting: %w", err)
			}
		}
		return errors.New("starting: " + *phase)
	}
	if !b.roles.broker {
		return nil
	}
	// Registered, unfenced and caught up on metadata (KIP-631): a broker the controller
	// fenced (its session expired) is not ready until it is unfenced again.
	return httpapi.BrokerReady(b.cfg.NodeID, b.quorum.Image, b.brokerEpoch)()
}

// HTTPAddr is the address of the HTTP listener, or "" when it is disabled.
func (b *Broker) HTTPAddr() string {
	if b.http == nil {
		return ""
	}
	return b.http.Addr()
}

// Registry is the broker's Prometheus registry.
func (b *Broker) Registry() *prometheus.Registry { return b.registry }

// Partitions returns the partitions this node hosts (nil on a controller-only node): for
// tests that compare replicas' logs.
func (b *Broker) Partitions() *partition.Manager { return b.partitions }

// Close shuts down in reverse start order: in-flight requests finish, then storage is closed
// cleanly (flush, checkpoints, clean-shutdown marker) and the quorum last. It is safe to call
// more than once and on a partly started broker.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		var errs []error
		// While the listener still serves: the controller moves this broker's leaderships,
		// clients follow them after a metadata refresh.
		b.controlledShutdown()
		b.setPhase(phaseShuttingDown)
		b.ready.Store(false)
		// The registry before the Kafka listeners its store reads through and the partitions
		// it writes to.
		if err := b.closeRegistry(); err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, b.shutdownListeners()...)
		b.closeTokenValidators()
		if b.txns != nil {
			b.txns.Close() // after the server, before the logs it writes to close
		}
		if b.stopShares != nil {
			b.stopShares() // after the server, before the share coordinator it writes through
		}
		if b.shares != nil {
			b.shares.Close()
		}
		if b.markerClient != nil {
			b.markerClient.Close()
		}
		b.stopISR()
		b.stopReplication() // no append or truncation after this
		if b.groups != nil {
			b.groups.Close() // after the server: no request reaches a closed coordinator
		}
		if b.http != nil {
			b.closeConsole()
			if err := b.http.Close(); err != nil {
				errs = append(errs, fmt.Errorf("http listener: %w", err))
			}
		}
		if b.httpTokenValidator != nil {
			b.httpTokenValidator.Close()
		}
		if b.unsubscribe != nil {
			b.unsubscribe()
		}
		if b.unfollowACLs != nil {
			b.unfollowACLs()
		}
		if b.unfollowVersions != nil {
			b.unfollowVersions()
		}
		if b.partitions != nil {
			// Producer state snapshots, so the next start replays nothing; after
			// every writer above has stopped, before the logs close.
			if err := b.partitions.Close(); err != nil {
				errs = append(errs, fmt.Errorf("producer snapshots: %w", err))
			}
		}
		if b.storage != nil {
			if err := b.storage.Close(); err != nil {
				errs = append(errs, fmt.Errorf("storage: %w", err))
			}
		}
		if err := b.closeControlPlane(); err != nil {
			errs = append(errs, err)
		}
		if b.quorum != nil {
			if err := b.quorum.Close(); err != nil {
				errs = append(errs, fmt.Errorf("metadata quorum: %w", err))
			}
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// quotaManager returns the broker's client quota manager, building it on first use from
// quota.window.num and quota.window.size.seconds.
func (b *Broker) quotaManager(brokerCfg *config.Resolved) *quota.Manager {
	if b.quotas == nil {
		b.quotas = quota.New(quota.Config{Samples: int(brokerCfg.Int(config.QuotaWindowNum)),
			Window: time.Duration(brokerCfg.Int(config.QuotaWindowSizeSeconds)) * time.Second, Registerer: b.registry})
	}
	return b.quotas
}
