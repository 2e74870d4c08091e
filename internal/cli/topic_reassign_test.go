package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/testkit"
)

func TestReadReassignmentFile(t *testing.T) {
	in := `{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[3,1],"log_dirs":["any","any"]},{"topic":"b","partition":2,"replicas":[2]}]}`
	req, err := readReassignmentFile(strings.NewReader(in), false)
	if err != nil {
		t.Fatal(err)
	}
	want := kadm.AlterPartitionAssignmentsReq{"a": {0: {3, 1}}, "b": {2: {2}}}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("got %v, want %v", req, want)
	}
	req, err = readReassignmentFile(strings.NewReader(in), true)
	if err != nil || req["a"][0] != nil || req["b"][2] != nil || len(req) != 2 {
		t.Fatalf("cancel: %v %v", req, err)
	}
	for name, bad := range map[string]string{
		"version":      `{"version":2,"partitions":[{"topic":"a","partition":0,"replicas":[1]}]}`,
		"empty":        `{"version":1,"partitions":[]}`,
		"no partition": `{"version":1,"partitions":[{"topic":"a","replicas":[1]}]}`,
		"no replicas":  `{"version":1,"partitions":[{"topic":"a","partition":0}]}`,
		"unknown":      `{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1],"brokers":[1]}]}`,
		"not json":     `version: 1`,
	} {
		if _, err := readReassignmentFile(strings.NewReader(bad), false); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseBrokerList(t *testing.T) {
	if got, err := parseBrokerList("3, 1,2"); err != nil || !slices.Equal(got, []int32{3, 1, 2}) {
		t.Fatalf("got %v %v", got, err)
	}
	for _, bad := range []string{"", "1,,2", "a", "-1", "1;2"} {
		if _, err := parseBrokerList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// `topic elect-leaders` and `topic reassign` against a three-node cluster.
func TestTopicReassignAndElectCommands(t *testing.T) {
	c := testkit.StartCluster(t, testkit.Options{Nodes: 3})
	brokers := strings.Join(c.Bootstrap(), ",")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Metadata answers are not cached for long: the test polls for changes.
	adm := kadm.NewClient(c.Client(kgo.MetadataMinAge(10 * time.Millisecond)))
	run := func(wantCode int, args ...string) string {
		t.Helper()
		out, errOut, code := runCLI(t, append(args, "--brokers", brokers)...)
		if code != wantCode {
			t.Fatalf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, wantCode, out, errOut)
		}
		return out + errOut
	}
	detail := func(topic string) kadm.PartitionDetail {
		t.Helper()
		for ctx.Err() == nil {
			if md, err := adm.Metadata(ctx, topic); err == nil {
				if d, ok := md.Topics[topic].Partitions[0]; ok && d.Leader >= 0 {
					return d
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s-0 has no leader", topic)
		return kadm.PartitionDetail{}
	}

	run(0, "topic", "create", "c", "-p", "1", "-r", "2", "--if-not-exists")
	before := detail("c")
	if out := run(0, "topic", "elect-leaders"); !strings.Contains(out, "no partition needed an election") {
		t.Errorf("elect all: %s", out)
	}
	if out := run(0, "topic", "elect-leaders", "--topic", "c", "--partition", "0"); !strings.Contains(out, "c-0: no election needed") {
		t.Errorf("elect c-0: %s", out)
	}
	if out := run(0, "topic", "elect-leaders", "--topic", "c", "--type", "unclean"); !strings.Contains(out, "c-0: no election needed") {
		t.Errorf("unclean c: %s", out)
	}
	if out := run(1, "topic", "elect-leaders", "--topic", "nope", "--partition", "0"); !strings.Contains(out, "nope-0") {
		t.Errorf("unknown topic: %s", out)
	}
	run(1, "topic", "elect-leaders", "--type", "dirty")

	// A shrink onto the follower completes at once.
	keep := before.Replicas[1]
	if out := run(0, "topic", "reassign", "--topic", "c", "--partition", "0", "--replicas", joinIDs([]int32{keep})); !strings.Contains(out, "reassigning c-0 to replicas") {
		t.Errorf("reassign: %s", out)
	}
	for d := detail("c"); !slices.Equal(d.Replicas, []int32{keep}) || d.Leader != keep; d = detail("c") {
		if ctx.Err() != nil {
			t.Fatalf("c-0 after the move: %+v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A throttled move: the throttle configs are set, the move completes, --verify removes them.
	run(0, "topic", "create", "th", "-p", "1", "-r", "1", "--if-not-exists")
	from := detail("th").Leader
	to := from%3 + 1
	if out := run(0, "topic", "reassign", "--topic", "th", "--partition", "0", "--replicas", joinIDs([]int32{to}), "--throttle", "1048576"); !strings.Contains(out, "throttled the moves to 1048576 B/s") {
		t.Errorf("throttled reassign: %s", out)
	}
	topicConfigs := func() map[string]string {
		t.Helper()
		rcs, err := adm.DescribeTopicConfigs(ctx, "th")
		if err != nil || len(rcs) != 1 || rcs[0].Err != nil {
			t.Fatalf("describe th: %v %+v", err, rcs)
		}
		out := map[string]string{}
		for _, c := range rcs[0].Configs {
			if c.Value != nil {
				out[c.Key] = *c.Value
			}
		}
		return out
	}
	brokerRate := func(id int32) string {
		t.Helper()
		rcs, err := adm.DescribeBrokerConfigs(ctx, id)
		if err != nil || len(rcs) != 1 {
			t.Fatalf("describe broker %d: %v %+v", id, err, rcs)
		}
		for _, c := range rcs[0].Configs {
			if c.Key == "leader.replication.throttled.rate" && c.Value != nil {
				return *c.Value
			}
		}
		return ""
	}
	// Each broker answers config reads from its own metadata, which may lag a moment.
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	eventually("the throttle configs of th", func() bool {
		tc := topicConfigs()
		return tc["leader.replication.throttled.replicas"] == fmt.Sprintf("0:%d", from) && tc["follower.replication.throttled.replicas"] == fmt.Sprintf("0:%d", to)
	})
	eventually(fmt.Sprintf("broker %d's leader.replication.throttled.rate", from), func() bool { return brokerRate(from) == "1048576" })
	for d := detail("th"); !slices.Equal(d.Replicas, []int32{to}) || d.Leader != to; d = detail("th") {
		if ctx.Err() != nil {
			t.Fatalf("th-0 after the move: %+v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// --verify asks whichever broker the client picks, whose metadata may still trail the
	// one detail read: it reports the move unfinished until that broker catches up.
	var verified string
	eventually("reassign --verify to report th-0 complete", func() bool {
		verified = run(0, "topic", "reassign", "--verify", "--topic", "th", "--partition", "0", "--replicas", joinIDs([]int32{to}))
		return strings.Contains(verified, "th-0: complete")
	})
	if !strings.Contains(verified, "throttles removed") {
		t.Errorf("verify: %s", verified)
	}
	eventually("the throttle configs of th removed", func() bool {
		tc := topicConfigs()
		return tc["leader.replication.throttled.replicas"] == "" && tc["follower.replication.throttled.replicas"] == ""
	})
	eventually(fmt.Sprintf("broker %d's throttle rate removed", from), func() bool { return brokerRate(from) != "1048576" })

	// A move onto a stopped node stays in progress: listed, then cancelled.
	run(0, "topic", "create", "d", "-p", "1", "-r", "1", "--if-not-exists")
	x := detail("d").Leader
	controller := c.Controller()
	var down int32 = -1
	for _, id := range c.IDs() {
		if id != x && id != controller {
			down = id
		}
	}
	c.Stop(down)
	brokers = c.KafkaAddr(controller)
	file := filepath.Join(t.TempDir(), "move.json")
	move := `{"version":1,"partitions":[{"topic":"d","partition":0,"replicas":[` + joinIDs([]int32{x, down}) + `]}]}`
	if err := os.WriteFile(file, []byte(move), 0o600); err != nil {
		t.Fatal(err)
	}
	run(1, "topic", "reassign", "--reassignment-json-file", file, "--disallow-replication-factor-change")
	run(0, "topic", "reassign", "--reassignment-json-file", file)
	var rows []reassignmentRow
	if err := json.Unmarshal([]byte(run(0, "topic", "reassign", "--list", "--format", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	want := []reassignmentRow{{Topic: "d", Partition: 0, Replicas: []int32{x, down}, Adding: []int32{down}, Removing: []int32{}}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("listed %+v, want %+v", rows, want)
	}
	if out := run(0, "topic", "reassign", "--list", "--topic", "d"); !strings.Contains(out, "ADDING") || !strings.Contains(out, joinIDs([]int32{x, down})) {
		t.Errorf("list d: %s", out)
	}
	if out := run(0, "topic", "reassign", "--list", "--topic", "c"); strings.Contains(out, "c ") {
		t.Errorf("list c: %s", out)
	}
	if out := run(0, "topic", "reassign", "--cancel", "--topic", "d", "--partition", "0"); !strings.Contains(out, "cancelled the reassignment of d-0") {
		t.Errorf("cancel: %s", out)
	}
	// Every running broker has applied the revert before --verify asks one of them.
	for _, id := range c.IDs() {
		if id == down {
			continue
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.KafkaAddr(id)))
		if err != nil {
			t.Fatal(err)
		}
		for ctx.Err() == nil {
			req := kmsg.NewPtrMetadataRequest()
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr("d")
			req.Topics = append(req.Topics, rt)
			resp, err := cl.SeedBrokers()[0].Request(ctx, req)
			if err == nil {
				if ts := resp.(*kmsg.MetadataResponse).Topics; len(ts) == 1 && len(ts[0].Partitions) == 1 && slices.Equal(ts[0].Partitions[0].Replicas, []int32{x}) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		cl.Close()
	}
	if out := run(1, "topic", "reassign", "--reassignment-json-file", file, "--cancel"); !strings.Contains(out, "no reassignment of d-0 is in progress") {
		t.Errorf("second cancel: %s", out)
	}
	if out := run(0, "topic", "reassign", "--list"); strings.Count(out, "\n") != 1 {
		t.Errorf("list after cancel: %q", out)
	}
	run(1, "topic", "reassign", "--topic", "d", "--partition", "0", "--replicas", "99")
	run(1, "topic", "reassign", "--topic", "d", "--partition", "0", "--replicas", "1,x")
	run(1, "topic", "reassign", "--topic", "d", "--partition", "0")
	run(1, "topic", "reassign", "--list", "--cancel")
	if out := run(0, "topic", "reassign", "--verify", "--reassignment-json-file", file); !strings.Contains(out, "d-0: not moving") || strings.Contains(out, "throttles removed") {
		t.Errorf("verify of a cancelled move: %s", out)
	}
	run(1, "topic", "reassign", "--verify", "--topic", "d", "--partition", "0")
	run(1, "topic", "reassign", "--list", "--throttle", "5")
}
