package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// quorumView is `sluice cluster quorum --format json`.
type quorumView struct {
	LeaderID      int32 `json:"leader_id"`
	LeaderEpoch   int32 `json:"leader_epoch"`
	HighWatermark int64 `json:"high_watermark"`
	Replicas      []struct {
		NodeID       int32  `json:"node_id"`
		DirectoryID  string `json:"directory_id"`
		Status       string `json:"status"`
		LogEndOffset int64  `json:"log_end_offset"`
		Lag          int64  `json:"lag"`
	} `json:"replicas"`
}

func (v quorumView) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "leader %d epoch %d hw %d:", v.LeaderID, v.LeaderEpoch, v.HighWatermark)
	for _, r := range v.Replicas {
		fmt.Fprintf(&b, " [%d %s %s leo=%d]", r.NodeID, r.DirectoryID, r.Status, r.LogEndOffset)
	}
	return b.String()
}

// status returns node id's directories by status ("leader", "voter", "observer").
func (v quorumView) status(id int32) map[string][]string {
	out := map[string][]string{}
	for _, r := range v.Replicas {
		if r.NodeID == id {
			out[r.Status] = append(out[r.Status], r.DirectoryID)
		}
	}
	return out
}

func (v quorumView) voters() int {
	n := 0
	for _, r := range v.Replicas {
		if r.Status != "observer" {
			n++
		}
	}
	return n
}

func quorumOf(t *testing.T, nd *procNode) quorumView {
	t.Helper()
	res := runSluice(t, nd.asNode(), "", "cluster", "quorum", "--format", "json")
	if res.code != 0 {
		t.Fatalf("cluster quorum via node %d: exit %d: %s", nd.id, res.code, res.stderr)
	}
	var v quorumView
	if err := json.Unmarshal([]byte(res.stdout), &v); err != nil {
		t.Fatalf("cluster quorum: %v\n%s", err, res.stdout)
	}
	return v
}

// waitQuorum asks node nd until cond holds (30 s).
func waitQuorum(t *testing.T, nd *procNode, what string, cond func(quorumView) bool) quorumView {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := quorumOf(t, nd)
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestClusterQuorumMembership: on three `sluice serve` processes, while a producer runs, the
// CLI removes a voter (it keeps following as an observer) and adds it back; then that node's
// disk is replaced (SIGKILL, data directory wiped, restart): it comes back with a new directory
// id as an observer, never as the old voter, and the CLI swaps the old voter for the new one.
// Last the leader is removed (leadership moves) and added back. The producer sees no error
// throughout.
func TestClusterQuorumMembership(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	// A short broker session, so the replaced node's new process may register soon after the
	// killed one's session ends.
	c := startProcCluster(t, 3, "--override", "broker.session.timeout.ms=3000", "--override", "broker.heartbeat.interval.ms=500")
	first := c.node(1)
	v := waitQuorum(t, first, "three voters", func(v quorumView) bool { return v.voters() == 3 && v.LeaderID > 0 })
	leader := v.LeaderID
	var target, keep int32 // target: a non-leader whose membership changes; keep: hosts the topic
	for _, id := range []int32{1, 2, 3} {
		if id == leader {
			continue
		}
		if target == 0 {
			target = id
		} else {
			keep = id
		}
	}
	oldDir := v.status(target)["voter"][0]
	via := c.node(keep) // every CLI call goes through a node that is never touched

	// A producer on a topic whose one partition lives on keep.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	create := kmsg.NewPtrCreateTopicsRequest()
	create.TimeoutMillis = 30000
	topic := kmsg.NewCreateTopicsRequestTopic()
	topic.Topic, topic.NumPartitions, topic.ReplicationFactor = "quorum-orders", -1, -1
	assignment := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	assignment.Partition, assignment.Replicas = 0, []int32{keep}
	topic.ReplicaAssignment = append(topic.ReplicaAssignment, assignment)
	create.Topics = append(create.Topics, topic)
	if resp, err := create.RequestWith(ctx, via.client()); err != nil {
		t.Fatal(err)
	} else if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create quorum-orders on node %d: %v", keep, err)
	}
	var produced, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	cl := via.client(kgo.DefaultProduceTopic("quorum-orders"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v"), Partition: 0}).FirstErr()
			switch {
			case err == nil:
				produced.Add(1)
			case errors.Is(err, context.Canceled):
			default:
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	// remove-voter: the node keeps following as an observer.
	began := time.Now()
	res := runSluice(t, via.asNode(), "", "cluster", "remove-voter", "--node-id", fmt.Sprint(target), "--directory-id", oldDir)
	if res.code != 0 {
		t.Fatalf("remove-voter: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	removed := time.Since(began)
	waitQuorum(t, via, "the removed voter to observe", func(v quorumView) bool {
		return v.voters() == 2 && len(v.status(target)["observer"]) == 1
	})
	observing := time.Since(began)
	began = time.Now()
	res = runSluice(t, via.asNode(), "", "cluster", "add-voter", "--node-id", fmt.Sprint(target), "--directory-id", oldDir,
		"--controller-addr", c.node(target).controllerAddr)
	if res.code != 0 {
		t.Fatalf("add-voter: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	t.Logf("remove-voter (CLI process, start to exit): %v; removed voter listed as an observer after %v; add-voter (CLI process): %v",
		removed.Round(time.Millisecond), observing.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	waitQuorum(t, via, "three voters again", func(v quorumView) bool { return v.voters() == 3 && len(v.status(target)["voter"]) == 1 })

	// The disk of target is replaced.
	nd := c.node(target)
	nd.kill()
	if err := os.RemoveAll(nd.dataDir); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	nd.restart()
	ready := time.Since(began)
	v = waitQuorum(t, via, "the replaced node to observe", func(v quorumView) bool {
		st := v.status(target)
		return len(st["observer"]) == 1 && len(st["voter"]) == 1
	})
	t.Logf("replaced disk: launch to /readyz %v (it follows as an observer by then)", ready.Round(time.Millisecond))
	newDir := v.status(target)["observer"][0]
	if newDir == oldDir {
		t.Fatalf("the replaced disk kept directory id %s", oldDir)
	}
	for _, r := range v.Replicas {
		if r.NodeID == target && r.Status == "voter" && r.LogEndOffset != -1 {
			t.Fatalf("the old voter answers for the replaced node: %v", v)
		}
	}
	res = runSluice(t, via.asNode(), "", "cluster", "add-voter", "--node-id", fmt.Sprint(target), "--directory-id", newDir,
		"--controller-addr", nd.controllerAddr)
	if res.code == 0 || !strings.Contains(res.stderr, "DUPLICATE_VOTER") {
		t.Fatalf("add-voter before removing the old directory: exit %d: %s", res.code, res.stderr)
	}
	for _, args := range [][]string{
		{"cluster", "remove-voter", "--node-id", fmt.Sprint(target), "--directory-id", oldDir},
		{"cluster", "add-voter", "--node-id", fmt.Sprint(target), "--directory-id", newDir, "--controller-addr", nd.controllerAddr},
	} {
		if res := runSluice(t, via.asNode(), "", args...); res.code != 0 {
			t.Fatalf("%s: exit %d: %s%s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
		}
	}
	v = waitQuorum(t, via, "the new directory to vote", func(v quorumView) bool {
		st := v.status(target)
		return v.voters() == 3 && len(st["voter"]) == 1 && st["voter"][0] == newDir && len(st["observer"]) == 0
	})
	res = runSluice(t, via.asNode(), "", "cluster", "quorum")
	t.Logf("cluster quorum after the replacement:\n%s", res.stdout)

	// Removing the leader moves leadership; it follows as an observer, and comes back.
	leaderDir := v.status(v.LeaderID)["leader"][0]
	oldLeader := v.LeaderID
	if res := runSluice(t, via.asNode(), "", "cluster", "remove-voter", "--node-id", fmt.Sprint(oldLeader), "--directory-id", leaderDir); res.code != 0 {
		t.Fatalf("remove-voter of the leader: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	waitQuorum(t, via, "a new leader, the old one observing", func(v quorumView) bool {
		return v.LeaderID != oldLeader && v.voters() == 2 && len(v.status(oldLeader)["observer"]) == 1
	})
	if res := runSluice(t, via.asNode(), "", "cluster", "add-voter", "--node-id", fmt.Sprint(oldLeader), "--directory-id", leaderDir,
		"--controller-addr", c.node(oldLeader).controllerAddr); res.code != 0 {
		t.Fatalf("add-voter of the old leader: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	waitQuorum(t, via, "three voters", func(v quorumView) bool { return v.voters() == 3 })

	time.Sleep(200 * time.Millisecond)
	cancel()
	wg.Wait()
	if failed.Load() > 0 || produced.Load() == 0 {
		t.Fatalf("producer: %d acknowledged, %d failed (first: %v)", produced.Load(), failed.Load(), firstErr.Load())
	}
	t.Logf("producer: %d records acknowledged, none failed, during the membership changes", produced.Load())
}

// TestClusterRefusesAnotherClustersDataDir: a node started on the data directory of another
// cluster, with this cluster's voters as its peers, exits with an error naming both cluster ids
// and the directory.
func TestClusterRefusesAnotherClustersDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four sluice processes")
	}
	t.Parallel()
	c := startProcCluster(t, 3)
	clusterID := func(n *node) string {
		res := runSluice(t, n, "", "cluster", "info", "--format", "json")
		var info struct {
			ClusterID string `json:"cluster_id"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &info); res.code != 0 || err != nil || info.ClusterID == "" {
			t.Fatalf("cluster info: exit %d, %v: %s%s", res.code, err, res.stdout, res.stderr)
		}
		return info.ClusterID
	}
	b := clusterID(c.node(2).asNode())
	other := startNode(t) // node 1 of a one-node cluster of its own
	a := clusterID(other)
	other.stop()

	peers := fmt.Sprintf("1@%s,2@%s,3@%s", other.controllerAddr, c.node(2).controllerAddr, c.node(3).controllerAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sluiceBin, "serve", "--node-id", "1", "--data-dir", other.dataDir,
		"--kafka-addr", other.kafkaAddr, "--http-addr", other.httpAddr, "--controller-addr", other.controllerAddr, "--peers", peers,
		"--schema-registry-addr", other.registryAddr)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || ctx.Err() != nil {
		t.Fatalf("sluice serve on cluster %s's directory with cluster %s's voters: %v\n%s", a, b, err, out)
	}
	for _, want := range []string{a, b, other.dataDir} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("the refusal does not name %s:\n%s", want, out)
		}
	}
	t.Logf("refused: %s", lastLine(string(out)))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestGrowOneNodeCluster: docs/quorum.md's procedure. A one-node cluster refuses add-voter on
// its short single-voter election timeout and says what to set; restarted with an explicit
// controller.quorum.election.timeout.ms it takes a second node, started with --peers naming
// the first, as a voter.
func TestGrowOneNodeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two sluice processes")
	}
	t.Parallel()
	first := startNode(t)
	// --peers names the first node; the second adds itself (its own controller address).
	second := startNode(t, "--node-id", "2", "--peers", "1@"+first.controllerAddr)
	quorumJSON := func() quorumView {
		res := runSluice(t, first, "", "cluster", "quorum", "--format", "json")
		var v quorumView
		if err := json.Unmarshal([]byte(res.stdout), &v); res.code != 0 || err != nil {
			t.Fatalf("cluster quorum: exit %d, %v: %s%s", res.code, err, res.stdout, res.stderr)
		}
		return v
	}
	waitFor := func(what string, cond func(quorumView) bool) quorumView {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if v := quorumJSON(); cond(v) {
				return v
			} else if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %v", what, v)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	v := waitFor("node 2 observing", func(v quorumView) bool { return len(v.status(2)["observer"]) == 1 })
	dir2 := v.status(2)["observer"][0]
	add := []string{"cluster", "add-voter", "--node-id", "2", "--directory-id", dir2, "--controller-addr", second.controllerAddr}
	if res := runSluice(t, first, "", add...); res.code == 0 || !strings.Contains(res.stderr, "controller.quorum.election.timeout.ms") {
		t.Fatalf("add-voter on the short timeout: exit %d: %s", res.code, res.stderr)
	}
	first.stop()
	first.extraArgs = []string{"--override", "controller.quorum.election.timeout.ms=1000"}
	first.start()
	waitFor("node 2 observing again", func(v quorumView) bool { return len(v.status(2)["observer"]) == 1 })
	if res := runSluice(t, first, "", add...); res.code != 0 {
		t.Fatalf("add-voter: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	waitFor("two voters", func(v quorumView) bool { return v.voters() == 2 && len(v.status(2)["voter"]) == 1 })
}
