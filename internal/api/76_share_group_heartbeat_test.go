package api_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestShareGroupHeartbeatRaw walks share group members through ShareGroupHeartbeat v0 and v1
// and checks what ShareGroupDescribe (v0, v1), ListGroups, DescribeGroups and DeleteGroups
// report of the share group, and that its id refuses the other group protocols.
func TestShareGroupHeartbeatRaw(t *testing.T) {
	g := startGroupBroker(t)
	g.createTopic("jobs", 4, nil)
	c := g.groupConn()
	jobs, _ := g.Image().Topic("jobs")

	beat := func(version int16, member string, epoch int32, topics []string) *kmsg.ShareGroupHeartbeatResponse {
		r := kmsg.NewPtrShareGroupHeartbeatRequest()
		r.Version, r.GroupID, r.MemberID, r.MemberEpoch, r.SubscribedTopicNames = version, "sg", member, epoch, topics
		return c.send(r).(*kmsg.ShareGroupHeartbeatResponse)
	}
	r0 := beat(0, "member-one", 0, []string{"jobs"})
	if r0.ErrorCode != 0 || r0.MemberID == nil || *r0.MemberID != "member-one" || r0.MemberEpoch != 1 || r0.HeartbeatIntervalMillis != 5000 ||
		r0.Assignment == nil || len(r0.Assignment.TopicPartitions) != 1 || r0.Assignment.TopicPartitions[0].TopicID != jobs.ID ||
		len(r0.Assignment.TopicPartitions[0].Partitions) != 4 {
		t.Fatalf("v0 join: %+v", r0)
	}
	r1 := beat(1, "member-two", 0, []string{"jobs"})
	if r1.ErrorCode != 0 || r1.MemberEpoch != 2 || len(r1.Assignment.TopicPartitions[0].Partitions) != 2 {
		t.Fatalf("v1 join: %+v", r1)
	}
	// member-one learns its new, smaller assignment at its next heartbeat.
	if r := beat(1, "member-one", 1, nil); r.ErrorCode != 0 || r.MemberEpoch != 2 || r.Assignment == nil ||
		len(r.Assignment.TopicPartitions[0].Partitions) != 2 {
		t.Fatalf("member-one after member-two joined: %+v", r)
	}
	for _, tc := range []struct {
		name    string
		member  string
		epoch   int32
		topics  []string
		code    int16
		message bool
	}{
		{"join without topics", "m3", 0, nil, kerr.InvalidRequest.Code, true},
		{"epoch -2", "m3", -2, nil, kerr.InvalidRequest.Code, true},
		{"member id too long", "0123456789012345678901234567890123456", 0, []string{"jobs"}, kerr.InvalidRequest.Code, true},
		{"fenced epoch", "member-two", 9, nil, kerr.FencedMemberEpoch.Code, true},
		{"unknown member", "nobody", 2, nil, kerr.UnknownMemberID.Code, true},
	} {
		for _, v := range []int16{0, 1} {
			if r := beat(v, tc.member, tc.epoch, tc.topics); r.ErrorCode != tc.code || (tc.message && r.ErrorMessage == nil) {
				t.Fatalf("%s v%d: code %d (%v), want %d", tc.name, v, r.ErrorCode, r.ErrorMessage, tc.code)
			}
		}
	}

	for _, v := range []int16{0, 1} {
		d := kmsg.NewPtrShareGroupDescribeRequest()
		d.Version, d.GroupIDs, d.IncludeAuthorizedOperations = v, []string{"sg", "missing"}, true
		dr := c.send(d).(*kmsg.ShareGroupDescribeResponse)
		if len(dr.Groups) != 2 || dr.Groups[1].ErrorCode != kerr.GroupIDNotFound.Code {
			t.Fatalf("describe v%d: %+v", v, dr)
		}
		sg := dr.Groups[0]
		if sg.ErrorCode != 0 || sg.GroupState != "Stable" || sg.GroupEpoch != 2 || sg.AssignmentEpoch != 2 || sg.Assignor != "simple" ||
			len(sg.Members) != 2 || sg.AuthorizedOperations == 0 {
			t.Fatalf("described share group v%d: %+v", v, sg)
		}
		for _, m := range sg.Members {
			if len(m.Assignment.TopicPartitions) != 1 || m.Assignment.TopicPartitions[0].Topic != "jobs" || len(m.SubscribedTopicNames) != 1 {
				t.Fatalf("member %+v", m)
			}
		}
	}

	l := kmsg.NewPtrListGroupsRequest()
	l.Version, l.TypesFilter = 5, []string{"share"}
	lr := c.send(l).(*kmsg.ListGroupsResponse)
	if len(lr.Groups) != 1 || lr.Groups[0].Group != "sg" || lr.Groups[0].GroupType != "share" || lr.Groups[0].ProtocolType != "share" ||
		lr.Groups[0].GroupState != "Stable" {
		t.Fatalf("list: %+v", lr)
	}
	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.Version, dg.Groups = 6, []string{"sg"}
	if r := c.send(dg).(*kmsg.DescribeGroupsResponse); r.Groups[0].ErrorCode != kerr.GroupIDNotFound.Code || r.Groups[0].State != "Dead" ||
		r.Groups[0].ErrorMessage == nil {
		t.Fatalf("DescribeGroups of a share group: %+v", r.Groups[0])
	}

	// The share group's id refuses the other protocols.
	cgh := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	cgh.Version, cgh.Group, cgh.MemberID, cgh.RebalanceTimeoutMillis = 1, "sg", "cm", 30000
	cgh.SubscribedTopicNames, cgh.Topics = []string{"jobs"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	if r := c.send(cgh).(*kmsg.ConsumerGroupHeartbeatResponse); r.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("consumer heartbeat on a share group: %+v", r)
	}
	jg := kmsg.NewPtrJoinGroupRequest()
	jg.Version, jg.Group, jg.SessionTimeoutMillis, jg.RebalanceTimeoutMillis, jg.ProtocolType = 5, "sg", 10000, 10000, "consumer"
	jg.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
	if r := c.send(jg).(*kmsg.JoinGroupResponse); r.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("join of a share group: %+v", r)
	}

	// Nor are offsets committed, fetched or deleted in it (Kafka: "not a consumer group").
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Version, oc.Group, oc.Generation = 9, "sg", -1
	oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "jobs", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}}}
	if r := c.send(oc).(*kmsg.OffsetCommitResponse); r.Topics[0].Partitions[0].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("offset commit to a share group: %+v", r)
	}
	of := kmsg.NewPtrOffsetFetchRequest()
	of.Version = 9
	ofg := kmsg.NewOffsetFetchRequestGroup()
	ofg.Group, ofg.MemberEpoch = "sg", -1
	of.Groups = append(of.Groups, ofg)
	if r := c.send(of).(*kmsg.OffsetFetchResponse); r.Groups[0].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("offset fetch of a share group: %+v", r)
	}
	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Version, od.Group = 0, "sg"
	od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "jobs", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
	if r := c.send(od).(*kmsg.OffsetDeleteResponse); r.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("offset delete of a share group: %+v", r)
	}

	del := func() int16 {
		d := kmsg.NewPtrDeleteGroupsRequest()
		d.Version, d.Groups = 2, []string{"sg"}
		return c.send(d).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode
	}
	if code := del(); code != kerr.NonEmptyGroup.Code {
		t.Fatalf("delete of a share group with members: %d", code)
	}
	for _, m := range []string{"member-one", "member-two"} {
		if r := beat(1, m, -1, nil); r.ErrorCode != 0 || r.MemberEpoch != -1 {
			t.Fatalf("leave of %s: %+v", m, r)
		}
	}
	lr = c.send(l).(*kmsg.ListGroupsResponse)
	if len(lr.Groups) != 1 || lr.Groups[0].GroupState != "Empty" {
		t.Fatalf("list after leaving: %+v", lr)
	}
	if code := del(); code != 0 {
		t.Fatalf("delete of an empty share group: %d", code)
	}
	if lr = c.send(l).(*kmsg.ListGroupsResponse); len(lr.Groups) != 0 {
		t.Fatalf("list after delete: %+v", lr)
	}
}
