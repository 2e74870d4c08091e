package broker

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestStartCloseRestart starts a broker in-process, writes through it, closes it, starts it
// again on the same data directory and reads everything back. goleak (TestMain) then checks
// that Close stopped every goroutine the broker started.
func TestStartCloseRestart(t *testing.T) {
	cfg := Config{
		NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		ControllerAddr: freeAddr(t),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 1, nil, "restart"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "restart", Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	b, err = Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cl, err = kgo.NewClient(kgo.SeedBrokers(b.KafkaAddr()), kgo.ConsumeTopics("restart"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := map[byte]bool{}
	for len(seen) < 30 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of 30 records after the restart", len(seen))
		}
		fetches.EachRecord(func(r *kgo.Record) { seen[r.Value[0]] = true })
	}
}

// TestStartRejectsBadConfig: an unknown or invalid static broker config stops Start with an
// error naming it, and leaves nothing running.
func TestStartRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]string
	}{
		{name: "unknown key", overrides: map[string]string{"no.such.config": "1"}},
		{name: "bad value", overrides: map[string]string{"num.partitions": "many"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(context.Background(), Config{NodeID: 1, DataDir: t.TempDir(), KafkaAddr: "127.0.0.1:0",
				ControllerAddr: freeAddr(t), Overrides: tc.overrides})
			if err == nil {
				t.Fatal("Start accepted a bad broker config")
			}
			for key := range tc.overrides {
				if !strings.Contains(err.Error(), key) {
					t.Fatalf("error %q does not name %s", err, key)
				}
			}
		})
	}
}
