package metadata

import "testing"

// BenchmarkPartitionChangesScan: the cost of FenceStaleBrokers' check of every partition when
// nothing needs to change (it runs after any metadata change), per partition, against the
// reference of merely visiting every partition of the Image.
func BenchmarkPartitionChangesScan(b *testing.B) {
	var recs []Record
	recs = append(recs, &RegisterBrokerRecord{BrokerID: 1, Epoch: -1}, &RegisterBrokerRecord{BrokerID: 2, Epoch: -1},
		&RegisterBrokerRecord{BrokerID: 3, Epoch: -1})
	for i := 0; i < 100; i++ {
		id := TopicID{0: 1, 14: byte(i >> 8), 15: byte(i)}
		recs = append(recs, &TopicRecord{Name: "t" + string(rune('a'+i%26)) + string(rune('a'+i/26)), TopicID: id})
		for p := int32(0); p < 1000; p++ {
			recs = append(recs, &PartitionRecord{TopicID: id, Partition: p, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Leader: 1 + p%3})
		}
	}
	img, err := Empty().Apply(1, recs)
	if err != nil {
		b.Fatal(err)
	}
	active := func(id int32) bool { return isActive(img, id) }
	b.Run("visit", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			n := 0
			for _, t := range img.Topics() {
				for j := range t.Partitions {
					n += int(t.Partitions[j].Leader)
				}
			}
			if n == 0 {
				b.Fatal("no partitions")
			}
		}
	})
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if out := partitionChanges(img, active, nil, MaxRecordsPerBatch); len(out) != 0 {
				b.Fatal(len(out))
			}
		}
	})
}
