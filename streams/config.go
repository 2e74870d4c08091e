package streams

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams/state"
)

// Guarantee is the processing guarantee (Kafka Streams' processing.guarantee).
type Guarantee int

const (
	// AtLeastOnce (at_least_once, the default): after a failure, records processed since the
	// last commit are processed again.
	AtLeastOnce Guarantee = iota
	// ExactlyOnce (exactly_once_v2): outputs, changelog records and input offsets of each
	// commit interval go in one transaction of the instance's transactional producer
	// (KIP-447); read_committed consumers see every input's effect once.
	ExactlyOnce
)

func (g Guarantee) String() string {
	switch g {
	case AtLeastOnce:
		return "at_least_once"
	case ExactlyOnce:
		return "exactly_once_v2"
	}
	return fmt.Sprintf("Guarantee(%d)", int(g))
}

// Config configures an App; the comments name Kafka Streams' settings.
type Config struct {
	// ApplicationID (application.id, required) is the consumer group id and the prefix of
	// the internal topics ("<id>-<name>-repartition", "<id>-<store>-changelog").
	ApplicationID string
	// Brokers (bootstrap.servers, required unless ClientOptions has seed brokers).
	Brokers []string
	// StateDir (state.dir; default os.TempDir()/sluice-streams): stores live in
	// <StateDir>/<ApplicationID>/<task id>/.
	StateDir string
	// ProcessingGuarantee (processing.guarantee): AtLeastOnce (default) or ExactlyOnce.
	ProcessingGuarantee Guarantee
	// CommitInterval (commit.interval.ms): 30 s, or 100 ms under ExactlyOnce, when zero.
	CommitInterval time.Duration
	// StateStoreCacheMaxBytes (statestore.cache.max.bytes) is the record cache the tasks of
	// this instance share, in front of the stores of aggregations (see "Record cache" in
	// the package doc): 10 MiB (DefaultStateStoreCacheMaxBytes) when zero. Kafka Streams'
	// 0, no cache anywhere, is NoStateStoreCache (any negative value): every update is then
	// logged and forwarded at once.
	StateStoreCacheMaxBytes int64
	// NumStreamThreads (num.stream.threads, default 1) is how many goroutines process the
	// instance's tasks at once, each task on one of them at a time. Unlike Kafka Streams'
	// stream threads they share the instance's one consumer, producer and commit: after
	// each poll the tasks with records are processed in parallel, then joined before
	// punctuation and the commit. With more than one, the functions given to the DSL and
	// processors that share values across tasks must be safe for concurrent use.
	NumStreamThreads int
	// NumStandbyReplicas (num.standby.replicas): warm copies of each task's stores kept on
	// other instances, read from the changelogs.
	NumStandbyReplicas int
	// ReplicationFactor (replication.factor) of the internal topics; 0 or -1 takes the
	// broker's default (Kafka Streams' default is -1).
	ReplicationFactor int16
	// ApplicationServer (application.server), host:port at which this instance serves
	// interactive queries; reported to the other instances for MetadataForKey.
	ApplicationServer string
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger; nil discards.
	Logger *slog.Logger
	// ClientOptions are applied to every franz-go client (TLS, SASL, timeouts, ...).
	ClientOptions []kgo.Opt
}

// Kafka Streams' commit.interval.ms defaults.
const (
	DefaultCommitInterval            = 30 * time.Second
	DefaultExactlyOnceCommitInterval = 100 * time.Millisecond
)

// Kafka Streams' statestore.cache.max.bytes default, and the value that turns the record
// cache off (Kafka Streams' 0; zero here takes the default).
const (
	DefaultStateStoreCacheMaxBytes int64 = state.DefaultCacheMaxBytes
	NoStateStoreCache              int64 = -1
)

// withDefaults checks c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	if c.ApplicationID == "" {
		return c, errors.New("streams: Config.ApplicationID (application.id) is required")
	}
	if filepath.Base(c.ApplicationID) != c.ApplicationID || c.ApplicationID == "." || c.ApplicationID == ".." {
		return c, fmt.Errorf("streams: application.id %q must not contain a path separator", c.ApplicationID)
	}
	if len(c.Brokers) == 0 && len(c.ClientOptions) == 0 {
		return c, errors.New("streams: Config.Brokers (bootstrap.servers) is required")
	}
	switch c.ProcessingGuarantee {
	case AtLeastOnce, ExactlyOnce:
	default:
		return c, fmt.Errorf("streams: unknown processing guarantee %v", c.ProcessingGuarantee)
	}
	if c.StateDir == "" {
		c.StateDir = filepath.Join(os.TempDir(), "sluice-streams")
	}
	if c.CommitInterval < 0 {
		return c, errors.New("streams: CommitInterval must not be negative")
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = DefaultCommitInterval
		if c.ProcessingGuarantee == ExactlyOnce {
			c.CommitInterval = DefaultExactlyOnceCommitInterval
		}
	}
	switch {
	case c.StateStoreCacheMaxBytes == 0:
		c.StateStoreCacheMaxBytes = DefaultStateStoreCacheMaxBytes
	case c.StateStoreCacheMaxBytes < 0:
		c.StateStoreCacheMaxBytes = NoStateStoreCache
	}
	if c.NumStandbyReplicas < 0 {
		return c, errors.New("streams: NumStandbyReplicas must not be negative")
	}
	switch {
	case c.NumStreamThreads < 0:
		return c, errors.New("streams: NumStreamThreads must not be negative")
	case c.NumStreamThreads == 0:
		c.NumStreamThreads = 1
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	if c.ApplicationServer != "" {
		if _, _, err := net.SplitHostPort(c.ApplicationServer); err != nil {
			return c, fmt.Errorf("streams: application.server %q is not host:port: %w", c.ApplicationServer, err)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
