package api

import (
	"context"

	"github.com/sluicehq/sluice/internal/metadata"
)

// withOffsetsTopic runs handle once __consumer_offsets exists, creating it first if it does not
// (as FindCoordinator does). OffsetCommit v0 and OffsetFetch v0 need it: their clients (Kafka
// 0.8.1-era, which kept offsets in ZooKeeper) never send FindCoordinator, so without this a
// cluster that has seen no group answers them NOT_COORDINATOR forever. The coordinator loads
// the new partitions in the background: the first answer may still be NOT_COORDINATOR or
// COORDINATOR_LOAD_IN_PROGRESS, which those clients retry.
func withOffsetsTopic(env *Env, handle func() (Response, error)) (Response, error) {
	if env.Groups == nil || env.Controller == nil {
		return handle()
	}
	if _, ok := env.Metadata.Image().Topic(metadata.ConsumerOffsetsTopic); ok {
		return handle()
	}
	return Response{Finish: func(ctx context.Context) (Response, error) {
		createOffsetsTopic(ctx, env)
		out, err := handle()
		if err != nil || out.Finish == nil {
			return out, err
		}
		return out.Finish(ctx)
	}}, nil
}
