package tests

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestHistoryCatchesRealViolations shows that the whole chain (franz-go adapters, final read,
// checker) reports violations a real broker and client produce, not only hand-made ones:
// a non-idempotent producer whose Produce responses the proxy resets retries and duplicates
// records; DeleteRecords removes acknowledged records, which the checker then calls lost.
func TestHistoryCatchesRealViolations(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	t.Parallel()
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("duplicates without idempotence", func(t *testing.T) {
		const topic = "canfail-dup"
		n.createTopic(topic, 1, nil)
		p := startFaultNet(t, n.kafkaAddr)
		h := &history{}
		cl, err := kgo.NewClient(kgo.SeedBrokers(n.kafkaAddr), kgo.Dialer(faultDialer(map[string]*faultNet{n.kafkaAddr: p})),
			kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite(),
			kgo.MetadataMinAge(200*time.Millisecond), kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				cl.Produce(ctx, &kgo.Record{Value: []byte(h.Value("p", seq))}, h.recordFranzSend("p"))
				time.Sleep(500 * time.Microsecond)
			}
		}()
		// Five times: reset the connection when a Produce response comes back (the broker has
		// appended; the client retries).
		for range 5 {
			before := p.Resets.Load()
			id := p.Add(resetRule(toClient, 0))
			for p.Resets.Load() == before && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			p.Remove(id)
			time.Sleep(100 * time.Millisecond)
		}
		close(stop)
		<-done
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := h.finalRead(ctx, []string{topic}, kgo.SeedBrokers(n.kafkaAddr)); err != nil {
			t.Fatal(err)
		}
		kinds := violationKinds(h.Check())
		t.Logf("history: %s; proxy: %s; violations %v", h.Counts(), p.Stats(), kinds)
		if kinds["duplicated"] == 0 {
			t.Fatalf("no duplicated record reported after %d resets of Produce responses without idempotence", p.Resets.Load())
		}
		delete(kinds, "duplicated")
		if len(kinds) > 0 {
			t.Fatalf("violations other than duplicates: %v", kinds)
		}
	})

	t.Run("acknowledged records deleted", func(t *testing.T) {
		const topic = "canfail-lost"
		n.createTopic(topic, 1, nil)
		h := &history{}
		cl := n.client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
		for seq := range 100 {
			cl.Produce(ctx, &kgo.Record{Value: []byte(h.Value("p", seq))}, h.recordFranzSend("p"))
		}
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		offsets := kadm.Offsets{}
		offsets.Add(kadm.Offset{Topic: topic, Partition: 0, At: 10})
		resp, err := kadm.NewClient(cl).DeleteRecords(ctx, offsets)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := h.finalRead(ctx, []string{topic}, kgo.SeedBrokers(n.kafkaAddr)); err != nil {
			t.Fatal(err)
		}
		kinds := violationKinds(h.Check())
		if kinds["lost"] != 10 || len(kinds) != 1 {
			t.Fatalf("after deleting 10 acknowledged records: violations %v, want 10 lost", kinds)
		}
	})
}

func violationKinds(vs []violation) map[string]int {
	m := make(map[string]int)
	for _, v := range vs {
		m[v.Kind]++
	}
	return m
}
