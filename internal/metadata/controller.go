package metadata

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/config"
)

// Log is what the Controller needs from the metadata log. *quorum.Quorum implements it.
type Log interface {
	// LeaderImage returns the latest Image when this node is the Raft leader and has applied
	// every entry committed before its term began; otherwise an error wrapping
	// ErrNotController. Validating against anything older could accept a request that a
	// committed record already made invalid.
	LeaderImage(ctx context.Context) (*Image, error)
	// Propose commits a batch of records and returns the Image after applying it locally. It
	// returns an error wrapping ErrNotController when this node is not the leader, and one
	// wrapping ErrInvalidRecord when the batch was committed but rejected on apply.
	Propose(ctx context.Context, records []Record) (*Image, error)
}

// ControllerOptions configure a Controller.
type ControllerOptions struct {
	// NodeID is this node's id; its dynamic broker configs apply to requests it handles.
	NodeID int32
	// StaticConfig is this node's start-up broker configuration (validated), for the
	// defaults the controller applies: num.partitions, default.replication.factor,
	// delete.topic.enable.
	StaticConfig map[string]string
	// Random supplies topic ids and placement starts; nil means crypto/rand. Tests pass a
	// seeded reader to make placement reproducible.
	Random io.Reader
	Logger *slog.Logger
	// SessionTimeout is broker.session.timeout.ms: an unfenced broker the active controller has
	// not heard from for longer is fenced by FenceStaleBrokers. 0 means Kafka's default, 9 s.
	SessionTimeout time.Duration
	// ConnectionLossGrace, when > 0, also fences a broker once every connection it heartbeated
	// on has been closed for this long without a heartbeat since (sluice.broker.connection.loss.fence.ms).
	ConnectionLossGrace time.Duration
	// Now is the clock of broker sessions; nil means time.Now. Tests pass a fake clock.
	Now func() time.Time
}

// FenceSoon is signaled when a broker may need fencing before the fence loop's next tick (its
// connections closed and the grace passed).
func (c *Controller) FenceSoon() <-chan struct{} { return c.sessions.kick }

// DefaultSessionTimeout is Kafka's default broker.session.timeout.ms.
const DefaultSessionTimeout = 9 * time.Second

// MaxRecordsPerBatch bounds the records the controller proposes in one batch when one event
// changes many partitions (a broker fenced, unfenced or shutting down): Kafka bounds a
// controller write the same way, so that one Raft entry stays a few hundred kilobytes. The
// changes of a larger event are proposed in several batches, each valid on its own.
const MaxRecordsPerBatch = 10000

// MaxPartitionsPerRequest bounds the partitions one CreateTopics or CreatePartitions request
// may create, as Kafka bounds the records of one controller operation: a request that asks for
// millions of partitions is refused before anything is allocated for them.
const MaxPartitionsPerRequest = 10000

// Controller validates admin requests and turns them into metadata records. It runs on every
// node; only the Raft leader's succeeds, the others return ErrNotController.
//
// Concurrency: one request at a time (mu is held from reading the leader's Image until the
// records are applied), so two requests never validate against the same Image and commit
// conflicting records. Admin requests are rare; the simplicity is worth the serialization.
// Broker heartbeats are frequent: they record liveness under sessions' own mutex without mu,
// and take mu only when a broker's state must change (controller_brokers.go).
type Controller struct {
	log    Log
	opts   ControllerOptions
	logger *slog.Logger

	mu struct {
		sync.Mutex
		rng *mrand.Rand
		// scannedAt is the Image offset at which FenceStaleBrokers last found every partition
		// in line with its brokers' states; it rescans only when the Image has moved since.
		scannedAt int64
		// rebalanceAt is when Maintain next checks leader imbalance; zero until this node's
		// first pass as the active controller.
		rebalanceAt time.Time
	}
	// sessions is taken alone or under mu, never the other way round, and never across I/O.
	sessions brokerSessions
}

// NewController returns a Controller proposing through log.
func NewController(log Log, opts ControllerOptions) *Controller {
	if opts.Random == nil {
		opts.Random = rand.Reader
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SessionTimeout <= 0 {
		opts.SessionTimeout = DefaultSessionTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Controller{log: log, opts: opts, logger: opts.Logger}
	c.mu.scannedAt = -2
	c.sessions.timeout = opts.SessionTimeout
	c.sessions.lossGrace = opts.ConnectionLossGrace
	c.sessions.kick = make(chan struct{}, 1)
	c.sessions.now = opts.Now
	var seed [16]byte
	if _, err := io.ReadFull(opts.Random, seed[:]); err != nil {
		// Placement only needs spread, not secrecy; a fixed seed still places correctly.
		opts.Logger.Warn("controller: no randomness for placement, using a fixed seed", "err", err)
	}
	c.mu.rng = mrand.New(mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	return c
}

// brokerConfig resolves this node's broker configuration against img's dynamic configs.
func (c *Controller) brokerConfig(img *Image) *config.Resolved {
	per, def := img.DynamicConfigsFor(c.opts.NodeID)
	return config.ResolveBroker(config.Layers{DynamicBroker: per, DynamicDefault: def, Static: c.opts.StaticConfig})
}

// isActive reports whether a broker is registered, unfenced and not shutting down: one that may
// lead partitions and receive new replicas.
func isActive(img *Image, id int32) bool {
	b, ok := img.Broker(id)
	return ok && b.Active()
}

// brokerResourceName checks a broker config resource name: "" or a canonical broker id.
func brokerResourceName(name string) bool {
	if name == "" {
		return true
	}
	id, err := strconv.ParseInt(name, 10, 32)
	return err == nil && id >= 0 && strconv.FormatInt(id, 10) == name
}
