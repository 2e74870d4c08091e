package api_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
)

func describeConfigsRequest(version int16, synonyms, docs bool, resources ...kmsg.DescribeConfigsRequestResource) *kmsg.DescribeConfigsRequest {
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.Version, req.IncludeSynonyms, req.IncludeDocumentation, req.Resources = version, synonyms, docs, resources
	return req
}

func configResource(typ kmsg.ConfigResourceType, name string, configs ...string) kmsg.DescribeConfigsRequestResource {
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName = typ, name
	if configs != nil {
		r.ConfigNames = configs
	}
	return r
}

func configsByName(r kmsg.DescribeConfigsResponseResource) map[string]kmsg.DescribeConfigsResponseResourceConfig {
	m := map[string]kmsg.DescribeConfigsResponseResourceConfig{}
	for _, c := range r.Configs {
		m[c.Name] = c
	}
	return m
}

func TestDescribeConfigsTopicVersions(t *testing.T) {
	n := startAdminNode(t, adminOptions{static: map[string]string{"log.retention.hours": "2"}})
	n.create("orders", 1, map[string]string{"cleanup.policy": "compact"})
	res := n.ctl.IncrementalAlterConfigs(context.Background(), []metadata.IncrementalAlterConfigs{{
		Resource: metadata.ConfigResource{Type: metadata.ConfigResourceBroker, Name: ""},
		Changes:  []metadata.ConfigChange{{Name: "log.segment.bytes", Op: metadata.OpSet, Value: "2097152"}},
	}}, false)
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	c := n.dial()
	// v0 (legacy, KIP-896): no sources or synonyms; IsDefault marks the values nobody set.
	resp := c.send(describeConfigsRequest(0, true, true, configResource(kmsg.ConfigResourceTypeTopic, "orders"))).(*kmsg.DescribeConfigsResponse)
	if len(resp.Resources) != 1 || resp.Resources[0].ErrorCode != 0 || len(resp.Resources[0].Configs) != len(config.TopicDefs()) {
		t.Fatalf("v0: %+v", resp.Resources)
	}
	for name, want := range map[string]struct {
		value     string
		isDefault bool
	}{"cleanup.policy": {"compact", false}, "retention.ms": {"7200000", false}, "remote.storage.enable": {"false", true}} {
		e := configsByName(resp.Resources[0])[name]
		if e.Value == nil || *e.Value != want.value || e.IsDefault != want.isDefault || len(e.ConfigSynonyms) != 0 || e.Source != -1 {
			t.Errorf("v0: %s = %v default %v source %d synonyms %v; want %s default %v", name, e.Value, e.IsDefault, e.Source, e.ConfigSynonyms, want.value, want.isDefault)
		}
	}
	for v := int16(1); v <= 4; v++ {
		resp := c.send(describeConfigsRequest(v, true, true, configResource(kmsg.ConfigResourceTypeTopic, "orders"))).(*kmsg.DescribeConfigsResponse)
		if len(resp.Resources) != 1 || resp.Resources[0].ErrorCode != 0 {
			t.Fatalf("v%d: %+v", v, resp.Resources)
		}
		got := configsByName(resp.Resources[0])
		if len(got) != len(config.TopicDefs()) {
			t.Errorf("v%d: %d configs, want %d", v, len(got), len(config.TopicDefs()))
		}
		cases := []struct {
			name, value string
			source      kmsg.ConfigSource
			synonyms    []string
		}{
			{"cleanup.policy", "compact", kmsg.ConfigSourceDynamicTopicConfig, []string{"cleanup.policy", "log.cleanup.policy"}},
			{"retention.ms", "7200000", kmsg.ConfigSourceStaticBrokerConfig, []string{"log.retention.hours", "log.retention.hours"}},
			{"segment.bytes", "2097152", kmsg.ConfigSourceDynamicDefaultBrokerConfig, []string{"log.segment.bytes", "log.segment.bytes"}},
			{"remote.storage.enable", "false", kmsg.ConfigSourceDefaultConfig, nil},
		}
		for _, tc := range cases {
			e := got[tc.name]
			if e.Value == nil || *e.Value != tc.value || e.Source != tc.source || e.ReadOnly {
				t.Errorf("v%d: %s = %v from %s read-only %v; want %s from %s", v, tc.name, e.Value, e.Source, e.ReadOnly, tc.value, tc.source)
			}
			var names []string
			for _, s := range e.ConfigSynonyms {
				names = append(names, s.Name)
			}
			if len(names) != len(tc.synonyms) {
				t.Errorf("v%d: %s synonyms %v, want %v", v, tc.name, names, tc.synonyms)
			}
			for i := range tc.synonyms {
				if i < len(names) && names[i] != tc.synonyms[i] {
					t.Errorf("v%d: %s synonyms %v, want %v", v, tc.name, names, tc.synonyms)
				}
			}
			if v >= 3 && (e.Documentation == nil || *e.Documentation == "" || e.ConfigType == 0) {
				t.Errorf("v%d: %s lacks documentation or type", v, tc.name)
			}
		}
		if rt := got["retention.ms"]; v >= 3 && rt.ConfigType != kmsg.ConfigTypeLong {
			t.Errorf("v%d: retention.ms type %s", v, rt.ConfigType)
		}
	}
}

func TestDescribeConfigsFilteredAndErrors(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	n.create("orders", 1, nil)
	resp := n.dial().send(describeConfigsRequest(4, false, false,
		configResource(kmsg.ConfigResourceTypeTopic, "orders", "retention.ms", "no.such.config"),
		configResource(kmsg.ConfigResourceTypeTopic, "missing"),
		configResource(kmsg.ConfigResourceTypeTopic, "bad name"),
		configResource(kmsg.ConfigResourceTypeBroker, "2"),
		configResource(kmsg.ConfigResourceTypeBrokerLogger, "1"),
	)).(*kmsg.DescribeConfigsResponse)
	if got := resp.Resources[0]; len(got.Configs) != 1 || got.Configs[0].Name != "retention.ms" || got.Configs[0].ConfigSynonyms != nil {
		t.Errorf("filtered describe %+v", got.Configs)
	}
	if got := resp.Resources[0].Configs[0]; got.Documentation != nil {
		t.Error("documentation sent without being asked for")
	}
	want := []int16{0, kerr.UnknownTopicOrPartition.Code, kerr.InvalidTopicException.Code, kerr.InvalidRequest.Code, kerr.InvalidRequest.Code}
	for i, code := range want {
		if resp.Resources[i].ErrorCode != code {
			t.Errorf("resource %d: code %d, want %d", i, resp.Resources[i].ErrorCode, code)
		}
	}
}

func TestDescribeConfigsBroker(t *testing.T) {
	n := startAdminNode(t, adminOptions{static: map[string]string{"num.partitions": "3"}})
	res := n.ctl.AlterConfigs(context.Background(), []metadata.AlterConfigs{
		{Resource: metadata.ConfigResource{Type: metadata.ConfigResourceBroker, Name: ""}, Configs: map[string]string{"log.retention.ms": "5000"}},
		{Resource: metadata.ConfigResource{Type: metadata.ConfigResourceBroker, Name: "1"}, Configs: map[string]string{"message.max.bytes": "2000000"}},
	}, false)
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	resp := n.dial().send(describeConfigsRequest(4, true, false,
		configResource(kmsg.ConfigResourceTypeBroker, "1"),
		configResource(kmsg.ConfigResourceTypeBroker, ""),
	)).(*kmsg.DescribeConfigsResponse)
	broker := configsByName(resp.Resources[0])
	if len(broker) != len(config.BrokerDefs()) {
		t.Errorf("%d broker configs, want %d", len(broker), len(config.BrokerDefs()))
	}
	cases := []struct {
		name     string
		value    *string
		source   kmsg.ConfigSource
		readOnly bool
	}{
		{"num.partitions", kmsg.StringPtr("3"), kmsg.ConfigSourceStaticBrokerConfig, true},
		{"message.max.bytes", kmsg.StringPtr("2000000"), kmsg.ConfigSourceDynamicBrokerConfig, false},
		{"log.retention.ms", kmsg.StringPtr("5000"), kmsg.ConfigSourceDynamicDefaultBrokerConfig, false},
		{"auto.create.topics.enable", kmsg.StringPtr("true"), kmsg.ConfigSourceDefaultConfig, true},
		{"broker.rack", nil, kmsg.ConfigSourceDefaultConfig, true},
	}
	for _, tc := range cases {
		e, ok := broker[tc.name]
		if !ok {
			t.Errorf("%s missing", tc.name)
			continue
		}
		if (e.Value == nil) != (tc.value == nil) || (e.Value != nil && *e.Value != *tc.value) || e.Source != tc.source || e.ReadOnly != tc.readOnly {
			t.Errorf("%s = %v from %s read-only %v; want %v from %s read-only %v", tc.name, e.Value, e.Source, e.ReadOnly, tc.value, tc.source, tc.readOnly)
		}
	}
	defaults := resp.Resources[1]
	if defaults.ErrorCode != 0 || len(defaults.Configs) != 1 || defaults.Configs[0].Name != "log.retention.ms" ||
		defaults.Configs[0].Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
		t.Errorf("cluster-wide defaults %+v", defaults.Configs)
	}
}

func TestDescribeConfigsThroughKadm(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	n.create("orders", 1, map[string]string{"retention.ms": "1000"})
	rcs, err := n.admin().DescribeTopicConfigs(context.Background(), "orders")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On("orders", nil)
	if err != nil || rc.Err != nil {
		t.Fatal(err, rc.Err)
	}
	for _, c := range rc.Configs {
		if c.Key == "retention.ms" {
			if c.MaybeValue() != "1000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
				t.Fatalf("retention.ms %+v", c)
			}
			return
		}
	}
	t.Fatal("retention.ms not described")
}
