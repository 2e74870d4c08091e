package metrics

import (
	"testing"

	"github.com/sluicehq/sluice/internal/metadata"
)

func TestPartitionHealth(t *testing.T) {
	id := func(b byte) metadata.TopicID { return metadata.TopicID{b} }
	part := func(topic metadata.TopicID, p int32, leader int32, replicas, isr []int32) metadata.Record {
		return &metadata.PartitionRecord{TopicID: topic, Partition: p, Replicas: replicas, ISR: isr, Leader: leader}
	}
	img, err := metadata.Empty().Apply(1, []metadata.Record{
		&metadata.TopicRecord{Name: "healthy", TopicID: id(1)},
		part(id(1), 0, 1, []int32{1}, []int32{1}),
		part(id(1), 1, 1, []int32{1, 2, 3}, []int32{1, 2, 3}),
		&metadata.TopicRecord{Name: "shrunk", TopicID: id(2)},
		part(id(2), 0, 1, []int32{1, 2, 3}, []int32{1}), // led here, ISR short: under-replicated
		part(id(2), 1, 2, []int32{2, 1, 3}, []int32{2}), // led elsewhere: that broker counts it
		part(id(2), 2, -1, []int32{1, 2}, []int32{1}),   // no leader: offline, not under-replicated
		&metadata.TopicRecord{Name: "gone", TopicID: id(3)},
		part(id(3), 0, -1, []int32{3}, []int32{3}), // offline anywhere in the cluster
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                     string
		node                     int32
		underReplicated, offline int
	}{
		{"leader of the shrunk partition", 1, 1, 2},
		{"leader of the other shrunk partition", 2, 1, 2},
		{"leads nothing", 4, 0, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			under, offline := PartitionHealth(img, tc.node)
			if under != tc.underReplicated || offline != tc.offline {
				t.Errorf("PartitionHealth(node %d) = %d under-replicated, %d offline; want %d, %d", tc.node, under, offline, tc.underReplicated, tc.offline)
			}
		})
	}
	if under, offline := PartitionHealth(metadata.Empty(), 1); under != 0 || offline != 0 {
		t.Errorf("empty image: %d, %d", under, offline)
	}
}
