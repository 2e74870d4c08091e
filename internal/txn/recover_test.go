package txn

import (
	"context"
	"sync"
	"testing"
	"time"
)

// panickingMarkers panics on the first marker, as a bug reached by a client's transaction would.
type panickingMarkers struct {
	once sync.Once
	markerLog
}

func (p *panickingMarkers) WriteTxnMarker(ctx context.Context, topic string, partition int32, m Marker) error {
	p.once.Do(func() { panic("injected") })
	return p.markerLog.WriteTxnMarker(ctx, topic, partition, m)
}

// TestMarkerWriterPanicIsRecovered: a panic in a marker writer is logged and counted, the
// transaction is released (not left pending forever), and the process and coordinator go on.
func TestMarkerWriterPanicIsRecovered(t *testing.T) {
	f := &fixture{log: &memStateLog{}, markers: &markerLog{}, clock: &clock{now: time.UnixMilli(1_700_000_000_000)}, ids: &blockLog{}}
	counted := make(chan string, 4)
	markers := &panickingMarkers{}
	c := New(Config{ProducerIDs: NewProducerIDs(f.ids, 1, 10), Log: f.log, Markers: markers,
		NumPartitions: 5, OffsetsNumPartitions: 5, Now: f.clock.Now, CleanupInterval: time.Hour,
		IDExpiration: 24 * time.Hour, MaxTimeout: time.Minute, PanicRecovered: func(where string) { counted <- where }})
	c.Start()
	defer c.Close()
	ctx := context.Background()
	p := initTxn(t, c, "a")
	if err := c.AddPartitions(ctx, "a", p.ProducerID, p.ProducerEpoch, TopicPartitions{"t": {0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EndTxn(ctx, EndRequest{TransactionalID: "a", ProducerID: p.ProducerID, ProducerEpoch: p.ProducerEpoch, Commit: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case where := <-counted:
		if where != "txn.markers" {
			t.Fatalf("counted %q, want txn.markers", where)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("panic never recovered")
	}
	waitState(t, c, "a", PrepareCommit) // released, still prepared: the next start writes its markers
	if len(markers.markers()) != 0 {
		t.Fatalf("markers written despite the panic: %+v", markers.markers())
	}
	// The coordinator still serves other transactional ids.
	initTxn(t, c, "b")
}
