package broker

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

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
	if p.Remote != nil {
		b.env.ShareEndOffset = func(ctx context.Context, topic string, partition int32, readCommitted bool) (int64, error) {
			return endOffsetAtLeader(ctx, b.quorum.Image(), p.Remote, p.Listener, topic, partition, readCommitted)
		}
	}
}

// endOffsetAtLeader asks partition's leader for its end with ListOffsets (latest): the high
// watermark, or the last stable offset with read_committed.
func endOffsetAtLeader(ctx context.Context, img *metadata.Image, remote sharecoord.Sender, listener, topic string, partition int32,
	readCommitted bool) (int64, error) {
	t, ok := img.Topic(topic)
	if !ok || int(partition) >= len(t.Partitions) || partition < 0 {
		return -1, kerr.UnknownTopicOrPartition
	}
	leader := t.Partitions[partition].Leader
	br, ok := img.Broker(leader)
	if !ok || br.Fenced {
		return -1, kerr.LeaderNotAvailable
	}
	e, ok := br.Endpoint(listener)
	if !ok {
		return -1, kerr.LeaderNotAvailable
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	if readCommitted {
		req.IsolationLevel = 1
	}
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = partition, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := remote.Send(ctx, net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port))), req)
	if err != nil {
		return -1, err
	}
	r := resp.(*kmsg.ListOffsetsResponse)
	if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
		return -1, kerr.UnknownServerError
	}
	p := r.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		return -1, err
	}
	return p.Offset, nil
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
	if prev == nil {
		return
	}
	// Topics deleted since prev: their share-partitions' state goes too.
	var gone map[[16]byte]bool
	for _, t := range metadata.DiffTopics(prev, next).Deleted {
		if gone == nil {
			gone = map[[16]byte]bool{}
		}
		gone[[16]byte(t.ID)] = true
	}
	b.shares.TopicsDeleted(gone)
}
