package broker

import (
	"fmt"
	"time"

	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/replica"
)

// startReplication creates the replica fetchers (they start with the first Image reconcile
// applies) and their client, which identifies itself as "sluice-replica-N".
func (b *Broker) startReplication(brokerCfg *config.Resolved) {
	b.leaderThrottle = replica.NewThrottle(float64(brokerCfg.Int64(config.LeaderReplicationThrottledRate)))
	b.followerThrottle = replica.NewThrottle(float64(brokerCfg.Int64(config.FollowerReplicationThrottledRate)))
	b.env.LeaderThrottle = b.leaderThrottle
	b.replClient = cluster.NewClient(cluster.Options{NodeID: b.cfg.NodeID, ClientID: fmt.Sprintf("sluice-replica-%d", b.cfg.NodeID),
		Logger: b.logger, TLS: b.interBrokerTLS, SASL: b.interBrokerSASL})
	b.replicas = replica.NewManager(replica.Options{
		NodeID:            b.cfg.NodeID,
		Partitions:        b.partitions,
		Image:             b.quorum.Image,
		BrokerEpoch:       b.brokerEpoch,
		Sender:            b.replClient,
		Listener:          b.listenerSet.InterBroker,
		MaxWait:           time.Duration(brokerCfg.Int(config.ReplicaFetchWaitMaxMs)) * time.Millisecond,
		MinBytes:          int32(brokerCfg.Int(config.ReplicaFetchMinBytes)),
		MaxBytes:          int32(brokerCfg.Int(config.ReplicaFetchResponseMaxBytes)),
		PartitionMaxBytes: int32(brokerCfg.Int(config.ReplicaFetchMaxBytes)),
		Backoff:           time.Duration(brokerCfg.Int(config.ReplicaFetchBackoffMs)) * time.Millisecond,
		FollowerThrottle:  b.followerThrottle,
		FetchedBytes:      b.metrics.ReplicaFetched,
		Logger:            b.logger.With("component", "replica-fetcher"),
	})
	b.startHWCheckpoints(time.Duration(brokerCfg.Int64(config.ReplicaHighWatermarkCheckpointIntervalMs)) * time.Millisecond)
}

// stopReplication stops the fetchers and waits for them, then writes the high watermarks a
// last time.
func (b *Broker) stopReplication() {
	if b.replicas != nil {
		b.replicas.Close()
	}
	if b.replClient != nil {
		b.replClient.Close()
	}
	if b.stopHWCheckpoint != nil {
		close(b.stopHWCheckpoint)
		<-b.hwCheckpointDone
		b.stopHWCheckpoint = nil
	}
	if b.partitions != nil {
		if err := b.storage.WriteHighWatermarks(b.partitions.HighWatermarks()); err != nil {
			b.logger.Warn("write replication-offset-checkpoint", "err", err)
		}
	}
}

// startHWCheckpoints writes replication-offset-checkpoint every interval.
func (b *Broker) startHWCheckpoints(interval time.Duration) {
	b.stopHWCheckpoint, b.hwCheckpointDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(b.hwCheckpointDone)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-b.stopHWCheckpoint:
				return
			case <-t.C:
				if err := b.storage.WriteHighWatermarks(b.partitions.HighWatermarks()); err != nil {
					b.logger.Warn("write replication-offset-checkpoint", "err", err)
				}
			}
		}
	}()
}

// setReplicationThrottles applies the dynamic replication throttle rates (per broker).
func (b *Broker) setReplicationThrottles(brokerCfg *config.Resolved) {
	if b.leaderThrottle == nil {
		return
	}
	b.leaderThrottle.SetRate(float64(brokerCfg.Int64(config.LeaderReplicationThrottledRate)))
	b.followerThrottle.SetRate(float64(brokerCfg.Int64(config.FollowerReplicationThrottledRate)))
}
