package api

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/partition"
)

// DeleteRecords: v0–2
//
// Behavior:
//   - Per partition, by its leader: records below Offset become unreadable
//     and the log start offset moves up to it (KIP-107); Offset -1 means the
//     high watermark. Offsets above the high watermark are
//     OFFSET_OUT_OF_RANGE. The answer's LowWatermark is the new log start
//     offset. Whole segments below it are deleted by the log.
//   - As in Kafka, the answer waits (off the read loop, at most TimeoutMillis)
//     until the low watermark — the smallest log start offset over the leader
//     and its in-sync followers, which learn the leader's from their fetches —
//     reaches the offset; LowWatermark is that. Past the timeout the partition
//     answers REQUEST_TIMED_OUT with the low watermark reached so far.
//
//   - Authorization: Delete on each topic, else TOPIC_AUTHORIZATION_FAILED for its partitions.
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
	var waits []deleteWait
	for _, rt := range r.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		t, topicOK := img.Topic(rt.Topic)
		deletable := env.Authorize(req, opDelete, resTopic, rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition, sp.LowWatermark = rp.Partition, -1
			if !deletable {
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
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
			target, err := p.DeleteRecordsBefore(rp.Offset)
			sp.ErrorCode = ErrorCode(err)
			if err == nil {
				waits = append(waits, deleteWait{p: p, target: target, topic: len(resp.Topics), partition: len(st.Partitions)})
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if len(waits) == 0 {
		return Reply(resp), nil
	}
	timeout := time.Duration(max(r.TimeoutMillis, 0)) * time.Millisecond
	return Response{Finish: func(ctx context.Context) (Response, error) {
		waitLowWatermarks(ctx, waits, timeout)
		for _, w := range waits {
			sp := &resp.Topics[w.topic].Partitions[w.partition]
			low, err := w.p.LowWatermark()
			switch {
			case err != nil:
				sp.ErrorCode = ErrorCode(err)
			case low < w.target:
				sp.ErrorCode, sp.LowWatermark = kerr.RequestTimedOut.Code, max(low, -1)
			default:
				sp.LowWatermark = low
			}
		}
		return Reply(resp), nil
	}}, nil
}

// deleteWait is a partition of a DeleteRecords whose low watermark must reach target; topic
// and partition index its entry in the response.
type deleteWait struct {
	p                *partition.Partition
	target           int64
	topic, partition int
}

// waitLowWatermarks returns once every partition's low watermark reached its target (or it
// failed), timeout passed or ctx ended, woken by the partitions' changes (a follower's fetch
// reporting its log start offset), never by polling.
func waitLowWatermarks(ctx context.Context, waits []deleteWait, timeout time.Duration) {
	w := partition.NewWaiter()
	defer func() {
		for _, d := range waits {
			d.p.Unwatch(w)
		}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		done := true
		for _, d := range waits {
			d.p.Watch(w)
			if low, err := d.p.LowWatermark(); err == nil && low < d.target {
				done = false
			}
		}
		if done {
			return
		}
		select {
		case <-w.C():
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
