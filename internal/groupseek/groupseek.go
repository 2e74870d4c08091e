// Package groupseek plans and applies a move of a consumer group's committed offsets, as
// kafka-consumer-groups --reset-offsets does: to each partition's log start or end, to a given
// offset (clamped to the log), or to the first record at or after a time. It is a client of the
// cluster through kadm only, shared by `sluice group seek` and the web console, so both compute
// the same plan. Committing to a group with members is the caller's to refuse: the members would
// overwrite the new offsets with their next commit (and the coordinator refuses commits of
// generation -1 from outside a non-empty group).
//
//	plan, err := groupseek.Plan(ctx, adm, groupseek.Target{Kind: groupseek.Start}, []string{"orders"}, -1, commits)
//	if err == nil {
//		err = groupseek.Commit(ctx, adm, "billing", plan)
//	}
package groupseek

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Kind is where a seek moves each partition.
type Kind string

// The kinds of target.
const (
	Start  Kind = "start"  // the log start offset
	End    Kind = "end"    // the log end offset
	Offset Kind = "offset" // Target.N, clamped to [log start, log end]
	Time   Kind = "time"   // the first record at or after Target.N (Unix milliseconds), else the log end
)

// Target is where to move a group's offsets.
type Target struct {
	Kind Kind
	N    int64 // the offset or the timestamp
}

// Row is one partition of a plan.
type Row struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Current   *int64 `json:"current"` // the committed offset, nil when there is none
	New       int64  `json:"new"`
	LogStart  int64  `json:"-"`
	LogEnd    int64  `json:"-"`
}

// ErrNoCommits: no topics were named and the group has no committed offsets to move.
var ErrNoCommits = errors.New("groupseek: the group has no committed offsets")

// TopicError: a named topic (or partition) does not exist or its offsets cannot be listed.
type TopicError struct {
	Topic     string
	Partition int32 // -1: the topic itself
	Err       error
}

func (e *TopicError) Error() string {
	if e.Partition >= 0 {
		return fmt.Sprintf("topic %s partition %d: %v", e.Topic, e.Partition, e.Err)
	}
	return fmt.Sprintf("topic %s: %v", e.Topic, e.Err)
}

func (e *TopicError) Unwrap() error { return e.Err }

// Plan computes the new offset of every partition to move: with no topics, every partition
// the group has a committed offset for; otherwise every partition of the named topics, or only
// partition when it is 0 or more. commits are the group's committed offsets (FetchOffsets).
func Plan(ctx context.Context, adm *kadm.Client, target Target, topics []string, partition int32, commits kadm.OffsetResponses) ([]Row, error) {
	parts := make(kadm.TopicsSet)
	if len(topics) == 0 {
		commits.Each(func(o kadm.OffsetResponse) {
			if o.At >= 0 {
				parts.Add(o.Topic, o.Partition)
			}
		})
		if len(parts) == 0 {
			return nil, ErrNoCommits
		}
		topics = parts.Topics()
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("log start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("log end offsets: %w", err)
	}
	var atTime kadm.ListedOffsets
	if target.Kind == Time {
		if atTime, err = adm.ListOffsetsAfterMilli(ctx, target.N, topics...); err != nil {
			return nil, fmt.Errorf("offsets at %d: %w", target.N, err)
		}
	}
	if len(parts) == 0 { // named topics: every partition of each (or the one asked for)
		for _, t := range topics {
			ps, ok := ends[t]
			if bad, isBad := ps[-1]; !ok || isBad {
				if bad.Err == nil {
					bad.Err = kerr.UnknownTopicOrPartition
				}
				return nil, &TopicError{Topic: t, Partition: -1, Err: bad.Err}
			}
			if partition >= 0 {
				if _, ok := ps[partition]; !ok {
					return nil, &TopicError{Topic: t, Partition: partition, Err: kerr.UnknownTopicOrPartition}
				}
				parts.Add(t, partition)
				continue
			}
			for p := range ps {
				parts.Add(t, p)
			}
		}
	}
	var plan []Row
	for _, tp := range parts.Sorted() {
		for _, p := range tp.Partitions {
			start, okS := starts.Lookup(tp.Topic, p)
			end, okE := ends.Lookup(tp.Topic, p)
			if !okS || !okE || start.Err != nil || end.Err != nil {
				return nil, &TopicError{Topic: tp.Topic, Partition: p,
					Err: fmt.Errorf("cannot list its offsets (%v)", errors.Join(start.Err, end.Err))}
			}
			row := Row{Topic: tp.Topic, Partition: p, LogStart: start.Offset, LogEnd: end.Offset}
			if c, ok := commits.Lookup(tp.Topic, p); ok && c.At >= 0 {
				at := c.At
				row.Current = &at
			}
			switch target.Kind {
			case Start:
				row.New = start.Offset
			case End:
				row.New = end.Offset
			case Offset:
				row.New = min(max(target.N, start.Offset), end.Offset)
			case Time:
				o, ok := atTime.Lookup(tp.Topic, p)
				if !ok || o.Err != nil || o.Offset < 0 {
					row.New = end.Offset
				} else {
					row.New = o.Offset
				}
			default:
				return nil, fmt.Errorf("groupseek: unknown target %q", target.Kind)
			}
			plan = append(plan, row)
		}
	}
	slices.SortFunc(plan, func(a, b Row) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return plan, nil
}

// Commit commits the plan's new offsets for the group (generation -1, as an admin does).
func Commit(ctx context.Context, adm *kadm.Client, group string, plan []Row) error {
	var offsets kadm.Offsets
	for _, r := range plan {
		offsets.Add(kadm.Offset{Topic: r.Topic, Partition: r.Partition, At: r.New, LeaderEpoch: -1})
	}
	resps, err := adm.CommitOffsets(ctx, group, offsets)
	if err == nil {
		err = resps.Error()
	}
	return err
}
