package api_test

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

func TestDescribeClusterVersions(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	if epoch, err := n.ctl.RegisterBroker(context.Background(), metadata.BrokerRegistration{ID: 2, Rack: "r2",
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "elsewhere", Port: 19092}}}); err != nil {
		t.Fatal(err)
	} else if _, err := n.ctl.BrokerHeartbeat(context.Background(), metadata.Heartbeat{ID: 2, Epoch: epoch, MetadataOffset: epoch}); err != nil {
		t.Fatal(err) // registrations start fenced; a caught-up heartbeat unfences
	}
	// Broker 3 is registered but fenced.
	if _, err := n.q.Propose(context.Background(), []metadata.Record{&metadata.RegisterBrokerRecord{BrokerID: 3, Epoch: -1, Fenced: true,
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "fenced", Port: 29092}}}}); err != nil {
		t.Fatal(err)
	}
	host, portText, _ := net.SplitHostPort(n.addr)
	port, _ := strconv.Atoi(portText)
	c := n.dial()
	for v := int16(0); v <= 2; v++ {
		req := kmsg.NewPtrDescribeClusterRequest()
		req.Version, req.IncludeClusterAuthorizedOperations, req.IncludeFencedBrokers = v, true, true
		resp := c.send(req).(*kmsg.DescribeClusterResponse)
		if resp.ErrorCode != 0 || resp.ClusterID != n.q.Image().ClusterID() || resp.ControllerID != 1 {
			t.Fatalf("v%d: code %d cluster %q controller %d", v, resp.ErrorCode, resp.ClusterID, resp.ControllerID)
		}
		wantBrokers := 2
		if v >= 2 {
			wantBrokers = 3
		}
		if len(resp.Brokers) != wantBrokers {
			t.Fatalf("v%d: %d brokers, want %d", v, len(resp.Brokers), wantBrokers)
		}
		b1, b2 := resp.Brokers[0], resp.Brokers[1]
		if b1.NodeID != 1 || b1.Host != host || b1.Port != int32(port) || b1.Rack != nil {
			t.Errorf("v%d: broker 1 %+v", v, b1)
		}
		if b2.NodeID != 2 || b2.Host != "elsewhere" || b2.Rack == nil || *b2.Rack != "r2" {
			t.Errorf("v%d: broker 2 %+v", v, b2)
		}
		if v >= 2 && !resp.Brokers[2].IsFenced {
			t.Errorf("v%d: fenced broker not marked", v)
		}
		if resp.ClusterAuthorizedOperations&(1<<8) == 0 {
			t.Errorf("v%d: DESCRIBE not among authorized operations %b", v, resp.ClusterAuthorizedOperations)
		}
	}
	req := kmsg.NewPtrDescribeClusterRequest()
	req.Version, req.EndpointType = 1, 2
	if resp := c.send(req).(*kmsg.DescribeClusterResponse); resp.ErrorCode != kerr.MismatchedEndpointType.Code {
		t.Errorf("controller endpoints: code %d", resp.ErrorCode)
	}
	req.EndpointType = 9
	if resp := c.send(req).(*kmsg.DescribeClusterResponse); resp.ErrorCode != kerr.UnsupportedEndpointType.Code {
		t.Errorf("unknown endpoint type: code %d", resp.ErrorCode)
	}
	meta, err := n.admin().BrokerMetadata(context.Background())
	if err != nil || meta.Controller != 1 || meta.Cluster != n.q.Image().ClusterID() {
		t.Fatalf("kadm broker metadata %+v %v", meta, err)
	}
}

func TestListConfigResources(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	n.create("b-topic", 1, nil)
	n.create("a-topic", 1, nil)
	c := n.dial()
	list := func(version int16, types ...int8) *kmsg.ListConfigResourcesResponse {
		req := kmsg.NewPtrListConfigResourcesRequest()
		req.Version, req.ResourceTypes = version, types
		return c.send(req).(*kmsg.ListConfigResourcesResponse)
	}
	if resp := list(0); resp.ErrorCode != 0 || len(resp.ConfigResources) != 0 {
		t.Errorf("v0 (client metrics): %+v", resp)
	}
	type res struct {
		name string
		typ  int8
	}
	names := func(resp *kmsg.ListConfigResourcesResponse) []res {
		var out []res
		for _, r := range resp.ConfigResources {
			out = append(out, res{r.Name, r.Type})
		}
		return out
	}
	all := names(list(1))
	want := []res{{"a-topic", 2}, {"b-topic", 2}, {"1", 4}}
	if len(all) != len(want) {
		t.Fatalf("all types: %v, want %v", all, want)
	}
	for i := range want {
		if all[i] != want[i] {
			t.Fatalf("all types: %v, want %v", all, want)
		}
	}
	if got := names(list(1, 4)); len(got) != 1 || got[0] != (res{"1", 4}) {
		t.Errorf("brokers only: %v", got)
	}
	if got := names(list(1, 32, 16)); len(got) != 0 {
		t.Errorf("groups and client metrics: %v", got)
	}
	if resp := list(1, 3); resp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Errorf("unknown type: code %d", resp.ErrorCode)
	}
}

func TestUpdateFeaturesVersions(t *testing.T) {
	n := startAdminNode(t, adminOptions{})
	mv, _ := metadata.SupportedFeature(metadata.MetadataVersionFeature)
	c := n.dial()
	update := func(v int16, validateOnly bool, updates ...kmsg.UpdateFeaturesRequestFeatureUpdate) *kmsg.UpdateFeaturesResponse {
		req := kmsg.NewPtrUpdateFeaturesRequest()
		req.Version, req.ValidateOnly, req.FeatureUpdates = v, validateOnly, updates
		return c.send(req).(*kmsg.UpdateFeaturesResponse)
	}
	feature := func(name string, level int16, upgradeType int8) kmsg.UpdateFeaturesRequestFeatureUpdate {
		u := kmsg.NewUpdateFeaturesRequestFeatureUpdate()
		u.Feature, u.MaxVersionLevel, u.UpgradeType = name, level, upgradeType
		return u
	}
	for v := int16(0); v <= 2; v++ {
		resp := update(v, false, feature(metadata.MetadataVersionFeature, mv.MaxLevel, 1))
		if resp.ErrorCode != 0 {
			t.Fatalf("v%d: same level: code %d %v", v, resp.ErrorCode, resp.ErrorMessage)
		}
		if v <= 1 && (len(resp.Results) != 1 || resp.Results[0].ErrorCode != 0) {
			t.Fatalf("v%d: results %+v", v, resp.Results)
		}
		resp = update(v, false, feature(metadata.MetadataVersionFeature, mv.MaxLevel, 1), feature("group.version", 1, 1))
		if resp.ErrorCode != kerr.InvalidUpdateVersion.Code {
			t.Fatalf("v%d: unsupported feature: top-level code %d", v, resp.ErrorCode)
		}
		if v <= 1 && (resp.Results[0].ErrorCode != kerr.FeatureUpdateFailed.Code || resp.Results[1].ErrorCode != kerr.InvalidUpdateVersion.Code) {
			t.Fatalf("v%d: results %+v", v, resp.Results)
		}
	}
	if resp := update(0, false, feature(metadata.MetadataVersionFeature, mv.MinLevel-1, 0)); resp.ErrorCode != kerr.InvalidUpdateVersion.Code {
		t.Errorf("v0 downgrade without AllowDowngrade: code %d", resp.ErrorCode)
	}
	if resp := update(1, true, feature(metadata.MetadataVersionFeature, mv.MaxLevel+1, 1)); resp.ErrorCode != kerr.InvalidUpdateVersion.Code {
		t.Errorf("level above the supported range: code %d", resp.ErrorCode)
	}
	if got := n.q.Image().FeatureLevel(metadata.MetadataVersionFeature); got != mv.Bootstrap {
		t.Errorf("metadata.version is %d after rejected updates", got)
	}
}
