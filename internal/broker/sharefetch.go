package broker

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/share"
)

// startShareLeader starts the share-partition leader (ShareFetch, ShareAcknowledge): the
// share.Manager with its lock-timeout goroutine, the share session cache, and the
// in-flight gauge. The persister is the share coordinator's (Env.SharePersister); without
// one, an in-memory one keeps delivery state only while this process runs.
func (b *Broker) startShareLeader(persister share.Persister, membership share.Membership, maxSessions int) {
	if persister == nil {
		b.logger.Warn("share groups: no share coordinator; share-partition state is kept in memory only")
		persister = share.NewMemoryPersister()
	}
	m := share.NewManager(share.ManagerOptions{Persister: persister, Membership: membership, Logger: b.logger})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	b.stopShares = func() {
		cancel()
		<-done
	}
	b.env.Shares = m
	b.env.ShareSessions = api.NewShareSessions(maxSessions)
	b.registry.MustRegister(&shareCollector{shares: m, image: b.quorum.Image,
		acquired: prometheus.NewDesc("sluice_share_partition_acquired_records",
			"Records a share group's consumers hold acquired (in flight) on a partition this broker leads.",
			[]string{"group", "topic", "partition"}, nil)})
}

// shareCollector exports each share-partition's acquired-record count.
type shareCollector struct {
	shares   *share.Manager
	image    func() *metadata.Image
	acquired *prometheus.Desc
}

func (c *shareCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.acquired }

func (c *shareCollector) Collect(ch chan<- prometheus.Metric) {
	img := c.image()
	for _, f := range c.shares.InFlight() {
		t, ok := img.TopicByID(metadata.TopicID(f.Key.TopicID))
		if !ok {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.GaugeValue, float64(f.Acquired),
			f.Key.Group, t.Name, strconv.Itoa(int(f.Key.Partition)))
	}
}
