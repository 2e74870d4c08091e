package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// UpdateFeatures: v0–2
//
// Behavior:
//   - Finalizes feature levels (KIP-584) through the controller
//     (other nodes forward the request to it; NOT_CONTROLLER when none is
//     reachable). Sluice supports metadata.version at the
//     level of the Kafka release it targets only (see
//     metadata.SupportedFeatures, also in ApiVersions), so setting it to that
//     level succeeds and changes nothing, and any other feature or level gets
//     INVALID_UPDATE_VERSION.
//   - A lower level needs a downgrade upgrade type (v0: AllowDowngrade);
//     metadata.version cannot be removed (level 0).
//   - All or nothing: if one update is invalid, none is applied; the
//     top-level error is the first failure's, and (v0–1) each feature reports
//     its own error, FEATURE_UPDATE_FAILED for the valid ones. A feature named
//     twice gets INVALID_REQUEST.
//   - ValidateOnly (v1+) validates only. TimeoutMillis > 0 bounds the wait to
//     enter the metadata log.
//
//   - Authorization (on the controller): Alter on the cluster, else a top-level
//     CLUSTER_AUTHORIZATION_FAILED and no per-feature results.
//
// Version notes:
//   - v1: UpgradeType replaces AllowDowngrade; ValidateOnly.
//   - v2: the per-feature results are gone; the top-level error says it all.

func init() {
	Register(API{Key: 57, MinVersion: 0, MaxVersion: 2, Handle: handleUpdateFeatures, Listeners: BrokerAndController, Forward: true})
}

func handleUpdateFeatures(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.UpdateFeaturesRequest)
	return Response{Finish: func(ctx context.Context) (Response, error) {
		ctx, cancel := withTimeout(ctx, r.TimeoutMillis)
		defer cancel()
		updates := make([]metadata.FeatureUpdate, len(r.FeatureUpdates))
		for i, u := range r.FeatureUpdates {
			updates[i] = metadata.FeatureUpdate{Name: u.Feature, MaxLevel: u.MaxVersionLevel, UpgradeType: metadata.FeatureUpgradeType(u.UpgradeType)}
			if r.Version == 0 {
				updates[i].UpgradeType = metadata.FeatureUpgrade
				if u.AllowDowngrade {
					updates[i].UpgradeType = metadata.FeatureSafeDowngrade
				}
			}
			if updates[i].MaxLevel < 0 {
				updates[i].MaxLevel = 0 // below 1 asks for removal
			}
		}
		resp := r.ResponseKind().(*kmsg.UpdateFeaturesResponse)
		if !env.AuthorizeCluster(req, opAlter) {
			err := authorizationError(kerr.ClusterAuthorizationFailed)
			resp.ErrorCode, resp.ErrorMessage = ErrorCode(err), ErrorMessage(err)
			return Reply(resp), nil
		}
		if len(updates) == 0 {
			return Reply(resp), nil
		}
		results := env.Controller.UpdateFeatures(ctx, updates, r.ValidateOnly)
		var first error
		for _, res := range results {
			if res.Err != nil && first == nil && !isFeatureUpdateFailed(res.Err) {
				first = res.Err
			}
		}
		if first == nil {
			for _, res := range results {
				if res.Err != nil {
					first = res.Err
					break
				}
			}
		}
		resp.ErrorCode, resp.ErrorMessage = ErrorCode(first), ErrorMessage(first)
		if r.Version <= 1 {
			for _, res := range results {
				out := kmsg.NewUpdateFeaturesResponseResult()
				out.Feature = res.Name
				out.ErrorCode, out.ErrorMessage = ErrorCode(res.Err), ErrorMessage(res.Err)
				resp.Results = append(resp.Results, out)
			}
		}
		return Reply(resp), nil
	}}, nil
}

func isFeatureUpdateFailed(err error) bool {
	return ErrorCode(err) == ErrorCode(metadata.ErrFeatureUpdateFailed)
}
