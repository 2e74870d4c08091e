package api_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
)

func createTopicsRequest(version int16, validateOnly bool, topics ...kmsg.CreateTopicsRequestTopic) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version, req.ValidateOnly, req.Topics, req.TimeoutMillis = version, validateOnly, topics, 10000
	return req
}

func newTopic(name string, partitions int32, rf int16, configs ...string) kmsg.CreateTopicsRequestTopic {
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = name, partitions, rf
	for i := 0; i+1 < len(configs); i += 2 {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = configs[i], kmsg.StringPtr(configs[i+1])
		t.Configs = append(t.Configs, c)
	}
	return t
}

func TestCreateTopicsVersions(t *testing.T) {
	n := startAdminNode(t, adminOptions{static: map[string]string{"log.retention.hours": "2"}})
	c := n.dial()
	for v := int16(0); v <= 7; v++ { // v0–1 are legacy (KIP-896), served while the switch is on
		name := fmt.Sprintf("orders-v%d", v)
		resp := c.send(createTopicsRequest(v, false, newTopic(name, 3, -1, "segment.ms", "60000"))).(*kmsg.CreateTopicsResponse)
		if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
			t.Fatalf("v%d: %+v", v, resp.Topics)
		}
		got := resp.Topics[0]
		top := n.topic(name)
		if len(top.Partitions) != 3 || top.Configs["segment.ms"] != "60000" {
			t.Fatalf("v%d: created topic %+v", v, top)
		}
		if v >= 7 && got.TopicID != [16]byte(top.ID) {
			t.Errorf("v%d: topic id %x, metadata has %x", v, got.TopicID, top.ID)
		}
		if v < 5 {
			continue
		}
		if got.NumPartitions != 3 || got.ReplicationFactor != 1 {
			t.Errorf("v%d: %d partitions rf %d", v, got.NumPartitions, got.ReplicationFactor)
		}
		configs := map[string]kmsg.CreateTopicsResponseTopicConfig{}
		for _, cfg := range got.Configs {
			configs[cfg.Name] = cfg
		}
		if len(configs) != len(config.TopicDefs()) {
			t.Errorf("v%d: %d configs, want every topic config (%d)", v, len(configs), len(config.TopicDefs()))
		}
		want := []struct {
			name, value string
			source      kmsg.ConfigSource
		}{
			{"segment.ms", "60000", kmsg.ConfigSourceDynamicTopicConfig},
			{"retention.ms", "7200000", kmsg.ConfigSourceStaticBrokerConfig},
			{"cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig},
		}
		for _, w := range want {
			cfg := configs[w.name]
			if cfg.Value == nil || *cfg.Value != w.value || cfg.Source != int8(w.source) {
				t.Errorf("v%d: %s = %v source %d; want %s from %s", v, w.name, cfg.Value, cfg.Source, w.value, w.source)
			}
		}
	}
}

func TestCreateTopicsErrors(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	n.create("existing", 1, nil)
	nullConfig := newTopic("null-config", 1, 1)
	nullConfig.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms"}}
	manual := newTopic("manual", -1, -1)
	manual.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 1, Replicas: []int32{1}}, {Partition: 0, Replicas: []int32{1}}}
	unknownBroker := newTopic("unknown-broker", -1, -1)
	unknownBroker.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{7}}}
	cases := []struct {
		topic kmsg.CreateTopicsRequestTopic
		code  int16
	}{
		{newTopic("ok", 2, 1), 0},
		{manual, 0},
		{newTopic("existing", 1, 1), kerr.TopicAlreadyExists.Code},
		{newTopic("bad name!", 1, 1), kerr.InvalidTopicException.Code},
		{newTopic("exist.ing", 1, 1), 0},
		{newTopic("exist_ing", 1, 1), kerr.InvalidTopicException.Code},
		{newTopic("zero", 0, 1), kerr.InvalidPartitions.Code},
		{newTopic("too-replicated", 1, 3), kerr.InvalidReplicationFactor.Code},
		{newTopic("unknown-config", 1, 1, "retention.days", "1"), kerr.InvalidConfig.Code},
		{newTopic("bad-value", 1, 1, "cleanup.policy", "archive"), kerr.InvalidConfig.Code},
		{newTopic("twice-config", 1, 1, "retention.ms", "1", "retention.ms", "2"), kerr.InvalidRequest.Code},
		{nullConfig, kerr.InvalidConfig.Code},
		{unknownBroker, kerr.InvalidReplicaAssignment.Code},
		{newTopic("dup", 1, 1), kerr.InvalidRequest.Code},
		{newTopic("dup", 1, 1), kerr.InvalidRequest.Code},
	}
	var topics []kmsg.CreateTopicsRequestTopic
	for _, c := range cases {
		topics = append(topics, c.topic)
	}
	resp := n.dial().send(createTopicsRequest(7, false, topics...)).(*kmsg.CreateTopicsResponse)
	if len(resp.Topics) != len(cases) {
		t.Fatalf("%d results for %d topics", len(resp.Topics), len(cases))
	}
	for i, c := range cases {
		got := resp.Topics[i]
		if got.Topic != c.topic.Topic || got.ErrorCode != c.code {
			t.Errorf("%s: code %d (%v), want %d", c.topic.Topic, got.ErrorCode, got.ErrorMessage, c.code)
		}
		if c.code != 0 && (got.ErrorMessage == nil || got.NumPartitions != -1 || got.Configs != nil) {
			t.Errorf("%s: failed topic answered with message %v, %d partitions, %d configs", c.topic.Topic, got.ErrorMessage, got.NumPartitions, len(got.Configs))
		}
	}
	if p := n.topic("manual").Partitions; len(p) != 2 {
		t.Errorf("manual topic has %d partitions", len(p))
	}
	if n.q.Image().NumTopics() != 4 {
		t.Errorf("%d topics exist, want existing, ok, manual, exist.ing", n.q.Image().NumTopics())
	}
}

func TestCreateTopicsValidateOnly(t *testing.T) {
	n := startAdminNode(t, adminOptions{static: map[string]string{"num.partitions": "4"}})
	resp := n.dial().send(createTopicsRequest(7, true, newTopic("dry", -1, -1))).(*kmsg.CreateTopicsResponse)
	if got := resp.Topics[0]; got.ErrorCode != 0 || got.NumPartitions != 4 || got.ReplicationFactor != 1 {
		t.Fatalf("validate-only answer %+v", got)
	}
	if _, ok := n.q.Image().Topic("dry"); ok {
		t.Fatal("validate-only created the topic")
	}
	// v1 (legacy) is the oldest with ValidateOnly; its answer has no counts.
	resp = n.dial().send(createTopicsRequest(1, true, newTopic("dry1", 2, 1))).(*kmsg.CreateTopicsResponse)
	if got := resp.Topics[0]; got.ErrorCode != 0 {
		t.Fatalf("v1 validate-only answer %+v", got)
	}
	if _, ok := n.q.Image().Topic("dry1"); ok {
		t.Fatal("v1 validate-only created the topic")
	}
	// v1 carries error messages, v0 none.
	for v, wantMsg := range map[int16]bool{0: false, 1: true} {
		resp := n.dial().send(createTopicsRequest(v, false, newTopic("bad", 0, 1))).(*kmsg.CreateTopicsResponse)
		if got := resp.Topics[0]; got.ErrorCode != kerr.InvalidPartitions.Code || (got.ErrorMessage != nil) != wantMsg {
			t.Fatalf("v%d: zero partitions answered %+v", v, got)
		}
	}
}

func TestCreateTopicsWithoutController(t *testing.T) {
	n := startAdminNode(t, adminOptions{peers: []string{"2@127.0.0.1:1"}})
	resp := n.dial().send(createTopicsRequest(7, false, newTopic("t", 1, 1))).(*kmsg.CreateTopicsResponse)
	if resp.Topics[0].ErrorCode != kerr.NotController.Code {
		t.Fatalf("code %d, want NOT_CONTROLLER", resp.Topics[0].ErrorCode)
	}
}

func TestCreateTopicsThroughKadm(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	adm := n.admin()
	ctx := context.Background()
	res, err := adm.CreateTopics(ctx, 3, 1, map[string]*string{"cleanup.policy": kmsg.StringPtr("compact")}, "kadm-topic")
	if err != nil {
		t.Fatal(err)
	}
	if r := res["kadm-topic"]; r.Err != nil || r.ID != [16]byte(n.topic("kadm-topic").ID) {
		t.Fatalf("kadm result %+v", r)
	}
	listed, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := listed["kadm-topic"]; !ok || len(d.Partitions) != 3 {
		t.Fatalf("listed %+v", listed)
	}
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, "kadm-topic"); err != nil {
		t.Fatal(err)
	}
	again, _ := adm.CreateTopics(ctx, 1, 1, nil, "kadm-topic")
	if r := again["kadm-topic"]; r.Err != kerr.TopicAlreadyExists {
		t.Fatalf("second create: %v", r.Err)
	}
	if names := listed.Names(); !slices.Contains(names, "kadm-topic") {
		t.Fatalf("names %v", names)
	}
}
