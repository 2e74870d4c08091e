package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/security/quota"
)

func TestClientQuotasThroughKadm(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	adm := n.admin()
	ctx := context.Background()
	alice := kadm.ClientQuotaEntity{{Type: "user", Name: s("alice")}, {Type: "client-id", Name: nil}}
	app := kadm.ClientQuotaEntity{{Type: "client-id", Name: s("app")}}
	res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{
		{Entity: alice, Ops: []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Value: 1048576}, {Key: "request_percentage", Value: 25}}},
		{Entity: app, Ops: []kadm.AlterClientQuotaOp{{Key: "consumer_byte_rate", Value: 2048}}},
		{Entity: kadm.ClientQuotaEntity{{Type: "user", Name: s("bob")}}, Ops: []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Value: 0.5}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[1].Err != nil || res[2].Err != kerr.InvalidRequest || res[2].ErrMessage == "" {
		t.Fatalf("alter results: %+v", res)
	}
	// validate_only changes nothing.
	if res, err := adm.ValidateAlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: app,
		Ops: []kadm.AlterClientQuotaOp{{Key: "consumer_byte_rate", Remove: true}}}}); err != nil || res[0].Err != nil {
		t.Fatalf("validate only: %v %+v", err, res)
	}

	all, err := adm.DescribeClientQuotas(ctx, false, nil)
	if err != nil || len(all) != 2 {
		t.Fatalf("describe all: %v %+v", err, all)
	}
	for _, tc := range []struct {
		name   string
		strict bool
		filter []kadm.DescribeClientQuotaComponent
		want   []string
	}{
		{"exact user", false, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchName: s("alice"), MatchType: 0}}, []string{"user=alice, client-id=<default>"}},
		{"exact user strict", true, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchName: s("alice"), MatchType: 0}}, nil},
		{"default client", false, []kadm.DescribeClientQuotaComponent{{Type: "client-id", MatchType: 1}}, []string{"user=alice, client-id=<default>"}},
		{"specified client", false, []kadm.DescribeClientQuotaComponent{{Type: "client-id", MatchType: 2}}, []string{"client-id=app", "user=alice, client-id=<default>"}},
		{"specified client strict", true, []kadm.DescribeClientQuotaComponent{{Type: "client-id", MatchType: 2}}, []string{"client-id=app"}},
		{"no match", false, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchName: s("carol"), MatchType: 0}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := adm.DescribeClientQuotas(ctx, tc.strict, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range got {
				names = append(names, d.Entity.String())
			}
			if len(names) != len(tc.want) {
				t.Fatalf("got %v, want %v", names, tc.want)
			}
			for _, w := range tc.want {
				found := false
				for _, n := range names {
					found = found || strings.Trim(n, "{}") == w
				}
				if !found {
					t.Fatalf("got %v, want %v", names, tc.want)
				}
			}
		})
	}
	got, _ := adm.DescribeClientQuotas(ctx, true, []kadm.DescribeClientQuotaComponent{{Type: "client-id", MatchName: s("app")}})
	if len(got) != 1 || len(got[0].Values) != 1 || got[0].Values[0].Key != "consumer_byte_rate" || got[0].Values[0].Value != 2048 {
		t.Fatalf("app's quotas: %+v", got)
	}
}

func TestDescribeClientQuotasFilterErrors(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	c := n.dial()
	comp := func(typ string, match *string, matchType int8) kmsg.DescribeClientQuotasRequestComponent {
		rc := kmsg.NewDescribeClientQuotasRequestComponent()
		rc.EntityType, rc.Match, rc.MatchType = typ, match, kmsg.QuotasMatchType(matchType)
		return rc
	}
	for _, tc := range []struct {
		name  string
		comps []kmsg.DescribeClientQuotasRequestComponent
		code  int16
	}{
		{"empty type", []kmsg.DescribeClientQuotasRequestComponent{comp("", s("a"), 0)}, kerr.InvalidRequest.Code},
		{"type twice", []kmsg.DescribeClientQuotasRequestComponent{comp("user", s("a"), 0), comp("user", nil, 2)}, kerr.InvalidRequest.Code},
		{"exact without name", []kmsg.DescribeClientQuotasRequestComponent{comp("user", nil, 0)}, kerr.InvalidRequest.Code},
		{"default with name", []kmsg.DescribeClientQuotasRequestComponent{comp("user", s("a"), 1)}, kerr.InvalidRequest.Code},
		{"ip with user", []kmsg.DescribeClientQuotasRequestComponent{comp("ip", nil, 2), comp("user", nil, 2)}, kerr.InvalidRequest.Code},
		{"unknown type", []kmsg.DescribeClientQuotasRequestComponent{comp("group", nil, 2)}, kerr.UnsupportedVersion.Code},
		{"unknown match type", []kmsg.DescribeClientQuotasRequestComponent{comp("user", nil, 7)}, kerr.UnsupportedVersion.Code},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for v := int16(0); v <= 1; v++ {
				req := kmsg.NewPtrDescribeClientQuotasRequest()
				req.Version, req.Components = v, tc.comps
				resp := c.send(req).(*kmsg.DescribeClientQuotasResponse)
				if resp.ErrorCode != tc.code || resp.ErrorMessage == nil || resp.Entries != nil {
					t.Fatalf("v%d: code %d %v entries %v, want %d", v, resp.ErrorCode, resp.ErrorMessage, resp.Entries, tc.code)
				}
			}
		})
	}
}

func TestAlterClientQuotasEntityErrors(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	entry := func(key string, value float64, parts ...[2]*string) kmsg.AlterClientQuotasRequestEntry {
		e := kmsg.NewAlterClientQuotasRequestEntry()
		for _, p := range parts {
			ent := kmsg.NewAlterClientQuotasRequestEntryEntity()
			ent.Type, ent.Name = *p[0], p[1]
			e.Entity = append(e.Entity, ent)
		}
		op := kmsg.NewAlterClientQuotasRequestEntryOp()
		op.Key, op.Value = key, value
		e.Ops = append(e.Ops, op)
		return e
	}
	part := func(typ string, name *string) [2]*string { return [2]*string{&typ, name} }
	req := kmsg.NewPtrAlterClientQuotasRequest()
	req.Version = 1
	cases := []struct {
		entry kmsg.AlterClientQuotasRequestEntry
		code  int16
	}{
		{entry("producer_byte_rate", 100, part("user", s("a"))), 0},
		{entry("connection_creation_rate", 5, part("ip", s("127.0.0.1"))), 0},
		{entry("connection_creation_rate", 5, part("user", s("b"))), kerr.InvalidRequest.Code},
		{entry("producer_byte_rate", 100, part("user", s(""))), kerr.InvalidRequest.Code},
		{entry("producer_byte_rate", 100, part("user", s("c")), part("ip", nil)), kerr.InvalidRequest.Code},
		{entry("producer_byte_rate", 100, part("topic", s("t"))), kerr.InvalidRequest.Code},
		{entry("producer_byte_rate", -1, part("client-id", nil)), kerr.InvalidRequest.Code},
	}
	for _, c := range cases {
		req.Entries = append(req.Entries, c.entry)
	}
	resp := n.dial().send(req).(*kmsg.AlterClientQuotasResponse)
	for i, c := range cases {
		got := resp.Entries[i]
		if got.ErrorCode != c.code || (c.code != 0) != (got.ErrorMessage != nil) || len(got.Entity) != len(c.entry.Entity) {
			t.Errorf("entry %d: code %d %v, want %d", i, got.ErrorCode, got.ErrorMessage, c.code)
		}
	}
	if q := n.q.Image().ClientQuotas(); q.Len() != 2 {
		t.Fatalf("quotas after the request: %v", q.Entities())
	}
}

// TestControllerMutationRate: CreateTopics, CreatePartitions and DeleteTopics count partitions
// against controller_mutation_rate (KIP-599). The quota is 0.01 partitions/s, a bucket of 0.11:
// the first mutation takes it below zero, every later one in the strict versions is refused
// with THROTTLING_QUOTA_EXCEEDED (its refill to zero takes about 89 s), and the older versions
// are only throttled. A throttled response mutes its connection (KIP-219), so each request
// goes on a new one.
func TestControllerMutationRate(t *testing.T) {
	n := startAdminNode(t, adminOptions{quotas: quota.New(quota.Config{})})
	n.create("existing", 1, nil)
	c := n.dial()
	alter := kmsg.NewPtrAlterClientQuotasRequest()
	entry := kmsg.NewAlterClientQuotasRequestEntry()
	ent := kmsg.NewAlterClientQuotasRequestEntryEntity()
	ent.Type = "client-id" // rawConn sends no client id: the default entity is the one that applies
	entry.Entity = append(entry.Entity, ent)
	op := kmsg.NewAlterClientQuotasRequestEntryOp()
	op.Key, op.Value = "controller_mutation_rate", 0.01
	entry.Ops = append(entry.Ops, op)
	alter.Entries = append(alter.Entries, entry)
	if resp := c.send(alter).(*kmsg.AlterClientQuotasResponse); resp.Entries[0].ErrorCode != 0 {
		t.Fatalf("alter: %v", resp.Entries[0].ErrorMessage)
	}
	create := func(version int16, name string, partitions int32) *kmsg.CreateTopicsResponse {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.Version, req.TimeoutMillis = version, 10000
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, 1
		req.Topics = append(req.Topics, rt)
		return n.dial().send(req).(*kmsg.CreateTopicsResponse)
	}
	if resp := create(7, "first", 1); resp.Topics[0].ErrorCode != 0 || resp.ThrottleMillis <= 0 {
		t.Fatalf("first topic: code %d, throttle %d ms (the bucket is below zero now)", resp.Topics[0].ErrorCode, resp.ThrottleMillis)
	}
	resp := create(7, "second", 1)
	if resp.Topics[0].ErrorCode != kerr.ThrottlingQuotaExceeded.Code || resp.ThrottleMillis <= 0 {
		t.Fatalf("second topic, v7: code %d, throttle %d ms", resp.Topics[0].ErrorCode, resp.ThrottleMillis)
	}
	if _, ok := n.q.Image().Topic("second"); ok {
		t.Fatal("a refused topic was created")
	}
	// v5 is permissive: created, and throttled.
	if resp := create(5, "third", 2); resp.Topics[0].ErrorCode != 0 || resp.ThrottleMillis <= 0 {
		t.Fatalf("v5: code %d, throttle %d ms", resp.Topics[0].ErrorCode, resp.ThrottleMillis)
	}
	cp := kmsg.NewPtrCreatePartitionsRequest()
	cp.Version, cp.TimeoutMillis = 3, 10000
	cpt := kmsg.NewCreatePartitionsRequestTopic()
	cpt.Topic, cpt.Count = "existing", 2
	cp.Topics = append(cp.Topics, cpt)
	if resp := n.dial().send(cp).(*kmsg.CreatePartitionsResponse); resp.Topics[0].ErrorCode != kerr.ThrottlingQuotaExceeded.Code || resp.ThrottleMillis <= 0 {
		t.Fatalf("create partitions v3: %+v", resp)
	}
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.Version, del.TimeoutMillis, del.TopicNames = 5, 10000, []string{"existing"}
	if resp := n.dial().send(del).(*kmsg.DeleteTopicsResponse); len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != kerr.ThrottlingQuotaExceeded.Code ||
		resp.Topics[0].Topic == nil || *resp.Topics[0].Topic != "existing" {
		t.Fatalf("delete topics v5: %+v", resp)
	}
	del.Version = 4 // permissive
	if resp := n.dial().send(del).(*kmsg.DeleteTopicsResponse); resp.Topics[0].ErrorCode != 0 || resp.ThrottleMillis <= 0 {
		t.Fatalf("delete topics v4: %+v", resp)
	}
}

// TestRequestPercentage: handler time counts against request_percentage; a client far over it
// is throttled by at most one quota window (Kafka caps request-quota throttles so), and the
// exempt ApiVersions is never throttled.
func TestRequestPercentage(t *testing.T) {
	n := startAdminNode(t, adminOptions{quotas: quota.New(quota.Config{})})
	adm := n.admin()
	if res, err := adm.AlterClientQuotas(context.Background(), []kadm.AlterClientQuotaEntry{{
		Entity: kadm.ClientQuotaEntity{{Type: "client-id", Name: nil}},
		Ops:    []kadm.AlterClientQuotaOp{{Key: "request_percentage", Value: 1e-9}}}}); err != nil || res[0].Err != nil {
		t.Fatalf("alter: %v %+v", err, res)
	}
	c := n.dial()
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	if resp := c.send(av).(*kmsg.ApiVersionsResponse); resp.ThrottleMillis != 0 {
		t.Fatalf("ApiVersions throttled %d ms", resp.ThrottleMillis)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 12
	resp := c.send(md).(*kmsg.MetadataResponse)
	if resp.ThrottleMillis <= 0 || resp.ThrottleMillis > 1000 {
		t.Fatalf("Metadata throttle %d ms, want (0, 1000]", resp.ThrottleMillis)
	}
}
