package api

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// ApiVersions: v0–4
//
// Behavior:
//   - Lists every API key served on the listener the request came in on (the broker
//     listener or the controller listener, api.Listeners) with its version range; the list is
//     derived from the registry, so it names exactly the handlers that exist. With
//     sluice.protocol.legacy.versions.enable off, ranges start at Kafka 4's minimums
//     (API.LegacyBelow, versions.go), exactly what the server then accepts.
//   - A request at a version above 4 is answered by the server through
//     UnsupportedVersionResponse: a v0 response with UNSUPPORTED_VERSION and
//     only ApiVersions' own range, as Kafka does (KIP-511), so the client
//     retries at a version both sides know.
//   - v3+: ClientSoftwareName and ClientSoftwareVersion must match
//     [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?, else INVALID_REQUEST.
//   - v3+: supported features (KIP-584) are this build's
//     (metadata.SupportedFeatures); finalized levels come from the metadata
//     Image, its offset as the epoch; levels of 0 are not listed, as Kafka does.
//
// Version notes:
//   - v1: ThrottleMillis.
//   - v3: flexible; client software name and version; features as tagged fields.
//     The response header stays v0 (no tagged fields) at every version, so a
//     client can always read it.

func init() {
	Register(API{Key: 18, MinVersion: 0, MaxVersion: 4, Handle: handleApiVersions, Listeners: BrokerAndController})
}

func handleApiVersions(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.ApiVersionsRequest)
	resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
	if r.Version >= 3 && (!validSoftwareField(r.ClientSoftwareName) || !validSoftwareField(r.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return Reply(resp), nil
	}
	for _, a := range APIsFor(ListenerKind(req.Conn.Listener)) {
		a = env.Versions.Served(a)
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = a.Key, a.MinVersion, a.MaxVersion
		resp.ApiKeys = append(resp.ApiKeys, k)
	}
	if r.Version >= 3 {
		appendFeatures(resp, env)
	}
	return Reply(resp), nil
}

// appendFeatures fills the supported and finalized features (KIP-584).
func appendFeatures(resp *kmsg.ApiVersionsResponse, env *Env) {
	for _, f := range metadata.SupportedFeatures() {
		sf := kmsg.NewApiVersionsResponseSupportedFeature()
		sf.Name, sf.MinVersion, sf.MaxVersion = f.Name, f.MinLevel, f.MaxLevel
		resp.SupportedFeatures = append(resp.SupportedFeatures, sf)
	}
	if env.Metadata == nil {
		return
	}
	img := env.Metadata.Image()
	levels := img.Features()
	names := make([]string, 0, len(levels))
	for name := range levels {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if levels[name] == 0 {
			continue
		}
		ff := kmsg.NewApiVersionsResponseFinalizedFeature()
		ff.Name, ff.MinVersionLevel, ff.MaxVersionLevel = name, levels[name], levels[name]
		resp.FinalizedFeatures = append(resp.FinalizedFeatures, ff)
	}
	resp.FinalizedFeaturesEpoch = img.Offset()
}

// UnsupportedVersionResponse returns Kafka's answer to a request whose key
// is registered but whose version is not, and false when Kafka answers with
// nothing (it closes the connection). Only ApiVersions has an answer: a v0
// response carrying UNSUPPORTED_VERSION and ApiVersions' own range.
func UnsupportedVersionResponse(key int16) (kmsg.Response, bool) {
	a, ok := Lookup(key)
	if !ok || key != 18 {
		return nil, false
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	k := kmsg.NewApiVersionsResponseApiKey()
	k.ApiKey, k.MinVersion, k.MaxVersion = a.Key, a.MinVersion, a.MaxVersion
	resp.ApiKeys = append(resp.ApiKeys, k)
	return resp, true
}

// validSoftwareField reports whether s matches Kafka's pattern for client
// software names and versions: [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?
func validSoftwareField(s string) bool {
	if s == "" {
		return false
	}
	alnum := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '.' {
			return false
		}
	}
	return true
}
