package tests

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testkit"
)

// TestProxiedCluster proves the proxied harness: every node advertises its Kafka proxy, the
// quorum and the brokers' controller traffic flow through the controller proxies with each
// connection's source named, and isolate cuts a node off: the others fence it (no heartbeat
// reaches the controller) and serve on without it, an isolated controller is replaced, and
// after the heal the node is back, unfenced.
func TestProxiedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("three processes, two isolations")
	}
	t.Parallel()
	c := startProxiedCluster(t, 3, "--override", "broker.session.timeout.ms=3000", "--override", "broker.heartbeat.interval.ms=500")

	md, err := metadataFrom(c.node(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range c.nodes {
		if got := md.Brokers[fmt.Sprint(nd.id)]; got != nd.kafkaProxy.Addr() {
			t.Fatalf("node %d advertises %s, want its proxy %s", nd.id, got, nd.kafkaProxy.Addr())
		}
	}
	// Raft and the other brokers' heartbeats reach the controller through its proxy, each
	// connection named by its sender.
	ctl := c.controller()
	srcs := map[string]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for len(srcs) < 2 && time.Now().Before(deadline) {
		for _, s := range c.node(ctl).ctlProxy.Sources() {
			srcs[s] = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, nd := range c.nodes {
		if nd.id != ctl && !srcs[fmt.Sprintf("node-%d", nd.id)] {
			t.Fatalf("controller %d's proxy has no connection from node %d: sources %v; %s", ctl, nd.id, srcs, c.node(ctl).ctlProxy.Stats())
		}
	}

	const topic = "proxied"
	cl := c.node(1).client(kgo.SeedBrokers(strings.Split(c.bootstrap(), ",")...), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if resp, err := adm.CreateTopic(ctx, 3, 1, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	produce := func(what string) {
		t.Helper()
		for p := range int32(3) {
			r := &kgo.Record{Partition: p, Value: []byte(what)}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("%s: produce to partition %d: %v", what, p, err)
			}
		}
	}
	produce("before")
	before := c.node(1).kafkaProxy.Forwarded.Load() + c.node(2).kafkaProxy.Forwarded.Load() + c.node(3).kafkaProxy.Forwarded.Load()
	if before == 0 {
		t.Fatal("clients reached no broker through the proxies")
	}

	// A broker (not the controller) cut off is fenced; the others stay and agree.
	victim := c.other(ctl)
	heal := c.isolate(victim)
	c.waitFor(fmt.Sprintf("node %d fenced", victim), 30*time.Second, func(v testkit.View) bool {
		return slices.Contains(v.Fenced, victim) && len(v.Active) == 2
	})
	heal()
	c.waitFor("all three unfenced after the heal", 60*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })

	// The controller cut off: the other two elect a controller among themselves and fence it.
	ctl = c.controller()
	heal = c.isolate(ctl)
	c.waitFor(fmt.Sprintf("a controller other than %d, which is fenced", ctl), 60*time.Second, func(v testkit.View) bool {
		return v.Controller != ctl && slices.Contains(v.Fenced, ctl)
	})
	heal()
	c.waitFor("all three unfenced after the second heal", 60*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })
	produce("after")
	if t.Failed() {
		for _, nd := range c.nodes {
			t.Logf("node %d kafka proxy: %s; controller proxy: %s", nd.id, nd.kafkaProxy.Stats(), nd.ctlProxy.Stats())
		}
	}
}
