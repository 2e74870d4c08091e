package quorum

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
)

// ErrClosed: the quorum was closed.
var ErrClosed = errors.New("quorum: closed")

// Election timeouts used when Options.ElectionTimeout is zero.
//
// hashicorp/raft has no shortcut for a one-voter configuration: a node always starts as a
// follower and stands for election only after a heartbeat timeout, randomized in [T, 2T),
// passes without word from a leader; with one voter the pre-vote and the vote are then its own
// and it leads at once. So the time a single node takes to lead is the heartbeat timeout. With
// other voters the timeout must outlast scheduling and GC pauses on a busy machine, or
// followers would depose a healthy leader; with no other voter there is nobody to wait for.
const (
	DefaultElectionTimeout     = 150 * time.Millisecond
	SingleVoterElectionTimeout = 10 * time.Millisecond
)

// Options configure Open.
type Options struct {
	NodeID int32
	// Dir holds the Raft log and stable store (raft.db) and the snapshots (snapshots/);
	// normally <data-dir>/__cluster_metadata.
	Dir string
	// ControllerAddr is the host:port this node's quorum listens on and other voters dial.
	ControllerAddr string
	// Listener, if set, is used instead of listening on ControllerAddr (tests pass listeners
	// on port 0 so that no port is guessed); ControllerAddr is then what peers are told.
	Listener net.Listener
	// Peers are the voters as "id@host:port" (controller.quorum.voters). This node may be among
	// them; if absent it is added. No peers: a one-voter quorum of this node.
	Peers []string
	// ElectionTimeout is how long a follower waits for the leader before calling an election
	// (Raft's heartbeat timeout); the first election of a node waits between one and two of it.
	// Zero: DefaultElectionTimeout, or SingleVoterElectionTimeout when this node is the only
	// voter (no peers, and no other voter in its log's configuration). hashicorp/raft fixes the
	// leader lease at start, so a node running with the short timeout cannot gain voters
	// (AddVoter refuses) until it restarts with an explicit timeout.
	ElectionTimeout time.Duration
	// SnapshotThreshold is the number of log entries between snapshots (0: 4096).
	SnapshotThreshold uint64
	// TrailingLogs is the number of entries kept in the log after a snapshot, so that a
	// slightly lagging follower catches up without a snapshot (0: Raft's default, 10240).
	TrailingLogs uint64
	// Observer: this node follows the metadata log without voting (process.roles=broker). It
	// never bootstraps; it asks the leader (found through Peers) to add it as a non-voter and
	// keeps asking while it is in no configuration. Peers must name the voters.
	Observer bool
	// MetaDir is the data directory whose meta.properties names this node, its cluster and its
	// directory id. Empty: the parent of Dir (Dir is normally <data-dir>/__cluster_metadata).
	MetaDir string
	// Bootstrap are records the first leader of a new cluster commits with the cluster id
	// (the credentials of sluice serve --add-scram, as kafka-storage format writes them). A
	// leader of an existing cluster ignores them.
	Bootstrap []metadata.Record
	// TLS, if set, makes the controller address TLS (the controller listener is SSL or
	// SASL_SSL; tls.go).
	TLS    *TLS
	Logger *slog.Logger
}

// Quorum is this node's member of the metadata quorum: the Raft log, the FSM that turns
// committed record batches into metadata Images, and the latest Image.
//
// Concurrency: Image, Leader, Propose, LeaderImage and WaitReady are safe from any goroutine.
// The FSM (apply, restore, snapshot) runs on Raft's single FSM goroutine, which is also where
// subscribers are called; pub.mu orders those calls with Subscribe's initial call.
type Quorum struct {
	opts      Options
	logger    *slog.Logger
	raft      *raft.Raft
	transport *raft.NetworkTransport
	stream    *streamLayer
	store     *raftboltdb.BoltStore

	// localID is this node's Raft ServerID (identity.go); fixed for the life of its Raft state.
	localID raft.ServerID
	metaDir string
	// started is closed once start has returned (raft is set, or start failed).
	started chan struct{}
	// shortTimeouts: Raft runs with SingleVoterElectionTimeout, whose leader lease (half of
	// it) is too short for a leader that needs other voters' acknowledgements; AddVoter refuses.
	shortTimeouts bool
	// forming is true while a new cluster's nodes exchange directory ids (form).
	forming atomic.Bool
	// peersChecked: a peer has confirmed this node's cluster id (or there are no peers); the
	// node is not ready to serve before, so that a data directory of another cluster never
	// serves as if it belonged to the peers' cluster.
	peersChecked atomic.Bool

	meta struct {
		sync.Mutex
		mp MetaProperties
	}
	// failed is closed when this node found it belongs to another cluster; failErr says why.
	failed   chan struct{}
	failOnce sync.Once
	failErr  error

	// change admits one voter change at a time (AddVoter, RemoveVoter).
	change sync.Mutex
	// replicas remembers, on the leader, when each member last answered a poll and was last
	// caught up (DescribeQuorum's timestamps).
	replicas struct {
		sync.Mutex
		m map[raft.ServerID]replicaTimes
	}

	image atomic.Pointer[metadata.Image]
	// readyTerm is the Raft term in which this node, as leader, finished catching up (and
	// bootstrapping); 0 when not ready. Leader operations are allowed only when it equals the
	// current term.
	readyTerm atomic.Uint64
	// bootstrapIgnored: the "bootstrap records ignored" line was logged (once per process).
	bootstrapIgnored atomic.Bool

	pub struct {
		sync.Mutex
		subs map[int]func(prev, next *metadata.Image)
		next int
	}

	// ctx is canceled by Close: it bounds this node's own hello exchanges.
	ctx    context.Context
	cancel context.CancelFunc

	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
}

// voter is one member of the Raft configuration.
type voter struct {
	id   int32
	addr string
}

// Open starts this node's quorum member, bootstrapping a new cluster configuration when Dir
// holds no Raft state. It returns once Raft runs; use WaitReady to wait for a leader.
func Open(opts Options) (*Quorum, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SnapshotThreshold == 0 {
		opts.SnapshotThreshold = 4096
	}
	if opts.NodeID < 0 {
		return nil, fmt.Errorf("quorum: node id %d is negative", opts.NodeID)
	}
	voters, err := parseVoters(opts)
	if err != nil {
		return nil, err
	}
	if opts.Observer && len(voters) < 2 {
		return nil, errors.New("quorum: an observer needs the voters (controller.quorum.voters) to find the leader")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("quorum: create %s: %w", opts.Dir, err)
	}
	q := &Quorum{opts: opts, logger: opts.Logger.With("component", "quorum"), closing: make(chan struct{}),
		started: make(chan struct{}), failed: make(chan struct{}), metaDir: opts.MetaDir}
	if q.metaDir == "" {
		q.metaDir = filepath.Dir(opts.Dir)
	}
	q.image.Store(metadata.Empty())
	q.pub.subs = map[int]func(prev, next *metadata.Image){}
	q.replicas.m = map[raft.ServerID]replicaTimes{}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	existing, err := q.start(voters)
	if err == nil {
		err = q.failure() // restoring the snapshot found another cluster's id
	}
	if err != nil {
		q.cancel()
		if q.raft != nil {
			q.raft.Shutdown().Error()
		}
		q.closeResources()
		return nil, err
	}
	q.wg.Add(1)
	go q.watchLeadership()
	q.peersChecked.Store(len(voters) == 1)
	if len(voters) > 1 {
		if !existing && !opts.Observer {
			q.forming.Store(true)
			q.wg.Add(1)
			go q.form(voters)
		}
		q.wg.Add(1)
		go q.follow(voters)
	}
	return q, nil
}

// start opens the Raft state and transport and starts Raft; existing reports whether Dir held
// Raft state already.
func (q *Quorum) start(voters []voter) (existing bool, err error) {
	defer close(q.started)
	opts := q.opts
	hlog := newHCLog(q.logger)
	mp, found, err := ReadMetaProperties(q.metaDir)
	if err != nil {
		return false, fmt.Errorf("quorum: %w", err)
	}
	if found && mp.NodeID != opts.NodeID {
		return false, fmt.Errorf("quorum: the data directory %s belongs to node %d (its %s), not to node %d: start node %d with it, or give node %d an empty directory",
			q.metaDir, mp.NodeID, MetaPropertiesFile, opts.NodeID, mp.NodeID, opts.NodeID)
	}
	mp.NodeID = opts.NodeID
	store, err := raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(opts.Dir, "raft.db"),
		BoltOptions: &bbolt.Options{Timeout: time.Second, NoFreelistSync: true},
	})
	if err != nil {
		return false, fmt.Errorf("quorum: open %s (is another sluice using this data directory?): %w", filepath.Join(opts.Dir, "raft.db"), err)
	}
	q.store = store
	snapshots, err := raft.NewFileSnapshotStoreWithLogger(opts.Dir, 2, hlog)
	if err != nil {
		return false, fmt.Errorf("quorum: snapshot store: %w", err)
	}
	logs, err := raft.NewLogCache(512, store)
	if err != nil {
		return false, fmt.Errorf("quorum: log cache: %w", err)
	}
	existing, err = raft.HasExistingState(logs, store, snapshots)
	if err != nil {
		return false, fmt.Errorf("quorum: read raft state in %s: %w", opts.Dir, err)
	}

	if err := q.identify(store, existing, mp); err != nil {
		return false, err
	}
	_, localDir, _ := parseServerID(q.localID)

	ln := opts.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", opts.ControllerAddr); err != nil {
			return false, fmt.Errorf("quorum: listen on controller address %s: %w", opts.ControllerAddr, err)
		}
	}
	resolved, err := net.ResolveTCPAddr("tcp", opts.ControllerAddr)
	if err != nil || resolved.IP == nil || resolved.IP.IsUnspecified() {
		ln.Close()
		return false, fmt.Errorf("quorum: controller address %q must name a host other voters can reach", opts.ControllerAddr)
	}
	advertise := raftAddr(serverAddress(opts.ControllerAddr, localDir))
	q.stream = newStreamLayer(ln, advertise, localDir, q.serveHello, opts.TLS, q.logger)
	q.transport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: q.stream, MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog,
	})

	if opts.ElectionTimeout == 0 {
		opts.ElectionTimeout = q.defaultElectionTimeout(voters, existing, store, snapshots)
		q.opts.ElectionTimeout = opts.ElectionTimeout
	}
	cfg := raft.DefaultConfig()
	cfg.LocalID = q.localID
	// A removed voter keeps running and follows the log as an observer (follow), as in KIP-853.
	cfg.ShutdownOnRemove = false
	cfg.HeartbeatTimeout = opts.ElectionTimeout
	cfg.ElectionTimeout = opts.ElectionTimeout
	cfg.LeaderLeaseTimeout = opts.ElectionTimeout / 2
	cfg.CommitTimeout = 10 * time.Millisecond
	cfg.SnapshotThreshold = opts.SnapshotThreshold
	if opts.TrailingLogs > 0 {
		cfg.TrailingLogs = opts.TrailingLogs
	}
	cfg.Logger = hlog

	if !existing && len(voters) == 1 {
		// A one-voter cluster: nobody to ask, bootstrap at once. With other voters, form
		// bootstraps once it has learnt their directory ids.
		servers := []raft.Server{{Suffrage: raft.Voter, ID: q.localID, Address: serverAddress(opts.ControllerAddr, localDir)}}
		if err := raft.BootstrapCluster(cfg, logs, store, snapshots, q.transport, raft.Configuration{Servers: servers}); err != nil {
			return false, fmt.Errorf("quorum: bootstrap: %w", err)
		}
		q.logger.Info("bootstrapped metadata quorum", "voters", 1, "directory_id", localDir.String())
	}
	r, err := raft.NewRaft(cfg, (*fsm)(q), logs, store, snapshots, q.transport)
	if err != nil {
		return false, fmt.Errorf("quorum: start raft: %w", err)
	}
	q.raft = r
	return existing, nil
}

// defaultElectionTimeout is the election timeout when none is configured: the short one only
// for a quorum that is one voter as far as this node knows (a new one without peers, or a log
// whose configuration has one voter), which sets shortTimeouts.
func (q *Quorum) defaultElectionTimeout(voters []voter, existing bool, logs raft.LogStore, snaps raft.SnapshotStore) time.Duration {
	single := len(voters) == 1 && !q.opts.Observer
	if single && existing {
		n, err := configuredVoters(logs, snaps)
		single = err == nil && n == 1
	}
	if !single {
		return DefaultElectionTimeout
	}
	q.shortTimeouts = true
	return SingleVoterElectionTimeout
}

// configuredVoters counts the voters of the latest configuration in the log or, if the log
// has none after the latest snapshot, in that snapshot. The log is read backwards from its end,
// so a configuration near the end is found at once.
func configuredVoters(logs raft.LogStore, snaps raft.SnapshotStore) (n int, err error) {
	defer func() {
		// hashicorp's DecodeConfiguration panics on bytes it cannot decode: a damaged log
		// must not take the process down here (Raft reports it when it replays).
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("quorum: undecodable configuration in the metadata log: %v", r)
		}
	}()
	var cfg raft.Configuration
	var from uint64
	metas, err := snaps.List()
	if err != nil {
		return 0, err
	}
	if len(metas) > 0 {
		cfg, from = metas[0].Configuration, metas[0].Index+1
	}
	first, err := logs.FirstIndex()
	if err != nil {
		return 0, err
	}
	last, err := logs.LastIndex()
	if err != nil {
		return 0, err
	}
	from = max(from, first, 1)
	for i := last; i >= from && i > 0; i-- {
		var l raft.Log
		if err := logs.GetLog(i, &l); err != nil {
			continue
		}
		if l.Type == raft.LogConfiguration {
			cfg = raft.DecodeConfiguration(l.Data)
			break
		}
	}
	for _, s := range cfg.Servers {
		if s.Suffrage == raft.Voter {
			n++
		}
	}
	return n, nil
}

// raftAddr is this node's advertised Raft address: exactly the ServerAddress the configuration
// names it by, so that addresses hashicorp compares (leader, candidate) match.
type raftAddr raft.ServerAddress

func (raftAddr) Network() string  { return "tcp" }
func (a raftAddr) String() string { return string(a) }

// fail records that this node must not serve (it belongs to another cluster), stops Raft and
// makes WaitReady, Propose and LeaderImage return err.
func (q *Quorum) fail(err error) {
	q.failOnce.Do(func() {
		q.failErr = err
		close(q.failed)
		q.logger.Error("refusing to serve the metadata quorum", "err", err)
		go func() {
			<-q.started // fail may run while NewRaft restores a snapshot
			if q.raft != nil {
				q.raft.Shutdown()
			}
		}()
	})
}

func (q *Quorum) failure() error {
	select {
	case <-q.failed:
		return q.failErr
	default:
		return nil
	}
}

// clusterID is the cluster's id: from the metadata log, else from meta.properties.
func (q *Quorum) clusterID() string {
	if id := q.Image().ClusterID(); id != "" {
		return id
	}
	q.meta.Lock()
	defer q.meta.Unlock()
	return q.meta.mp.ClusterID
}

// checkClusterID compares the cluster id the metadata log names with meta.properties: it
// records a new one, and refuses a different one. Called on the FSM goroutine.
func (q *Quorum) checkClusterID(img *metadata.Image) {
	id := img.ClusterID()
	if id == "" {
		return
	}
	q.meta.Lock()
	defer q.meta.Unlock()
	switch q.meta.mp.ClusterID {
	case id:
	case "":
		q.meta.mp.ClusterID = id
		if err := writeMetaProperties(q.metaDir, q.meta.mp); err != nil {
			q.logger.Error("recording the cluster id", "err", err)
		}
	default:
		q.fail(clusterMismatch(q.metaDir, q.meta.mp.ClusterID, id))
	}
}

func clusterMismatch(dir, have, other string) error {
	return fmt.Errorf("quorum: the data directory %s belongs to cluster %s (its %s), but this node's quorum is cluster %s: "+
		"give the node an empty data directory to join cluster %s", dir, have, MetaPropertiesFile, other, other)
}

// Directory returns this node's directory id as meta.properties records it, and the ServerID it
// has in the Raft configuration.
func (q *Quorum) Directory() DirectoryID {
	q.meta.Lock()
	defer q.meta.Unlock()
	return q.meta.mp.DirectoryID
}

// hasState reports whether this node holds Raft state: it bootstrapped, or a leader has
// replicated to it.
func (q *Quorum) hasState() bool { return q.raft.LastIndex() > 0 }

// parseVoters returns the voters: the peers plus this node.
func parseVoters(opts Options) ([]voter, error) {
	self := voter{id: opts.NodeID, addr: opts.ControllerAddr}
	voters := []voter{self}
	for _, p := range opts.Peers {
		id, addr, err := config.ParseVoter(p)
		if err != nil {
			return nil, fmt.Errorf("quorum: %w", err)
		}
		if id == self.id {
			if addr != self.addr {
				return nil, fmt.Errorf("quorum: peer %s is this node (id %d) but the controller address is %s", p, id, self.addr)
			}
			continue
		}
		for _, v := range voters {
			if v.id == id {
				return nil, fmt.Errorf("quorum: voter id %d listed twice", id)
			}
		}
		voters = append(voters, voter{id: id, addr: addr})
	}
	return voters, nil
}

// Image returns the latest applied Image (never nil; metadata.Empty() before the first).
func (q *Quorum) Image() *metadata.Image { return q.image.Load() }

// Subscribe calls fn(nil, current) at once and then fn(prev, next) for every Image published
// afterwards, in order and without gaps, on the FSM goroutine. fn must not call Propose (that
// would wait for the goroutine fn runs on) and should return quickly: the metadata log does not
// advance while it runs. cancel stops further calls.
func (q *Quorum) Subscribe(fn func(prev, next *metadata.Image)) (cancel func()) {
	q.pub.Lock()
	defer q.pub.Unlock()
	fn(nil, q.image.Load())
	id := q.pub.next
	q.pub.next++
	q.pub.subs[id] = fn
	return func() {
		q.pub.Lock()
		defer q.pub.Unlock()
		delete(q.pub.subs, id)
	}
}

// publish stores next as the latest Image and calls the subscribers. Called on the FSM
// goroutine only.
func (q *Quorum) publish(next *metadata.Image) {
	q.pub.Lock()
	defer q.pub.Unlock()
	prev := q.image.Swap(next)
	if next.ClusterID() != prev.ClusterID() {
		q.checkClusterID(next)
	}
	for _, fn := range q.pub.subs {
		fn(prev, next)
	}
}

// Leader returns the node id of the current Raft leader, the controller.
func (q *Quorum) Leader() (int32, bool) {
	_, sid := q.raft.LeaderWithID()
	if sid == "" {
		return -1, false
	}
	id, _, ok := parseServerID(sid)
	return id, ok
}

// ControllerListener returns a listener of the Kafka-protocol connections made to this node's
// controller address (the controller APIs: broker registration and heartbeats, forwarded
// requests, quorum membership). Raft's own connections never reach it.
func (q *Quorum) ControllerListener() net.Listener { return q.stream.kafka() }

// LeaderAddr returns the controller address of the current Raft leader.
func (q *Quorum) LeaderAddr() (id int32, addr string, ok bool) {
	a, sid := q.raft.LeaderWithID()
	if sid == "" || a == "" {
		return -1, "", false
	}
	id, _, ok = parseServerID(sid)
	hostport, _, err := splitServerAddress(a)
	if !ok || err != nil {
		return -1, "", false
	}
	return id, hostport, true
}

// NodeID returns this node's id.
func (q *Quorum) NodeID() int32 { return q.opts.NodeID }

// Close stops this quorum member: a leader with other voters first hands leadership over, then
// Raft stops (every committed entry is already durable in raft.db), and the transport and store
// close. A later Open of the same Dir replays the log and finds every committed record.
func (q *Quorum) Close() error {
	q.closeOnce.Do(func() {
		close(q.closing)
		q.cancel()
		if q.raft.State() == raft.Leader && q.numVoters() > 1 {
			if err := q.raft.LeadershipTransfer().Error(); err != nil {
				q.logger.Info("leadership transfer on close failed", "err", err)
			}
		}
		if err := q.raft.Shutdown().Error(); err != nil {
			q.closeErr = fmt.Errorf("quorum: shut down raft: %w", err)
		}
		q.wg.Wait() // after Shutdown, which unblocks a barrier the watcher may wait on
		if err := q.closeResources(); err != nil && q.closeErr == nil {
			q.closeErr = err
		}
	})
	return q.closeErr
}

func (q *Quorum) numVoters() int {
	f := q.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	n := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			n++
		}
	}
	return n
}

func (q *Quorum) closeResources() error {
	var errs []error
	if q.transport != nil {
		q.transport.CloseStreams() // outbound connections; Close handles the inbound ones
		errs = append(errs, q.transport.Close())
	}
	if q.store != nil {
		if err := q.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("quorum: close raft.db: %w", err))
		}
	}
	return errors.Join(errs...)
}
