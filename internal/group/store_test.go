package group

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/record"
)

// TestPartitionMatchesJavaHash: expected values come from Java's String.hashCode, noted beside
// each case, then Kafka's abs and modulo 50.
func TestPartitionMatchesJavaHash(t *testing.T) {
	cases := []struct {
		group string
		want  int32
	}{
		{"", 0},
		{"abc", 96354 % 50},       // "abc".hashCode() == 96354
		{"hello", 99162322 % 50},  // "hello".hashCode() == 99162322
		{"polygenelubricants", 0}, // hashCode is Integer.MIN_VALUE: Kafka's abs gives 0
		{"email-service", 2},      // 1121163652
		{"my-group", 12},          // -1906497762: abs before the modulo
		{"schema-registry", 29},   // -2135014679
	}
	for _, tc := range cases {
		t.Run(tc.group, func(t *testing.T) {
			if got := Partition(tc.group, 50); got != tc.want {
				t.Fatalf("Partition(%q) = %d, want %d", tc.group, got, tc.want)
			}
		})
	}
}

// memLog keeps appended batches in order, as one partition's log would.
type memLog struct {
	mu      sync.Mutex
	batches []byte
}

func (l *memLog) Append(_ context.Context, _ int32, batch []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches = append(l.batches, batch...)
	return nil
}

func (l *memLog) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.batches...)
}

func TestCommitsReloadFromTheLog(t *testing.T) {
	log := &memLog{}
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 50})
	defer c.Close()
	ctx := context.Background()
	if err := c.CommitOffsets(ctx, "a", "", "", -1, []OffsetCommit{{Topic: "t", Partition: 0, Offset: 5, LeaderEpoch: 2, Metadata: "x"}, {Topic: "t", Partition: 1, Offset: 9, LeaderEpoch: -1}}); err != nil {
		t.Fatal(err)
	}
	if err := c.CommitOffsets(ctx, "a", "", "", -1, []OffsetCommit{{Topic: "t", Partition: 0, Offset: 7, LeaderEpoch: 2}}); err != nil {
		t.Fatal(err)
	}
	if err := c.CommitOffsets(ctx, "gone", "", "", -1, []OffsetCommit{{Topic: "t", Partition: 0, Offset: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}

	reloaded := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour})
	defer reloaded.Close()
	if err := reloaded.Load(log.bytes()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		group     string
		partition int32
		want      int64
		found     bool
	}{
		{"newest commit wins", "a", 0, 7, true},
		{"untouched partition", "a", 1, 9, true},
		{"deleted group's tombstone", "gone", 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, ok := reloaded.FetchOffset(tc.group, "t", tc.partition)
			if ok != tc.found || o.Offset != tc.want {
				t.Fatalf("offset %d found %v, want %d %v", o.Offset, ok, tc.want, tc.found)
			}
		})
	}
}

func TestLoadSkipsUndecodableRecords(t *testing.T) {
	b := record.NewBuilder(record.None)
	b.Add(0, []byte{0, 9}, []byte{1}) // unknown key version
	b.Add(0, AppendOffsetKey(nil, "g", "t", 0), AppendOffsetValue(nil, OffsetCommit{Offset: 3}))
	batch, err := b.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := New(Config{})
	defer c.Close()
	if err := c.Load(batch); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("load: %v, want ErrBadRecord", err)
	}
	if o, ok := c.FetchOffset("g", "t", 0); !ok || o.Offset != 3 {
		t.Fatalf("good record after a bad one: %+v %v", o, ok)
	}
}

func TestDeleteOffsets(t *testing.T) {
	ctx := context.Background()
	subscribesToT := func([]byte) []string { return []string{"t"} }
	log := &memLog{}
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, Log: log, NumPartitions: 50})
	t.Cleanup(c.Close)
	ids, gen := stableGroup(t, c, 1) // group "g", protocol type "consumer"
	commit := []OffsetCommit{{Topic: "t", Partition: 0, Offset: 1}, {Topic: "u", Partition: 0, Offset: 2}}
	if err := c.CommitOffsets(ctx, "g", ids[0], "", gen, commit); err != nil {
		t.Fatal(err)
	}
	errs, err := c.DeleteOffsets(ctx, "g", commit, subscribesToT)
	if err != nil || !errors.Is(errs[0], ErrGroupSubscribedToTopic) || errs[1] != nil {
		t.Fatalf("delete from a consumer group with members: %v %v", errs, err)
	}
	if _, ok := c.FetchOffset("g", "u", 0); ok {
		t.Fatal("unsubscribed topic's offset survived")
	}
	if _, ok := c.FetchOffset("g", "t", 0); !ok {
		t.Fatal("subscribed topic's offset was deleted")
	}
	if _, err := c.DeleteOffsets(ctx, "nobody", commit, subscribesToT); !errors.Is(err, ErrGroupIDNotFound) {
		t.Fatalf("unknown group: %v", err)
	}
	c.Leave("g", []LeavingMember{{MemberID: ids[0]}})
	if errs, err := c.DeleteOffsets(ctx, "g", commit[:1], subscribesToT); err != nil || errs[0] != nil {
		t.Fatalf("delete from the empty group: %v %v", errs, err)
	}
	reloaded := New(Config{})
	t.Cleanup(reloaded.Close)
	if err := reloaded.Load(log.bytes()); err != nil {
		t.Fatal(err)
	}
	if offs := reloaded.FetchAllOffsets("g"); len(offs) != 0 {
		t.Fatalf("offsets after the tombstones were replayed: %+v", offs)
	}
}

func TestDeleteOffsetsOfNonConsumerGroupWithMembers(t *testing.T) {
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour})
	t.Cleanup(c.Close)
	req := joinReq("", "leader")
	req.ProtocolType = "connect"
	id := memberID(t, c, req)
	req.MemberID = id
	if r := recvJoin(t, c.Join(req)); r.Err != nil {
		t.Fatal(r.Err)
	}
	if _, err := c.DeleteOffsets(context.Background(), "g", []OffsetCommit{{Topic: "t"}}, func([]byte) []string { return nil }); !errors.Is(err, ErrNonEmptyGroup) {
		t.Fatalf("err %v, want ErrNonEmptyGroup", err)
	}
}

func TestGroupValueRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		md   GroupMetadata
	}{
		{"empty group", GroupMetadata{ProtocolType: "consumer", Generation: 4, StateTime: 11}},
		{"stable group", GroupMetadata{ProtocolType: "connect", Generation: 9, Protocol: "sessioned", Leader: "m1", StateTime: 12,
			Members: []MemberMetadata{{MemberID: "m1", InstanceID: "i1", ClientID: "c", ClientHost: "/127.0.0.1",
				RebalanceTimeout: 60000, SessionTimeout: 10000, Subscription: []byte("sub"), Assignment: []byte("asg")}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeGroupValue(AppendGroupValue(nil, tc.md))
			if err != nil {
				t.Fatal(err)
			}
			if got.ProtocolType != tc.md.ProtocolType || got.Generation != tc.md.Generation || got.Protocol != tc.md.Protocol ||
				got.Leader != tc.md.Leader || len(got.Members) != len(tc.md.Members) {
				t.Fatalf("got %+v, want %+v", got, tc.md)
			}
			for i, m := range got.Members {
				w := tc.md.Members[i]
				if m.MemberID != w.MemberID || m.InstanceID != w.InstanceID || string(m.Subscription) != string(w.Subscription) ||
					string(m.Assignment) != string(w.Assignment) || m.SessionTimeout != w.SessionTimeout {
					t.Fatalf("member %+v, want %+v", m, w)
				}
			}
		})
	}
}

// TestStableGroupSurvivesReload: a group's metadata record brings its members back, so they
// keep heartbeating and committing in their generation after a restart.
func TestStableGroupSurvivesReload(t *testing.T) {
	log := &memLog{}
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, InitialRebalanceDelay: time.Hour, Log: log, NumPartitions: 50})
	ids, gen := stableGroup(t, c, 2)
	c.Close() // waits for the background group metadata write
	reloaded := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour})
	t.Cleanup(reloaded.Close)
	if err := reloaded.Load(log.bytes()); err != nil {
		t.Fatal(err)
	}
	if d := reloaded.Describe("g"); d.State != Stable || len(d.Members) != 2 {
		t.Fatalf("reloaded group: %v with %d members", d.State, len(d.Members))
	}
	if err := reloaded.Heartbeat("g", ids[0], "", gen); err != nil {
		t.Fatalf("heartbeat after reload: %v", err)
	}
	s := recvSync(t, reloaded.Sync(SyncRequest{Group: "g", MemberID: ids[1], Generation: gen}))
	if s.Err != nil || string(s.Assignment) != "a-"+ids[1] {
		t.Fatalf("assignment after reload: %+v", s)
	}
}
