package api_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
	"github.com/sluicehq/sluice/internal/server"
	"github.com/sluicehq/sluice/internal/share"
	"github.com/sluicehq/sluice/internal/storage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testBroker is one in-process node: real storage in a temp dir, real
// partitions, the real server on loopback, and metadata Images built with
// metadata's own Apply. It stands in for internal/broker until that
// composition root exists.
type testBroker struct {
	t      testing.TB
	nodeID int32
	addr   string
	dir    string
	store  *storage.Manager
	parts  *partition.Manager
	env    *api.Env

	mu  sync.Mutex // serializes apply
	img atomic.Pointer[metadata.Image]
}

// Image and Leader make testBroker the api.Metadata of its Env.
func (b *testBroker) Image() *metadata.Image { return b.img.Load() }
func (b *testBroker) Leader() (int32, bool)  { return b.nodeID, true }

// LeaderImage and Propose make testBroker the metadata.Log of a real
// metadata.Controller: a one-node log that commits at once.
func (b *testBroker) LeaderImage(context.Context) (*metadata.Image, error) { return b.img.Load(), nil }
func (b *testBroker) Propose(_ context.Context, records []metadata.Record) (*metadata.Image, error) {
	return b.applyRecords(records)
}

func startBroker(t testing.TB) *testBroker {
	t.Helper()
	return startBrokerWith(t, nil)
}

// startBrokerWith is startBroker with storage options changed by mod (nil: none).
func startBrokerWith(t testing.TB, mod func(*storage.Options)) *testBroker {
	t.Helper()
	b := &testBroker{t: t, nodeID: 1, dir: t.TempDir()}
	opts := storage.Options{Dir: b.dir}
	if mod != nil {
		mod(&opts)
	}
	store, err := storage.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	b.store = store
	b.parts = partition.NewManager(partition.ManagerOptions{NodeID: b.nodeID, Storage: store})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = ln.Addr().String()
	host, portStr, _ := net.SplitHostPort(b.addr)
	port, _ := strconv.Atoi(portStr)
	b.img.Store(metadata.Empty())
	b.apply(append(metadata.BootstrapRecords("test-cluster-id-000001"), &metadata.RegisterBrokerRecord{
		BrokerID: b.nodeID, Epoch: 1,
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: host, Port: int32(port)}},
	}))
	static := map[string]string{}
	config.SingleNodeDefaults(static) // one node, as the broker sets up a one-voter start
	b.env = &api.Env{
		NodeID:        b.nodeID,
		StaticConfig:  static,
		Logger:        slog.New(slog.DiscardHandler),
		Metadata:      b,
		Controller:    metadata.NewController(b, metadata.ControllerOptions{NodeID: b.nodeID}),
		Partitions:    b.parts,
		FetchSessions: api.NewFetchSessions(api.DefaultFetchSessionSlots),
		LogDir:        b.dir,
		// Share groups: the share-partition leader over an in-memory persister (no lock-timeout
		// goroutine: tests that time locks out call ExpireNow).
		Shares:        share.NewManager(share.ManagerOptions{Persister: share.NewMemoryPersister()}),
		ShareSessions: api.NewShareSessions(api.DefaultMaxShareSessions),
	}
	serve(t, b.env, ln, func() {
		if err := store.Close(); err != nil {
			t.Errorf("close storage: %v", err)
		}
	})
	return b
}

// serve runs the real server for env on ln until the test ends; then it
// shuts the server down and calls after (closing what the Env uses).
func serve(t testing.TB, env *api.Env, ln net.Listener, after func()) {
	t.Helper()
	srv, err := server.New(server.Config{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		after()
	})
}

// serveAsNode serves env on a second loopback listener and registers that
// listener as the node's endpoint, so Metadata and FindCoordinator send
// clients there: how the group and transaction fixtures add a coordinator
// to the Env. after runs once the server has stopped.
func (b *testBroker) serveAsNode(env *api.Env, after func()) string {
	b.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.t.Fatal(err)
	}
	serve(b.t, env, ln, after)
	addr := ln.Addr().String()
	host, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	b.apply([]metadata.Record{&metadata.RegisterBrokerRecord{BrokerID: b.nodeID, Epoch: 2,
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: host, Port: int32(port)}}}})
	return addr
}

// apply commits records to the next Image and applies it to the
// partitions, as the broker does for each Image the quorum publishes.
func (b *testBroker) apply(records []metadata.Record) *metadata.Image {
	b.t.Helper()
	img, err := b.applyRecords(records)
	if err != nil {
		b.t.Fatal(err)
	}
	return img
}

func (b *testBroker) applyRecords(records []metadata.Record) (*metadata.Image, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	prev := b.img.Load()
	next, err := prev.Apply(prev.Offset()+1, records)
	if err != nil {
		return nil, fmt.Errorf("apply metadata: %w", err)
	}
	b.img.Store(next)
	err = b.parts.Apply(next, metadata.DiffTopics(prev, next), func(t *metadata.Topic) (storage.LogConfig, partition.Config) {
		return partition.ConfigsFromResolved(config.ResolveTopic(config.Layers{Topic: t.Configs}))
	})
	if err != nil {
		return nil, fmt.Errorf("apply to partitions: %w", err)
	}
	return next, nil
}

// createTopic creates a topic led by this node, with configs as overrides.
func (b *testBroker) createTopic(name string, partitions int, configs map[string]string) metadata.TopicID {
	b.t.Helper()
	id, err := metadata.NewTopicID(nil)
	if err != nil {
		b.t.Fatal(err)
	}
	recs := []metadata.Record{&metadata.TopicRecord{Name: name, TopicID: id}}
	for i := range partitions {
		recs = append(recs, &metadata.PartitionRecord{TopicID: id, Partition: int32(i),
			Replicas: []int32{b.nodeID}, ISR: []int32{b.nodeID}, Leader: b.nodeID})
	}
	for k, v := range configs {
		recs = append(recs, &metadata.ConfigRecord{ResourceType: metadata.ConfigResourceTopic, ResourceName: name, Name: k, Value: v})
	}
	b.apply(recs)
	return id
}

// client returns a franz-go client for the broker, closed at test end.
func (b *testBroker) client(opts ...kgo.Opt) *kgo.Client {
	b.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.addr), kgo.DisableIdempotentWrite()}, opts...)...)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(cl.Close)
	return cl
}

// rawConn speaks the protocol at exact versions: it writes kmsg requests
// and decodes responses, one at a time.
type rawConn struct {
	t    testing.TB
	nc   net.Conn
	br   *bufio.Reader
	corr int32
}

func (b *testBroker) dial() *rawConn {
	b.t.Helper()
	nc, err := net.Dial("tcp", b.addr)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { nc.Close() })
	return &rawConn{t: b.t, nc: nc, br: bufio.NewReader(nc)}
}

// send writes req at its set version and returns the decoded response.
func (c *rawConn) send(req kmsg.Request) kmsg.Response {
	c.t.Helper()
	c.corr++
	if _, err := c.nc.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, c.corr)); err != nil {
		c.t.Fatal(err)
	}
	frame, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != c.corr {
		c.t.Fatalf("correlation id %d, want %d", got, c.corr)
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	body := frame[4:]
	if resp.IsFlexible() && req.Key() != 18 {
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		c.t.Fatalf("decode %s v%d response: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp
}

func (c *rawConn) readFrame() ([]byte, error) {
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(c.br, size[:]); err != nil {
		return nil, err
	}
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(c.br, frame)
	return frame, err
}
