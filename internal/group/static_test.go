package group

import (
	"errors"
	"testing"
	"time"
)

func staticJoin(instance, member string) JoinRequest {
	r := joinReq(member, "range")
	r.InstanceID = instance
	return r
}

// TestStaticMemberRestartKeepsAssignment: a static member that comes back under a new member
// id takes over its old identity without a rebalance, and the old id is fenced.
func TestStaticMemberRestartKeepsAssignment(t *testing.T) {
	c := newCoordinator(t, time.Hour)
	// Two static members; the first join needs no MEMBER_ID_REQUIRED round (KIP-345).
	ja, jb := c.Join(staticJoin("a", "")), c.Join(staticJoin("b", ""))
	endInitialDelay(c)
	ra, rb := recvJoin(t, ja), recvJoin(t, jb)
	if ra.Err != nil || rb.Err != nil {
		t.Fatalf("joins: %v %v", ra.Err, rb.Err)
	}
	leader, follower, followerInstance := ra.MemberID, rb.MemberID, "b"
	if ra.LeaderID != ra.MemberID {
		leader, follower, followerInstance = rb.MemberID, ra.MemberID, "a"
	}
	sl := c.Sync(SyncRequest{Group: "g", MemberID: leader, Generation: ra.Generation,
		Assignments: map[string][]byte{leader: []byte("L"), follower: []byte("F")}})
	sf := c.Sync(SyncRequest{Group: "g", MemberID: follower, InstanceID: followerInstance, Generation: ra.Generation})
	recvSync(t, sl)
	recvSync(t, sf)

	back := recvJoin(t, c.Join(staticJoin(followerInstance, "")))
	if back.Err != nil || back.Generation != ra.Generation || back.MemberID == follower {
		t.Fatalf("static rejoin: %+v, want the same generation under a new member id", back)
	}
	if d := c.Describe("g"); d.State != Stable {
		t.Fatalf("state %v after a static rejoin, want Stable (no rebalance)", d.State)
	}
	s := recvSync(t, c.Sync(SyncRequest{Group: "g", MemberID: back.MemberID, InstanceID: followerInstance, Generation: back.Generation}))
	if s.Err != nil || string(s.Assignment) != "F" {
		t.Fatalf("sync after the static rejoin: %+v, want the old assignment", s)
	}
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"old member id fenced on heartbeat", c.Heartbeat("g", follower, followerInstance, back.Generation), ErrFencedInstanceID},
		{"old member id fenced on join", recvJoin(t, c.Join(staticJoin(followerInstance, follower))).Err, ErrFencedInstanceID},
		{"new member id heartbeats", c.Heartbeat("g", back.MemberID, followerInstance, back.Generation), nil},
		{"leave by instance id", c.Leave("g", []LeavingMember{{InstanceID: followerInstance}})[0], nil},
		{"leave of an unknown instance", c.Leave("g", []LeavingMember{{InstanceID: "zzz"}})[0], ErrUnknownMemberID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.want) || (tc.want == nil && tc.err != nil) {
				t.Fatalf("err %v, want %v", tc.err, tc.want)
			}
		})
	}
	if d := c.Describe("g"); d.State != PreparingRebalance || len(d.Members) != 1 {
		t.Fatalf("after the static member left: %v with %d members, want a rebalance with 1", d.State, len(d.Members))
	}
}
