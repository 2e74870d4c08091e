package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/testkit"
)

// clusterMetadata is the part of a Metadata answer every node of a cluster must agree on.
type clusterMetadata struct {
	Brokers map[string]string                       `json:"brokers"` // id → host:port
	Topics  map[string]map[string]partitionMetadata `json:"topics"`  // topic → partition → state
}

type partitionMetadata struct {
	Leader   int32   `json:"leader"`
	Replicas []int32 `json:"replicas"`
	ISR      []int32 `json:"isr"`
}

// metadataFrom asks node nd alone (franz-go, its only seed) for Metadata of topics.
func metadataFrom(nd *procNode, topics ...string) (clusterMetadata, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(nd.kafkaAddr), kgo.RetryTimeout(time.Second))
	if err != nil {
		return clusterMetadata{}, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	r, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return clusterMetadata{}, err
	}
	resp := r.(*kmsg.MetadataResponse)
	out := clusterMetadata{Brokers: map[string]string{}, Topics: map[string]map[string]partitionMetadata{}}
	for _, b := range resp.Brokers {
		out.Brokers[strconv.Itoa(int(b.NodeID))] = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return clusterMetadata{}, fmt.Errorf("topic %s: %w", *t.Topic, err)
		}
		parts := map[string]partitionMetadata{}
		for _, p := range t.Partitions {
			parts[strconv.Itoa(int(p.Partition))] = partitionMetadata{Leader: p.Leader, Replicas: sorted(p.Replicas), ISR: sorted(p.ISR)}
		}
		out.Topics[*t.Topic] = parts
	}
	return out, nil
}

func sorted(ids []int32) []int32 {
	out := slices.Clone(ids)
	slices.Sort(out)
	if out == nil {
		out = []int32{}
	}
	return out
}

// TestClusterClients forms a three-process cluster on 127.0.0.1-3 and checks it the way a Kafka
// user would: kcat -L lists three brokers from every node; kafka-python's admin, connected to
// a node that is not the controller, creates a topic with replication factor 3; franz-go and
// confluent-kafka get the same metadata from every node; `sluice cluster info` and /metrics
// agree.
func TestClusterClients(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	requireKcat(t)
	requirePython(t, "kafka")
	requirePython(t, "confluent_kafka")
	began := time.Now()
	c := startProcCluster(t, 3)
	t.Logf("cluster formation (launch of 3 processes → every node lists 3 active brokers): %v", time.Since(began).Round(time.Millisecond))
	ctrl := c.controller()

	for _, nd := range c.nodes {
		out := runClient(t, 30*time.Second, "", "kcat", "-b", nd.kafkaAddr, "-L", "-J")
		var md struct {
			Brokers []struct {
				ID   int32  `json:"id"`
				Name string `json:"name"`
			} `json:"brokers"`
		}
		if err := json.Unmarshal([]byte(out), &md); err != nil {
			t.Fatalf("kcat -L -J from node %d: %v\n%s", nd.id, err, out)
		}
		var ids []int32
		for _, b := range md.Brokers {
			ids = append(ids, b.ID)
			if want := c.node(b.ID).kafkaAddr; b.Name != want {
				t.Errorf("kcat via node %d: broker %d at %s, want %s", nd.id, b.ID, b.Name, want)
			}
		}
		if !slices.Equal(sorted(ids), []int32{1, 2, 3}) {
			t.Errorf("kcat -L via node %d lists brokers %v, want 1,2,3", nd.id, ids)
		}
	}

	nonController := c.node(c.other(ctrl))
	out := runClient(t, 90*time.Second, "", "/usr/bin/python3", "python/kafka_python_cluster_admin.py", nonController.kafkaAddr, "rf3-orders", "6", "3")
	var created struct {
		Brokers  []int32            `json:"brokers"`
		Replicas map[string][]int32 `json:"replicas"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("kafka-python output: %v\n%s", err, out)
	}
	if !slices.Equal(created.Brokers, []int32{1, 2, 3}) {
		t.Errorf("kafka-python describe_cluster via node %d: brokers %v, want 1,2,3", nonController.id, created.Brokers)
	}
	if len(created.Replicas) != 6 {
		t.Fatalf("kafka-python describe_topics: %d partitions, want 6: %v", len(created.Replicas), created.Replicas)
	}
	for p, r := range created.Replicas {
		if !slices.Equal(r, []int32{1, 2, 3}) {
			t.Errorf("partition %s replicas %v, want all of 1,2,3", p, r)
		}
	}

	// Every node answers with the same metadata, through franz-go and through librdkafka, once
	// the topic's records have reached all of them.
	var first clusterMetadata
	deadline := time.Now().Add(20 * time.Second)
	for {
		views := map[int32]clusterMetadata{}
		var err error
		for _, nd := range c.nodes {
			if views[nd.id], err = metadataFrom(nd, "rf3-orders"); err != nil {
				break
			}
		}
		first = views[1]
		same := err == nil && len(first.Brokers) == 3 && len(first.Topics["rf3-orders"]) == 6
		for _, v := range views {
			same = same && reflect.DeepEqual(v, first)
		}
		if same {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes disagree on metadata (franz-go): %+v, last error %v", views, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for id, addr := range first.Brokers {
		n, _ := strconv.Atoi(id)
		if want := c.node(int32(n)).kafkaAddr; addr != want {
			t.Errorf("broker %s advertised at %s, want %s", id, addr, want)
		}
	}
	for p, pm := range first.Topics["rf3-orders"] {
		if !slices.Contains(pm.Replicas, pm.Leader) {
			t.Errorf("partition %s: leader %d not among replicas %v", p, pm.Leader, pm.Replicas)
		}
	}
	for _, nd := range c.nodes {
		out := runClient(t, 60*time.Second, "", "/usr/bin/python3", "python/confluent_cluster_metadata.py", nd.kafkaAddr, "rf3-orders")
		var got clusterMetadata
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("confluent-kafka output via node %d: %v\n%s", nd.id, err, out)
		}
		if !reflect.DeepEqual(got, first) {
			t.Errorf("confluent-kafka via node %d sees\n%+v\nfranz-go saw\n%+v", nd.id, got, first)
		}
	}

	// The CLI and the metrics of every node tell the same story.
	for _, nd := range c.nodes {
		res := runSluice(t, nd.asNode(), "", "cluster", "info", "--format", "json")
		var info struct {
			Controller int32 `json:"controller"`
			Brokers    []struct {
				ID    int32  `json:"id"`
				State string `json:"state"`
			} `json:"brokers"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &info); err != nil || res.code != 0 {
			t.Fatalf("sluice cluster info via node %d: exit %d, %v\n%s%s", nd.id, res.code, err, res.stdout, res.stderr)
		}
		if info.Controller != ctrl || len(info.Brokers) != 3 {
			t.Errorf("cluster info via node %d: controller %d, %d brokers; want %d, 3", nd.id, info.Controller, len(info.Brokers), ctrl)
		}
		for _, b := range info.Brokers {
			if b.State != "active" {
				t.Errorf("cluster info via node %d: broker %d is %s", nd.id, b.ID, b.State)
			}
		}
	}
	res := runSluice(t, nonController.asNode(), "", "topic", "describe", "rf3-orders")
	if res.code != 0 || !strings.Contains(collapseGaps(res.stdout), "Replication factor: 3") {
		t.Errorf("topic describe: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	controllers := 0.0
	for _, nd := range c.nodes {
		m := scrapeMetrics(t, nd.asNode())
		if got := m[`sluice_cluster_brokers{state="active"}`]; got != 3 {
			t.Errorf("node %d: sluice_cluster_brokers{state=\"active\"} = %v, want 3", nd.id, got)
		}
		if got := m["sluice_quorum_leader_id"]; got != float64(ctrl) {
			t.Errorf("node %d: sluice_quorum_leader_id = %v, want %d", nd.id, got, ctrl)
		}
		controllers += m["sluice_controller_active"]
	}
	if controllers != 1 {
		t.Errorf("sluice_controller_active sums to %v over the nodes, want 1", controllers)
	}
}

// TestClusterFailover: with a 3 s broker session timeout, a broker paused by SIGSTOP is fenced
// (DescribeCluster marks it, Metadata drops it) and unfenced after SIGCONT; the controller is
// SIGKILLed and another node becomes controller and creates topics within a few seconds; the
// killed node restarts and rejoins; a SIGTERMed node exits cleanly and rejoins too.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	c := startProcCluster(t, 3, "--override", "broker.session.timeout.ms=3000", "--override", "broker.heartbeat.interval.ms=500")
	ctrl := c.controller()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if resp, err := kadm.NewClient(c.node(ctrl).client()).CreateTopic(ctx, 3, 3, nil, "rf3"); err != nil || resp.Err != nil {
		t.Fatalf("create rf3: %v %v", err, resp.Err)
	}

	// SIGSTOP a broker that is not the controller: fenced past the session timeout, its
	// replicas offline.
	paused := c.node(c.other(ctrl))
	paused.pause()
	stoppedAt := time.Now()
	c.waitFor(fmt.Sprintf("broker %d fenced", paused.id), 30*time.Second, func(v testkit.View) bool {
		return slices.Contains(v.Fenced, paused.id) && len(v.Active) == 2
	})
	t.Logf("time to fence a SIGSTOPped broker (broker.session.timeout.ms=3000): %v", time.Since(stoppedAt).Round(time.Millisecond))
	for _, nd := range c.nodes {
		if nd == paused {
			continue
		}
		md, err := metadataFrom(nd)
		if err != nil {
			t.Fatal(err)
		}
		if _, listed := md.Brokers[strconv.Itoa(int(paused.id))]; listed || len(md.Brokers) != 2 {
			t.Errorf("node %d's Metadata lists %v while broker %d is fenced", nd.id, slices.Sorted(maps.Keys(md.Brokers)), paused.id)
		}
		res := runSluice(t, nd.asNode(), "", "topic", "describe", "rf3", "--format", "json")
		var descs []struct {
			Partitions []struct {
				ISR             []int32 `json:"isr"`
				OfflineReplicas []int32 `json:"offline_replicas"`
			} `json:"partitions"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &descs); err != nil || len(descs) != 1 || len(descs[0].Partitions) != 3 {
			t.Fatalf("topic describe rf3 via node %d: %v\n%s%s", nd.id, err, res.stdout, res.stderr)
		}
		for i, p := range descs[0].Partitions {
			if !slices.Equal(p.OfflineReplicas, []int32{paused.id}) || slices.Contains(p.ISR, paused.id) {
				t.Errorf("via node %d, rf3-%d: offline %v, ISR %v while broker %d is fenced", nd.id, i, p.OfflineReplicas, p.ISR, paused.id)
			}
		}
		res = runSluice(t, nd.asNode(), "", "cluster", "info")
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^%d\s.*\sfenced$`, paused.id)).MatchString(res.stdout) {
			t.Errorf("cluster info via node %d does not show broker %d fenced:\n%s%s", nd.id, paused.id, res.stdout, res.stderr)
		}
	}
	paused.resume()
	resumedAt := time.Now()
	c.waitFor(fmt.Sprintf("broker %d unfenced", paused.id), 30*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })
	t.Logf("time to unfence after SIGCONT: %v", time.Since(resumedAt).Round(time.Millisecond))

	// SIGKILL the controller: another node leads and serves CreateTopics.
	ctrl = c.controller()
	killed := c.node(ctrl)
	survivor := c.node(c.other(ctrl))
	epochBefore := scrapeMetrics(t, survivor.asNode())["sluice_quorum_epoch"]
	killed.kill()
	killedAt := time.Now()
	adm := kadm.NewClient(survivor.client())
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		resp, err := adm.CreateTopic(ctx, 3, 1, nil, "after-failover")
		cancel()
		// TOPIC_ALREADY_EXISTS: an earlier attempt created it after the failover, its answer
		// later than that attempt's 2 s (CI, loaded, saw only refusals from then on).
		if err == nil && (resp.Err == nil || errors.Is(resp.Err, kerr.TopicAlreadyExists)) {
			break
		}
		if time.Since(killedAt) > 30*time.Second {
			t.Fatalf("no controller created a topic within 30 s of SIGKILL of controller %d: %v %v\n%s", killed.id, err, resp.Err, c.logTails(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("controller failover (SIGKILL of controller %d → CreateTopics answered via node %d): %v", killed.id, survivor.id, time.Since(killedAt).Round(time.Millisecond))
	newCtrl := c.controller()
	if newCtrl == killed.id {
		t.Fatalf("controller is still the killed node %d", killed.id)
	}
	m := scrapeMetrics(t, survivor.asNode())
	if m["sluice_quorum_epoch"] <= epochBefore || m["sluice_quorum_leader_id"] != float64(newCtrl) {
		t.Errorf("node %d after failover: sluice_quorum_epoch %v (was %v), sluice_quorum_leader_id %v (controller %d)",
			survivor.id, m["sluice_quorum_epoch"], epochBefore, m["sluice_quorum_leader_id"], newCtrl)
	}
	c.waitFor(fmt.Sprintf("the killed broker %d fenced", killed.id), 30*time.Second, func(v testkit.View) bool {
		return slices.Equal(v.Fenced, []int32{killed.id}) && len(v.Active) == 2
	})
	killed.restart()
	c.waitFor("the killed node back", 30*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })
	md, err := metadataFrom(killed, "after-failover")
	if err != nil || len(md.Topics["after-failover"]) != 3 {
		t.Errorf("the restarted node does not know the topic created while it was down: %+v %v", md, err)
	}

	// SIGTERM: a clean exit, and a restart rejoins.
	term := c.node(c.other(c.controller()))
	term.terminate(30 * time.Second)
	term.restart()
	c.waitFor("the terminated node back", 30*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })
}

// TestClusterReadyz: after the whole cluster was down, one node started alone has no quorum
// (and so nothing to register with), so /readyz answers 503 and says what it waits for, even
// though its metadata still shows its previous registration unfenced; once the others start,
// every node is ready again.
func TestClusterReadyz(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three sluice processes")
	}
	t.Parallel()
	c := startProcCluster(t, 3)
	for _, nd := range c.nodes {
		nd.kill()
	}
	first := c.node(1)
	if err := first.launch(); err != nil {
		t.Fatal(err)
	}
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ready bool
		ready, body = first.ready()
		if ready {
			t.Fatalf("node 1 alone (no quorum) answers /readyz 200: %s", body)
		}
		if strings.Contains(body, "not ready") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, "not ready: starting: waiting for the metadata quorum to elect a leader") {
		t.Errorf("/readyz of a node without a quorum: %q", body)
	}
	for _, nd := range c.nodes[1:] {
		if err := nd.launch(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.waitAllReady(60 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, c.logTails(40))
	}
	c.waitFor("3 active brokers after a full restart", 30*time.Second, func(v testkit.View) bool { return len(v.Active) == 3 })
}
