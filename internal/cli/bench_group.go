package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// groupBenchOptions are the flags of `sluice bench rebalance` and `bench commit`.
type groupBenchOptions struct {
	benchOptions
	group      string
	members    int
	rounds     int
	balancer   string
	heartbeat  time.Duration
	parallel   int
	settleWait time.Duration
}

func (o *groupBenchOptions) registerGroup(cmd *cobra.Command, topic string) {
	f := cmd.Flags()
	f.StringVar(&o.brokers, "brokers", envOr("SLUICE_BROKERS", "localhost:9092"), "comma-separated bootstrap brokers (env SLUICE_BROKERS)")
	o.sec.register(f)
	f.StringVar(&o.topic, "topic", topic, "topic to use (created if missing)")
	f.StringVar(&o.group, "group", "", "group to use (default: a new name each run)")
	f.BoolVar(&o.json, "json", false, "print the result as one JSON object")
}

func (o *groupBenchOptions) groupName(kind string) string {
	if o.group != "" {
		return o.group
	}
	return fmt.Sprintf("sluice-bench-%s-%d", kind, time.Now().UnixNano())
}

func newBenchRebalanceCommand() *cobra.Command {
	var o groupBenchOptions
	cmd := &cobra.Command{
		Use:   "rebalance",
		Short: "Measure how long a consumer group takes to be Stable again after a member leaves or joins",
		Long: "Starts --members franz-go consumers in one classic group on a topic of --partitions\n" +
			"partitions and waits until the group is Stable with every partition assigned. Then, each\n" +
			"round, one member leaves (LeaveGroup on close) and the time until DescribeGroups shows the\n" +
			"group Stable with the rest and every partition assigned is taken (leave); a new member then\n" +
			"joins and the time until the same holds with all members is taken too (join, which includes\n" +
			"the new client's start). Remaining members learn of a rebalance from their next heartbeat,\n" +
			"so both times are bounded below by --heartbeat-interval.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchRebalance(contextOf(cmd), o, cmd.OutOrStdout())
		},
	}
	o.registerGroup(cmd, "sluice-bench-rebalance")
	f := cmd.Flags()
	f.IntVar(&o.members, "members", 4, "members in the group")
	f.IntVar(&o.rounds, "rounds", 10, "leave-and-join rounds to time")
	f.StringVar(&o.balancer, "balancer", "cooperative-sticky", "cooperative-sticky, or eager (range)")
	f.Int32Var(&o.partitions, "partitions", 12, "partitions of the topic if it has to be created")
	f.DurationVar(&o.heartbeat, "heartbeat-interval", 3*time.Second, "members' heartbeat.interval.ms")
	f.DurationVar(&o.settleWait, "timeout", time.Minute, "give up when the group is not Stable this long after a change")
	return cmd
}

// rebalanceResult is what `bench rebalance` reports; JSON names are stable for scripts.
type rebalanceResult struct {
	Mode       string     `json:"mode"`
	Balancer   string     `json:"balancer"`
	Members    int        `json:"members"`
	Partitions int        `json:"partitions"`
	Rounds     int        `json:"rounds"`
	LeaveMs    *latencyMs `json:"leave_ms"`
	JoinMs     *latencyMs `json:"join_ms"`
}

func balancerOf(name string) (kgo.GroupBalancer, error) {
	switch name {
	case "cooperative-sticky":
		return kgo.CooperativeStickyBalancer(), nil
	case "eager", "range":
		return kgo.RangeBalancer(), nil
	}
	return nil, fmt.Errorf("--balancer %q: use cooperative-sticky or eager", name)
}

// groupMemberClient is one consumer of the rebalance benchmark; it polls until closed.
type groupMemberClient struct {
	cl   *kgo.Client
	done chan struct{}
}

func startGroupMember(o *groupBenchOptions, group string, balancer kgo.GroupBalancer, id int) (*groupMemberClient, error) {
	cl, err := o.newClient(kgo.ConsumerGroup(group), kgo.ConsumeTopics(o.topic),
		kgo.Balancers(balancer), kgo.HeartbeatInterval(o.heartbeat), kgo.ClientID(fmt.Sprintf("sluice-bench-member-%d", id)))
	if err != nil {
		return nil, err
	}
	m := &groupMemberClient{cl: cl, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			fetches := cl.PollFetches(context.Background())
			if fetches.IsClientClosed() {
				return
			}
			if fetches.Err() != nil {
				time.Sleep(10 * time.Millisecond) // never spin on a repeated error
			}
		}
	}()
	return m, nil
}

func (m *groupMemberClient) close() {
	m.cl.Close()
	<-m.done
}

// awaitSettled polls DescribeGroups until the group is Stable with members members and all
// partitions assigned, and returns when it first saw that.
func awaitSettled(ctx context.Context, adm *kadm.Client, group string, members, partitions int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		described, err := adm.DescribeGroups(ctx, group)
		seen := time.Now()
		if err == nil {
			d := described[group]
			assigned := 0
			d.AssignedPartitions().Each(func(string, int32) { assigned++ })
			if d.State == "Stable" && len(d.Members) == members && assigned == partitions {
				return seen, nil
			}
		}
		if seen.After(deadline) || ctx.Err() != nil {
			return time.Time{}, fmt.Errorf("group %s not Stable with %d members and %d partitions assigned after %v: %w",
				group, members, partitions, timeout, errors.Join(err, ctx.Err()))
		}
		time.Sleep(time.Millisecond)
	}
}

func runBenchRebalance(ctx context.Context, o groupBenchOptions, stdout io.Writer) error {
	balancer, err := balancerOf(o.balancer)
	if err != nil {
		return err
	}
	if o.members < 2 || o.rounds < 1 {
		return errors.New("--members must be at least 2 and --rounds at least 1")
	}
	admin, err := o.newClient()
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := ensureTopic(ctx, admin, o.topic, o.partitions); err != nil {
		return err
	}
	adm := kadm.NewClient(admin)
	ends, err := endOffsets(ctx, adm, o.topic)
	if err != nil {
		return err
	}
	partitions := len(ends)
	group := o.groupName("rebalance")
	var members []*groupMemberClient
	defer func() {
		for _, m := range members {
			m.close()
		}
	}()
	for i := range o.members {
		m, err := startGroupMember(&o, group, balancer, i)
		if err != nil {
			return err
		}
		members = append(members, m)
	}
	if _, err := awaitSettled(ctx, adm, group, o.members, partitions, o.settleWait); err != nil {
		return err
	}
	var leaves, joins []time.Duration
	for r := range o.rounds {
		began := time.Now()
		members[0].close()
		members = members[1:]
		settled, err := awaitSettled(ctx, adm, group, o.members-1, partitions, o.settleWait)
		if err != nil {
			return fmt.Errorf("round %d, after a leave: %w", r, err)
		}
		leaves = append(leaves, settled.Sub(began))
		began = time.Now()
		m, err := startGroupMember(&o, group, balancer, o.members+r)
		if err != nil {
			return err
		}
		members = append(members, m)
		if settled, err = awaitSettled(ctx, adm, group, o.members, partitions, o.settleWait); err != nil {
			return fmt.Errorf("round %d, after a join: %w", r, err)
		}
		joins = append(joins, settled.Sub(began))
	}
	res := rebalanceResult{Mode: "rebalance", Balancer: o.balancer, Members: o.members, Partitions: partitions, Rounds: o.rounds,
		LeaveMs: summarize(leaves), JoinMs: summarize(joins)}
	if o.json {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "rebalance (%s, %d members, %d partitions, %d rounds), ms until Stable with every partition assigned:\n",
		res.Balancer, res.Members, res.Partitions, res.Rounds)
	fmt.Fprintf(stdout, "member leaves: %s\nmember joins:  %s\n", res.LeaveMs, res.JoinMs)
	return nil
}

func newBenchCommitCommand() *cobra.Command {
	var o groupBenchOptions
	cmd := &cobra.Command{
		Use:   "commit",
		Short: "Measure offset-commit throughput: synchronous OffsetCommits of one group, one or several in flight",
		Long: "Commits offsets of --partitions partitions per OffsetCommit for a group without members\n" +
			"(generation -1, as admin tools commit), each commit waiting for its answer; --parallel\n" +
			"commits run at once on one connection. Reports commits/s and commit latency.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchCommit(contextOf(cmd), o, cmd.OutOrStdout())
		},
	}
	o.registerGroup(cmd, "sluice-bench-commit")
	f := cmd.Flags()
	f.Int32Var(&o.partitions, "partitions", 10, "partitions committed by each OffsetCommit (the topic's partitions if it has to be created)")
	f.IntVar(&o.parallel, "parallel", 1, "commits in flight at once")
	f.Int64Var(&o.numRecords, "num-commits", 0, "stop after this many commits (0: run for --duration)")
	f.DurationVar(&o.duration, "duration", 5*time.Second, "how long to run when --num-commits is 0")
	return cmd
}

// commitResult is what `bench commit` reports; JSON names are stable for scripts.
type commitResult struct {
	Mode          string     `json:"mode"`
	Partitions    int        `json:"partitions"`
	Parallel      int        `json:"parallel"`
	Commits       int64      `json:"commits"`
	Errors        int64      `json:"errors"`
	Seconds       float64    `json:"seconds"`
	CommitsPerSec float64    `json:"commits_per_sec"`
	LatencyMs     *latencyMs `json:"latency_ms,omitempty"`
}

func runBenchCommit(ctx context.Context, o groupBenchOptions, stdout io.Writer) error {
	if o.parallel < 1 || o.partitions < 1 {
		return errors.New("--parallel and --partitions must be at least 1")
	}
	cl, err := o.newClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := ensureTopic(ctx, cl, o.topic, o.partitions); err != nil {
		return err
	}
	adm := kadm.NewClient(cl)
	if _, err := endOffsets(ctx, adm, o.topic); err != nil {
		return err
	}
	group := o.groupName("commit")
	var (
		next, commits, failures atomic.Int64
		mu                      sync.Mutex
		latencies               []time.Duration
		firstErr                error
		wg                      sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(o.duration)
	for range o.parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := next.Add(1) - 1; !o.finished(i, deadline) && ctx.Err() == nil; i = next.Add(1) - 1 {
				offsets := make(kadm.Offsets)
				for p := range o.partitions {
					offsets.Add(kadm.Offset{Topic: o.topic, Partition: p, At: i, LeaderEpoch: -1})
				}
				sent := time.Now()
				resps, err := adm.CommitOffsets(ctx, group, offsets)
				if err == nil {
					err = resps.Error()
				}
				if err != nil {
					failures.Add(1)
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
					continue
				}
				mine = append(mine, time.Since(sent))
				commits.Add(1)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := commitResult{Mode: "commit", Partitions: int(o.partitions), Parallel: o.parallel, Commits: commits.Load(), Errors: failures.Load(),
		Seconds: elapsed.Seconds(), LatencyMs: summarize(latencies)}
	if res.Seconds > 0 {
		res.CommitsPerSec = float64(res.Commits) / res.Seconds
	}
	if o.json {
		if err := json.NewEncoder(stdout).Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "commit (%d partitions each, %d in flight): %d commits in %.2fs: %.0f commits/s, %d errors\n",
			res.Partitions, res.Parallel, res.Commits, res.Seconds, res.CommitsPerSec, res.Errors)
		if res.LatencyMs != nil {
			fmt.Fprintf(stdout, "latency ms: %s\n", res.LatencyMs)
		}
	}
	if firstErr != nil {
		return fmt.Errorf("%d commits failed, the first with: %w", res.Errors, firstErr)
	}
	return nil
}

// cmpOr returns a unless it is nil, then b.
func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
