package api

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
)

// isrLifecycle is a controller that records the ISR changes it is asked for and answers each
// with the ISR asked (partition epoch +1), or err for the whole request, or partErr per change.
type isrLifecycle struct {
	Lifecycle
	got     []metadata.ISRChange
	from    int32
	epoch   int64
	err     error
	partErr error
}

func (l *isrLifecycle) AlterPartition(_ context.Context, brokerID int32, brokerEpoch int64, changes []metadata.ISRChange, _ bool) ([]metadata.ISRChangeResult, error) {
	l.got, l.from, l.epoch = changes, brokerID, brokerEpoch
	if l.err != nil {
		return nil, l.err
	}
	out := make([]metadata.ISRChangeResult, len(changes))
	for i, ch := range changes {
		if l.partErr != nil && i == 1 {
			out[i].Err = l.partErr
			continue
		}
		isr := make([]int32, len(ch.NewISR))
		for j, m := range ch.NewISR {
			isr[j] = m.ID
		}
		out[i] = metadata.ISRChangeResult{Leader: brokerID, LeaderEpoch: ch.LeaderEpoch, PartitionEpoch: ch.PartitionEpoch + 1, ISR: isr}
	}
	return out, nil
}

func alterPartition(t *testing.T, env *Env, r *kmsg.AlterPartitionRequest) *kmsg.AlterPartitionResponse {
	t.Helper()
	resp, err := handleAlterPartition(context.Background(), env, &Request{Key: 56, Version: r.Version, Msg: r})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Finish != nil {
		if resp, err = resp.Finish(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return resp.Msg.(*kmsg.AlterPartitionResponse)
}

// TestAlterPartitionVersions: v2 members carry no broker epoch (-1), v3 members theirs; the
// answer keeps the request's topics and partitions in order; request- and partition-level
// errors get their codes; a node without a controller answers NOT_CONTROLLER.
func TestAlterPartitionVersions(t *testing.T) {
	req := func(v int16) *kmsg.AlterPartitionRequest {
		r := kmsg.NewPtrAlterPartitionRequest()
		r.Version, r.BrokerID, r.BrokerEpoch = v, 4, 40
		for ti, id := range [][16]byte{{1}, {2}} {
			rt := kmsg.NewAlterPartitionRequestTopic()
			rt.TopicID = id
			for p := range int32(ti + 1) {
				rp := kmsg.NewAlterPartitionRequestTopicPartition()
				rp.Partition, rp.LeaderEpoch, rp.PartitionEpoch = p, 7, 9
				rp.NewISR = []int32{4, 5}
				for _, m := range []int32{4, 5} {
					e := kmsg.NewAlterPartitionRequestTopicPartitionNewEpochISR()
					e.BrokerID, e.BrokerEpoch = m, int64(m*10)
					rp.NewEpochISR = append(rp.NewEpochISR, e)
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			r.Topics = append(r.Topics, rt)
		}
		return r
	}
	for _, v := range []int16{2, 3} {
		l := &isrLifecycle{}
		env := &Env{Logger: slog.New(slog.DiscardHandler), Lifecycle: l}
		resp := alterPartition(t, env, req(v))
		if l.from != 4 || l.epoch != 40 || len(l.got) != 3 {
			t.Fatalf("v%d: asked from %d epoch %d: %+v", v, l.from, l.epoch, l.got)
		}
		want := []metadata.ISRMember{{ID: 4, BrokerEpoch: -1}, {ID: 5, BrokerEpoch: -1}}
		if v == 3 {
			want = []metadata.ISRMember{{ID: 4, BrokerEpoch: 40}, {ID: 5, BrokerEpoch: 50}}
		}
		if l.got[2].TopicID != (metadata.TopicID{2}) || l.got[2].Partition != 1 || !slices.Equal(l.got[2].NewISR, want) ||
			l.got[2].LeaderEpoch != 7 || l.got[2].PartitionEpoch != 9 {
			t.Errorf("v%d: change %+v", v, l.got[2])
		}
		if len(resp.Topics) != 2 || resp.Topics[1].TopidID != ([16]byte{2}) || len(resp.Topics[1].Partitions) != 2 {
			t.Fatalf("v%d: answer %+v", v, resp)
		}
		if p := resp.Topics[1].Partitions[1]; p.Partition != 1 || p.ErrorCode != 0 || p.LeaderID != 4 || p.PartitionEpoch != 10 || !slices.Equal(p.ISR, []int32{4, 5}) {
			t.Errorf("v%d: partition answer %+v", v, p)
		}
	}

	l := &isrLifecycle{partErr: metadata.ErrFencedLeaderEpoch}
	resp := alterPartition(t, &Env{Logger: slog.New(slog.DiscardHandler), Lifecycle: l}, req(3))
	if c := resp.Topics[1].Partitions[0].ErrorCode; c != kerr.FencedLeaderEpoch.Code {
		t.Errorf("partition error code %d", c)
	}
	if resp.Topics[0].Partitions[0].ErrorCode != 0 || resp.Topics[1].Partitions[1].ErrorCode != 0 {
		t.Errorf("a partition error spread: %+v", resp.Topics)
	}
	l = &isrLifecycle{err: metadata.ErrStaleBrokerEpoch}
	if resp := alterPartition(t, &Env{Logger: slog.New(slog.DiscardHandler), Lifecycle: l}, req(3)); resp.ErrorCode != kerr.StaleBrokerEpoch.Code {
		t.Errorf("request error code %d", resp.ErrorCode)
	}
	if resp := alterPartition(t, &Env{Logger: slog.New(slog.DiscardHandler)}, req(3)); resp.ErrorCode != kerr.NotController.Code {
		t.Errorf("without a controller: %d", resp.ErrorCode)
	}
}
