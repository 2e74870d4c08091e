package api

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// metadataV0Unavailable applies what Metadata v0 answered differently, as Kafka 3.9 (and 4)
// do: a partition's replicas and ISR list only brokers that are registered, not fenced and
// have the request's listener, and a partition whose leader is available but some replica or
// ISR member is not gets REPLICA_NOT_AVAILABLE (v1+ list every replica, the unavailable ones
// also as offline replicas, without an error).
func metadataV0Unavailable(img *metadata.Image, listener string, resp *kmsg.MetadataResponse) {
	alive := func(ids []int32) []int32 {
		out := make([]int32, 0, len(ids))
		for _, id := range ids {
			if _, _, _, ok := brokerAddress(img, id, listener); ok {
				out = append(out, id)
			}
		}
		return out
	}
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			p := &resp.Topics[i].Partitions[j]
			replicas, isr := alive(p.Replicas), alive(p.ISR)
			if p.ErrorCode == 0 && (len(replicas) < len(p.Replicas) || len(isr) < len(p.ISR)) {
				p.ErrorCode = kerr.ReplicaNotAvailable.Code
			}
			p.Replicas, p.ISR = replicas, isr
		}
	}
}
