package broker

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
)

// TestTwoListeners: a broker with a PLAINTEXT and an INTERNAL listener answers Metadata,
// DescribeCluster and FindCoordinator on each with that listener's own address, and registers
// both (name, address, security protocol) with the controller.
func TestTwoListeners(t *testing.T) {
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), ControllerAddr: freeAddr(t), Overrides: map[string]string{
		"listeners":                      "PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
		"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
	}}
	nodes := startNodes(t, []Config{cfg}, closeTogether)
	b := nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range []string{"PLAINTEXT", "INTERNAL"} {
		addr, ok := b.ListenerAddr(name)
		if !ok {
			t.Fatalf("no %s listener", name)
		}
		cl := mustClient(t, addr)
		meta, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if len(meta.Brokers) != 1 || hostPort(meta.Brokers[0].Host, meta.Brokers[0].Port) != addr {
			t.Errorf("Metadata on %s: brokers %+v, want %s", name, meta.Brokers, addr)
		}
		dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if len(dc.Brokers) != 1 || hostPort(dc.Brokers[0].Host, dc.Brokers[0].Port) != addr {
			t.Errorf("DescribeCluster on %s: brokers %+v, want %s", name, dc.Brokers, addr)
		}
		fc := kmsg.NewPtrFindCoordinatorRequest()
		fc.CoordinatorKeys = []string{"g"}
		waitUntil(t, "a coordinator", 20*time.Second, func() bool {
			resp, err := fc.RequestWith(ctx, cl)
			if err != nil || len(resp.Coordinators) != 1 || resp.Coordinators[0].ErrorCode != 0 {
				return false
			}
			if c := resp.Coordinators[0]; hostPort(c.Host, c.Port) != addr {
				t.Fatalf("FindCoordinator on %s: %s, want %s", name, hostPort(c.Host, c.Port), addr)
			}
			return true
		})
	}
	reg, ok := b.quorum.Image().Broker(1)
	if !ok || len(reg.Endpoints) != 2 || reg.Endpoints[1].Listener != "INTERNAL" || reg.Endpoints[1].SecurityProtocol != 0 {
		t.Fatalf("registration %+v", reg)
	}
}

func hostPort(host string, port int32) string { return net.JoinHostPort(host, strconv.Itoa(int(port))) }

// TestListenerConfigErrors: bad listener configs stop the start with a message naming them.
func TestListenerConfigErrors(t *testing.T) {
	for _, overrides := range []map[string]string{
		{"listeners": "PLAINTEXT://127.0.0.1:0,EXTERNAL://127.0.0.1:0"},
		{"listeners": "SSL://127.0.0.1:0"},
		{"listeners": "PLAINTEXT://127.0.0.1:0", "inter.broker.listener.name": "REPL"},
	} {
		_, err := Start(context.Background(), Config{NodeID: 1, DataDir: t.TempDir(), ControllerAddr: freeAddr(t), Overrides: overrides})
		if err == nil {
			t.Fatalf("%v: started", overrides)
		}
		t.Logf("%v: %v", overrides, err)
	}
}

// TestInterBrokerListener: three brokers with a CLIENT and a REPL listener and
// inter.broker.listener.name=REPL replicate an RF 3 topic, and the followers fetch over REPL:
// each REPL listener is advertised as a counting proxy in front of it, and the proxies carry
// the replication traffic.
func TestInterBrokerListener(t *testing.T) {
	if testing.Short() {
		t.Skip("three nodes")
	}
	ctl := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	peers := make([]string, len(ctl))
	for i, a := range ctl {
		peers[i] = fmt.Sprintf("%d@%s", i+1, a)
	}
	cfgs := make([]Config, 3)
	proxies := make([]*countingProxy, 3)
	for i := range cfgs {
		repl := freeAddr(t)
		proxies[i] = startCountingProxy(t, repl)
		cfgs[i] = Config{NodeID: int32(i + 1), DataDir: t.TempDir(), ControllerAddr: ctl[i], Peers: peers, Overrides: map[string]string{
			"listeners":                      "CLIENT://127.0.0.1:0,REPL://" + repl,
			"advertised.listeners":           "REPL://" + proxies[i].addr(),
			"listener.security.protocol.map": "CLIENT:PLAINTEXT,REPL:PLAINTEXT,CONTROLLER:PLAINTEXT",
			"inter.broker.listener.name":     "REPL",
		}}
	}
	nodes := startNodes(t, cfgs, closeTogether)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	replicateThirty(ctx, t, nodes, "repl", nodes[1])
	for i, p := range proxies {
		if p.conns.Load() == 0 {
			t.Errorf("node %d's REPL listener (through its proxy) saw no connection", i+1)
		}
	}
}

// countingProxy forwards TCP connections to a target and counts them.
type countingProxy struct {
	ln    net.Listener
	conns atomic.Int64
	wg    sync.WaitGroup
}

func startCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	var mu sync.Mutex
	var open []net.Conn
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.conns.Add(1)
			mu.Lock()
			open = append(open, c, up)
			mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); io.Copy(up, c); up.Close() }()
			go func() { defer p.wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *countingProxy) addr() string { return p.ln.Addr().String() }

// TestAdvertisedFor: what a listener is registered as when advertised.listeners leaves parts
// unset: the bound port for port 0, the host name for an empty or unspecified host, and the
// bound address itself for the --kafka-addr listener without --advertised-addr.
func TestAdvertisedFor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	hostname, _ := os.Hostname()
	tests := []struct {
		name   string
		adv    config.Listener
		legacy bool
		want   string
	}{
		{name: "port 0 gets the bound port", adv: config.Listener{Name: "A", Host: "kafka.example", Port: 0}, want: net.JoinHostPort("kafka.example", strconv.Itoa(port))},
		{name: "explicit kept", adv: config.Listener{Name: "A", Host: "kafka.example", Port: 19092}, want: "kafka.example:19092"},
		{name: "empty host is the host name", adv: config.Listener{Name: "A", Port: 19092}, want: net.JoinHostPort(hostname, "19092")},
		{name: "unspecified host is the host name", adv: config.Listener{Name: "A", Host: "0.0.0.0", Port: 19092}, want: net.JoinHostPort(hostname, "19092")},
		{name: "legacy is the bound address", adv: config.Listener{Name: "PLAINTEXT", Host: "localhost", Port: 0}, legacy: true, want: ln.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := advertisedFor(tt.adv, ln, tt.legacy).Addr(); got != tt.want {
				t.Fatalf("advertised %s, want %s", got, tt.want)
			}
		})
	}
}

// replicateThirty creates topic (3 partitions, replication factor 3) through nodes[0],
// produces 30 records with acks=all through via, and waits until every replica of every
// partition has them (the high watermarks of all nine replicas sum to 90).
func replicateThirty(ctx context.Context, t *testing.T, nodes []*Broker, topic string, via *Broker) {
	t.Helper()
	cl := mustClient(t, nodes[0].KafkaAddr())
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 3, nil, topic); err != nil {
		t.Fatal(err)
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(via.KafkaAddr()), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for i := range 30 {
		if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "every replica at offset 30", 30*time.Second, func() bool {
		total := int64(0)
		for _, n := range nodes {
			for p := range int32(3) {
				if part, ok := n.Partitions().Partition(topic, p); ok {
					total += part.HighWatermark()
				}
			}
		}
		return total == 90
	})
}
