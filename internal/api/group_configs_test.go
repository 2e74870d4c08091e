package api_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestGroupConfigs sets, validates, describes, lists and deletes the configs of a GROUP
// resource (resource type 32) through IncrementalAlterConfigs, DescribeConfigs and
// ListConfigResources, as Kafka's kafka-configs --entity-type groups does.
func TestGroupConfigs(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	c := n.dial()
	alter := func(group string, op kmsg.IncrementalAlterConfigOp, kv ...string) (int16, *string) {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		req.Version = 1
		res := kmsg.NewIncrementalAlterConfigsRequestResource()
		res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
		for i := 0; i+1 < len(kv); i += 2 {
			cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			cfg.Name, cfg.Op, cfg.Value = kv[i], op, kmsg.StringPtr(kv[i+1])
			res.Configs = append(res.Configs, cfg)
		}
		req.Resources = append(req.Resources, res)
		r := c.send(req).(*kmsg.IncrementalAlterConfigsResponse).Resources[0]
		return r.ErrorCode, r.ErrorMessage
	}
	if code, msg := alter("sg", kmsg.IncrementalAlterConfigOpSet, "share.session.timeout.ms", "50000", "share.auto.offset.reset", "earliest",
		"consumer.heartbeat.interval.ms", "6000"); code != 0 {
		t.Fatalf("set group configs: %d %v", code, msg)
	}
	for _, tc := range []struct {
		name string
		kv   []string
		code int16
	}{
		{"unknown config", []string{"share.unknown", "1"}, kerr.InvalidConfig.Code},
		{"below group.share.min.session.timeout.ms", []string{"share.session.timeout.ms", "1000"}, kerr.InvalidConfig.Code},
		{"bad auto offset reset", []string{"share.auto.offset.reset", "oldest"}, kerr.InvalidConfig.Code},
		{"a broker config", []string{"group.share.session.timeout.ms", "50000"}, kerr.InvalidConfig.Code},
	} {
		if code, msg := alter("sg", kmsg.IncrementalAlterConfigOpSet, tc.kv...); code != tc.code || msg == nil {
			t.Errorf("%s: code %d (%v), want %d", tc.name, code, msg, tc.code)
		}
	}
	if code, _ := alter("", kmsg.IncrementalAlterConfigOpSet, "share.session.timeout.ms", "50000"); code != kerr.InvalidRequest.Code {
		t.Errorf("empty group name: code %d", code)
	}

	describe := func(group string) (*kmsg.DescribeConfigsResponseResource, map[string]kmsg.DescribeConfigsResponseResourceConfig) {
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.Version, req.IncludeSynonyms = 4, true
		res := kmsg.NewDescribeConfigsRequestResource()
		res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
		req.Resources = append(req.Resources, res)
		r := c.send(req).(*kmsg.DescribeConfigsResponse).Resources[0]
		out := map[string]kmsg.DescribeConfigsResponseResourceConfig{}
		for _, cfg := range r.Configs {
			out[cfg.Name] = cfg
		}
		return &r, out
	}
	r, got := describe("sg")
	if r.ErrorCode != 0 {
		t.Fatalf("describe: %+v", r)
	}
	for name, want := range map[string]struct {
		value  string
		source kmsg.ConfigSource
	}{
		"share.session.timeout.ms":       {"50000", kmsg.ConfigSourceGroupConfig},
		"share.auto.offset.reset":        {"earliest", kmsg.ConfigSourceGroupConfig},
		"consumer.heartbeat.interval.ms": {"6000", kmsg.ConfigSourceGroupConfig},
		"share.heartbeat.interval.ms":    {"5000", kmsg.ConfigSourceDefaultConfig},
		"share.record.lock.duration.ms":  {"30000", kmsg.ConfigSourceDefaultConfig},
		"share.isolation.level":          {"read_uncommitted", kmsg.ConfigSourceDefaultConfig},
		"consumer.session.timeout.ms":    {"45000", kmsg.ConfigSourceDefaultConfig},
	} {
		cfg, ok := got[name]
		if !ok || cfg.Value == nil || *cfg.Value != want.value || cfg.Source != want.source || cfg.ReadOnly {
			t.Errorf("%s: %+v, want %s from %v", name, cfg, want.value, want.source)
		}
	}
	if _, other := describe("other"); other["share.session.timeout.ms"].Value == nil || *other["share.session.timeout.ms"].Value != "45000" {
		t.Errorf("a group without configs: %+v", other["share.session.timeout.ms"])
	}

	lr := kmsg.NewPtrListConfigResourcesRequest()
	lr.Version, lr.ResourceTypes = 1, []int8{int8(kmsg.ConfigResourceTypeGroupConfig)}
	if resp := c.send(lr).(*kmsg.ListConfigResourcesResponse); len(resp.ConfigResources) != 1 || resp.ConfigResources[0].Name != "sg" {
		t.Errorf("list group config resources: %+v", resp.ConfigResources)
	}

	if code, msg := alter("sg", kmsg.IncrementalAlterConfigOpDelete, "share.session.timeout.ms", "", "share.auto.offset.reset", "",
		"consumer.heartbeat.interval.ms", ""); code != 0 {
		t.Fatalf("delete group configs: %d %v", code, msg)
	}
	if _, got := describe("sg"); got["share.session.timeout.ms"].Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("after delete: %+v", got["share.session.timeout.ms"])
	}
	if len(n.q.Image().GroupsWithConfigs()) != 0 {
		t.Errorf("groups with configs after delete: %v", n.q.Image().GroupsWithConfigs())
	}
}

// TestGroupConfigsLegacyAlterConfigs: the legacy AlterConfigs replaces a group's configs, as
// Kafka's controller validates and applies it for GROUP resources.
func TestGroupConfigsLegacyAlterConfigs(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	c := n.dial()
	for _, tc := range []struct {
		kv   []*string
		code int16
		want map[string]string
	}{
		{[]*string{s("share.session.timeout.ms"), s("50000"), s("share.isolation.level"), s("read_committed")}, 0,
			map[string]string{"share.session.timeout.ms": "50000", "share.isolation.level": "read_committed"}},
		{[]*string{s("share.isolation.level"), s("read_committed")}, 0, map[string]string{"share.isolation.level": "read_committed"}},
		{[]*string{s("share.heartbeat.interval.ms"), s("100")}, kerr.InvalidConfig.Code, map[string]string{"share.isolation.level": "read_committed"}},
	} {
		req := kmsg.NewPtrAlterConfigsRequest()
		req.Version = 2
		req.Resources = append(req.Resources, alterResource(kmsg.ConfigResourceTypeGroupConfig, "sg", tc.kv...))
		if r := c.send(req).(*kmsg.AlterConfigsResponse).Resources[0]; r.ErrorCode != tc.code {
			t.Fatalf("alter %v: code %d %v, want %d", tc.kv, r.ErrorCode, r.ErrorMessage, tc.code)
		}
		if got := n.q.Image().GroupConfigs("sg"); len(got) != len(tc.want) || got["share.isolation.level"] != tc.want["share.isolation.level"] {
			t.Fatalf("after %v: %v, want %v", tc.kv, got, tc.want)
		}
	}
}
