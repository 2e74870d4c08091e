package tests

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// KIP-932 share group membership end to end with franz-go's share consumer (kgo.ShareGroup)
// and kadm: members join and split a topic's partitions, the group's own configs (set with
// IncrementalAlterConfigs on the GROUP resource) govern its session timeout, a member whose
// process goes silent is removed, a closing member leaves, the group survives a broker
// restart and is deleted.

// fastShare lowers the share group heartbeat and session minimums so a group config can ask for
// short ones; the broker defaults stay Kafka's (45 s session, 5 s heartbeat).
var fastShare = []string{"--override", "group.share.min.heartbeat.interval.ms=500", "--override", "group.share.min.session.timeout.ms=2000"}

// alterGroupConfigs sets configs of a group with IncrementalAlterConfigs (resource type GROUP).
func alterGroupConfigs(t *testing.T, cl *kgo.Client, group string, kv ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	for i := 0; i+1 < len(kv); i += 2 {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = kv[i], kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr(kv[i+1])
		res.Configs = append(res.Configs, c)
	}
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Resources[0].ErrorCode); err != nil {
		t.Fatalf("alter group %s configs: %v (%v)", group, err, resp.Resources[0].ErrorMessage)
	}
}

// describeShare describes one share group with kadm.
func describeShare(t *testing.T, adm *kadm.Client, group string) kadm.DescribedShareGroup {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	described, err := adm.DescribeShareGroups(ctx, group)
	if err != nil {
		t.Fatalf("describe share group: %v", err)
	}
	return described[group]
}

// awaitShare polls the share group until ok holds of its description.
func awaitShare(t *testing.T, adm *kadm.Client, group, what string, timeout time.Duration, ok func(kadm.DescribedShareGroup) bool) kadm.DescribedShareGroup {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d := describeShare(t, adm, group)
		if d.Err == nil && ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("share group %s: %s not reached within %v: %+v", group, what, timeout, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shareConsumer polls a share group client until stopped, recording what it consumed.
type shareConsumer struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
}

func startShareConsumer(t *testing.T, n *node, group string, seen *sync.Map, opts ...kgo.Opt) *shareConsumer {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(n.kafkaAddr), kgo.ShareGroup(group), kgo.ConsumeTopics("jobs")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sc := &shareConsumer{cl: cl, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(sc.done)
		for ctx.Err() == nil {
			fetches := cl.PollFetches(ctx)
			fetches.EachRecord(func(r *kgo.Record) { seen.Store([2]int64{int64(r.Partition), r.Offset}, true) })
		}
	}()
	t.Cleanup(sc.stop)
	return sc
}

// stop ends the poll loop and closes the client (a leaving heartbeat, epoch -1).
func (sc *shareConsumer) stop() {
	select {
	case <-sc.done:
		return
	default:
	}
	sc.cancel()
	<-sc.done
	sc.cl.Close()
}

func TestShareGroupMembership(t *testing.T) {
	n := startNode(t, fastShare...)
	n.createTopic("jobs", 2, nil)
	admin := n.client()
	adm := kadm.NewClient(admin)
	// The group's own configs: a 3 s session (the broker's default is 45 s), 1 s heartbeats,
	// and records from the start of the topic.
	alterGroupConfigs(t, admin, "workers", "share.session.timeout.ms", "3000", "share.heartbeat.interval.ms", "1000",
		"share.auto.offset.reset", "earliest")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dc := kmsg.NewPtrDescribeConfigsRequest()
	dcr := kmsg.NewDescribeConfigsRequestResource()
	dcr.ResourceType, dcr.ResourceName, dcr.ConfigNames = kmsg.ConfigResourceTypeGroupConfig, "workers", []string{"share.session.timeout.ms"}
	dc.Resources = append(dc.Resources, dcr)
	if resp, err := dc.RequestWith(ctx, admin); err != nil || len(resp.Resources[0].Configs) != 1 ||
		*resp.Resources[0].Configs[0].Value != "3000" || resp.Resources[0].Configs[0].Source != kmsg.ConfigSourceGroupConfig {
		t.Fatalf("describe group configs: %+v %v", resp, err)
	}
	const records = 200
	producer := n.client(kgo.DefaultProduceTopic("jobs"))
	for i := range records {
		producer.Produce(ctx, &kgo.Record{Partition: int32(i % 2), Value: []byte("job")}, nil)
	}
	if err := producer.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	var seen sync.Map
	a := startShareConsumer(t, n, "workers", &seen)
	dialer := &severableDialer{}
	b := startShareConsumer(t, n, "workers", &seen, kgo.Dialer(dialer.dial))
	d := awaitShare(t, adm, "workers", "two members with a partition each", 30*time.Second, func(d kadm.DescribedShareGroup) bool {
		if d.GroupState != "Stable" || len(d.Members) != 2 {
			return false
		}
		for _, m := range d.Members {
			if len(m.Assignment["jobs"]) != 1 || m.MemberEpoch != d.AssignmentEpoch {
				return false
			}
		}
		return true
	})
	if d.Assignor != "simple" || d.GroupEpoch < 2 {
		t.Fatalf("described: %+v", d)
	}
	for _, m := range d.Members {
		if len(m.SubscribedTopicNames) != 1 || m.SubscribedTopicNames[0] != "jobs" || m.ClientHost == "" {
			t.Fatalf("member %+v", m)
		}
	}
	// The two members consume every record between them.
	deadline := time.Now().Add(30 * time.Second)
	for {
		count := 0
		seen.Range(func(any, any) bool { count++; return true })
		if count == records {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("share consumers saw %d of %d records", count, records)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// b goes silent (its connections cut, no leave): the group's 3 s session removes it,
	// long before the broker default's 45 s, and a gets both partitions.
	dialer.sever()
	start := time.Now()
	awaitShare(t, adm, "workers", "one member with both partitions", 40*time.Second, func(d kadm.DescribedShareGroup) bool {
		return len(d.Members) == 1 && d.Members[0].MemberEpoch == d.AssignmentEpoch && len(d.Members[0].Assignment["jobs"]) == 2
	})
	if waited := time.Since(start); waited > 30*time.Second {
		t.Fatalf("the silent member was removed after %v: the group's share.session.timeout.ms=3000 was not used", waited)
	}
	b.stop()

	// a closes: it leaves the group at once, which stays, Empty.
	a.stop()
	d = awaitShare(t, adm, "workers", "empty", 10*time.Second, func(d kadm.DescribedShareGroup) bool {
		return d.GroupState == "Empty" && len(d.Members) == 0
	})
	listed, err := adm.ListGroupsByType(ctx, []string{"share"})
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := listed["workers"]; !ok || l.ProtocolType != "share" || l.State != "Empty" || len(listed) != 1 {
		t.Fatalf("listed share groups: %+v", listed)
	}

	// The group, its epoch and its configs survive a restart.
	n.stop()
	n.start()
	adm = kadm.NewClient(n.client())
	after := awaitShare(t, adm, "workers", "reloaded", 20*time.Second, func(kadm.DescribedShareGroup) bool { return true })
	if after.GroupState != "Empty" || after.GroupEpoch != d.GroupEpoch {
		t.Fatalf("after restart: %+v, before: %+v", after, d)
	}

	// An empty share group is deleted; then it is gone.
	resp, err := adm.DeleteGroup(ctx, "workers")
	if err != nil || resp.Err != nil {
		t.Fatalf("delete share group: %v %v", err, resp.Err)
	}
	if d := describeShare(t, adm, "workers"); !errors.Is(d.Err, kerr.GroupIDNotFound) {
		t.Fatalf("deleted share group described: %+v", d)
	}
}
