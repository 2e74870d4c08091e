package api

import (
	"context"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
)

// DescribeConfigs: v0–4 (v0 is legacy: Kafka 4 removed it, KIP-896; API.LegacyBelow)
//
// Behavior:
//   - TOPIC: every topic config (or the requested names; unknown names are
//     left out, as in Kafka) with its effective value on this broker, its
//     source (DYNAMIC_TOPIC_CONFIG, DYNAMIC_BROKER_CONFIG,
//     DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG)
//     and, if asked, its synonyms in Kafka's order (by source, then by
//     synonym precedence: retention.ms, log.retention.ms,
//     log.retention.minutes, log.retention.hours). Topic configs are never
//     read-only. An unknown topic gets UNKNOWN_TOPIC_OR_PARTITION, an
//     illegal name INVALID_TOPIC_EXCEPTION.
//   - BROKER with this broker's id: every broker config with its effective
//     value (null when unset and without default), read-only unless it can
//     change at run time. BROKER with "": the cluster-wide dynamic defaults
//     that are set. Another broker's id: INVALID_REQUEST (ask that broker).
//   - GROUP (any group id, existing or not; "" is INVALID_REQUEST): every group config
//     (Kafka's GroupConfig: consumer.session.timeout.ms, consumer.heartbeat.interval.ms,
//     share.*) with the group's value (source GROUP_CONFIG) or its broker synonym's
//     (group.consumer.* / group.share.*: STATIC_BROKER_CONFIG or DEFAULT_CONFIG); none is
//     read-only.
//   - Other resource types (BROKER_LOGGER, CLIENT_METRICS): INVALID_REQUEST; Sluice has no
//     such configs.
//   - Sensitive (password) values and their synonyms are null.
//   - Served by any broker from its metadata; no controller involved.
//
//   - Authorization: DescribeConfigs on the cluster for broker resources (else
//     CLUSTER_AUTHORIZATION_FAILED), on the topic (else TOPIC_AUTHORIZATION_FAILED) or the
//     group (else GROUP_AUTHORIZATION_FAILED).
//
// Version notes:
//   - v0: no synonyms; IsDefault instead of Source, true exactly for DEFAULT_CONFIG values, as
//     the field's schema defines it (Kafka 3.9's broker left it false).
//   - v1: IncludeSynonyms; Source replaces IsDefault (still filled).
//   - v2: same as v1. v3: ConfigType and, if asked, Documentation.
//   - v4: flexible.

func init() {
	Register(API{Key: 32, MinVersion: 0, LegacyBelow: 1, MaxVersion: 4, Handle: handleDescribeConfigs})
}

func handleDescribeConfigs(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DescribeConfigsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeConfigsResponse)
	img := env.Metadata.Image()
	docs := r.Version >= 3 && r.IncludeDocumentation
	for _, res := range r.Resources {
		out := kmsg.NewDescribeConfigsResponseResource()
		out.ResourceType, out.ResourceName = res.ResourceType, res.ResourceName
		if code := env.configResourceAuthorized(req, opDescribeConfigs, res.ResourceType, res.ResourceName); code != nil {
			err := authorizationError(code)
			out.ErrorCode, out.ErrorMessage = ErrorCode(err), ErrorMessage(err)
			resp.Resources = append(resp.Resources, out)
			continue
		}
		entries, readOnly, err := describeResource(env, img, res)
		if err != nil {
			out.ErrorCode, out.ErrorMessage = ErrorCode(err), ErrorMessage(err)
			resp.Resources = append(resp.Resources, out)
			continue
		}
		for _, e := range entries {
			if res.ConfigNames != nil && !slices.Contains(res.ConfigNames, string(e.Def.Name)) {
				continue
			}
			out.Configs = append(out.Configs, describeConfigEntry(e, readOnly && e.Def.ReadOnly(), r.IncludeSynonyms, docs))
		}
		resp.Resources = append(resp.Resources, out)
	}
	return Reply(resp), nil
}

// describeResource resolves the configs of one resource; readOnly says whether the entries'
// own read-only flags apply (broker configs) or none is read-only (topic configs).
func describeResource(env *Env, img *metadata.Image, res kmsg.DescribeConfigsRequestResource) ([]config.Entry, bool, error) {
	switch res.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		if err := metadata.ValidateTopicName(res.ResourceName); err != nil {
			return nil, false, err
		}
		t, ok := img.Topic(res.ResourceName)
		if !ok {
			return nil, false, requestErrorf(kerr.UnknownTopicOrPartition, "topic %s does not exist", res.ResourceName)
		}
		return env.TopicConfig(img, t).Entries(), false, nil
	case kmsg.ConfigResourceTypeBroker:
		if res.ResourceName == "" {
			return clusterDefaultEntries(img), true, nil
		}
		if res.ResourceName != strconv.Itoa(int(env.NodeID)) {
			return nil, false, requestErrorf(kerr.InvalidRequest, "this is broker %d; send DescribeConfigs for broker %s to that broker, or use \"\" for the cluster-wide defaults", env.NodeID, res.ResourceName)
		}
		return env.BrokerConfig(img).Entries(), true, nil
	case kmsg.ConfigResourceTypeGroupConfig:
		if res.ResourceName == "" {
			return nil, false, requestErrorf(kerr.InvalidRequest, "Group name must not be empty")
		}
		per, def := img.DynamicConfigsFor(env.NodeID)
		return config.ResolveGroup(config.Layers{Topic: img.GroupConfigs(res.ResourceName), DynamicBroker: per, DynamicDefault: def,
			Static: env.StaticConfig}).Entries(), false, nil
	}
	return nil, false, requestErrorf(kerr.InvalidRequest, "configs of resource type %s are not supported", res.ResourceType)
}

// clusterDefaultEntries are the cluster-wide dynamic broker defaults that are set, each with
// only its own layer as synonym, as Kafka describes the "" broker resource.
func clusterDefaultEntries(img *metadata.Image) []config.Entry {
	_, clusterDefault := img.DynamicConfigsFor(-1)
	var out []config.Entry
	for _, d := range config.BrokerDefs() {
		v, ok := clusterDefault[string(d.Name)]
		if !ok {
			continue
		}
		out = append(out, config.Entry{Def: d, Value: v, Source: config.SourceDynamicDefaultBroker,
			Synonyms: []config.SynonymValue{{Name: d.Name, Value: v, Source: config.SourceDynamicDefaultBroker}}})
	}
	return out
}
