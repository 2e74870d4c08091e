package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteRecords: v0–2
//
// Behavior:
//   - Per partition, by its leader: records below Offset become unreadable
//     and the log start offset moves up to it (KIP-107); Offset -1 means the
//     high watermark. Offsets above the high watermark are
//     OFFSET_OUT_OF_RANGE. The answer's LowWatermark is the new log start
//     offset. Whole segments below it are deleted by the log.
//   - With the leader the only replica the low watermark is final at once;
//     once followers exist, it must wait for their log start offsets
//     (TimeoutMillis) — not yet needed.
//
// Version notes:
//   - v2: flexible.

func init() {
	Register(API{Key: 21, MinVersion: 0, MaxVersion: 2, Handle: handleDeleteRecords})
}

func handleDeleteRecords(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DeleteRecordsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteRecordsResponse)
	img := env.Metadata.Image()
	for _, rt := range r.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		t, topicOK := img.Topic(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition, sp.LowWatermark = rp.Partition, -1
			if !topicOK {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			p, code := hostedPartition(env, t, rp.Partition)
			if code != 0 {
				sp.ErrorCode = code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			low, err := p.DeleteRecordsBefore(rp.Offset)
			sp.ErrorCode = ErrorCode(err)
			if err == nil {
				sp.LowWatermark = low
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return Reply(resp), nil
}
