package broker

import (
	"context"
	"errors"
	"time"

	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/record"
	sharecoord "github.com/sluicehq/sluice/internal/share/coordinator"
)

// startShareState builds the share coordinator (__share_group_state on this node's
// partitions, following that topic's leadership) and the persister share-partition leaders
// use (Env.SharePersister: the local coordinator for the state partitions led here, the RPCs
// to their leaders otherwise). Start calls it right after building Env, before reconcile
// subscribes.
func (b *Broker) startShareState(brokerCfg *config.Resolved) {
	n := b.coordinatorPartitions(metadata.ShareGroupStateTopic, brokerCfg.Int(config.ShareCoordinatorStateTopicNumPartitions))
	log := &sharecoord.PartitionLog{Partitions: b.partitions, Controller: b.remote, NumPartitions: n,
		ReplicationFactor: int16(brokerCfg.Int(config.ShareCoordinatorStateTopicReplicationFactor)),
		MinISR:            int(brokerCfg.Int(config.ShareCoordinatorStateTopicMinIsr)),
		SegmentBytes:      int(brokerCfg.Int(config.ShareCoordinatorStateTopicSegmentBytes))}
	b.shares = sharecoord.New(sharecoord.Config{
		Log:                              log,
		NumPartitions:                    n,
		SnapshotUpdateRecordsPerSnapshot: int(brokerCfg.Int(config.ShareCoordinatorSnapshotUpdateRecordsPerSnapshot)),
		WriteTimeout:                     time.Duration(brokerCfg.Int64(config.ShareCoordinatorWriteTimeoutMs)) * time.Millisecond,
		LoadBufferSize:                   int(brokerCfg.Int(config.ShareCoordinatorLoadBufferSize)),
		PruneInterval:                    time.Duration(brokerCfg.Int64(config.ShareCoordinatorStateTopicPruneIntervalMs)) * time.Millisecond,
		Compression:                      record.Codec(brokerCfg.Int(config.ShareCoordinatorStateTopicCompressionCodec)),
		FollowLeadership:                 true,
		Logger:                           b.logger,
		PanicRecovered:                   b.metrics.PanicRecovered,
	})
	p := &sharecoord.Persister{Local: b.shares, NodeID: b.cfg.NodeID,
		Create: func(ctx context.Context) error {
			res := b.remote.CreateTopics(ctx, []metadata.CreateTopic{log.CreateTopic()}, false)
			if len(res) == 1 && res[0].Err != nil && !errors.Is(res[0].Err, metadata.ErrTopicExists) {
				return res[0].Err
			}
			return nil
		}}
	if b.cp.client != nil && b.quorum != nil {
		p.Image, p.Remote, p.Listener = b.quorum.Image, b.cp.client, b.listenerSet.InterBroker
		if b.interBrokerTLS != nil {
			if b.markerClient == nil {
				b.markerClient = cluster.NewClient(cluster.Options{NodeID: b.cfg.NodeID, Logger: b.logger, TLS: b.interBrokerTLS, SASL: b.interBrokerSASL})
			}
			p.Remote = b.markerClient
		}
	}
	b.env.SharePersister = p
	b.groups.SetSharePersister(p) // DeleteGroups of a share group deletes its share-partitions' state
	b.env.ShareCoordinator = b.shares
}

// loadShareState loads the __share_group_state partitions led here after the first reconcile
// (later elections load through moveShareCoordination).
func (b *Broker) loadShareState() {
	if err := sharecoord.LoadPartitions(b.shares, b.partitions); err != nil {
		b.logger.Warn("loading share group state", "err", err)
	}
	b.shares.Start() // pruning
}

// moveShareCoordination is moveTxnCoordination for the share coordinator and
// __share_group_state.
func (b *Broker) moveShareCoordination(prev, next *metadata.Image) {
	if b.shares == nil {
		return
	}
	b.moveCoordination(prev, next, metadata.ShareGroupStateTopic, b.shares.Elected, b.shares.Resigned)
}
