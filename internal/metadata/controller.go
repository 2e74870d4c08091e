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
}

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
type Controller struct {
	log    Log
	opts   ControllerOptions
	logger *slog.Logger

	mu struct {
		sync.Mutex
		rng *mrand.Rand
	}
}

// NewController returns a Controller proposing through log.
func NewController(log Log, opts ControllerOptions) *Controller {
	if opts.Random == nil {
		opts.Random = rand.Reader
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Controller{log: log, opts: opts, logger: opts.Logger}
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

// unfencedBrokers returns the ids of registered, unfenced brokers in ascending order.
func unfencedBrokers(img *Image) []int32 {
	var ids []int32
	for _, b := range img.Brokers() {
		if !b.Fenced {
			ids = append(ids, b.ID)
		}
	}
	return ids
}

// isUnfenced reports whether a broker is registered and unfenced.
func isUnfenced(img *Image, id int32) bool {
	b, ok := img.Broker(id)
	return ok && !b.Fenced
}

// brokerResourceName checks a broker config resource name: "" or a canonical broker id.
func brokerResourceName(name string) bool {
	if name == "" {
		return true
	}
	id, err := strconv.ParseInt(name, 10, 32)
	return err == nil && id >= 0 && strconv.FormatInt(id, 10) == name
}
