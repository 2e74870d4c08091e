package testkit

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/vfs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOneNode: a one-node cluster is its own controller, serves a client through Bootstrap and
// comes back after Restart with its topics and on the same Kafka address.
func TestOneNode(t *testing.T) {
	c := StartCluster(t, Options{Nodes: 1})
	if got := c.Controller(); got != 1 {
		t.Fatalf("controller %d, want 1", got)
	}
	addr := c.KafkaAddr(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(c.Client())
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "kept"); err != nil {
		t.Fatal(err)
	}
	c.Restart(1)
	if c.KafkaAddr(1) != addr {
		t.Errorf("restart moved the Kafka listener from %s to %s", addr, c.KafkaAddr(1))
	}
	c.WaitBrokers(1)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !topics.Has("kept") {
		t.Errorf("topic lost across restart: %v", topics.Names())
	}
}

// TestFS: a node's partition logs go to the file system Options.FS gives it, the same one
// again after a restart.
func TestFS(t *testing.T) {
	mem := vfs.NewMem()
	asked := 0
	c := StartCluster(t, Options{Nodes: 1, FS: func(id int32) vfs.FS { asked++; return mem }})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(c.Client()).CreateTopic(ctx, 1, 1, nil, "in-memory"); err != nil {
		t.Fatal(err)
	}
	inMemory := func() bool {
		names, err := mem.ReadDir(c.nodes[1].cfg.DataDir)
		return err == nil && slices.Contains(names, "in-memory-0")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !inMemory() {
		if time.Now().After(deadline) {
			t.Fatal("partition in-memory-0 not created in the node's MemFS")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Restart(1)
	if asked != 2 || !inMemory() {
		t.Errorf("FS asked %d times (want 2: start and restart); partition in MemFS after restart: %v", asked, inMemory())
	}
}

// TestThreeNodes: three nodes elect one controller and every node lists all three brokers;
// stopping a node leaves two listed by the others, restarting it brings three back.
func TestThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three brokers")
	}
	c := StartCluster(t, Options{Nodes: 3})
	views := c.WaitFor("three active brokers", func(v View) bool { return slices.Equal(v.Active, []int32{1, 2, 3}) })
	if len(views) != 3 {
		t.Fatalf("views from %d nodes, want 3", len(views))
	}
	ctrl := c.Controller()
	var other int32 = 1
	if other == ctrl {
		other = 2
	}
	c.Stop(other)
	c.WaitFor("the stopped node gone or fenced", func(v View) bool { return len(v.Active) == 2 && !slices.Contains(v.Active, other) })
	c.Restart(other)
	c.WaitBrokers(3)
}

// TestDedicatedRoles: two controller-only voters and a combined voter form the quorum, a
// broker-only node follows it as an observer; the cluster's brokers are the combined and the
// broker-only node, and a client bootstrapped from them creates a topic.
func TestDedicatedRoles(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four nodes")
	}
	c := StartCluster(t, Options{Nodes: 4, Voters: 3, NodeOverrides: map[int32]map[string]string{
		1: {"process.roles": "controller"}, 2: {"process.roles": "controller"},
		3: {"process.roles": "broker,controller"}, 4: {"process.roles": "broker"}}})
	if got := len(c.Bootstrap()); got != 2 {
		t.Errorf("Bootstrap lists %d nodes, want the 2 brokers", got)
	}
	views := c.WaitFor("brokers 3 and 4", func(v View) bool { return slices.Equal(v.Active, []int32{3, 4}) })
	if len(views) != 2 {
		t.Errorf("views from %d nodes, want the 2 brokers", len(views))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(c.Client()).CreateTopic(ctx, 2, 2, nil, "two-brokers")
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatal(err)
	}
}
