package api

import (
	"context"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// DescribeTopicPartitions: v0
//
// Behavior:
//   - Describes the requested topics (all topics for an empty list) sorted
//     by name, with each partition's leader, leader epoch, replicas, ISR and
//     offline replicas; eligible leader replicas are empty lists (ELR,
//     KIP-966, is not implemented).
//   - Paging: at most ResponsePartitionLimit partitions (capped at Kafka's
//     default 2000) per response, starting at Cursor; when more remain,
//     NextCursor names the first partition not returned.
//   - A requested topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION.
//   - Authorized operations stay at Kafka's "not requested" value.
//   - Authorization: Describe on each topic: left out when listing all, else
//     TOPIC_AUTHORIZATION_FAILED (zero id). Each described topic carries the topic operations
//     the principal may perform (every one without an authorizer).

func init() {
	Register(API{Key: 75, MinVersion: 0, MaxVersion: 0, Handle: handleDescribeTopicPartitions})
}

// maxDescribePartitions is Kafka's max.request.partition.size.limit default.
const maxDescribePartitions = 2000

func handleDescribeTopicPartitions(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DescribeTopicPartitionsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeTopicPartitionsResponse)
	img := env.Metadata.Image()
	limit := int(r.ResponsePartitionLimit)
	if limit <= 0 || limit > maxDescribePartitions {
		limit = maxDescribePartitions
	}
	names := describeTopicNames(img, r)
	for _, name := range names {
		start := int32(0)
		if c := r.Cursor; c != nil {
			if name < c.Topic {
				continue
			}
			if name == c.Topic {
				start = max(c.Partition, 0)
			}
		}
		if !env.Authorize(req, opDescribe, resTopic, name) {
			if len(r.Topics) > 0 { // named: refused; listing all: left out
				dt := kmsg.NewDescribeTopicPartitionsResponseTopic()
				n := name
				dt.Topic, dt.ErrorCode = &n, kerr.TopicAuthorizationFailed.Code
				resp.Topics = append(resp.Topics, dt)
			}
			continue
		}
		t, ok := img.Topic(name)
		if !ok {
			dt := kmsg.NewDescribeTopicPartitionsResponseTopic()
			n := name
			dt.Topic, dt.ErrorCode = &n, kerr.UnknownTopicOrPartition.Code
			dt.AuthorizedOperations = env.authorizedOperations(req, resTopic, name)
			resp.Topics = append(resp.Topics, dt)
			continue
		}
		if limit == 0 {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: start}
			break
		}
		dt, next := describeTopicPartitions(img, t, start, limit)
		dt.AuthorizedOperations = env.authorizedOperations(req, resTopic, name)
		limit -= len(dt.Partitions)
		resp.Topics = append(resp.Topics, dt)
		if next >= 0 {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: next}
			break
		}
	}
	return Reply(resp), nil
}

// describeTopicNames lists the topics to describe, sorted and deduplicated.
func describeTopicNames(img *metadata.Image, r *kmsg.DescribeTopicPartitionsRequest) []string {
	var names []string
	if len(r.Topics) == 0 {
		for _, t := range img.Topics() {
			names = append(names, t.Name)
		}
		return names
	}
	for _, t := range r.Topics {
		names = append(names, t.Topic)
	}
	slices.SortFunc(names, strings.Compare)
	return slices.Compact(names)
}

// describeTopicPartitions describes t's partitions from start, at most
// limit of them; next is the first partition left out, or -1.
func describeTopicPartitions(img *metadata.Image, t *metadata.Topic, start int32, limit int) (kmsg.DescribeTopicPartitionsResponseTopic, int32) {
	dt := kmsg.NewDescribeTopicPartitionsResponseTopic()
	name := t.Name
	dt.Topic, dt.TopicID, dt.IsInternal = &name, t.ID, t.IsInternal()
	for i := int(start); i < len(t.Partitions); i++ {
		if len(dt.Partitions) == limit {
			return dt, int32(i)
		}
		p := &t.Partitions[i]
		dp := kmsg.NewDescribeTopicPartitionsResponseTopicPartition()
		dp.Partition, dp.LeaderEpoch = p.Partition, p.LeaderEpoch
		dp.Replicas, dp.ISR = p.Replicas, p.ISR
		dp.EligibleLeaderReplicas, dp.LastKnownELR = []int32{}, []int32{}
		dp.LeaderID = liveLeader(img, p)
		if dp.LeaderID < 0 {
			dp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		for _, r := range p.Replicas {
			if b, ok := img.Broker(r); !ok || b.Fenced {
				dp.OfflineReplicas = append(dp.OfflineReplicas, r)
			}
		}
		dt.Partitions = append(dt.Partitions, dp)
	}
	return dt, -1
}
