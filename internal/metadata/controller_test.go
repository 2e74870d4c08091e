package metadata

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/config"
)

// memLog is an in-memory metadata log: it applies proposals to an Image in order, as the
// quorum's FSM does, without Raft. The quorum package tests the Controller over real Raft.
type memLog struct {
	mu       sync.Mutex // the Controller reads LeaderImage concurrently with Propose, as the quorum allows
	img      *Image
	leader   bool
	proposed int
	sizes    []int // records per proposed batch
}

func (l *memLog) LeaderImage(context.Context) (*Image, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.leader {
		return nil, errorf(ErrNotController, "node 9 is the controller")
	}
	return l.img, nil
}

func (l *memLog) Propose(_ context.Context, recs []Record) (*Image, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.leader {
		return nil, errorf(ErrNotController, "node 9 is the controller")
	}
	l.proposed++
	l.sizes = append(l.sizes, len(recs))
	next, err := l.img.Apply(l.img.Offset()+1, recs)
	if err != nil {
		l.img = l.img.WithOffset(l.img.Offset() + 1)
		return nil, err
	}
	l.img = next
	return next, nil
}

// seeded is a deterministic randomness source for ids and placement.
type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

// fakeClock is the controller's clock in tests: it moves only when told to.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func newTestController(t *testing.T, brokers []int32, static map[string]string) (*Controller, *memLog) {
	t.Helper()
	ctl, log, _ := newClockedController(t, brokers, static)
	return ctl, log
}

// newClockedController is newTestController with the fake clock of broker sessions (session
// timeout 9 s); the brokers are registered and unfenced, one batch each.
func newClockedController(t *testing.T, brokers []int32, static map[string]string) (*Controller, *memLog, *fakeClock) {
	t.Helper()
	img, err := Empty().Apply(0, BootstrapRecords("test-cluster"))
	if err != nil {
		t.Fatal(err)
	}
	log := &memLog{img: img, leader: true}
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	ctl := NewController(log, ControllerOptions{NodeID: 1, StaticConfig: static,
		Random: seeded{rand.NewChaCha8([32]byte{1})}, Now: clock.Now})
	for _, id := range brokers {
		registerUnfenced(t, ctl, log, BrokerRegistration{ID: id,
			Endpoints: []Endpoint{{Listener: "PLAINTEXT", Host: "localhost", Port: 9092 + id}}})
	}
	log.proposed = 0
	return ctl, log, clock
}

// registerUnfenced registers a broker and heartbeats it once, caught up, so it is unfenced.
func registerUnfenced(t *testing.T, ctl *Controller, log *memLog, reg BrokerRegistration) int64 {
	t.Helper()
	ctx := context.Background()
	epoch, err := ctl.RegisterBroker(ctx, reg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ctl.BrokerHeartbeat(ctx, Heartbeat{ID: reg.ID, Epoch: epoch, MetadataOffset: log.img.Offset()})
	if err != nil || res.IsFenced {
		t.Fatalf("heartbeat of broker %d: %+v %v", reg.ID, res, err)
	}
	return epoch
}

func TestCreateTopics(t *testing.T) {
	ctl, log := newTestController(t, []int32{1, 2, 3}, map[string]string{string(config.NumPartitions): "4"})
	ctx := context.Background()
	res := ctl.CreateTopics(ctx, []CreateTopic{
		{Name: "orders", NumPartitions: 6, ReplicationFactor: 3, Configs: map[string]string{"retention.ms": " 1000 "}},
		{Name: "defaults", NumPartitions: -1, ReplicationFactor: -1},
		{Name: "manual", NumPartitions: -1, ReplicationFactor: -1, Assignments: []Assignment{
			{Partition: 0, Replicas: []int32{3, 1}}, {Partition: 1, Replicas: []int32{2, 3}}}},
	}, false)
	for _, r := range res {
		if r.Err != nil || r.ID.IsZero() {
			t.Fatalf("%s: %v", r.Name, r.Err)
		}
	}
	if res[1].NumPartitions != 4 || res[1].ReplicationFactor != 1 {
		t.Errorf("defaults: %d partitions rf %d; want num.partitions=4, default.replication.factor=1", res[1].NumPartitions, res[1].ReplicationFactor)
	}
	if log.proposed != 1 {
		t.Errorf("%d proposals, want the topics in one", log.proposed)
	}
	orders := mustTopic(t, log.img, "orders")
	if orders.ID != res[0].ID || orders.Configs["retention.ms"] != "1000" {
		t.Errorf("orders: id %s configs %v", orders.ID, orders.Configs)
	}
	leaders := map[int32]int{}
	for _, p := range orders.Partitions {
		if len(p.Replicas) != 3 || p.Leader != p.Replicas[0] || !slices.Equal(p.ISR, p.Replicas) {
			t.Errorf("partition %+v", p)
		}
		leaders[p.Leader]++
	}
	if !reflect.DeepEqual(leaders, map[int32]int{1: 2, 2: 2, 3: 2}) {
		t.Errorf("leaders not spread evenly: %v", leaders)
	}
	manual := mustTopic(t, log.img, "manual")
	if !slices.Equal(manual.Partitions[0].Replicas, []int32{3, 1}) || manual.Partitions[1].Leader != 2 {
		t.Errorf("manual placement not kept: %+v", manual.Partitions)
	}
}

func TestCreateTopicsErrors(t *testing.T) {
	ctl, log := newTestController(t, []int32{1, 2}, nil)
	ctx := context.Background()
	if r := ctl.CreateTopics(ctx, []CreateTopic{{Name: "a.b", NumPartitions: 1, ReplicationFactor: 1}}, false); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	long := strings.Repeat("x", 250)
	cases := []struct {
		name  string
		topic CreateTopic
		want  error
	}{
		{"empty name", CreateTopic{Name: "", NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic},
		{"dot", CreateTopic{Name: ".", NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic},
		{"too long", CreateTopic{Name: long, NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic},
		{"bad character", CreateTopic{Name: "a:b", NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic},
		{"exists", CreateTopic{Name: "a.b", NumPartitions: 1, ReplicationFactor: 1}, ErrTopicExists},
		{"collides", CreateTopic{Name: "a_b", NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic},
		{"metadata topic", CreateTopic{Name: "__cluster_metadata", NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidRequest},
		{"zero partitions", CreateTopic{Name: "z", NumPartitions: 0, ReplicationFactor: 1}, ErrInvalidPartitions},
		{"negative partitions", CreateTopic{Name: "z", NumPartitions: -2, ReplicationFactor: 1}, ErrInvalidPartitions},
		{"too many partitions", CreateTopic{Name: "z", NumPartitions: 1 << 30, ReplicationFactor: 1}, ErrPolicyViolation},
		{"zero replication", CreateTopic{Name: "z", NumPartitions: 1, ReplicationFactor: 0}, ErrInvalidReplicationFactor},
		{"replication above brokers", CreateTopic{Name: "z", NumPartitions: 1, ReplicationFactor: 3}, ErrInvalidReplicationFactor},
		{"assignment with counts", CreateTopic{Name: "z", NumPartitions: 1, ReplicationFactor: -1,
			Assignments: []Assignment{{Partition: 0, Replicas: []int32{1}}}}, ErrInvalidRequest},
		{"assignment gap", CreateTopic{Name: "z", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: []Assignment{{Partition: 1, Replicas: []int32{1}}}}, ErrInvalidReplicaAssignment},
		{"assignment empty", CreateTopic{Name: "z", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: []Assignment{{Partition: 0}}}, ErrInvalidReplicaAssignment},
		{"assignment repeats broker", CreateTopic{Name: "z", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: []Assignment{{Partition: 0, Replicas: []int32{1, 1}}}}, ErrInvalidReplicaAssignment},
		{"assignment unknown broker", CreateTopic{Name: "z", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: []Assignment{{Partition: 0, Replicas: []int32{7}}}}, ErrInvalidReplicaAssignment},
		{"assignment uneven", CreateTopic{Name: "z", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: []Assignment{{Partition: 0, Replicas: []int32{1}}, {Partition: 1, Replicas: []int32{1, 2}}}}, ErrInvalidReplicaAssignment},
		{"unknown config", CreateTopic{Name: "z", NumPartitions: 1, ReplicationFactor: 1,
			Configs: map[string]string{"retention.days": "1"}}, ErrInvalidConfig},
		{"bad config value", CreateTopic{Name: "z", NumPartitions: 1, ReplicationFactor: 1,
			Configs: map[string]string{"cleanup.policy": "archive"}}, ErrInvalidConfig},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := log.img
			res := ctl.CreateTopics(ctx, []CreateTopic{c.topic}, false)
			if !errors.Is(res[0].Err, c.want) {
				t.Fatalf("err = %v, want %v", res[0].Err, c.want)
			}
			if log.img != before {
				t.Error("a rejected topic changed the Image")
			}
		})
	}
}

func TestCreateTopicsMessages(t *testing.T) {
	ctl, _ := newTestController(t, []int32{1}, nil)
	res := ctl.CreateTopics(context.Background(), []CreateTopic{
		{Name: "t", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]string{"segment.ms": "0"}},
		{Name: "u", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]string{"segment.msec": "0"}},
	}, true)
	for i, want := range []string{`invalid value "0" for segment.ms`, "unknown topic config name: segment.msec"} {
		if res[i].Err == nil || !strings.Contains(res[i].Err.Error(), want) || strings.Contains(res[i].Err.Error(), "metadata:") {
			t.Errorf("message %q; want it to say %q without package prefixes", res[i].Err, want)
		}
	}
	if !errors.Is(res[1].Err, config.ErrUnknownConfig) {
		t.Errorf("%v does not wrap config.ErrUnknownConfig", res[1].Err)
	}
}

func TestCreateTopicsInOneRequest(t *testing.T) {
	ctl, log := newTestController(t, []int32{1}, nil)
	res := ctl.CreateTopics(context.Background(), []CreateTopic{
		{Name: "dup", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "dup", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "x.y", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "x_y", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "ok", NumPartitions: 1, ReplicationFactor: 1},
	}, false)
	wants := []error{ErrInvalidRequest, ErrInvalidRequest, nil, ErrInvalidTopic, nil}
	for i, want := range wants {
		if (want == nil && res[i].Err != nil) || (want != nil && !errors.Is(res[i].Err, want)) {
			t.Errorf("topic %d (%s): err %v, want %v", i, res[i].Name, res[i].Err, want)
		}
	}
	if log.img.NumTopics() != 2 {
		t.Errorf("%d topics, want x.y and ok", log.img.NumTopics())
	}
}

func TestCreateTopicsValidateOnlyAndNotController(t *testing.T) {
	ctl, log := newTestController(t, []int32{1}, nil)
	ctx := context.Background()
	res := ctl.CreateTopics(ctx, []CreateTopic{{Name: "v", NumPartitions: 3, ReplicationFactor: 1}}, true)
	if res[0].Err != nil || res[0].NumPartitions != 3 {
		t.Fatalf("validate-only: %+v", res[0])
	}
	if _, ok := log.img.Topic("v"); ok {
		t.Fatal("validate-only created the topic")
	}
	log.leader = false
	res = ctl.CreateTopics(ctx, []CreateTopic{{Name: "v", NumPartitions: 3, ReplicationFactor: 1}}, false)
	if !errors.Is(res[0].Err, ErrNotController) {
		t.Fatalf("err = %v, want ErrNotController", res[0].Err)
	}
}

func TestPlaceReplicasMatchesKafka(t *testing.T) {
	// Kafka's rack-unaware assignment for brokers 0..4, 10 partitions, replication 3, start
	// index 0 and shift 0.
	want := [][]int32{{0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1}, {0, 2, 3}, {1, 3, 4}, {2, 4, 0}, {3, 0, 1}, {4, 1, 2}}
	got := placeReplicas([]int32{0, 1, 2, 3, 4}, 10, 3, 0, 0, 0)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	// Adding partitions continues the rotation.
	if more := placeReplicas([]int32{0, 1, 2, 3, 4}, 2, 3, 10, 0, 1); !reflect.DeepEqual(more, [][]int32{{0, 3, 4}, {1, 4, 0}}) {
		t.Fatalf("continued placement %v", more)
	}
}

func TestDeleteTopics(t *testing.T) {
	ctl, log := newTestController(t, []int32{1}, nil)
	ctx := context.Background()
	created := ctl.CreateTopics(ctx, []CreateTopic{
		{Name: "a", NumPartitions: 1, ReplicationFactor: 1}, {Name: "b", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "c", NumPartitions: 1, ReplicationFactor: 1}}, false)
	res := ctl.DeleteTopics(ctx, []DeleteTopic{
		{Name: "a"}, {ID: created[1].ID}, {Name: "nope"}, {ID: tid(99)}, {Name: "c", ID: created[2].ID}, {},
	})
	wants := []error{nil, nil, ErrUnknownTopic, ErrUnknownTopicID, ErrInvalidRequest, ErrInvalidRequest}
	for i, want := range wants {
		if (want == nil && res[i].Err != nil) || (want != nil && !errors.Is(res[i].Err, want)) {
			t.Errorf("delete %d: err %v, want %v", i, res[i].Err, want)
		}
	}
	if res[1].Name != "b" || res[0].ID != created[0].ID {
		t.Errorf("results do not name the deleted topics: %+v", res[:2])
	}
	if log.img.NumTopics() != 1 {
		t.Errorf("%d topics left, want c", log.img.NumTopics())
	}
	dup := ctl.DeleteTopics(ctx, []DeleteTopic{{Name: "c"}, {ID: created[2].ID}})
	if !errors.Is(dup[0].Err, ErrInvalidRequest) || !errors.Is(dup[1].Err, ErrInvalidRequest) {
		t.Errorf("same topic twice: %v %v", dup[0].Err, dup[1].Err)
	}

	off, _ := newTestController(t, []int32{1}, map[string]string{string(config.DeleteTopicEnable): "false"})
	off.CreateTopics(ctx, []CreateTopic{{Name: "a", NumPartitions: 1, ReplicationFactor: 1}}, false)
	if r := off.DeleteTopics(ctx, []DeleteTopic{{Name: "a"}}); !errors.Is(r[0].Err, ErrTopicDeletionDisabled) {
		t.Errorf("deletion disabled: %v", r[0].Err)
	}
}

func TestCreatePartitions(t *testing.T) {
	ctl, log := newTestController(t, []int32{1, 2, 3}, nil)
	ctx := context.Background()
	ctl.CreateTopics(ctx, []CreateTopic{{Name: "t", NumPartitions: 3, ReplicationFactor: 2}}, false)
	cases := []struct {
		name string
		req  CreatePartitions
		want error
	}{
		{"same count", CreatePartitions{Topic: "t", Count: 3}, ErrInvalidPartitions},
		{"decrease", CreatePartitions{Topic: "t", Count: 2}, ErrInvalidPartitions},
		{"unknown topic", CreatePartitions{Topic: "u", Count: 5}, ErrUnknownTopic},
		{"too many", CreatePartitions{Topic: "t", Count: 1 << 30}, ErrPolicyViolation},
		{"assignment count", CreatePartitions{Topic: "t", Count: 5, Assignments: [][]int32{{1, 2}}}, ErrInvalidReplicaAssignment},
		{"assignment replication", CreatePartitions{Topic: "t", Count: 4, Assignments: [][]int32{{1}}}, ErrInvalidReplicaAssignment},
		{"assignment unknown broker", CreatePartitions{Topic: "t", Count: 4, Assignments: [][]int32{{1, 8}}}, ErrInvalidReplicaAssignment},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := ctl.CreatePartitions(ctx, []CreatePartitions{c.req}, false); !errors.Is(r[0].Err, c.want) {
				t.Fatalf("err = %v, want %v", r[0].Err, c.want)
			}
		})
	}
	if r := ctl.CreatePartitions(ctx, []CreatePartitions{{Topic: "t", Count: 9}}, true); r[0].Err != nil || len(mustTopic(t, log.img, "t").Partitions) != 3 {
		t.Fatalf("validate-only: %v", r[0].Err)
	}
	r := ctl.CreatePartitions(ctx, []CreatePartitions{{Topic: "t", Count: 6}}, false)
	if r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	r = ctl.CreatePartitions(ctx, []CreatePartitions{{Topic: "t", Count: 7, Assignments: [][]int32{{3, 2}}}}, false)
	if r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	top := mustTopic(t, log.img, "t")
	leaders := map[int32]int{}
	for _, p := range top.Partitions[:6] {
		leaders[p.Leader]++
		if len(p.Replicas) != 2 {
			t.Errorf("partition %d has %d replicas", p.Partition, len(p.Replicas))
		}
	}
	if !reflect.DeepEqual(leaders, map[int32]int{1: 2, 2: 2, 3: 2}) {
		t.Errorf("after adding partitions leaders are %v; the rotation should continue", leaders)
	}
	if !slices.Equal(top.Partitions[6].Replicas, []int32{3, 2}) {
		t.Errorf("manual partition %v", top.Partitions[6].Replicas)
	}
}

func TestAlterConfigs(t *testing.T) {
	ctl, log := newTestController(t, []int32{1}, nil)
	ctx := context.Background()
	ctl.CreateTopics(ctx, []CreateTopic{{Name: "t", NumPartitions: 1, ReplicationFactor: 1,
		Configs: map[string]string{"retention.ms": "1000", "cleanup.policy": "compact"}}}, false)
	topic := ConfigResource{Type: ConfigResourceTopic, Name: "t"}
	res := ctl.AlterConfigs(ctx, []AlterConfigs{
		{Resource: topic, Configs: map[string]string{"retention.ms": "2000", "segment.ms": "60000"}},
		{Resource: ConfigResource{Type: ConfigResourceBroker, Name: ""}, Configs: map[string]string{"log.retention.ms": "5000"}},
		{Resource: ConfigResource{Type: ConfigResourceBroker, Name: "1"}, Configs: map[string]string{"message.max.bytes": "2000000"}},
	}, false)
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("%v: %v", r.Resource, r.Err)
		}
	}
	want := map[string]string{"retention.ms": "2000", "segment.ms": "60000"}
	if got := mustTopic(t, log.img, "t").Configs; !reflect.DeepEqual(got, want) {
		t.Errorf("topic configs %v, want %v (cleanup.policy removed)", got, want)
	}
	if per, def := log.img.DynamicConfigsFor(1); per["message.max.bytes"] != "2000000" || def["log.retention.ms"] != "5000" {
		t.Errorf("broker configs %v %v", per, def)
	}
	errs := []struct {
		name string
		req  AlterConfigs
		want error
	}{
		{"unknown topic", AlterConfigs{Resource: ConfigResource{Type: ConfigResourceTopic, Name: "u"}}, ErrUnknownTopic},
		{"invalid topic name", AlterConfigs{Resource: ConfigResource{Type: ConfigResourceTopic, Name: "a b"}}, ErrInvalidTopic},
		{"bad value", AlterConfigs{Resource: topic, Configs: map[string]string{"retention.ms": "soon"}}, ErrInvalidConfig},
		{"read-only broker config", AlterConfigs{Resource: ConfigResource{Type: ConfigResourceBroker, Name: "1"},
			Configs: map[string]string{"num.partitions": "3"}}, config.ErrReadOnly},
		{"bad broker name", AlterConfigs{Resource: ConfigResource{Type: ConfigResourceBroker, Name: "b1"}}, ErrInvalidRequest},
		{"unsupported resource", AlterConfigs{Resource: ConfigResource{Type: 8, Name: "x"}}, ErrInvalidRequest},
	}
	for _, c := range errs {
		t.Run(c.name, func(t *testing.T) {
			if r := ctl.AlterConfigs(ctx, []AlterConfigs{c.req}, false); !errors.Is(r[0].Err, c.want) {
				t.Fatalf("err = %v, want %v", r[0].Err, c.want)
			}
		})
	}
	before := log.img
	if r := ctl.AlterConfigs(ctx, []AlterConfigs{{Resource: topic}}, true); r[0].Err != nil || log.img != before {
		t.Fatalf("validate-only: %v, image changed: %v", r[0].Err, log.img != before)
	}
}

func TestIncrementalAlterConfigs(t *testing.T) {
	ctl, log := newTestController(t, []int32{1}, nil)
	ctx := context.Background()
	ctl.CreateTopics(ctx, []CreateTopic{{Name: "t", NumPartitions: 1, ReplicationFactor: 1,
		Configs: map[string]string{"retention.ms": "1000", "segment.ms": "5000"}}}, false)
	topic := ConfigResource{Type: ConfigResourceTopic, Name: "t"}
	steps := []struct {
		name    string
		changes []ConfigChange
		want    map[string]string
		wantErr error
	}{
		{"set and delete", []ConfigChange{{Name: "retention.ms", Op: OpSet, Value: "3000"}, {Name: "segment.ms", Op: OpDelete}},
			map[string]string{"retention.ms": "3000"}, nil},
		{"append to default", []ConfigChange{{Name: "cleanup.policy", Op: OpAppend, Value: "compact"}},
			map[string]string{"retention.ms": "3000", "cleanup.policy": "delete,compact"}, nil},
		{"append present value", []ConfigChange{{Name: "cleanup.policy", Op: OpAppend, Value: "delete"}},
			map[string]string{"retention.ms": "3000", "cleanup.policy": "delete,compact"}, nil},
		{"subtract", []ConfigChange{{Name: "cleanup.policy", Op: OpSubtract, Value: "delete"}},
			map[string]string{"retention.ms": "3000", "cleanup.policy": "compact"}, nil},
		{"subtract to empty", []ConfigChange{{Name: "cleanup.policy", Op: OpSubtract, Value: "compact"}}, nil, ErrInvalidConfig},
		{"append to non-list", []ConfigChange{{Name: "retention.ms", Op: OpAppend, Value: "1"}}, nil, ErrInvalidConfig},
		{"duplicate key", []ConfigChange{{Name: "retention.ms", Op: OpSet, Value: "1"}, {Name: "retention.ms", Op: OpDelete}}, nil, ErrInvalidRequest},
		{"unknown key", []ConfigChange{{Name: "retention.days", Op: OpDelete}}, nil, ErrInvalidConfig},
		{"unknown op", []ConfigChange{{Name: "retention.ms", Op: 9}}, nil, ErrInvalidRequest},
		{"delete absent key", []ConfigChange{{Name: "segment.bytes", Op: OpDelete}},
			map[string]string{"retention.ms": "3000", "cleanup.policy": "compact"}, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := ctl.IncrementalAlterConfigs(ctx, []IncrementalAlterConfigs{{Resource: topic, Changes: s.changes}}, false)
			if s.wantErr != nil {
				if !errors.Is(r[0].Err, s.wantErr) {
					t.Fatalf("err = %v, want %v", r[0].Err, s.wantErr)
				}
				return
			}
			if r[0].Err != nil {
				t.Fatal(r[0].Err)
			}
			if got := mustTopic(t, log.img, "t").Configs; !reflect.DeepEqual(got, s.want) {
				t.Fatalf("configs %v, want %v", got, s.want)
			}
		})
	}
	r := ctl.IncrementalAlterConfigs(ctx, []IncrementalAlterConfigs{{Resource: ConfigResource{Type: ConfigResourceBroker},
		Changes: []ConfigChange{{Name: "log.cleanup.policy", Op: OpAppend, Value: "compact"}}}}, false)
	if r[0].Err != nil || log.img.BrokerConfigs("")["log.cleanup.policy"] != "delete,compact" {
		t.Fatalf("broker append: %v %v", r[0].Err, log.img.BrokerConfigs(""))
	}
}

func TestUpdateFeatures(t *testing.T) {
	ctl, log := newTestController(t, []int32{1}, nil)
	ctx := context.Background()
	mv, _ := SupportedFeature(MetadataVersionFeature)
	proposals := log.proposed
	res := ctl.UpdateFeatures(ctx, []FeatureUpdate{{Name: MetadataVersionFeature, MaxLevel: mv.MaxLevel, UpgradeType: FeatureUpgrade}}, false)
	if res[0].Err != nil || log.proposed != proposals {
		t.Fatalf("same level: %v (proposals %d → %d)", res[0].Err, proposals, log.proposed)
	}
	cases := []struct {
		name    string
		updates []FeatureUpdate
		want    []error
	}{
		{"unknown feature", []FeatureUpdate{{Name: "frobnication.version", MaxLevel: 1, UpgradeType: FeatureUpgrade}}, []error{ErrInvalidUpdateVersion}},
		{"above range", []FeatureUpdate{{Name: MetadataVersionFeature, MaxLevel: mv.MaxLevel + 1, UpgradeType: FeatureUpgrade}}, []error{ErrInvalidUpdateVersion}},
		{"downgrade as upgrade", []FeatureUpdate{{Name: MetadataVersionFeature, MaxLevel: mv.MinLevel - 1, UpgradeType: FeatureUpgrade}}, []error{ErrInvalidUpdateVersion}},
		{"remove metadata.version", []FeatureUpdate{{Name: MetadataVersionFeature, MaxLevel: 0, UpgradeType: FeatureUnsafeDowngrade}}, []error{ErrInvalidUpdateVersion}},
		{"bad upgrade type", []FeatureUpdate{{Name: MetadataVersionFeature, MaxLevel: mv.MaxLevel, UpgradeType: 7}}, []error{ErrInvalidRequest}},
		{"all or nothing", []FeatureUpdate{{Name: MetadataVersionFeature, MaxLevel: mv.MaxLevel, UpgradeType: FeatureUpgrade},
			{Name: "nope", MaxLevel: 1, UpgradeType: FeatureUpgrade}}, []error{ErrFeatureUpdateFailed, ErrInvalidUpdateVersion}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := ctl.UpdateFeatures(ctx, c.updates, false)
			for i, want := range c.want {
				if !errors.Is(res[i].Err, want) {
					t.Errorf("update %d: err %v, want %v", i, res[i].Err, want)
				}
			}
		})
	}
	if log.img.FeatureLevel(MetadataVersionFeature) != mv.Bootstrap {
		t.Error("a rejected update changed metadata.version")
	}
}
