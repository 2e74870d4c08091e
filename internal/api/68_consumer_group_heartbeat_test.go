package api_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestConsumerGroupHeartbeatRaw walks KIP-848 members through ConsumerGroupHeartbeat v0 (the
// broker names the member) and v1 (client-made id, regex subscription) and checks what
// ConsumerGroupDescribe, ListGroups and DescribeGroups report.
func TestConsumerGroupHeartbeatRaw(t *testing.T) {
	g := startGroupBroker(t)
	g.createTopic("orders", 3, nil)
	g.createTopic("orders-eu", 1, nil)
	c := g.groupConn()
	orders, _ := g.Image().Topic("orders")

	join := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	join.Version, join.Group, join.MemberEpoch, join.RebalanceTimeoutMillis = 0, "cg", 0, 30000
	join.SubscribedTopicNames = []string{"orders"}
	join.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	r0 := c.send(join).(*kmsg.ConsumerGroupHeartbeatResponse)
	if r0.ErrorCode != 0 || r0.MemberID == nil || *r0.MemberID == "" || r0.MemberEpoch != 1 || r0.HeartbeatIntervalMillis != 5000 ||
		r0.Assignment == nil || len(r0.Assignment.Topics) != 1 || r0.Assignment.Topics[0].TopicID != orders.ID || len(r0.Assignment.Topics[0].Partitions) != 3 {
		t.Fatalf("v0 join: %+v", r0)
	}

	j1 := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	j1.Version, j1.Group, j1.MemberID, j1.MemberEpoch, j1.RebalanceTimeoutMillis = 1, "cg", "member-two", 0, 30000
	re := "orders.*"
	j1.SubscribedTopicRegex, j1.ServerAssignor = &re, kmsg.StringPtr("range")
	j1.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	r1 := c.send(j1).(*kmsg.ConsumerGroupHeartbeatResponse)
	if r1.ErrorCode != 0 || *r1.MemberID != "member-two" || r1.MemberEpoch != 2 {
		t.Fatalf("v1 join: %+v", r1)
	}

	cases := []struct {
		name string
		edit func(r *kmsg.ConsumerGroupHeartbeatRequest)
		code int16
	}{
		{"unknown assignor", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.ServerAssignor = kmsg.StringPtr("sticky") }, kerr.UnsupportedAssignor.Code},
		{"bad regex", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.SubscribedTopicRegex = kmsg.StringPtr("((") }, kerr.InvalidRegularExpression.Code},
		{"no rebalance timeout on join", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.RebalanceTimeoutMillis = -1 }, kerr.InvalidRequest.Code},
		{"fenced epoch", func(r *kmsg.ConsumerGroupHeartbeatRequest) {
			r.MemberID, r.MemberEpoch, r.Topics = "member-two", 99, nil
		}, kerr.FencedMemberEpoch.Code},
		{"unknown member", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID, r.MemberEpoch = "nobody", 5 }, kerr.UnknownMemberID.Code},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := *j1
			r.MemberID = "member-x"
			tc.edit(&r)
			if resp := c.send(&r).(*kmsg.ConsumerGroupHeartbeatResponse); resp.ErrorCode != tc.code || resp.ErrorMessage == nil {
				t.Fatalf("code %d (%v), want %d", resp.ErrorCode, resp.ErrorMessage, tc.code)
			}
		})
	}

	d := kmsg.NewPtrConsumerGroupDescribeRequest()
	d.Version, d.Groups, d.IncludeAuthorizedOperations = 1, []string{"cg", "missing"}, true
	dr := c.send(d).(*kmsg.ConsumerGroupDescribeResponse)
	if len(dr.Groups) != 2 || dr.Groups[1].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("describe: %+v", dr)
	}
	cg := dr.Groups[0]
	if cg.ErrorCode != 0 || cg.Epoch != 2 || cg.AssignmentEpoch != 2 || len(cg.Members) != 2 || cg.AuthorizedOperations == 0 {
		t.Fatalf("described group: %+v", cg)
	}
	for _, m := range cg.Members {
		if m.MemberType != 1 {
			t.Fatalf("member type %d", m.MemberType)
		}
		for _, tp := range m.TargetAssignment.TopicPartitions {
			if tp.Topic == "" {
				t.Fatalf("target topic %x has no name", tp.TopicID)
			}
		}
		if m.MemberID == "member-two" && (m.SubscribedTopicRegex == nil || *m.SubscribedTopicRegex != re) {
			t.Fatalf("member-two: %+v", m)
		}
	}

	l := kmsg.NewPtrListGroupsRequest()
	l.Version, l.TypesFilter = 5, []string{"consumer"}
	lr := c.send(l).(*kmsg.ListGroupsResponse)
	if len(lr.Groups) != 1 || lr.Groups[0].Group != "cg" || lr.Groups[0].GroupType != "consumer" || lr.Groups[0].ProtocolType != "consumer" {
		t.Fatalf("list: %+v", lr)
	}

	// Members commit with their member epoch, from OffsetCommit v9 on.
	commit := func(version int16, epoch int32) int16 {
		oc := kmsg.NewPtrOffsetCommitRequest()
		oc.Version, oc.Group, oc.MemberID, oc.Generation = version, "cg", "member-two", epoch
		oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "orders", TopicID: orders.ID, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}}}
		return c.send(oc).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
	}
	for _, tc := range []struct {
		name    string
		version int16
		epoch   int32
		code    int16
	}{
		{"v8 from a consumer group member", 8, 2, kerr.UnsupportedVersion.Code},
		{"stale epoch", 9, 1, kerr.StaleMemberEpoch.Code},
		{"member epoch", 9, 2, 0},
	} {
		if code := commit(tc.version, tc.epoch); code != tc.code {
			t.Fatalf("%s: code %d, want %d", tc.name, code, tc.code)
		}
	}

	// OffsetFetch v9+ checks a member's epoch the same way; an admin (no member, epoch -1)
	// is not checked.
	fetch := func(member *string, epoch int32) (int16, int64) {
		of := kmsg.NewPtrOffsetFetchRequest()
		of.Version = 9
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group, g.MemberID, g.MemberEpoch = "cg", member, epoch
		g.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: "orders", Partitions: []int32{0}}}
		of.Groups = append(of.Groups, g)
		rg := c.send(of).(*kmsg.OffsetFetchResponse).Groups[0]
		if rg.ErrorCode != 0 {
			return rg.ErrorCode, -1
		}
		return 0, rg.Topics[0].Partitions[0].Offset
	}
	two, nobody := "member-two", "nobody"
	for _, tc := range []struct {
		name   string
		member *string
		epoch  int32
		code   int16
	}{
		{"fetch at the member epoch", &two, 2, 0},
		{"fetch at a stale epoch", &two, 1, kerr.StaleMemberEpoch.Code},
		{"fetch by an unknown member", &nobody, 2, kerr.UnknownMemberID.Code},
		{"admin fetch", nil, -1, 0},
	} {
		code, offset := fetch(tc.member, tc.epoch)
		if code != tc.code || (code == 0 && offset != 1) {
			t.Fatalf("%s: code %d offset %d, want code %d offset 1", tc.name, code, offset, tc.code)
		}
	}

	leave := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	leave.Version, leave.Group, leave.MemberID, leave.MemberEpoch = 1, "cg", "member-two", -1
	if lv := c.send(leave).(*kmsg.ConsumerGroupHeartbeatResponse); lv.ErrorCode != 0 || lv.MemberEpoch != -1 {
		t.Fatalf("leave: %+v", lv)
	}
}
