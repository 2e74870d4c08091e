package quorum

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/sluicehq/sluice/internal/metadata"
)

func TestDirectoryIDRoundTrip(t *testing.T) {
	d := NewDirectoryID()
	if d.IsZero() || d.reserved() || len(d.String()) != 22 {
		t.Fatalf("bad directory id %v", d)
	}
	back, err := ParseDirectoryID(d.String())
	if err != nil || back != d {
		t.Fatalf("parse %s: %v %v", d, back, err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("!", 22), d.String() + "A"} {
		if _, err := ParseDirectoryID(bad); err == nil {
			t.Errorf("ParseDirectoryID(%q) accepted", bad)
		}
	}
	for _, c := range []struct {
		id  int32
		dir DirectoryID
	}{{7, d}, {0, DirectoryID{}}} {
		id, dir, ok := parseServerID(serverID(c.id, c.dir))
		if !ok || id != c.id || dir != c.dir {
			t.Errorf("server id round trip of %d/%v: %d %v %v", c.id, c.dir, id, dir, ok)
		}
		hp, dir, err := splitServerAddress(serverAddress("[::1]:9093", c.dir))
		if err != nil || hp != "[::1]:9093" || dir != c.dir {
			t.Errorf("server address round trip: %s %v %v", hp, dir, err)
		}
	}
}

func TestMetaPropertiesParse(t *testing.T) {
	d := NewDirectoryID()
	mp := MetaProperties{ClusterID: "MkU3OEVBNTcwNTJENDM2Qk", NodeID: 3, DirectoryID: d}
	got, err := parseMetaProperties(mp.encode())
	if err != nil || got != mp {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	// Kafka's own file (kafka-storage format) reads the same.
	kafka := "#\n#Thu Nov 05 10:00:00 UTC 2026\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\ndirectory.id=" + d.String() + "\nnode.id=3\nversion=1\n"
	if got, err := parseMetaProperties([]byte(kafka)); err != nil || got != mp {
		t.Fatalf("Kafka's file: %+v %v", got, err)
	}
	for _, bad := range []string{"", "node.id=1\n", "version=0\nnode.id=1\n", "version=1\nnode.id=x\n", "version=1\nnode.id=1\ndirectory.id=zz\n", "version=1\nnonsense\n"} {
		if _, err := parseMetaProperties([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzMetaProperties(f *testing.F) {
	f.Add(MetaProperties{ClusterID: "x", NodeID: 1, DirectoryID: NewDirectoryID()}.encode())
	f.Add([]byte("version=1\nnode.id=2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		mp, err := parseMetaProperties(b)
		if err != nil {
			return
		}
		if mp.NodeID < 0 {
			t.Fatalf("negative node id %d accepted", mp.NodeID)
		}
	})
}

func FuzzHelloFrame(f *testing.F) {
	var b bytes.Buffer
	writeFrame(&b, helloRequest{Op: "observe", NodeID: 1, DirectoryID: NewDirectoryID().String(), Addr: "127.0.0.1:1"})
	f.Add(b.Bytes())
	b.Reset()
	writeFrame(&b, helloResponse{NodeID: 1, Voters: []string{"1:x"}, LastIndex: 9})
	f.Add(b.Bytes())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		var req helloRequest
		readFrame(bytes.NewReader(in), &req)
		var resp helloResponse
		readFrame(bytes.NewReader(in), &resp)
	})
}

func TestIdentity(t *testing.T) {
	dir := t.TempDir()
	q := open(t, nodeSpec{id: 1, dir: dir, addr: "127.0.0.1:0"})
	waitReady(t, q)
	clusterID := q.Image().ClusterID()
	mp, ok, err := ReadMetaProperties(dir)
	if err != nil || !ok || mp.NodeID != 1 || mp.DirectoryID.IsZero() || mp.ClusterID != clusterID || mp.DirectoryID != q.Directory() {
		t.Fatalf("meta.properties after the first start: %+v %v %v (cluster %s)", mp, ok, err, clusterID)
	}
	closeQuorum(t, q)

	// Same node: same directory id, same cluster.
	q = open(t, nodeSpec{id: 1, dir: dir, addr: "127.0.0.1:0"})
	waitReady(t, q)
	if q.Directory() != mp.DirectoryID || q.Image().ClusterID() != clusterID {
		t.Fatalf("restart changed identity: %v %s", q.Directory(), q.Image().ClusterID())
	}
	closeQuorum(t, q)

	// Another node id is refused, naming both ids and the directory.
	ln := listen(t)
	_, err = Open(Options{NodeID: 2, Dir: filepath.Join(dir, "__cluster_metadata"), ControllerAddr: ln.Addr().String(), Listener: ln, Logger: testLogger(t)})
	ln.Close()
	if err == nil || !strings.Contains(err.Error(), "node 1") || !strings.Contains(err.Error(), "node 2") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("open as another node: %v", err)
	}

	// meta.properties naming another cluster than the log: refused, naming both.
	other := mp
	other.ClusterID = "AAAAAAAAAAAAAAAAAAAAAQ"
	if err := writeMetaProperties(dir, other); err != nil {
		t.Fatal(err)
	}
	ln = listen(t)
	q, err = Open(Options{NodeID: 1, Dir: filepath.Join(dir, "__cluster_metadata"), ControllerAddr: ln.Addr().String(), Listener: ln, Logger: testLogger(t)})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = q.WaitReady(ctx)
		cancel()
		closeQuorum(t, q)
	} else {
		ln.Close()
	}
	if err == nil || !strings.Contains(err.Error(), clusterID) || !strings.Contains(err.Error(), other.ClusterID) {
		t.Fatalf("open with another cluster's meta.properties: %v", err)
	}
	if err := writeMetaProperties(dir, mp); err != nil {
		t.Fatal(err)
	}

	// A lost metadata log (meta.properties kept) gets a new directory id but keeps the cluster id.
	if err := os.RemoveAll(filepath.Join(dir, "__cluster_metadata")); err != nil {
		t.Fatal(err)
	}
	q = open(t, nodeSpec{id: 1, dir: dir, addr: "127.0.0.1:0"})
	defer closeQuorum(t, q)
	waitReady(t, q)
	if q.Directory() == mp.DirectoryID || q.Image().ClusterID() != clusterID {
		t.Fatalf("after losing the log: directory %v (was %v), cluster %s (was %s)", q.Directory(), mp.DirectoryID, q.Image().ClusterID(), clusterID)
	}
}

// TestLegacyStateKeepsItsName: Raft state written before directory ids (ServerID "1") is
// upgraded in place: the node keeps its name, leads and serves, and gains a meta.properties.
func TestLegacyStateKeepsItsName(t *testing.T) {
	dir := t.TempDir()
	raftDir := filepath.Join(dir, "__cluster_metadata")
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	if err := os.MkdirAll(raftDir, 0o755); err != nil {
		t.Fatal(err)
	}
	store, err := raftboltdb.NewBoltStore(filepath.Join(raftDir, "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := raft.NewFileSnapshotStore(raftDir, 2, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := raft.DefaultConfig()
	cfg.LocalID = "1"
	_, trans := raft.NewInmemTransport(raft.ServerAddress(addr))
	if err := raft.BootstrapCluster(cfg, store, store, snaps, trans, raft.Configuration{Servers: []raft.Server{{ID: "1", Address: raft.ServerAddress(addr)}}}); err != nil {
		t.Fatal(err)
	}
	trans.Close()
	store.Close()

	q := open(t, nodeSpec{id: 1, dir: dir, addr: addr})
	defer closeQuorum(t, q)
	waitReady(t, q)
	if q.localID != "1" {
		t.Fatalf("legacy node renamed to %s", q.localID)
	}
	st, err := q.Describe(context.Background())
	if err != nil || len(st.Voters) != 1 || st.Voters[0].NodeID != 1 || !st.Voters[0].DirectoryID.IsZero() {
		t.Fatalf("describe: %+v %v", st, err)
	}
	if mp, ok, err := ReadMetaProperties(dir); !ok || err != nil || mp.DirectoryID.IsZero() || mp.ClusterID != q.Image().ClusterID() {
		t.Fatalf("meta.properties: %+v %v %v", mp, ok, err)
	}
}

// TestOtherClusterRefused: a data directory of cluster A started with the voters of cluster B
// refuses to serve, naming both cluster ids and the directory.
func TestOtherClusterRefused(t *testing.T) {
	c := newCluster(t, 3)
	b := c.nodes[c.leader()].Image().ClusterID()

	dirA := t.TempDir()
	qa := open(t, nodeSpec{id: 4, dir: dirA, addr: "127.0.0.1:0"})
	waitReady(t, qa)
	a := qa.Image().ClusterID()
	closeQuorum(t, qa)

	q := open(t, nodeSpec{id: 4, dir: dirA, addr: "127.0.0.1:0", peers: c.specs[0].peers})
	defer closeQuorum(t, q)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := q.WaitReady(ctx)
	if err == nil || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) || !strings.Contains(err.Error(), dirA) {
		t.Fatalf("WaitReady: %v (clusters %s, %s)", err, a, b)
	}
}

func (c *cluster) stop(i int) {
	c.t.Helper()
	closeQuorum(c.t, c.nodes[i])
	c.nodes[i] = nil
}

// waitFor polls cond until it holds, failing after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func describe(t *testing.T, q *Quorum) State {
	t.Helper()
	st, err := q.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func hasReplica(rs []ReplicaState, id int32, dir DirectoryID) bool {
	for _, r := range rs {
		if r.NodeID == id && r.DirectoryID == dir {
			return true
		}
	}
	return false
}

// TestReplacedDisk: node 3 loses its disk and restarts with an empty directory. It gets a new
// directory id, follows as an observer and is not the old voter: with node 2 also down, the
// leader has no majority (the old voter 3 is unreachable, the new node does not count) and
// steps down. An operator then removes the old voter and adds the new one, after which the
// leader and the new node 3 are a majority.
func TestReplacedDisk(t *testing.T) {
	// A steady leader: the test watches node 3 through the leader it found, and a 150 ms
	// election timeout can lose it to scheduling delays under -race on a busy machine (CI saw
	// "no controller is ready yet" from it).
	c := newClusterWith(t, 3, func(o *Options) { o.ElectionTimeout = time.Second })
	ctx := context.Background()
	li := c.leader()
	if li == 2 { // keep node 3 a follower, so that its loss does not move leadership
		c.nodes[li].raft.LeadershipTransferToServer(c.nodes[0].localID, serverAddress(c.specs[0].addr, c.nodes[0].Directory()))
		waitFor(t, "leadership to move", func() bool { return c.nodes[0].ready() })
		li = 0
	}
	leader := c.nodes[li]
	other := 1 - li // the third node, neither the leader nor node 3
	oldDir := c.nodes[2].Directory()
	if _, err := leader.Propose(ctx, nil); err != nil {
		t.Fatal(err)
	}
	c.converge(li)

	c.stop(2)
	if err := os.RemoveAll(c.specs[2].dir); err != nil {
		t.Fatal(err)
	}
	c.nodes[2] = open(t, c.specs[2])
	newDir := c.nodes[2].Directory()
	if newDir == oldDir || newDir.IsZero() {
		t.Fatalf("the replaced disk kept directory id %v", newDir)
	}
	waitFor(t, "node 3 to follow as an observer", func() bool {
		st := describe(t, leader)
		return hasReplica(st.Observers, 3, newDir) && hasReplica(st.Voters, 3, oldDir) && !hasReplica(st.Voters, 3, newDir)
	})
	waitReady(t, c.nodes[2])
	c.converge(li)
	for _, r := range describe(t, leader).Voters {
		if r.NodeID == 3 && r.LogEndOffset != -1 {
			t.Fatalf("the old voter 3 answered: %+v", r)
		}
	}

	// Leader + new node 3 are not a majority while 3 is an observer: the leader steps down.
	c.stop(other)
	waitFor(t, "the leader to step down without a majority", func() bool { return leader.raft.State() != raft.Leader })
	c.nodes[other] = open(t, c.specs[other])
	// Each step of the operator's fix goes to the current leader: right after the restart the
	// quorum may still change leaders (scheduling delays on a loaded machine), and a node that
	// stepped down answers NOT_CONTROLLER, as Kafka's does; the step is then asked again.
	onLeader := func(step func(*Quorum) error) error {
		for attempt := 0; ; attempt++ {
			li = c.leader()
			leader = c.nodes[li]
			err := step(leader)
			if !errors.Is(err, metadata.ErrNotController) || attempt == 50 {
				return err
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// The operator's fix: remove the old voter, add the new one.
	if err := onLeader(func(q *Quorum) error { return q.AddVoter(ctx, 3, newDir, c.specs[2].addr) }); !errors.Is(err, ErrDuplicateVoter) {
		t.Fatalf("add while the old voter is in: %v", err)
	}
	if err := onLeader(func(q *Quorum) error { return q.RemoveVoter(ctx, 3, newDir) }); !errors.Is(err, ErrVoterNotFound) {
		t.Fatalf("remove of a non-voter: %v", err)
	}
	if err := onLeader(func(q *Quorum) error { return q.RemoveVoter(ctx, 3, oldDir) }); err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := onLeader(func(q *Quorum) error { return q.AddVoter(actx, 3, newDir, c.specs[2].addr) }); err != nil {
		t.Fatal(err)
	}
	st := describe(t, leader)
	if len(st.Voters) != 3 || !hasReplica(st.Voters, 3, newDir) || len(st.Observers) != 0 {
		t.Fatalf("after the change: %+v", st)
	}
	waitFor(t, "node 3 to see itself a voter", func() bool {
		f := c.nodes[2].raft.GetConfiguration()
		return f.Error() == nil && hasVoter(f.Configuration(), c.nodes[2].localID)
	})

	// Now the leader and node 3 are a majority without the third node.
	for i := range c.nodes {
		if i != li && i != 2 {
			c.stop(i)
		}
	}
	li = c.leader()
	if _, err := c.nodes[li].Propose(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

func hasVoter(cfg raft.Configuration, id raft.ServerID) bool {
	for _, s := range cfg.Servers {
		if s.ID == id && s.Suffrage == raft.Voter {
			return true
		}
	}
	return false
}

// TestObserverAndVoterChanges: an observer follows the log and is listed as one; voter changes
// run one at a time with KIP-853's errors; removing the leader moves leadership and leaves it an
// observer.
func TestObserverAndVoterChanges(t *testing.T) {
	// A steady leader: the test changes membership through the one it found, and a 150 ms
	// election timeout can lose it to scheduling delays under -race on a busy machine.
	steady := func(o *Options) { o.ElectionTimeout = time.Second }
	c := newClusterWith(t, 3, steady)
	ctx := context.Background()
	li := c.leader()
	leader := c.nodes[li]

	obs := open(t, nodeSpec{id: 4, dir: t.TempDir(), addr: "127.0.0.1:0", peers: c.specs[0].peers, opts: func(o *Options) {
		steady(o)
		o.Observer = true
	}})
	defer closeQuorum(t, obs)
	waitReady(t, obs)
	if _, err := leader.Propose(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the observer to catch up", func() bool { return obs.Image().Offset() >= leader.Image().Offset() })
	st := describe(t, leader)
	if len(st.Voters) != 3 || len(st.Observers) != 1 || st.Observers[0].NodeID != 4 || st.Observers[0].DirectoryID != obs.Directory() {
		t.Fatalf("describe: %+v", st)
	}
	if st.LeaderID != leader.NodeID() || st.LeaderEpoch < 1 || st.HighWatermark < 2 {
		t.Fatalf("describe: %+v", st)
	}
	// Every member answers the leader's poll; each is caught up at some poll (a follower may
	// miss the newest entry at one).
	waitFor(t, "every member caught up", func() bool {
		st := describe(t, leader)
		for _, r := range append(st.Voters, st.Observers...) {
			if r.LogEndOffset < 1 || r.LastFetchTimestamp <= 0 || r.LastCaughtUpTimestamp <= 0 {
				return false
			}
		}
		return true
	})
	// AddObserver is idempotent.
	if err := leader.AddObserver(ctx, 4, obs.Directory(), obs.opts.ControllerAddr); err != nil {
		t.Fatal(err)
	}
	// Followers do not describe or change the quorum.
	follower := c.nodes[(li+1)%3]
	if _, err := follower.Describe(ctx); !errors.Is(err, metadata.ErrNotController) {
		t.Fatalf("describe on a follower: %v", err)
	}
	if err := follower.AddVoter(ctx, 4, obs.Directory(), obs.opts.ControllerAddr); !errors.Is(err, metadata.ErrNotController) {
		t.Fatalf("add voter on a follower: %v", err)
	}
	// One change at a time.
	leader.change.Lock()
	err := leader.AddVoter(ctx, 4, obs.Directory(), obs.opts.ControllerAddr)
	leader.change.Unlock()
	if !errors.Is(err, ErrChangeInProgress) {
		t.Fatalf("concurrent change: %v", err)
	}
	// A wrong directory id for the node at the address is refused.
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := leader.AddVoter(actx, 4, NewDirectoryID(), obs.opts.ControllerAddr); !errors.Is(err, ErrNotCaughtUp) {
		t.Fatalf("add with a wrong directory: %v", err)
	}
	if err := leader.AddVoter(actx, 4, DirectoryID{}, obs.opts.ControllerAddr); !errors.Is(err, ErrInvalidVoter) {
		t.Fatalf("add without a directory: %v", err)
	}
	for _, bad := range []struct {
		id   int32
		addr string
	}{{-1, obs.opts.ControllerAddr}, {4, "nohost"}, {4, ":9093"}, {4, "127.0.0.1:0"}, {4, "127.0.0.1:70000"}} {
		if err := leader.AddVoter(actx, bad.id, obs.Directory(), bad.addr); !errors.Is(err, ErrInvalidVoter) {
			t.Fatalf("add of %d at %q: %v", bad.id, bad.addr, err)
		}
		if err := leader.AddObserver(actx, bad.id, obs.Directory(), bad.addr); !errors.Is(err, ErrInvalidVoter) {
			t.Fatalf("observer %d at %q: %v", bad.id, bad.addr, err)
		}
	}

	// The observer becomes a voter.
	if err := leader.AddVoter(actx, 4, obs.Directory(), obs.opts.ControllerAddr); err != nil {
		t.Fatal(err)
	}
	if st := describe(t, leader); len(st.Voters) != 4 || len(st.Observers) != 0 {
		t.Fatalf("after add: %+v", st)
	}

	// Removing the leader moves leadership; the old leader follows as an observer.
	if err := leader.RemoveVoter(ctx, leader.NodeID(), leader.Directory()); err != nil {
		t.Fatal(err)
	}
	nodes := append(append([]*Quorum(nil), c.nodes...), obs)
	var next *Quorum
	waitFor(t, "a new leader", func() bool {
		for _, q := range nodes {
			if q != leader && q.ready() {
				next = q
				return true
			}
		}
		return false
	})
	waitFor(t, "the removed leader to follow as an observer", func() bool {
		st, err := next.Describe(ctx)
		return err == nil && len(st.Voters) == 3 && hasReplica(st.Observers, leader.NodeID(), leader.Directory())
	})
	if _, err := next.Propose(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the old leader to follow", func() bool { return leader.Image().Offset() >= next.Image().Offset() })
	st = describe(t, next)
	for _, r := range st.Voters {
		if r.NodeID == next.NodeID() {
			continue
		}
		if err := next.RemoveVoter(ctx, r.NodeID, r.DirectoryID); err != nil {
			t.Fatalf("remove %d: %v", r.NodeID, err)
		}
	}
	if err := next.RemoveVoter(ctx, next.NodeID(), next.Directory()); !errors.Is(err, ErrInvalidVoter) {
		t.Fatalf("removing the last voter: %v", err)
	}
}

// TestSingleVoterGrows: a one-voter quorum on the short single-voter timeout refuses to add a
// voter (its leader lease is too short for a leader that waits for others) and says what to
// do; with an explicit timeout it adds one, and once its configuration has two voters a
// restart without peers no longer picks the short timeout.
func TestSingleVoterGrows(t *testing.T) {
	dir := t.TempDir()
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	q := open(t, nodeSpec{id: 1, dir: dir, addr: addr})
	waitReady(t, q)
	obs := open(t, nodeSpec{id: 2, dir: t.TempDir(), addr: "127.0.0.1:0", peers: []string{"1@" + addr}, opts: func(o *Options) { o.Observer = true }})
	defer closeQuorum(t, obs)
	waitReady(t, obs)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := q.AddVoter(ctx, 2, obs.Directory(), obs.opts.ControllerAddr)
	if !errors.Is(err, ErrInvalidVoter) || !strings.Contains(err.Error(), "controller.quorum.election.timeout.ms") {
		t.Fatalf("add to a short-timeout single voter: %v", err)
	}
	closeQuorum(t, q)

	explicit := func(o *Options) { o.ElectionTimeout = DefaultElectionTimeout }
	q = open(t, nodeSpec{id: 1, dir: dir, addr: addr, opts: explicit})
	waitReady(t, q)
	if err := q.AddVoter(ctx, 2, obs.Directory(), obs.opts.ControllerAddr); err != nil {
		t.Fatal(err)
	}
	closeQuorum(t, q)

	q = open(t, nodeSpec{id: 1, dir: dir, addr: addr})
	defer closeQuorum(t, q)
	if q.shortTimeouts || q.opts.ElectionTimeout != DefaultElectionTimeout {
		t.Fatalf("restart of a two-voter member without peers: short %v, timeout %v", q.shortTimeouts, q.opts.ElectionTimeout)
	}
	waitReady(t, q) // node 2 votes for it
}

// TestFormingKeepsDirectory: a node stopped while a new cluster forms (it has answered hellos,
// holds no Raft state) keeps its directory id on restart, since peers may have bootstrapped
// with it; once its whole data directory is gone it gets a new one.
func TestFormingKeepsDirectory(t *testing.T) {
	dir := t.TempDir()
	peers := []string{"2@127.0.0.1:1", "3@127.0.0.1:2"} // never answer: the cluster never forms
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	peers = append(peers, "1@"+addr)
	q := open(t, nodeSpec{id: 1, dir: dir, addr: addr, peers: peers})
	d := q.Directory()
	closeQuorum(t, q)
	q = open(t, nodeSpec{id: 1, dir: dir, addr: addr, peers: peers})
	if q.Directory() != d {
		t.Fatalf("restart during formation changed the directory id from %v to %v", d, q.Directory())
	}
	closeQuorum(t, q)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	q = open(t, nodeSpec{id: 1, dir: dir, addr: addr, peers: peers})
	defer closeQuorum(t, q)
	if q.Directory() == d {
		t.Fatal("a wiped directory kept its directory id")
	}
}
