package api_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestOffsetDelete(t *testing.T) {
	g := startGroupBroker(t)
	c := g.groupConn()
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Version, oc.Group, oc.Generation = 8, "standalone", -1
	oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 5, LeaderEpoch: -1}, {Partition: 1, Offset: 6, LeaderEpoch: -1}}}}
	if r := c.send(oc).(*kmsg.OffsetCommitResponse); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("commit: %+v", r.Topics)
	}
	cases := []struct {
		name      string
		group     string
		wantGroup int16
	}{
		{"empty group loses the offset", "standalone", 0},
		{"unknown group", "nobody", kerr.GroupIDNotFound.Code},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			od := kmsg.NewPtrOffsetDeleteRequest()
			od.Group = tc.group
			od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
			r := c.send(od).(*kmsg.OffsetDeleteResponse)
			if r.ErrorCode != tc.wantGroup || (tc.wantGroup == 0 && (len(r.Topics) != 1 || r.Topics[0].Partitions[0].ErrorCode != 0)) {
				t.Fatalf("offset delete: code %d %+v", r.ErrorCode, r.Topics)
			}
		})
	}
	of := kmsg.NewPtrOffsetFetchRequest()
	of.Version, of.Group = 7, "standalone"
	r := c.send(of).(*kmsg.OffsetFetchResponse)
	if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 || r.Topics[0].Partitions[0].Partition != 1 {
		t.Fatalf("offsets left after deleting partition 0: %+v", r.Topics)
	}
}
