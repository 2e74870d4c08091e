package api

import (
	"context"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListConfigResources: v0–1
//
// Behavior:
//   - Lists the resources whose configs DescribeConfigs can describe, from
//     this broker's metadata.
//   - v0 (Kafka's ListClientMetricsResources) lists client-metrics resources:
//     Sluice has none, so the list is empty.
//   - v1 lists the requested resource types, or all of TOPIC, BROKER,
//     BROKER_LOGGER, CLIENT_METRICS and GROUP when none is named: every topic
//     by name, every registered broker by id, every group id with configs
//     set. Sluice has no broker loggers or client-metrics subscriptions, so
//     those types list nothing. Any other type gets UNSUPPORTED_VERSION, as in Kafka.
//
//   - Authorization: DescribeConfigs on the cluster, else CLUSTER_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v1: ResourceTypes in the request, Type in each listed resource.

func init() {
	Register(API{Key: 74, MinVersion: 0, MaxVersion: 1, Handle: handleListConfigResources})
}

// listableConfigTypes are the resource types v1 knows (Kafka's ConfigResource.Type ids).
var listableConfigTypes = []int8{
	int8(kmsg.ConfigResourceTypeTopic), int8(kmsg.ConfigResourceTypeBroker), int8(kmsg.ConfigResourceTypeBrokerLogger),
	int8(kmsg.ConfigResourceTypeClientMetrics), int8(kmsg.ConfigResourceTypeGroupConfig),
}

func handleListConfigResources(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ListConfigResourcesRequest)
	resp := r.ResponseKind().(*kmsg.ListConfigResourcesResponse)
	if !env.AuthorizeCluster(req, opDescribeConfigs) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return Reply(resp), nil
	}
	if r.Version == 0 {
		resp.ConfigResources = []kmsg.ListConfigResourcesResponseConfigResource{}
		return Reply(resp), nil
	}
	types := r.ResourceTypes
	if len(types) == 0 {
		types = listableConfigTypes
	}
	for _, t := range types {
		if !slices.Contains(listableConfigTypes, t) {
			resp.ErrorCode = kerr.UnsupportedVersion.Code
			return Reply(resp), nil
		}
	}
	img := env.Metadata.Image()
	add := func(name string, typ kmsg.ConfigResourceType) {
		c := kmsg.NewListConfigResourcesResponseConfigResource()
		c.Name, c.Type = name, int8(typ)
		resp.ConfigResources = append(resp.ConfigResources, c)
	}
	if slices.Contains(types, int8(kmsg.ConfigResourceTypeTopic)) {
		for _, t := range img.Topics() {
			add(t.Name, kmsg.ConfigResourceTypeTopic)
		}
	}
	if slices.Contains(types, int8(kmsg.ConfigResourceTypeBroker)) {
		for _, b := range img.Brokers() {
			add(strconv.Itoa(int(b.ID)), kmsg.ConfigResourceTypeBroker)
		}
	}
	if slices.Contains(types, int8(kmsg.ConfigResourceTypeGroupConfig)) {
		for _, g := range img.GroupsWithConfigs() {
			add(g, kmsg.ConfigResourceTypeGroupConfig)
		}
	}
	if resp.ConfigResources == nil {
		resp.ConfigResources = []kmsg.ListConfigResourcesResponseConfigResource{}
	}
	return Reply(resp), nil
}
