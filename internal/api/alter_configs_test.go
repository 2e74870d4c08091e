package api_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func alterResource(typ kmsg.ConfigResourceType, name string, kv ...*string) kmsg.AlterConfigsRequestResource {
	r := kmsg.NewAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = typ, name
	for i := 0; i+1 < len(kv); i += 2 {
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = *kv[i], kv[i+1]
		r.Configs = append(r.Configs, c)
	}
	return r
}

func s(v string) *string { return &v }

func TestAlterConfigsVersions(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	n.create("orders", 1, map[string]string{"cleanup.policy": "compact", "retention.ms": "1000"})
	c := n.dial()
	for v := int16(0); v <= 2; v++ {
		req := kmsg.NewPtrAlterConfigsRequest()
		req.Version = v
		value := []string{"2000", "3000", "4000"}[v]
		req.Resources = append(req.Resources,
			alterResource(kmsg.ConfigResourceTypeTopic, "orders", s("retention.ms"), s(value), s("segment.ms"), s("60000")),
			alterResource(kmsg.ConfigResourceTypeBroker, "", s("log.retention.ms"), s(value)),
		)
		resp := c.send(req).(*kmsg.AlterConfigsResponse)
		for _, r := range resp.Resources {
			if r.ErrorCode != 0 {
				t.Fatalf("v%d: %s %q: code %d %v", v, r.ResourceType, r.ResourceName, r.ErrorCode, r.ErrorMessage)
			}
		}
		want := map[string]string{"retention.ms": value, "segment.ms": "60000"}
		if got := n.topic("orders").Configs; !reflect.DeepEqual(got, want) {
			t.Fatalf("v%d: topic configs %v, want %v (replaced, cleanup.policy gone)", v, got, want)
		}
		if got := n.q.Image().BrokerConfigs("")["log.retention.ms"]; got != value {
			t.Fatalf("v%d: cluster default log.retention.ms = %q", v, got)
		}
	}
}

func TestAlterConfigsErrors(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	n.create("orders", 1, nil)
	req := kmsg.NewPtrAlterConfigsRequest()
	req.Version = 2
	cases := []struct {
		res  kmsg.AlterConfigsRequestResource
		code int16
	}{
		{alterResource(kmsg.ConfigResourceTypeTopic, "missing"), kerr.UnknownTopicOrPartition.Code},
		{alterResource(kmsg.ConfigResourceTypeTopic, "orders", s("retention.ms"), s("soon")), kerr.InvalidConfig.Code},
		{alterResource(kmsg.ConfigResourceTypeTopic, "orders", s("retention.ms"), nil), kerr.InvalidConfig.Code},
		{alterResource(kmsg.ConfigResourceTypeBroker, "1", s("num.partitions"), s("3")), kerr.InvalidConfig.Code},
		{alterResource(kmsg.ConfigResourceTypeBroker, "one"), kerr.InvalidRequest.Code},
		{alterResource(kmsg.ConfigResourceTypeBrokerLogger, "1"), kerr.InvalidRequest.Code},
	}
	for _, c := range cases {
		req.Resources = append(req.Resources, c.res)
	}
	resp := n.dial().send(req).(*kmsg.AlterConfigsResponse)
	for i, c := range cases {
		if got := resp.Resources[i]; got.ErrorCode != c.code || got.ErrorMessage == nil {
			t.Errorf("resource %d (%s %q): code %d %v, want %d", i, c.res.ResourceType, c.res.ResourceName, got.ErrorCode, got.ErrorMessage, c.code)
		}
	}
	if len(n.topic("orders").Configs) != 0 {
		t.Error("a failed alter changed the topic")
	}
}

func TestIncrementalAlterConfigsVersions(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	n.create("orders", 1, map[string]string{"retention.ms": "1000"})
	c := n.dial()
	op := func(name string, o kmsg.IncrementalAlterConfigOp, value *string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
		cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		cfg.Name, cfg.Op, cfg.Value = name, o, value
		return cfg
	}
	resource := func(typ kmsg.ConfigResourceType, name string, ops ...kmsg.IncrementalAlterConfigsRequestResourceConfig) kmsg.IncrementalAlterConfigsRequestResource {
		r := kmsg.NewIncrementalAlterConfigsRequestResource()
		r.ResourceType, r.ResourceName, r.Configs = typ, name, ops
		return r
	}
	steps := []struct {
		ops  []kmsg.IncrementalAlterConfigsRequestResourceConfig
		code int16
		want map[string]string
	}{
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op("segment.ms", kmsg.IncrementalAlterConfigOpSet, s("60000")),
			op("retention.ms", kmsg.IncrementalAlterConfigOpDelete, nil)}, 0, map[string]string{"segment.ms": "60000"}},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op("cleanup.policy", kmsg.IncrementalAlterConfigOpAppend, s("compact"))},
			0, map[string]string{"segment.ms": "60000", "cleanup.policy": "delete,compact"}},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op("cleanup.policy", kmsg.IncrementalAlterConfigOpSubtract, s("delete"))},
			0, map[string]string{"segment.ms": "60000", "cleanup.policy": "compact"}},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op("segment.ms", kmsg.IncrementalAlterConfigOpAppend, s("1"))},
			kerr.InvalidConfig.Code, nil},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op("segment.ms", kmsg.IncrementalAlterConfigOpSet, nil)},
			kerr.InvalidRequest.Code, nil},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op("segment.ms", 7, s("1"))}, kerr.InvalidRequest.Code, nil},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op("segment.ms", kmsg.IncrementalAlterConfigOpSet, s("1")),
			op("segment.ms", kmsg.IncrementalAlterConfigOpDelete, nil)}, kerr.InvalidRequest.Code, nil},
		{[]kmsg.IncrementalAlterConfigsRequestResourceConfig{op("segment.msec", kmsg.IncrementalAlterConfigOpSet, s("1"))},
			kerr.InvalidConfig.Code, nil},
	}
	for i, st := range steps {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		req.Version = int16(i % 2)
		req.Resources = append(req.Resources, resource(kmsg.ConfigResourceTypeTopic, "orders", st.ops...))
		resp := c.send(req).(*kmsg.IncrementalAlterConfigsResponse)
		if got := resp.Resources[0]; got.ErrorCode != st.code {
			t.Fatalf("step %d (v%d): code %d %v, want %d", i, req.Version, got.ErrorCode, got.ErrorMessage, st.code)
		}
		if st.want != nil && !reflect.DeepEqual(n.topic("orders").Configs, st.want) {
			t.Fatalf("step %d: configs %v, want %v", i, n.topic("orders").Configs, st.want)
		}
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.Version, req.ValidateOnly = 1, true
	req.Resources = append(req.Resources, resource(kmsg.ConfigResourceTypeBroker, "", op("log.retention.ms", kmsg.IncrementalAlterConfigOpSet, s("5"))))
	if resp := c.send(req).(*kmsg.IncrementalAlterConfigsResponse); resp.Resources[0].ErrorCode != 0 || n.q.Image().BrokerConfigs("") != nil {
		t.Fatalf("validate-only on the cluster default: code %d, configs %v", resp.Resources[0].ErrorCode, n.q.Image().BrokerConfigs(""))
	}
}

func TestAlterConfigsThroughKadm(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	n.create("orders", 1, nil)
	adm := n.admin()
	ctx := context.Background()
	res, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: s("123456")}}, "orders")
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	if got := n.topic("orders").Configs["retention.ms"]; got != "123456" {
		t.Fatalf("retention.ms = %q", got)
	}
	res, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: s("x")}}, "orders")
	if err != nil || res[0].Err != kerr.InvalidConfig {
		t.Fatalf("invalid value: %v %v", err, res)
	}
	bres, err := adm.AlterBrokerConfigsState(ctx, []kadm.AlterConfig{{Name: "log.retention.ms", Value: s("99")}})
	if err != nil || bres[0].Err != nil {
		t.Fatal(err, bres)
	}
	if got := n.q.Image().BrokerConfigs("")["log.retention.ms"]; got != "99" {
		t.Fatalf("legacy alter of the cluster default: %q", got)
	}
}
