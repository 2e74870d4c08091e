// Package metadata is the cluster metadata: the typed records of the metadata log, the immutable
// Image they build, and the Controller that turns admin requests into records.
//
// Records (ClusterIDRecord, RegisterBrokerRecord, TopicRecord, PartitionRecord,
// PartitionChangeRecord, ConfigRecord, RemoveTopicRecord, FeatureLevelRecord, ProducerIDsRecord,
// BrokerRegistrationChangeRecord) travel in batches; a batch is one entry of the Raft log (internal/quorum) and is applied
// atomically. Their binary encoding, and the snapshot encoding of an Image, are specified in
// docs/format/metadata-records.md.
//
// Invariants:
//   - An Image is never modified after it is built. Image.Apply returns a new Image sharing
//     every unchanged broker, topic and partition with the old one, so a reader holding an Image
//     needs no lock, and pointer equality of two *Topic means the topic did not change.
//   - Application is deterministic: every node applying the same batches from the same Image
//     gets equal Images, and a batch that is invalid (ErrInvalidRecord) is rejected whole on
//     every node.
//   - Partition numbers are dense (Topic.Partitions[i] is partition i); the leader is -1 or a
//     member of the ISR; the ISR is a subset of the replicas; any change bumps the partition
//     epoch, a leader change also bumps the leader epoch.
//   - Decoding bytes from disk or network never panics; it returns ErrCorrupt or
//     ErrUnsupportedVersion.
//
// The Controller runs on every node but acts only on the Raft leader: it validates a request
// against the latest Image (Kafka's rules and error kinds, the ErrXxx of this package), builds
// records and proposes them through a Log, returning once they are applied locally. It also
// runs the brokers' lifecycle (KIP-631, KIP-841): registrations start fenced, heartbeats unfence
// brokers that caught up and drive controlled shutdown, FenceStaleBrokers fences silent ones,
// and partitions follow: an inactive broker leaves ISRs (never the last member) and
// leaderships. Liveness is in memory on the active controller, not in the log.
//
// Example (the broker side, reading):
//
//	img := quorum.Image()               // the latest *metadata.Image
//	t, ok := img.Topic("orders")
//	if ok {
//		p, _ := t.Partition(0)
//		fmt.Println(t.ID, p.Leader, p.LeaderEpoch, p.ISR)
//	}
//
// and (the admin side, writing):
//
//	ctl := metadata.NewController(quorum, metadata.ControllerOptions{...})
//	res := ctl.CreateTopics(ctx, []metadata.CreateTopic{{Name: "orders", NumPartitions: 6, ReplicationFactor: -1}}, false)
//	if errors.Is(res[0].Err, metadata.ErrTopicExists) { ... }
//
// and (a broker's life, as the broker package drives it):
//
//	epoch, err := ctl.RegisterBroker(ctx, metadata.BrokerRegistration{ID: 1, Incarnation: inc, Endpoints: eps})
//	res, err := ctl.BrokerHeartbeat(ctx, metadata.Heartbeat{ID: 1, Epoch: epoch, MetadataOffset: img.Offset()})
//	// res.IsFenced is false once the broker has applied its registration
//	fenced, err := ctl.FenceStaleBrokers(ctx) // on every node, every broker.heartbeat.interval.ms/2
package metadata
