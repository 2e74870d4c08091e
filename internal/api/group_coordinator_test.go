package api_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/group"
	"github.com/sluicehq/sluice/internal/metadata"
)

// groupRequestCodes sends every group API for gid and returns each one's error code (the
// top-level code, or the first group's, partition's or member's where the API has none).
func groupRequestCodes(c *rawConn, gid string) map[string]int16 {
	c.t.Helper()
	out := map[string]int16{}
	jr := kmsg.NewPtrJoinGroupRequest()
	jr.Version, jr.Group, jr.ProtocolType, jr.SessionTimeoutMillis, jr.RebalanceTimeoutMillis = 5, gid, "consumer", 10000, 10000
	jr.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
	out["JoinGroup"] = c.send(jr).(*kmsg.JoinGroupResponse).ErrorCode
	sr := kmsg.NewPtrSyncGroupRequest()
	sr.Version, sr.Group, sr.MemberID, sr.Generation = 3, gid, "m", 1
	out["SyncGroup"] = c.send(sr).(*kmsg.SyncGroupResponse).ErrorCode
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Version, hb.Group, hb.MemberID, hb.Generation = 3, gid, "m", 1
	out["Heartbeat"] = c.send(hb).(*kmsg.HeartbeatResponse).ErrorCode
	lg := kmsg.NewPtrLeaveGroupRequest()
	lg.Version, lg.Group, lg.Members = 4, gid, []kmsg.LeaveGroupRequestMember{{MemberID: "m"}}
	out["LeaveGroup"] = c.send(lg).(*kmsg.LeaveGroupResponse).ErrorCode
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Version, oc.Group, oc.Generation = 8, gid, -1
	oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 5}}}}
	out["OffsetCommit"] = c.send(oc).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
	for _, v := range []int16{1, 7} {
		of := kmsg.NewPtrOffsetFetchRequest()
		of.Version, of.Group = v, gid
		of.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0}}}
		resp := c.send(of).(*kmsg.OffsetFetchResponse)
		if v == 1 {
			out["OffsetFetch v1"] = resp.Topics[0].Partitions[0].ErrorCode
		} else {
			out["OffsetFetch v7"] = resp.ErrorCode
		}
	}
	of := kmsg.NewPtrOffsetFetchRequest()
	of.Version = 9
	of.Groups = []kmsg.OffsetFetchRequestGroup{{Group: gid, MemberEpoch: -1}}
	out["OffsetFetch v9"] = c.send(of).(*kmsg.OffsetFetchResponse).Groups[0].ErrorCode
	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.Version, dg.Groups = 5, []string{gid}
	out["DescribeGroups"] = c.send(dg).(*kmsg.DescribeGroupsResponse).Groups[0].ErrorCode
	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = gid
	od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
	out["OffsetDelete"] = c.send(od).(*kmsg.OffsetDeleteResponse).ErrorCode
	tc := kmsg.NewPtrTxnOffsetCommitRequest()
	tc.Version, tc.TransactionalID, tc.Group, tc.ProducerID, tc.ProducerEpoch, tc.Generation = 3, "tx", gid, 1, 0, -1
	tc.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}}}
	out["TxnOffsetCommit"] = c.send(tc).(*kmsg.TxnOffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
	ch := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	ch.Version, ch.Group, ch.MemberID, ch.MemberEpoch, ch.RebalanceTimeoutMillis = 1, gid, "consumer-member-0000001", 0, 10000
	ch.SubscribedTopicNames = []string{"t"}
	out["ConsumerGroupHeartbeat"] = c.send(ch).(*kmsg.ConsumerGroupHeartbeatResponse).ErrorCode
	cd := kmsg.NewPtrConsumerGroupDescribeRequest()
	cd.Groups = []string{gid}
	out["ConsumerGroupDescribe"] = c.send(cd).(*kmsg.ConsumerGroupDescribeResponse).Groups[0].ErrorCode
	dl := kmsg.NewPtrDeleteGroupsRequest()
	dl.Version, dl.Groups = 2, []string{gid}
	out["DeleteGroups"] = c.send(dl).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode
	return out
}

func listGroups(c *rawConn) *kmsg.ListGroupsResponse {
	c.t.Helper()
	lg := kmsg.NewPtrListGroupsRequest()
	lg.Version = 4
	return c.send(lg).(*kmsg.ListGroupsResponse)
}

// TestGroupRequestsFollowLeadership: with a coordinator following leadership, every group
// request for a group whose __consumer_offsets partition another broker leads answers
// NOT_COORDINATOR; those of a partition led here are served and listed; once the partition's
// leadership moves away (Resigned, as the broker's reconcile calls it) they answer
// NOT_COORDINATOR too and ListGroups no longer lists them.
func TestGroupRequestsFollowLeadership(t *testing.T) {
	b := startBroker(t)
	b.apply([]metadata.Record{&metadata.RegisterBrokerRecord{BrokerID: 2, Epoch: 10,
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "broker2.test", Port: 9092}}}})
	cb := &clusterCoordBroker{groupBroker: &groupBroker{testBroker: b}}
	id := cb.internalTopic(metadata.ConsumerOffsetsTopic, 1, 2)
	coord := group.New(group.Config{MinSessionTimeout: time.Second, MaxSessionTimeout: time.Hour, NumPartitions: 2,
		FollowLeadership: true, Log: &group.PartitionLog{Partitions: b.parts, NumPartitions: 2}})
	if err := group.LoadPartitions(coord, b.parts); err != nil {
		t.Fatal(err)
	}
	env := *b.env
	env.Groups = coord
	cb.groupAddr = b.serveAsNode(&env, coord.Close)
	c := cb.groupConn()
	here, there := keyOf(t, "here", 0, 2), keyOf(t, "there", 1, 2)

	for api, code := range groupRequestCodes(c, there) {
		if code != kerr.NotCoordinator.Code {
			t.Errorf("%s for a group coordinated by broker 2: %v, want NOT_COORDINATOR", api, kerr.ErrorForCode(code))
		}
	}
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Version, oc.Group, oc.Generation = 8, here, -1
	oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 5}}}}
	if code := c.send(oc).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("commit for a group coordinated here: %v", kerr.ErrorForCode(code))
	}
	if l := listGroups(c); l.ErrorCode != 0 || len(l.Groups) != 1 || l.Groups[0].Group != here {
		t.Fatalf("ListGroups: %+v", l)
	}

	b.apply([]metadata.Record{&metadata.PartitionChangeRecord{TopicID: id, Partition: 0, Leader: 2, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}})
	coord.Resigned(0)
	for api, code := range groupRequestCodes(c, here) {
		if code != kerr.NotCoordinator.Code {
			t.Errorf("%s after the group's partition moved to broker 2: %v, want NOT_COORDINATOR", api, kerr.ErrorForCode(code))
		}
	}
	if l := listGroups(c); l.ErrorCode != 0 || len(l.Groups) != 0 {
		t.Fatalf("ListGroups after resigning: %+v", l)
	}
	if fc := cb.conn; fc == nil {
		cb.conn = c
	}
	if got := cb.findCoordinator(4, 0, here)[0]; got.NodeID != 2 {
		t.Fatalf("FindCoordinator after the move: %+v", got)
	}
}
