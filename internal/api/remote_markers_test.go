package api_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/cluster"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/txn"
)

// TestRemoteTxnMarkers: a transaction coordinator on another node (2) writes the markers of a
// partition node 1 leads by sending WriteTxnMarkers to node 1's real server with the control
// plane's real client: the marker lands in the partition, an older coordinator epoch is refused
// (ErrMarkerRejected), a partition metadata does not know is ErrUnknownPartition (done), one
// without a live leader is an error to retry. Node 1 writes markers it receives only into
// partitions it leads: one it merely follows answers NOT_LEADER_OR_FOLLOWER, never travelling on.
func TestRemoteTxnMarkers(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic("orders", 2, nil)
	local := &txn.PartitionMarkers{Partitions: b.parts, NodeID: 1, Image: b.Image}
	tc := txn.New(txn.Config{Markers: local})
	env := *b.env
	env.Txns = tc
	nodeAddr := b.serveAsNode(&env, tc.Close)
	client := cluster.NewClient(cluster.Options{NodeID: 2})
	t.Cleanup(client.Close)
	local.Remote = client // node 1 could send on, but must not for markers it receives
	remote := &txn.PartitionMarkers{NodeID: 2, Image: b.Image, Remote: client}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p, _ := b.parts.Partition("orders", 0)
	marker := txn.Marker{ProducerID: 7, ProducerEpoch: 0, Commit: true, CoordinatorEpoch: 5}
	if err := remote.WriteTxnMarker(ctx, "orders", 0, marker); err != nil {
		t.Fatal(err)
	}
	if leo := p.Log().LogEndOffset(); leo != 1 {
		t.Fatalf("log end offset %d after the remote marker, want 1", leo)
	}
	stale := marker
	stale.CoordinatorEpoch = 4
	if err := remote.WriteTxnMarker(ctx, "orders", 0, stale); !errors.Is(err, txn.ErrMarkerRejected) {
		t.Fatalf("marker of an older coordinator epoch: %v, want ErrMarkerRejected", err)
	}
	for _, tp := range []struct {
		topic string
		index int32
	}{{"orders", 5}, {"missing", 0}} {
		if err := remote.WriteTxnMarker(ctx, tp.topic, tp.index, marker); !errors.Is(err, txn.ErrUnknownPartition) {
			t.Errorf("marker for %s-%d: %v, want ErrUnknownPartition", tp.topic, tp.index, err)
		}
	}

	// Partition 1 moves to broker 3, never registered: node 2 has nobody to send to, and node 1,
	// now a follower, refuses a marker sent to it.
	b.apply([]metadata.Record{&metadata.PartitionChangeRecord{TopicID: id, Partition: 1, Leader: 3, Replicas: []int32{1, 3}, ISR: []int32{1, 3}}})
	if err := remote.WriteTxnMarker(ctx, "orders", 1, marker); err == nil || errors.Is(err, txn.ErrUnknownPartition) || errors.Is(err, txn.ErrMarkerRejected) {
		t.Fatalf("marker for a partition without a live leader: %v, want an error to retry", err)
	}
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	req.Version = 1
	req.Markers = []kmsg.WriteTxnMarkersRequestMarker{{ProducerID: 7, ProducerEpoch: 0, Committed: true, CoordinatorEpoch: 5,
		Topics: []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "orders", Partitions: []int32{1}}}}}
	resp, err := client.Send(ctx, nodeAddr, req)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.(*kmsg.WriteTxnMarkersResponse).Markers[0].Topics[0].Partitions[0].ErrorCode; code != kerr.NotLeaderForPartition.Code {
		t.Fatalf("marker sent to a follower: %v, want NOT_LEADER_OR_FOLLOWER", kerr.ErrorForCode(code))
	}
}
