package api_test

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func createPartitionsRequest(version int16, validateOnly bool, topics ...kmsg.CreatePartitionsRequestTopic) *kmsg.CreatePartitionsRequest {
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.Version, req.ValidateOnly, req.Topics, req.TimeoutMillis = version, validateOnly, topics, 10000
	return req
}

func morePartitions(topic string, count int32, assignments ...[]int32) kmsg.CreatePartitionsRequestTopic {
	t := kmsg.NewCreatePartitionsRequestTopic()
	t.Topic, t.Count = topic, count
	for _, a := range assignments {
		t.Assignment = append(t.Assignment, kmsg.CreatePartitionsRequestTopicAssignment{Replicas: a})
	}
	return t
}

func TestCreatePartitionsVersions(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	c := n.dial()
	for v := int16(0); v <= 3; v++ {
		name := fmt.Sprintf("growing-v%d", v)
		n.create(name, 1, nil)
		resp := c.send(createPartitionsRequest(v, false, morePartitions(name, 3), morePartitions(name+"-manual", 2))).(*kmsg.CreatePartitionsResponse)
		if len(resp.Topics) != 2 || resp.Topics[0].ErrorCode != 0 || resp.Topics[0].Topic != name {
			t.Fatalf("v%d: %+v", v, resp.Topics)
		}
		if resp.Topics[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Errorf("v%d: unknown topic code %d", v, resp.Topics[1].ErrorCode)
		}
		if p := n.topic(name).Partitions; len(p) != 3 || p[2].Leader != 1 {
			t.Errorf("v%d: partitions after adding: %+v", v, p)
		}
	}
}

func TestCreatePartitionsErrors(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	n.create("t", 2, nil)
	cases := []struct {
		name  string
		topic kmsg.CreatePartitionsRequestTopic
		code  int16
	}{
		{"same count", morePartitions("t", 2), kerr.InvalidPartitions.Code},
		{"fewer", morePartitions("t", 1), kerr.InvalidPartitions.Code},
		{"assignment count", morePartitions("t", 4, []int32{1}), kerr.InvalidReplicaAssignment.Code},
		{"unknown broker", morePartitions("t", 3, []int32{5}), kerr.InvalidReplicaAssignment.Code},
		{"too many", morePartitions("t", 1<<30), kerr.PolicyViolation.Code},
	}
	c := n.dial()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := c.send(createPartitionsRequest(3, false, tc.topic)).(*kmsg.CreatePartitionsResponse)
			if got := resp.Topics[0]; got.ErrorCode != tc.code || got.ErrorMessage == nil {
				t.Fatalf("code %d message %v, want %d", got.ErrorCode, got.ErrorMessage, tc.code)
			}
		})
	}
	resp := c.send(createPartitionsRequest(3, true, morePartitions("t", 5))).(*kmsg.CreatePartitionsResponse)
	if resp.Topics[0].ErrorCode != 0 || len(n.topic("t").Partitions) != 2 {
		t.Fatalf("validate-only: code %d, %d partitions", resp.Topics[0].ErrorCode, len(n.topic("t").Partitions))
	}
	resp = c.send(createPartitionsRequest(3, false, morePartitions("t", 3, []int32{1}))).(*kmsg.CreatePartitionsResponse)
	if resp.Topics[0].ErrorCode != 0 || len(n.topic("t").Partitions) != 3 {
		t.Fatalf("manual assignment: code %d", resp.Topics[0].ErrorCode)
	}
}
