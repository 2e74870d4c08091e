package api

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"golang.org/x/sys/unix"

	"github.com/sluicehq/sluice/internal/partition"
)

// DescribeLogDirs: v0–4 (v0 is legacy: Kafka 4 removed it, KIP-896; API.LegacyBelow)
//
// Behavior:
//   - One log dir, the data directory, listing the requested partitions
//     this node hosts (all of them for a null topic list) with the size of
//     their .log files; partitions not hosted here are left out, as Kafka
//     does. OffsetLag is 0 and IsFuture false: there are no future replicas
//     (no log dir moves).
//   - v4: TotalBytes and UsableBytes of the file system holding the dir; a
//     dir that cannot be inspected is KAFKA_STORAGE_ERROR.
//
//   - Authorization: Describe on the cluster, else no directories and (v3+)
//     CLUSTER_AUTHORIZATION_FAILED.
//
// Version notes:
//   - v0: as v1 (which only added throttling). v2: flexible. v3: top-level error code. v4: total and usable bytes.

func init() {
	Register(API{Key: 35, MinVersion: 0, LegacyBelow: 1, MaxVersion: 4, Handle: handleDescribeLogDirs})
}

func handleDescribeLogDirs(_ context.Context, env *Env, req *Request) (Response, error) {
	r := req.Msg.(*kmsg.DescribeLogDirsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	if !env.AuthorizeCluster(req, opDescribe) {
		if r.Version >= 3 {
			resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		}
		return Reply(resp), nil // no directories (before v3 the only sign)
	}
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir, dir.TotalBytes, dir.UsableBytes = env.LogDir, -1, -1
	if r.Version >= 4 {
		var st unix.Statfs_t
		if err := unix.Statfs(env.LogDir, &st); err != nil {
			dir.ErrorCode = kerr.KafkaStorageError.Code
		} else {
			dir.TotalBytes = int64(st.Blocks) * st.Bsize
			dir.UsableBytes = int64(st.Bavail) * st.Bsize
		}
	}
	wanted := requestedLogDirPartitions(r)
	var current *kmsg.DescribeLogDirsResponseDirTopic
	for _, p := range env.Partitions.Partitions() { // ordered by topic, partition
		if wanted != nil && !wanted[logDirKey{p.Topic(), p.Index()}] {
			continue
		}
		if current == nil || current.Topic != p.Topic() {
			dir.Topics = append(dir.Topics, kmsg.NewDescribeLogDirsResponseDirTopic())
			current = &dir.Topics[len(dir.Topics)-1]
			current.Topic = p.Topic()
		}
		current.Partitions = append(current.Partitions, logDirPartition(p))
	}
	resp.Dirs = append(resp.Dirs, dir)
	return Reply(resp), nil
}

type logDirKey struct {
	topic string
	part  int32
}

// requestedLogDirPartitions is the set of requested partitions, nil for all.
func requestedLogDirPartitions(r *kmsg.DescribeLogDirsRequest) map[logDirKey]bool {
	if r.Topics == nil {
		return nil
	}
	wanted := make(map[logDirKey]bool)
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			wanted[logDirKey{t.Topic, p}] = true
		}
	}
	return wanted
}

func logDirPartition(p *partition.Partition) kmsg.DescribeLogDirsResponseDirTopicPartition {
	dp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
	dp.Partition, dp.Size = p.Index(), p.Log().Size()
	return dp
}
