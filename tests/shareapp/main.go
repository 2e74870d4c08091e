// Command shareapp is the share-group consumer of the share-group end-to-end tests
// (tests/share_test.go): franz-go's KIP-932 share consumer reading one topic as a member of
// one share group, acknowledging every record it polls and reporting what it did, so the test
// can check the recorded history against what was produced.
//
// Each polled record's acknowledgement depends on its value: "reject-…" is rejected,
// "release-…" released (it comes back until the delivery count limit archives it), anything
// else accepted. After each poll the acknowledgements are flushed.
//
// Lines on stdout, for the test driving it:
//   - "recv P OFFSET DELIVERY_COUNT VALUE" for each polled record (partition P), before its
//     acknowledgement is sent;
//   - "acked P OFFSET STATUS" (accept, release, reject) once the broker confirmed the
//     acknowledgement of that poll without error; a poll whose acknowledgements failed
//     prints "ackfailed".
//
// Environment (all optional):
//   - SHAREAPP_HOLD=DURATION: wait this long after printing a poll's records before marking
//     their acknowledgements (records stay in flight: a test kills the process meanwhile,
//     or lets their lock time out).
//   - SHAREAPP_MAX_RECORDS=N: ShareMaxRecords.
//   - SHAREAPP_LOG=debug|info: franz-go's log at that level on stderr.
//
// Usage: shareapp BROKERS TOPIC GROUP
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: shareapp BROKERS TOPIC GROUP")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "shareapp:", err)
		os.Exit(1)
	}
}

func run(brokers, topic, group string) error {
	var ackFailed atomic.Bool
	opts := []kgo.Opt{
		kgo.SeedBrokers(strings.Split(brokers, ",")...),
		kgo.ConsumeTopics(topic),
		kgo.ShareGroup(group),
		kgo.ShareAckCallback(func(_ *kgo.Client, res kgo.ShareAckResults) {
			for _, r := range res {
				if r.Err != nil {
					fmt.Fprintf(os.Stderr, "shareapp: ack %s-%d: %v\n", r.Topic, r.Partition, r.Err)
					ackFailed.Store(true)
				}
			}
		}),
	}
	if n, err := strconv.Atoi(os.Getenv("SHAREAPP_MAX_RECORDS")); err == nil {
		opts = append(opts, kgo.ShareMaxRecords(int32(n)))
	}
	switch os.Getenv("SHAREAPP_LOG") {
	case "debug":
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil)))
	case "info":
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, nil)))
	}
	var hold time.Duration
	if d, err := time.ParseDuration(os.Getenv("SHAREAPP_HOLD")); err == nil {
		hold = d
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	out := bufio.NewWriter(os.Stdout)
	for ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		fetches.EachError(func(t string, p int32, err error) {
			if ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "shareapp: fetch %s-%d: %v\n", t, p, err)
			}
		})
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		for _, r := range recs {
			fmt.Fprintf(out, "recv %d %d %d %s\n", r.Partition, r.Offset, r.DeliveryCount(), r.Value)
		}
		out.Flush()
		// Marked acknowledgements go out with the client's next ShareFetch: hold before
		// marking, so that held records are really unacknowledged.
		if hold > 0 {
			select {
			case <-time.After(hold):
			case <-ctx.Done():
			}
		}
		statuses := make([]string, len(recs))
		for i, r := range recs {
			status, ack := "accept", kgo.AckAccept
			switch v := string(r.Value); {
			case strings.HasPrefix(v, "reject-"):
				status, ack = "reject", kgo.AckReject
			case strings.HasPrefix(v, "release-"):
				status, ack = "release", kgo.AckRelease
			}
			statuses[i] = status
			cl.MarkAcks(ack, r)
		}
		ackFailed.Store(false)
		if err := cl.FlushAcks(context.Background()); err != nil || ackFailed.Load() {
			fmt.Fprintln(out, "ackfailed")
			out.Flush()
			continue
		}
		for i, r := range recs {
			fmt.Fprintf(out, "acked %d %d %s\n", r.Partition, r.Offset, statuses[i])
		}
		out.Flush()
	}
	cl.Close()
	return nil
}
