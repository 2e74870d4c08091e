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

// imageMetadata is an Env.Metadata holding one Image.
type imageMetadata struct{ img *metadata.Image }

func (m imageMetadata) Image() *metadata.Image { return m.img }
func (m imageMetadata) Leader() (int32, bool)  { return 1, true }

// v2Lifecycle answers every change like isrLifecycle, UNKNOWN_TOPIC_ID for the zero topic id,
// and records whether it was asked at v2 or newer.
type v2Lifecycle struct {
	isrLifecycle
	v2 bool
}

func (l *v2Lifecycle) AlterPartition(ctx context.Context, brokerID int32, brokerEpoch int64, changes []metadata.ISRChange, v2 bool) ([]metadata.ISRChangeResult, error) {
	l.v2 = v2
	out, err := l.isrLifecycle.AlterPartition(ctx, brokerID, brokerEpoch, changes, v2)
	for i, ch := range changes {
		if ch.TopicID == (metadata.TopicID{}) {
			out[i] = metadata.ISRChangeResult{Err: metadata.ErrUnknownTopicID}
		}
	}
	return out, err
}

// TestAlterPartitionLegacyVersions: v0–1 name topics; a known name reaches the controller as
// its id, an unknown one is UNKNOWN_TOPIC_OR_PARTITION; the answer names the topics; the
// controller is told the request is older than v2 (OPERATION_NOT_ATTEMPTED for ineligible
// replicas).
func TestAlterPartitionLegacyVersions(t *testing.T) {
	id := metadata.TopicID{7}
	img, err := metadata.Empty().Apply(1, []metadata.Record{&metadata.TopicRecord{Name: "known", TopicID: id}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []int16{0, 1} {
		r := kmsg.NewPtrAlterPartitionRequest()
		r.Version, r.BrokerID, r.BrokerEpoch = v, 4, 40
		for _, name := range []string{"known", "gone"} {
			rt := kmsg.NewAlterPartitionRequestTopic()
			rt.Topic = name
			rp := kmsg.NewAlterPartitionRequestTopicPartition()
			rp.Partition, rp.LeaderEpoch, rp.PartitionEpoch, rp.NewISR = 0, 3, 5, []int32{4, 5}
			rt.Partitions = append(rt.Partitions, rp)
			r.Topics = append(r.Topics, rt)
		}
		l := &v2Lifecycle{}
		resp := alterPartition(t, &Env{Logger: slog.New(slog.DiscardHandler), Lifecycle: l, Metadata: imageMetadata{img}}, r)
		if l.v2 || len(l.got) != 2 || l.got[0].TopicID != id || !slices.Equal(l.got[0].NewISR, []metadata.ISRMember{{ID: 4, BrokerEpoch: -1}, {ID: 5, BrokerEpoch: -1}}) {
			t.Fatalf("v%d: controller asked (v2 %v) %+v", v, l.v2, l.got)
		}
		if len(resp.Topics) != 2 || resp.Topics[0].Topic != "known" || resp.Topics[1].Topic != "gone" {
			t.Fatalf("v%d: answer %+v", v, resp.Topics)
		}
		if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.PartitionEpoch != 6 || !slices.Equal(p.ISR, []int32{4, 5}) {
			t.Errorf("v%d: known topic %+v", v, p)
		}
		if p := resp.Topics[1].Partitions[0]; p.ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Errorf("v%d: unknown topic name: error %d, want UNKNOWN_TOPIC_OR_PARTITION", v, p.ErrorCode)
		}
	}
}
