package broker

import (
	"slices"
	"testing"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/storage"
)

// coordMoves records the elected and resigned calls of moveCoordination.
type coordMoves struct {
	elected, resigned []int32
}

func (m *coordMoves) elect(p *partition.Partition) { m.elected = append(m.elected, p.Index()) }
func (m *coordMoves) resign(i int32)               { m.resigned = append(m.resigned, i) }

// TestMoveCoordination: node 1's coordinator is told of each internal-topic partition it comes
// to lead (also under a new leader epoch and after the topic is re-created) and of each it
// stops leading, and of nothing else.
func TestMoveCoordination(t *testing.T) {
	store, err := storage.Open(storage.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	b := &Broker{cfg: Config{NodeID: 1}, partitions: partition.NewManager(partition.ManagerOptions{NodeID: 1, Storage: store})}
	img := metadata.Empty()
	apply := func(recs ...metadata.Record) (prev, next *metadata.Image) {
		t.Helper()
		next, err := img.Apply(img.Offset()+1, recs)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.partitions.Apply(next, metadata.DiffTopics(img, next), func(*metadata.Topic) (storage.LogConfig, partition.Config) {
			return storage.DefaultLogConfig(), partition.DefaultConfig()
		}); err != nil {
			t.Fatal(err)
		}
		prev, img = img, next
		return prev, next
	}
	apply(append(metadata.BootstrapRecords("coord-test-cluster-0001"),
		&metadata.RegisterBrokerRecord{BrokerID: 1, Epoch: 1}, &metadata.RegisterBrokerRecord{BrokerID: 2, Epoch: 2})...)
	topic := metadata.TransactionStateTopic
	id := metadata.TopicID{1}
	part := func(id metadata.TopicID, i, leader int32) *metadata.PartitionRecord {
		return &metadata.PartitionRecord{TopicID: id, Partition: i, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: leader}
	}
	for _, step := range []struct {
		name              string
		recs              []metadata.Record
		elected, resigned []int32
	}{
		{"created", []metadata.Record{&metadata.TopicRecord{Name: topic, TopicID: id}, part(id, 0, 1), part(id, 1, 2), part(id, 2, 1)},
			[]int32{0, 2}, nil},
		{"unrelated topic", []metadata.Record{&metadata.TopicRecord{Name: "orders", TopicID: metadata.TopicID{2}}, part(metadata.TopicID{2}, 0, 1)},
			nil, nil},
		{"leaderships move", []metadata.Record{
			&metadata.PartitionChangeRecord{TopicID: id, Partition: 0, Leader: 2},
			&metadata.PartitionChangeRecord{TopicID: id, Partition: 1, Leader: 1}},
			[]int32{1}, []int32{0}},
		{"ISR change only", []metadata.Record{&metadata.PartitionChangeRecord{TopicID: id, Partition: 1, Leader: metadata.NoLeaderChange, ISR: []int32{1}}},
			nil, nil},
		{"away and back in one Image", []metadata.Record{
			&metadata.PartitionChangeRecord{TopicID: id, Partition: 1, Leader: 2, ISR: []int32{1, 2}},
			&metadata.PartitionChangeRecord{TopicID: id, Partition: 1, Leader: 1}},
			[]int32{1}, []int32{1}},
		{"re-created in one Image", []metadata.Record{&metadata.RemoveTopicRecord{TopicID: id},
			&metadata.TopicRecord{Name: topic, TopicID: metadata.TopicID{3}}, part(metadata.TopicID{3}, 0, 1)},
			[]int32{0}, []int32{1, 2}},
		{"deleted", []metadata.Record{&metadata.RemoveTopicRecord{TopicID: metadata.TopicID{3}}}, nil, []int32{0}},
	} {
		prev, next := apply(step.recs...)
		var m coordMoves
		b.moveCoordination(prev, next, topic, m.elect, m.resign)
		slices.Sort(m.elected)
		slices.Sort(m.resigned)
		if !slices.Equal(m.elected, step.elected) || !slices.Equal(m.resigned, step.resigned) {
			t.Errorf("%s: elected %v resigned %v, want %v and %v", step.name, m.elected, m.resigned, step.elected, step.resigned)
		}
	}
}
