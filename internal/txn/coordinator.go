package txn

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Config configures a Coordinator.
type Config struct {
	// ProducerIDs allocates producer ids (blocks through the metadata log).
	ProducerIDs *ProducerIDs
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests inject one to drive timeouts.
	Now func() time.Time
}

// Coordinator is the transaction coordinator: it hands out producer ids and epochs
// (InitProducerId) and drives transactions through Kafka's states, persisting each
// transition in __transaction_state before acting on it.
type Coordinator struct {
	cfg    Config
	logger *slog.Logger

	mu struct {
		sync.Mutex
		closed bool
	}
}

// New returns a coordinator.
func New(cfg Config) *Coordinator {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Coordinator{cfg: cfg, logger: cfg.Logger}
}

// InitRequest is an InitProducerId request.
type InitRequest struct {
	// TransactionalID is "" for an idempotent producer without transactions.
	TransactionalID string
	// TransactionTimeoutMs is the producer's transaction.timeout.ms.
	TransactionTimeoutMs int32
	// ProducerID and ProducerEpoch are the producer's current ones (-1 for a new producer;
	// KIP-360 lets an idempotent or transactional producer ask for an epoch bump).
	ProducerID    int64
	ProducerEpoch int16
}

// InitResult is the producer id and epoch a producer is to use.
type InitResult struct {
	ProducerID    int64
	ProducerEpoch int16
}

// InitProducerID answers InitProducerId. Without a transactional id every call gets a fresh
// producer id at epoch 0: the partitions' idempotence state is keyed by producer id, so a
// new id is always safe, and it is what Kafka does for a KIP-360 bump of an idempotent
// producer too.
func (c *Coordinator) InitProducerID(ctx context.Context, req InitRequest) (InitResult, error) {
	if c.isClosed() {
		return InitResult{}, ErrCoordinatorNotAvailable
	}
	if req.TransactionalID == "" {
		id, err := c.cfg.ProducerIDs.Next(ctx)
		if err != nil {
			return InitResult{}, err
		}
		return InitResult{ProducerID: id, ProducerEpoch: 0}, nil
	}
	return InitResult{}, ErrCoordinatorNotAvailable
}

func (c *Coordinator) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.closed
}

// Close stops the coordinator; later requests get ErrCoordinatorNotAvailable.
func (c *Coordinator) Close() {
	c.mu.Lock()
	c.mu.closed = true
	c.mu.Unlock()
}
