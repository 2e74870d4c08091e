package group

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait is generous: it bounds a hang, it does not assert a duration.
const wait = 10 * time.Second

func newCoordinator(t *testing.T, delay time.Duration) *Coordinator {
	t.Helper()
	c := New(Config{MinSessionTimeout: time.Millisecond, MaxSessionTimeout: time.Hour, InitialRebalanceDelay: delay})
	t.Cleanup(c.Close)
	return c
}

func joinReq(member string, protocols ...string) JoinRequest {
	r := JoinRequest{Group: "g", MemberID: member, ClientID: "c", ProtocolType: "consumer",
		SessionTimeout: time.Hour, RebalanceTimeout: time.Hour, RequireKnownMemberID: true}
	for _, p := range protocols {
		r.Protocols = append(r.Protocols, Protocol{Name: p, Metadata: []byte(p + "-meta")})
	}
	return r
}

func recvJoin(t *testing.T, ch <-chan JoinResult) JoinResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(wait):
		t.Fatal("join never answered")
	}
	return JoinResult{}
}

func recvSync(t *testing.T, ch <-chan SyncResult) SyncResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(wait):
		t.Fatal("sync never answered")
	}
	return SyncResult{}
}

// memberID does the KIP-394 first join and returns the id the coordinator handed out.
func memberID(t *testing.T, c *Coordinator, req JoinRequest) string {
	t.Helper()
	r := recvJoin(t, c.Join(req))
	if !errors.Is(r.Err, ErrMemberIDRequired) || r.MemberID == "" {
		t.Fatalf("first join: %+v, want MEMBER_ID_REQUIRED with an id", r)
	}
	return r.MemberID
}

func TestJoinValidation(t *testing.T) {
	c := newCoordinator(t, 0)
	c.cfg.MinSessionTimeout = time.Second
	cases := []struct {
		name string
		req  JoinRequest
		want error
	}{
		{"empty group id", func() JoinRequest { r := joinReq("", "range"); r.Group = ""; return r }(), ErrInvalidGroupID},
		{"session timeout below min", func() JoinRequest { r := joinReq("", "range"); r.SessionTimeout = time.Millisecond; return r }(), ErrInvalidSessionTimeout},
		{"no protocols", joinReq(""), ErrInconsistentProtocol},
		{"unknown member id", joinReq("nobody", "range"), ErrUnknownMemberID},
		{"first join needs an id (KIP-394)", joinReq("", "range"), ErrMemberIDRequired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := recvJoin(t, c.Join(tc.req)); !errors.Is(r.Err, tc.want) {
				t.Fatalf("err %v, want %v", r.Err, tc.want)
			}
		})
	}
}

func TestSingleMemberReachesStable(t *testing.T) {
	c := newCoordinator(t, 0)
	id := memberID(t, c, joinReq("", "range"))
	j := recvJoin(t, c.Join(joinReq(id, "range")))
	if j.Err != nil || j.Generation != 1 || j.LeaderID != id || j.ProtocolName != "range" || len(j.Members) != 1 {
		t.Fatalf("join: %+v", j)
	}
	if d := c.Describe("g"); d.State != CompletingRebalance {
		t.Fatalf("state %v, want CompletingRebalance", d.State)
	}
	s := recvSync(t, c.Sync(SyncRequest{Group: "g", MemberID: id, Generation: 1, Assignments: map[string][]byte{id: []byte("all")}}))
	if s.Err != nil || string(s.Assignment) != "all" {
		t.Fatalf("sync: %+v", s)
	}
	if d := c.Describe("g"); d.State != Stable {
		t.Fatalf("state %v, want Stable", d.State)
	}
	if err := c.Heartbeat("g", id, "", 1); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
}

// endInitialDelay completes the join barrier of "g" as its initial-delay timer would.
func endInitialDelay(c *Coordinator) {
	if g := c.lockGroup("g", false); g != nil {
		defer g.mu.Unlock()
		if g.initialDelay {
			g.initialDelay = false
			c.maybeCompleteJoinLocked(g)
		}
	}
}

// stableGroup brings members into a Stable generation and returns their ids and generation.
func stableGroup(t *testing.T, c *Coordinator, n int) ([]string, int32) {
	t.Helper()
	ids := make([]string, n)
	chans := make([]<-chan JoinResult, n)
	for i := range ids {
		ids[i] = memberID(t, c, joinReq("", "range"))
	}
	for i, id := range ids {
		chans[i] = c.Join(joinReq(id, "range"))
	}
	endInitialDelay(c)
	var leader string
	var gen int32
	for _, ch := range chans {
		r := recvJoin(t, ch)
		if r.Err != nil {
			t.Fatalf("join: %v", r.Err)
		}
		leader, gen = r.LeaderID, r.Generation
	}
	assign := map[string][]byte{}
	for _, id := range ids {
		assign[id] = []byte("a-" + id)
	}
	syncs := make([]<-chan SyncResult, 0, n)
	for _, id := range ids {
		req := SyncRequest{Group: "g", MemberID: id, Generation: gen}
		if id == leader {
			req.Assignments = assign
		}
		syncs = append(syncs, c.Sync(req))
	}
	for i, ch := range syncs {
		if r := recvSync(t, ch); r.Err != nil || string(r.Assignment) != "a-"+ids[i] {
			t.Fatalf("sync %s: %+v", ids[i], r)
		}
	}
	return ids, gen
}

func TestRebalanceOnNewMember(t *testing.T) {
	c := newCoordinator(t, time.Hour)
	ids, gen := stableGroup(t, c, 2)
	newID := memberID(t, c, joinReq("", "range"))
	newJoin := c.Join(joinReq(newID, "range"))
	if d := c.Describe("g"); d.State != PreparingRebalance {
		t.Fatalf("state %v, want PreparingRebalance", d.State)
	}
	for _, id := range ids {
		if err := c.Heartbeat("g", id, "", gen); !errors.Is(err, ErrRebalanceInProgress) {
			t.Fatalf("heartbeat %s: %v, want REBALANCE_IN_PROGRESS", id, err)
		}
	}
	if err := c.CommitOffsets(context.Background(), "g", ids[0], "", gen, []OffsetCommit{{Topic: "t", Offset: 1}}); err != nil {
		t.Fatalf("commit of the ending generation while members rejoin: %v", err)
	}
	joins := []<-chan JoinResult{newJoin, c.Join(joinReq(ids[0], "range")), c.Join(joinReq(ids[1], "range"))}
	for _, ch := range joins {
		if r := recvJoin(t, ch); r.Err != nil || r.Generation != gen+1 {
			t.Fatalf("rejoin: %+v", r)
		}
	}
	if err := c.Heartbeat("g", ids[0], "", gen); !errors.Is(err, ErrIllegalGeneration) {
		t.Fatalf("old generation heartbeat: %v, want ILLEGAL_GENERATION", err)
	}
	if err := c.CommitOffsets(context.Background(), "g", ids[0], "", gen+1, []OffsetCommit{{Topic: "t", Offset: 2}}); !errors.Is(err, ErrRebalanceInProgress) {
		t.Fatalf("commit before the assignment arrived: %v, want REBALANCE_IN_PROGRESS", err)
	}
}

func TestSessionExpiryRemovesMember(t *testing.T) {
	c := newCoordinator(t, time.Hour)
	ids, gen := stableGroup(t, c, 2)
	g := c.lockGroup("g", false)
	g.members[ids[1]].sessionTimeout = 20 * time.Millisecond
	c.resetSessionLocked(g, g.members[ids[1]])
	g.mu.Unlock()
	// The survivor sees the rebalance through its heartbeat and rejoins alone.
	deadline := time.Now().Add(wait)
	for c.Heartbeat("g", ids[0], "", gen) == nil {
		if time.Now().After(deadline) {
			t.Fatal("expired member never triggered a rebalance")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := recvJoin(t, c.Join(joinReq(ids[0], "range")))
	if r.Err != nil || len(r.Members) != 1 || r.Members[0].MemberID != ids[0] {
		t.Fatalf("rejoin after expiry: %+v", r)
	}
}

func TestRebalanceTimeoutDropsMembersThatDoNotRejoin(t *testing.T) {
	c := newCoordinator(t, time.Hour)
	ids, _ := stableGroup(t, c, 2)
	g := c.lockGroup("g", false)
	for _, m := range g.members {
		m.rebalanceTimeout = 20 * time.Millisecond
	}
	g.mu.Unlock()
	req := joinReq(ids[0], "range")
	req.Protocols[0].Metadata = []byte("changed") // changed metadata forces a rebalance
	req.RebalanceTimeout = 20 * time.Millisecond
	r := recvJoin(t, c.Join(req))
	if r.Err != nil || len(r.Members) != 1 {
		t.Fatalf("join after rebalance timeout: %+v", r)
	}
	if err := c.Heartbeat("g", ids[1], "", r.Generation); !errors.Is(err, ErrUnknownMemberID) {
		t.Fatalf("dropped member heartbeat: %v, want UNKNOWN_MEMBER_ID", err)
	}
}

func TestLeave(t *testing.T) {
	c := newCoordinator(t, time.Hour)
	ids, _ := stableGroup(t, c, 2)
	errs := c.Leave("g", []LeavingMember{{MemberID: ids[0]}, {MemberID: "nobody"}})
	if errs[0] != nil || !errors.Is(errs[1], ErrUnknownMemberID) {
		t.Fatalf("leave: %v", errs)
	}
	r := recvJoin(t, c.Join(joinReq(ids[1], "range")))
	if r.Err != nil || r.LeaderID != ids[1] || len(r.Members) != 1 {
		t.Fatalf("rejoin after leave: %+v", r)
	}
	c.Leave("g", []LeavingMember{{MemberID: ids[1]}})
	if d := c.Describe("g"); d.State != Empty {
		t.Fatalf("state %v after everyone left, want Empty", d.State)
	}
	if err := c.Delete(context.Background(), "g"); err != nil {
		t.Fatalf("delete empty group: %v", err)
	}
}

func TestProtocolSelection(t *testing.T) {
	cases := []struct {
		name  string
		first []string
		other []string
		want  string
		err   error
	}{
		{"common preferred by both", []string{"sticky", "range"}, []string{"sticky", "range"}, "sticky", nil},
		{"only common one", []string{"sticky", "range"}, []string{"roundrobin", "range"}, "range", nil},
		{"nothing in common", []string{"sticky"}, []string{"range"}, "", ErrInconsistentProtocol},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCoordinator(t, time.Hour) // the initial delay holds the barrier open
			a := memberID(t, c, joinReq("", tc.first...))
			ja := c.Join(joinReq(a, tc.first...))
			if tc.err != nil {
				if r := recvJoin(t, c.Join(joinReq("", tc.other...))); !errors.Is(r.Err, tc.err) {
					t.Fatalf("second join: %v, want %v", r.Err, tc.err)
				}
				return
			}
			b := memberID(t, c, joinReq("", tc.other...))
			jb := c.Join(joinReq(b, tc.other...))
			endInitialDelay(c)
			for _, ch := range []<-chan JoinResult{ja, jb} {
				if r := recvJoin(t, ch); r.Err != nil || r.ProtocolName != tc.want {
					t.Fatalf("join: %+v, want protocol %q", r, tc.want)
				}
			}
		})
	}
}

func TestDifferentProtocolTypeRejected(t *testing.T) {
	c := newCoordinator(t, 0)
	stableGroup(t, c, 1)
	req := joinReq("", "range")
	req.ProtocolType = "connect"
	if r := recvJoin(t, c.Join(req)); !errors.Is(r.Err, ErrInconsistentProtocol) {
		t.Fatalf("join with another protocol type: %v", r.Err)
	}
}

func TestCommitOffsets(t *testing.T) {
	c := newCoordinator(t, 0)
	ids, gen := stableGroup(t, c, 1)
	cases := []struct {
		name   string
		member string
		gen    int32
		want   error
	}{
		{"current generation", ids[0], gen, nil},
		{"old generation", ids[0], gen - 1, ErrIllegalGeneration},
		{"unknown member", "nobody", gen, ErrUnknownMemberID},
		{"simple commit to a group with members", "", -1, ErrUnknownMemberID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.CommitOffsets(context.Background(), "g", tc.member, "", tc.gen, []OffsetCommit{{Topic: "t", Partition: 0, Offset: 42}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	if o, ok := c.FetchOffset("g", "t", 0); !ok || o.Offset != 42 {
		t.Fatalf("fetch: %+v %v", o, ok)
	}
	if err := c.CommitOffsets(context.Background(), "unknown", "m", "", 3, nil); !errors.Is(err, ErrIllegalGeneration) {
		t.Fatalf("member commit to an unknown group: %v, want ILLEGAL_GENERATION", err)
	}
	if err := c.CommitOffsets(context.Background(), "standalone", "", "", -1, []OffsetCommit{{Topic: "t", Offset: 7}}); err != nil {
		t.Fatalf("simple commit: %v", err)
	}
	if o, ok := c.FetchOffset("standalone", "t", 0); !ok || o.Offset != 7 {
		t.Fatalf("fetch simple: %+v %v", o, ok)
	}
}

func TestLeaderThatNeverSyncsIsDropped(t *testing.T) {
	c := newCoordinator(t, time.Hour)
	ids := []string{memberID(t, c, joinReq("", "range")), memberID(t, c, joinReq("", "range"))}
	var chans []<-chan JoinResult
	for _, id := range ids {
		req := joinReq(id, "range")
		req.RebalanceTimeout = 20 * time.Millisecond
		chans = append(chans, c.Join(req))
	}
	endInitialDelay(c)
	var leader, follower string
	var gen int32
	for _, ch := range chans {
		r := recvJoin(t, ch)
		leader, gen = r.LeaderID, r.Generation
	}
	for _, id := range ids {
		if id != leader {
			follower = id
		}
	}
	// Only the follower syncs; the leader's assignment never comes.
	if r := recvSync(t, c.Sync(SyncRequest{Group: "g", MemberID: follower, Generation: gen})); !errors.Is(r.Err, ErrRebalanceInProgress) {
		t.Fatalf("follower's sync: %v, want REBALANCE_IN_PROGRESS", r.Err)
	}
	if err := c.Heartbeat("g", leader, "", gen); !errors.Is(err, ErrUnknownMemberID) {
		t.Fatalf("leader after the sync deadline: %v, want UNKNOWN_MEMBER_ID", err)
	}
	r := recvJoin(t, c.Join(joinReq(follower, "range")))
	if r.Err != nil || r.LeaderID != follower || len(r.Members) != 1 {
		t.Fatalf("follower's rejoin: %+v", r)
	}
}
