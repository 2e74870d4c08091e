package metadata

import (
	"errors"
	"reflect"
	"testing"
)

func tid(b byte) TopicID { return TopicID{0: 0x11, 15: b} }

// build applies batches in order and fails the test on error.
func build(t *testing.T, batches ...[]Record) *Image {
	t.Helper()
	img := Empty()
	for i, b := range batches {
		next, err := img.Apply(int64(i+1), b)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		img = next
	}
	return img
}

func topicBatch(name string, id TopicID, partitions int, replicas ...int32) []Record {
	recs := []Record{&TopicRecord{Name: name, TopicID: id}}
	for p := 0; p < partitions; p++ {
		recs = append(recs, &PartitionRecord{TopicID: id, Partition: int32(p), Replicas: replicas, ISR: replicas, Leader: replicas[0]})
	}
	return recs
}

func TestApplyBuildsImage(t *testing.T) {
	img := build(t,
		[]Record{&ClusterIDRecord{ClusterID: "abc"}, &FeatureLevelRecord{Name: MetadataVersionFeature, Level: 1}},
		[]Record{&RegisterBrokerRecord{BrokerID: 2, Epoch: -1, Endpoints: []Endpoint{{Listener: "PLAINTEXT", Host: "h2", Port: 9092}}},
			&RegisterBrokerRecord{BrokerID: 1, Epoch: -1, Rack: "r1"}},
		topicBatch("orders", tid(1), 3, 1, 2),
		[]Record{&ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "orders", Name: "retention.ms", Value: "1000"},
			&ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "", Name: "log.retention.ms", Value: "5"},
			&ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "1", Name: "message.max.bytes", Value: "7"}},
	)
	if img.ClusterID() != "abc" || img.Offset() != 4 || img.FeatureLevel(MetadataVersionFeature) != 1 {
		t.Fatalf("cluster %q offset %d features %v", img.ClusterID(), img.Offset(), img.Features())
	}
	brokers := img.Brokers()
	if len(brokers) != 2 || brokers[0].ID != 1 || brokers[1].ID != 2 {
		t.Fatalf("brokers not sorted by id: %v", brokers)
	}
	if brokers[0].Epoch != 2 || brokers[0].Rack != "r1" {
		t.Errorf("broker 1 epoch %d rack %q; want epoch = offset 2", brokers[0].Epoch, brokers[0].Rack)
	}
	if ep, ok := brokers[1].Endpoint(""); !ok || ep.Host != "h2" {
		t.Errorf("broker 2 endpoint %v %v", ep, ok)
	}
	top, ok := img.Topic("orders")
	if !ok || top.ID != tid(1) || len(top.Partitions) != 3 || top.ReplicationFactor() != 2 {
		t.Fatalf("topic %+v", top)
	}
	if byID, _ := img.TopicByID(tid(1)); byID != top {
		t.Error("by-id and by-name lookups disagree")
	}
	if top.Configs["retention.ms"] != "1000" {
		t.Errorf("topic configs %v", top.Configs)
	}
	per, def := img.DynamicConfigsFor(1)
	if per["message.max.bytes"] != "7" || def["log.retention.ms"] != "5" {
		t.Errorf("broker configs %v %v", per, def)
	}
}

func TestApplyIsCopyOnWrite(t *testing.T) {
	base := build(t, topicBatch("a", tid(1), 2, 1), topicBatch("b", tid(2), 1, 1))
	a, _ := base.Topic("a")
	b, _ := base.Topic("b")
	before := *a
	beforeParts := append([]Partition(nil), a.Partitions...)

	next, err := base.Apply(10, []Record{
		&PartitionChangeRecord{TopicID: tid(1), Partition: 1, Leader: -1, ISR: []int32{}},
		&ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "a", Name: "x", Value: "y"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*a, before) || !reflect.DeepEqual(a.Partitions, beforeParts) || a.Configs != nil {
		t.Fatal("applying records modified the old Image's topic")
	}
	na, _ := next.Topic("a")
	nb, _ := next.Topic("b")
	if na == a {
		t.Error("changed topic shares its pointer with the old Image")
	}
	if nb != b {
		t.Error("unchanged topic was copied")
	}
	p := na.Partitions[1]
	if p.Leader != -1 || p.LeaderEpoch != 1 || p.PartitionEpoch != 1 || len(p.ISR) != 0 {
		t.Errorf("partition after change: %+v", p)
	}
	if na.Partitions[0].PartitionEpoch != 0 {
		t.Error("untouched partition's epoch changed")
	}
	d := DiffTopics(base, next)
	if len(d.Created) != 0 || len(d.Deleted) != 0 || len(d.Changed) != 1 || d.Changed[0].Next != na {
		t.Errorf("diff %+v", d)
	}
}

func TestApplyRejectsWholeBatch(t *testing.T) {
	base := build(t, []Record{&ClusterIDRecord{ClusterID: "c"}}, topicBatch("a", tid(1), 1, 1))
	cases := []struct {
		name string
		recs []Record
	}{
		{"second cluster id", []Record{&ClusterIDRecord{ClusterID: "d"}}},
		{"empty cluster id", []Record{&ClusterIDRecord{}}},
		{"duplicate topic name", topicBatch("a", tid(9), 1, 1)},
		{"duplicate topic id", topicBatch("z", tid(1), 1, 1)},
		{"zero topic id", []Record{&TopicRecord{Name: "z"}}},
		{"bad topic name", []Record{&TopicRecord{Name: "a b", TopicID: tid(5)}}},
		{"partition of unknown topic", []Record{&PartitionRecord{TopicID: tid(7), Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}},
		{"partition gap", []Record{&PartitionRecord{TopicID: tid(1), Partition: 2, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}},
		{"no replicas", []Record{&PartitionRecord{TopicID: tid(1), Partition: 1, Leader: -1}}},
		{"repeated replica", []Record{&PartitionRecord{TopicID: tid(1), Partition: 1, Replicas: []int32{1, 1}, Leader: -1}}},
		{"ISR not subset", []Record{&PartitionRecord{TopicID: tid(1), Partition: 1, Replicas: []int32{1}, ISR: []int32{2}, Leader: -1}}},
		{"leader outside ISR", []Record{&PartitionRecord{TopicID: tid(1), Partition: 1, Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 2}}},
		{"change unknown partition", []Record{&PartitionChangeRecord{TopicID: tid(1), Partition: 5, Leader: NoLeaderChange}}},
		{"config of unknown topic", []Record{&ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "nope", Name: "k", Value: "v"}}},
		{"config of bad broker", []Record{&ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "01", Name: "k", Value: "v"}}},
		{"config of unknown resource type", []Record{&ConfigRecord{ResourceType: 8, ResourceName: "x", Name: "k", Value: "v"}}},
		{"remove unknown topic", []Record{&RemoveTopicRecord{TopicID: tid(8)}}},
		{"producer ids go back", []Record{&ProducerIDsRecord{NextProducerID: 0}}},
		// A valid record followed by an invalid one: nothing applies.
		{"valid then invalid", append(topicBatch("ok", tid(3), 1, 1), &RemoveTopicRecord{TopicID: tid(8)})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next, err := base.Apply(99, c.recs)
			if !errors.Is(err, ErrInvalidRecord) || next != nil {
				t.Fatalf("Apply = %v, %v; want ErrInvalidRecord", next, err)
			}
			if _, ok := base.Topic("ok"); ok || base.NumTopics() != 1 {
				t.Fatal("rejected batch changed the base Image")
			}
		})
	}
}

func TestRemoveTopicAndRecreate(t *testing.T) {
	base := build(t, topicBatch("a", tid(1), 1, 1),
		[]Record{&ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "a", Name: "k", Value: "v"}})
	next := build(t, topicBatch("a", tid(1), 1, 1),
		[]Record{&ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "a", Name: "k", Value: "v"}},
		[]Record{&RemoveTopicRecord{TopicID: tid(1)}},
		topicBatch("a", tid(2), 2, 1))
	a, ok := next.Topic("a")
	if !ok || a.ID != tid(2) || len(a.Configs) != 0 || len(a.Partitions) != 2 {
		t.Fatalf("re-created topic %+v", a)
	}
	if _, ok := next.TopicByID(tid(1)); ok {
		t.Error("old id still present")
	}
	d := DiffTopics(base, next)
	if len(d.Created) != 1 || len(d.Deleted) != 1 || len(d.Changed) != 0 {
		t.Errorf("diff %+v", d)
	}
	if !DiffTopics(next, next.WithOffset(100)).IsEmpty() {
		t.Error("diff of equal topics not empty")
	}
}

func TestTopicName(t *testing.T) {
	long := make([]byte, 250)
	for i := range long {
		long[i] = 'a'
	}
	cases := []struct {
		name string
		ok   bool
	}{
		{"orders", true}, {"a.b_c-D9", true}, {string(long[:249]), true},
		{"", false}, {".", false}, {"..", false}, {string(long), false},
		{"a b", false}, {"a/b", false}, {"é", false}, {"a\x00", false},
	}
	for _, c := range cases {
		err := ValidateTopicName(c.name)
		if (err == nil) != c.ok {
			t.Errorf("ValidateTopicName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidTopic) {
			t.Errorf("error %v does not wrap ErrInvalidTopic", err)
		}
	}
}

func TestNewTopicID(t *testing.T) {
	seen := map[TopicID]bool{}
	for i := 0; i < 100; i++ {
		id, err := NewTopicID(nil)
		if err != nil {
			t.Fatal(err)
		}
		if id.IsZero() || seen[id] || id.String()[0] == '-' || len(id.String()) != 22 {
			t.Fatalf("bad id %s", id)
		}
		seen[id] = true
	}
}

func TestBrokerRegistrationChange(t *testing.T) {
	img := build(t, []Record{&RegisterBrokerRecord{BrokerID: 1, Epoch: -1, Rack: "r", Fenced: true}})
	epoch := img.Offset()
	change := func(epoch int64, fenced, shutdown int8) []Record {
		return []Record{&BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: epoch, Fenced: fenced, InControlledShutdown: shutdown}}
	}
	for name, recs := range map[string][]Record{
		"stale epoch":         change(epoch-1, BrokerUnfence, 0),
		"newer epoch":         change(epoch+1, BrokerUnfence, 0),
		"unregistered broker": {&BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: epoch, Fenced: BrokerFence}},
		"fenced out of range": change(epoch, 2, 0),
		"shutdown unmarking":  change(epoch, 0, -1),
	} {
		if _, err := img.Apply(epoch+1, recs); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%s: err %v, want ErrInvalidRecord", name, err)
		}
	}
	steps := []struct {
		name             string
		fenced, shutdown int8
		wantFenced       bool
		wantShutdown     bool
	}{
		{"unfence", BrokerUnfence, 0, false, false},
		{"no change", BrokerFenceNoChange, 0, false, false},
		{"controlled shutdown", BrokerFenceNoChange, 1, false, true},
		{"fence keeps the shutdown mark", BrokerFence, 0, true, true},
	}
	for _, s := range steps {
		before := img
		next, err := img.Apply(img.Offset()+1, change(epoch, s.fenced, s.shutdown))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		img = next
		b, _ := img.Broker(1)
		if b.Fenced != s.wantFenced || b.InControlledShutdown != s.wantShutdown || b.Epoch != epoch || b.Rack != "r" {
			t.Fatalf("%s: broker %+v", s.name, b)
		}
		if old, _ := before.Broker(1); old == b {
			t.Fatalf("%s: the previous Image's broker was modified in place", s.name)
		}
	}
	img = build(t, img.Records(), []Record{&RegisterBrokerRecord{BrokerID: 1, Epoch: -1, Fenced: true}})
	if b, _ := img.Broker(1); b.InControlledShutdown || !b.Fenced || b.Epoch == epoch {
		t.Errorf("a new registration keeps the old one's state: %+v", b)
	}
}
