package metadata

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// A snapshot is the Image written as the records that rebuild it, after a small header:
// docs/format/metadata-records.md, "Snapshot".
var snapshotMagic = [4]byte{'S', 'L', 'M', 'D'}

const (
	snapshotVersion    = 1
	snapshotHeaderSize = 4 + 1 + 8
)

// AppendSnapshot appends the encoding of img to dst.
func AppendSnapshot(dst []byte, img *Image) []byte {
	dst = append(dst, snapshotMagic[:]...)
	dst = append(dst, snapshotVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(img.offset))
	return AppendBatch(dst, img.Records())
}

// DecodeSnapshot rebuilds an Image from AppendSnapshot's encoding. Bad bytes give an error
// wrapping ErrCorrupt or ErrUnsupportedVersion, never a panic.
func DecodeSnapshot(b []byte) (*Image, error) {
	if len(b) < snapshotHeaderSize || [4]byte(b[:4]) != snapshotMagic {
		return nil, fmt.Errorf("%w: not a metadata snapshot", ErrCorrupt)
	}
	if b[4] != snapshotVersion {
		return nil, fmt.Errorf("%w: snapshot version %d", ErrUnsupportedVersion, b[4])
	}
	offset := int64(binary.BigEndian.Uint64(b[5:]))
	records, err := DecodeBatch(b[snapshotHeaderSize:])
	if err != nil {
		return nil, fmt.Errorf("snapshot at offset %d: %w", offset, err)
	}
	img, err := Empty().Apply(offset, records)
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot at offset %d does not apply: %v", ErrCorrupt, offset, err)
	}
	return img, nil
}

// Records returns records that rebuild img from Empty(), in a fixed order (so equal Images
// encode to equal bytes): cluster id, features, brokers, broker configs, topics each followed by
// their partitions and configs, producer ids.
func (img *Image) Records() []Record {
	var out []Record
	if img.clusterID != "" {
		out = append(out, &ClusterIDRecord{ClusterID: img.clusterID})
	}
	for _, name := range slices.Sorted(maps.Keys(img.features)) {
		out = append(out, &FeatureLevelRecord{Name: name, Level: img.features[name]})
	}
	for _, b := range img.Brokers() {
		out = append(out, &RegisterBrokerRecord{BrokerID: b.ID, Incarnation: b.Incarnation, Epoch: b.Epoch,
			Endpoints: b.Endpoints, Rack: b.Rack, Fenced: b.Fenced})
		if b.InControlledShutdown {
			out = append(out, &BrokerRegistrationChangeRecord{BrokerID: b.ID, BrokerEpoch: b.Epoch, InControlledShutdown: 1})
		}
	}
	resources := slices.SortedFunc(maps.Keys(img.brokerConfigs), func(a, b string) int {
		// "" first, then broker ids numerically.
		ai, _ := strconv.Atoi(a)
		bi, _ := strconv.Atoi(b)
		if (a == "") != (b == "") {
			if a == "" {
				return -1
			}
			return 1
		}
		return ai - bi
	})
	for _, res := range resources {
		out = appendConfigRecords(out, ConfigResourceBroker, res, img.brokerConfigs[res])
	}
	for _, g := range slices.Sorted(maps.Keys(img.groupConfigs)) {
		out = appendConfigRecords(out, ConfigResourceGroup, g, img.groupConfigs[g])
	}
	for _, t := range img.Topics() {
		out = append(out, &TopicRecord{Name: t.Name, TopicID: t.ID})
		for i := range t.Partitions {
			p := &t.Partitions[i]
			out = append(out, &PartitionRecord{TopicID: t.ID, Partition: p.Partition, Replicas: p.Replicas, ISR: p.ISR,
				Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch,
				AddingReplicas: p.AddingReplicas, RemovingReplicas: p.RemovingReplicas})
		}
		out = appendConfigRecords(out, ConfigResourceTopic, t.Name, t.Configs)
	}
	if img.nextProducerID > 0 {
		out = append(out, &ProducerIDsRecord{BrokerID: -1, BrokerEpoch: -1, NextProducerID: img.nextProducerID})
	}
	out = img.appendSecurityRecords(out)
	out = img.appendClientQuotaRecords(out)
	return out
}

func appendConfigRecords(out []Record, typ ConfigResourceType, name string, kv map[string]string) []Record {
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		out = append(out, &ConfigRecord{ResourceType: typ, ResourceName: name, Name: k, Value: kv[k]})
	}
	return out
}
