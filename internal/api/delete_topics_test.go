package api_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDeleteTopicsByNameVersions(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	c := n.dial()
	for v := int16(0); v <= 6; v++ { // v0 is legacy (KIP-896), served while the switch is on
		name := fmt.Sprintf("doomed-v%d", v)
		id := n.create(name, 2, map[string]string{"retention.ms": "1000"})
		req := kmsg.NewPtrDeleteTopicsRequest()
		req.Version, req.TimeoutMillis = v, 10000
		if v >= 6 {
			dt := kmsg.NewDeleteTopicsRequestTopic()
			dt.Topic = kmsg.StringPtr(name)
			unknown := kmsg.NewDeleteTopicsRequestTopic()
			unknown.Topic = kmsg.StringPtr("never-existed")
			req.Topics = append(req.Topics, dt, unknown)
		} else {
			req.TopicNames = []string{name, "never-existed"}
		}
		resp := c.send(req).(*kmsg.DeleteTopicsResponse)
		if len(resp.Topics) != 2 {
			t.Fatalf("v%d: %+v", v, resp.Topics)
		}
		got, missing := resp.Topics[0], resp.Topics[1]
		if got.ErrorCode != 0 || got.Topic == nil || *got.Topic != name {
			t.Errorf("v%d: delete %s: %+v", v, name, got)
		}
		if v >= 6 && got.TopicID != [16]byte(id) {
			t.Errorf("v%d: response id %x, want %x", v, got.TopicID, id)
		}
		if missing.ErrorCode != kerr.UnknownTopicOrPartition.Code || missing.Topic == nil || *missing.Topic != "never-existed" {
			t.Errorf("v%d: unknown topic answered %+v", v, missing)
		}
		if v >= 5 && missing.ErrorMessage == nil {
			t.Errorf("v%d: no error message", v)
		}
		if _, ok := n.q.Image().Topic(name); ok {
			t.Errorf("v%d: topic still exists", v)
		}
	}
}

func TestDeleteTopicsByID(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	id := n.create("by-id", 1, nil)
	n.create("both", 1, nil)
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.Version = 6
	byID := kmsg.NewDeleteTopicsRequestTopic()
	byID.TopicID = id
	unknownID := kmsg.NewDeleteTopicsRequestTopic()
	unknownID.TopicID = [16]byte{1, 2, 3}
	both := kmsg.NewDeleteTopicsRequestTopic()
	both.Topic, both.TopicID = kmsg.StringPtr("both"), [16]byte(n.topic("both").ID)
	req.Topics = append(req.Topics, byID, unknownID, both)
	resp := n.dial().send(req).(*kmsg.DeleteTopicsResponse)
	want := []int16{0, kerr.UnknownTopicID.Code, kerr.InvalidRequest.Code}
	for i, code := range want {
		if resp.Topics[i].ErrorCode != code {
			t.Errorf("entry %d: code %d, want %d (%v)", i, resp.Topics[i].ErrorCode, code, resp.Topics[i].ErrorMessage)
		}
	}
	if resp.Topics[0].Topic == nil || *resp.Topics[0].Topic != "by-id" {
		t.Errorf("deleted by id, but the response does not name it: %v", resp.Topics[0].Topic)
	}
	if resp.Topics[1].Topic != nil || resp.Topics[1].TopicID != unknownID.TopicID {
		t.Errorf("unknown id answered %+v", resp.Topics[1])
	}
	if _, ok := n.q.Image().Topic("by-id"); ok {
		t.Error("topic deleted by id still exists")
	}
}

func TestDeleteTopicsDisabled(t *testing.T) {
	n := startAdminNode(t, adminOptions{static: map[string]string{"delete.topic.enable": "false"}})
	n.create("kept", 1, nil)
	res, err := n.admin().DeleteTopics(context.Background(), "kept")
	if err != nil {
		t.Fatal(err)
	}
	if r := res["kept"]; r.Err != kerr.TopicDeletionDisabled {
		t.Fatalf("err %v, want TOPIC_DELETION_DISABLED", r.Err)
	}
	// Versions before 3 predate TOPIC_DELETION_DISABLED: INVALID_REQUEST, as in Kafka.
	c := n.dial()
	for v := int16(0); v <= 3; v++ {
		req := kmsg.NewPtrDeleteTopicsRequest()
		req.Version, req.TimeoutMillis, req.TopicNames = v, 10000, []string{"kept"}
		want := kerr.InvalidRequest.Code
		if v == 3 {
			want = kerr.TopicDeletionDisabled.Code
		}
		if resp := c.send(req).(*kmsg.DeleteTopicsResponse); len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != want {
			t.Fatalf("v%d: %+v, want error %d", v, resp.Topics, want)
		}
	}
	n.topic("kept")
}
