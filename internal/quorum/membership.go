package quorum

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/internal/metadata"
)

// Errors of the membership changes (KIP-853's codes in brackets, which the api handlers send).
var (
	// ErrDuplicateVoter: the node id is already a voter (DUPLICATE_VOTER).
	ErrDuplicateVoter = errors.New("quorum: the node is already a voter")
	// ErrVoterNotFound: no voter has that node id and directory id (VOTER_NOT_FOUND).
	ErrVoterNotFound = errors.New("quorum: no such voter")
	// ErrChangeInProgress: another voter change has not finished (REQUEST_TIMED_OUT).
	ErrChangeInProgress = errors.New("quorum: another voter change is in progress")
	// ErrNotCaughtUp: the new voter did not answer as that node and directory, or did not catch
	// up on the metadata log in time (REQUEST_TIMED_OUT).
	ErrNotCaughtUp = errors.New("quorum: the new voter is not caught up")
	// ErrInvalidVoter: the change is malformed or would leave no voter (INVALID_REQUEST).
	ErrInvalidVoter = errors.New("quorum: invalid voter change")
)

// followInterval is how often a node that is in no configuration asks the leader to add it as
// an observer, and how often a new cluster's nodes ask each other for their directory ids.
var followInterval = 300 * time.Millisecond

// form bootstraps a new cluster: it asks every voter of --peers who it is until all have
// answered with their directory ids, then bootstraps the configuration of all of them, as each
// of them does: the configurations are identical because each node's directory id is fixed
// before it answers. If a peer already holds Raft state the cluster exists: this node is then
// either in its configuration (a leader will replicate to it) or a node with a new directory,
// which follow turns into an observer until an operator adds it as a voter.
func (q *Quorum) form(voters []voter) {
	defer q.wg.Done()
	defer q.forming.Store(false)
	_, localDir, _ := parseServerID(q.localID)
	for {
		if q.hasState() {
			return // a leader replicated to this node: it is in a configuration already
		}
		servers := []raft.Server{{Suffrage: raft.Voter, ID: q.localID, Address: serverAddress(q.opts.ControllerAddr, localDir)}}
		complete := true
		for i, r := range q.helloAll(voters[1:]) {
			p := voters[1+i]
			switch {
			case r.err != nil:
				complete = false
			case r.resp.NodeID != p.id:
				q.logger.Warn("a peer answers with another node id", "peer", p.addr, "expected", p.id, "node_id", r.resp.NodeID)
				complete = false
			case r.resp.ClusterID != "" && q.clusterID() != "" && r.resp.ClusterID != q.clusterID():
				q.fail(clusterMismatch(q.metaDir, q.clusterID(), r.resp.ClusterID))
				return
			case r.resp.HasState:
				if !contains(r.resp.Voters, q.localID) && !contains(r.resp.NonVoters, q.localID) {
					q.logger.Warn("the cluster exists and this directory is not one of its voters: following as an observer until an operator adds it",
						"node_id", q.opts.NodeID, "directory_id", localDir.String(),
						"add_voter", fmt.Sprintf("sluice cluster add-voter --node-id %d --directory-id %s --controller-addr %s", q.opts.NodeID, localDir, q.opts.ControllerAddr))
				}
				return
			default:
				dir, err := ParseDirectoryID(r.resp.DirectoryID)
				if err != nil {
					complete = false
					continue
				}
				servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: serverID(p.id, dir), Address: serverAddress(p.addr, dir)})
			}
		}
		if complete {
			err := q.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
			switch {
			case err == nil:
				q.logger.Info("bootstrapped metadata quorum", "voters", len(servers), "directory_id", localDir.String())
			case errors.Is(err, raft.ErrCantBootstrap):
				// A leader replicated to this node meanwhile.
			default:
				q.logger.Error("bootstrap of the metadata quorum failed", "err", err)
			}
			return
		}
		select {
		case <-q.closing:
			return
		case <-time.After(followInterval):
		}
	}
}

type helloResult struct {
	resp helloResponse
	err  error
}

// helloAll says hello to every peer at once.
func (q *Quorum) helloAll(peers []voter) []helloResult {
	out := make([]helloResult, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].resp, out[i].err = q.hello(q.ctx, p.addr, helloRequest{Op: "hello"})
		}()
	}
	wg.Wait()
	return out
}

// follow runs on every node of a multi-node quorum. While the node is in no configuration (an
// observer, a node with a new directory, a removed voter) it asks the leader to add it as a
// non-voter, so that it follows the log. Until a peer has answered once, it also checks that the
// peers are of this node's cluster.
func (q *Quorum) follow(voters []voter) {
	defer q.wg.Done()
	told := false
	for first := true; ; first = false {
		if !first {
			select {
			case <-q.closing:
				return
			case <-q.failed:
				return
			case <-time.After(followInterval):
			}
		}
		if q.forming.Load() {
			continue
		}
		if !q.peersChecked.Load() {
			for _, r := range q.helloAll(q.knownPeers(voters)) {
				if r.err != nil {
					continue
				}
				if have := q.clusterID(); r.resp.ClusterID != "" && have != "" && r.resp.ClusterID != have {
					q.fail(clusterMismatch(q.metaDir, have, r.resp.ClusterID))
					return
				}
				q.peersChecked.Store(true)
			}
		}
		if q.inConfiguration() {
			continue
		}
		leader := q.findLeader(voters)
		if leader == "" {
			continue
		}
		_, dir, _ := parseServerID(q.localID)
		req := helloRequest{Op: "observe", NodeID: q.opts.NodeID, Addr: q.opts.ControllerAddr}
		if !dir.IsZero() {
			req.DirectoryID = dir.String()
		}
		if _, err := q.hello(q.ctx, leader, req); err != nil {
			q.logger.Debug("asking the leader to follow the metadata log", "leader", leader, "err", err)
			continue
		}
		if !told {
			told = true
			q.logger.Info("this node follows the metadata log as an observer", "node_id", q.opts.NodeID, "directory_id", dir.String())
		}
	}
}

// inConfiguration reports whether this node is in the latest Raft configuration.
func (q *Quorum) inConfiguration() bool {
	f := q.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if s.ID == q.localID {
			return true
		}
	}
	return false
}

// knownPeers is the other nodes this node knows of: --peers, then the members of its latest
// configuration (which may have changed since --peers was written), each address once.
func (q *Quorum) knownPeers(voters []voter) []voter {
	peers := append([]voter(nil), voters[1:]...)
	seen := map[string]bool{q.opts.ControllerAddr: true}
	for _, p := range peers {
		seen[p.addr] = true
	}
	if f := q.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			id, _, ok := parseServerID(s.ID)
			hp, _, err := splitServerAddress(s.Address)
			if ok && err == nil && s.ID != q.localID && !seen[hp] {
				seen[hp] = true
				peers = append(peers, voter{id: id, addr: hp})
			}
		}
	}
	return peers
}

// findLeader returns the host:port of the leader: the one this node knows, else the one a peer
// (of --peers or of the latest configuration) knows.
func (q *Quorum) findLeader(voters []voter) string {
	if a, _ := q.raft.LeaderWithID(); a != "" {
		hp, _, _ := splitServerAddress(a)
		return hp
	}
	for _, p := range q.knownPeers(voters) {
		r, err := q.hello(q.ctx, p.addr, helloRequest{Op: "hello"})
		if err != nil {
			continue
		}
		if r.Leader {
			return p.addr
		}
		if r.LeaderAddr != "" {
			return r.LeaderAddr
		}
	}
	return ""
}

// ReplicaState is one member of the quorum as the leader sees it (DescribeQuorum).
type ReplicaState struct {
	NodeID      int32
	DirectoryID DirectoryID // zero for a member named by its node id alone
	// Addr is the member's controller address (host:port).
	Addr string
	// LogEndOffset is the offset after the member's last metadata log entry (offsets are Raft
	// log indexes); -1 when the member did not answer.
	LogEndOffset int64
	// LastFetchTimestamp is when (Unix ms) the leader last heard from the member, and
	// LastCaughtUpTimestamp when it last had every entry the leader had committed; -1 if never.
	LastFetchTimestamp    int64
	LastCaughtUpTimestamp int64
}

// State is the quorum as the leader sees it.
type State struct {
	LeaderID    int32
	LeaderEpoch int32 // the Raft term
	// HighWatermark is the offset after the last committed entry.
	HighWatermark int64
	Voters        []ReplicaState
	Observers     []ReplicaState
}

type replicaTimes struct{ lastFetch, lastCaughtUp time.Time }

// Describe returns the quorum's state. Only the ready leader answers (others:
// metadata.ErrNotController). hashicorp/raft keeps each follower's replication progress to
// itself, so the leader asks every member for its last log index (the hello exchange), at most
// a second, and records when each answered and was caught up; a member that does not answer has
// LogEndOffset -1 and its last known timestamps.
func (q *Quorum) Describe(ctx context.Context) (State, error) {
	if err := q.checkOpen(ctx); err != nil {
		return State{}, err
	}
	if !q.ready() {
		return State{}, q.notController()
	}
	f := q.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return State{}, q.raftErr(err)
	}
	commit := q.raft.CommitIndex()
	st := State{LeaderID: q.opts.NodeID, LeaderEpoch: int32(q.raft.CurrentTerm()), HighWatermark: int64(commit) + 1}
	servers := f.Configuration().Servers
	out := make([]ReplicaState, len(servers))
	pollCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i, s := range servers {
		id, dir, _ := parseServerID(s.ID)
		hp, _, _ := splitServerAddress(s.Address)
		out[i] = ReplicaState{NodeID: id, DirectoryID: dir, Addr: hp, LogEndOffset: -1, LastFetchTimestamp: -1, LastCaughtUpTimestamp: -1}
		if s.ID == q.localID {
			out[i].LogEndOffset = int64(q.raft.LastIndex()) + 1
			q.noteReplica(s.ID, time.Now(), true)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := q.hello(pollCtx, hp, helloRequest{Op: "hello"})
			if err != nil || r.NodeID != id || r.DirectoryID != dirString(dir) {
				return
			}
			out[i].LogEndOffset = int64(r.LastIndex) + 1
			q.noteReplica(s.ID, time.Now(), r.LastIndex >= commit)
		}()
	}
	wg.Wait()
	q.replicas.Lock()
	for i, s := range servers {
		t := q.replicas.m[s.ID]
		if !t.lastFetch.IsZero() {
			out[i].LastFetchTimestamp = t.lastFetch.UnixMilli()
		}
		if !t.lastCaughtUp.IsZero() {
			out[i].LastCaughtUpTimestamp = t.lastCaughtUp.UnixMilli()
		}
		if s.Suffrage == raft.Voter {
			st.Voters = append(st.Voters, out[i])
		} else {
			st.Observers = append(st.Observers, out[i])
		}
	}
	q.replicas.Unlock()
	return st, nil
}

func dirString(d DirectoryID) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func (q *Quorum) noteReplica(sid raft.ServerID, now time.Time, caughtUp bool) {
	q.replicas.Lock()
	defer q.replicas.Unlock()
	t := q.replicas.m[sid]
	t.lastFetch = now
	if caughtUp {
		t.lastCaughtUp = now
	}
	q.replicas.m[sid] = t
}

// AddObserver makes node id (directory dir, controller address addr) follow the metadata log
// without voting: a Raft non-voter. Idempotent; a non-voter of the same node id with another
// directory (a replaced disk) is dropped. Only the ready leader does it (others:
// metadata.ErrNotController). The lead's BrokerRegistration handler and the observe exchange
// call it.
func (q *Quorum) AddObserver(ctx context.Context, id int32, dir DirectoryID, addr string) error {
	if err := q.checkOpen(ctx); err != nil {
		return err
	}
	if !q.ready() {
		return q.notController()
	}
	if err := checkMember(id, addr); err != nil {
		return err
	}
	sid, saddr := serverID(id, dir), serverAddress(addr, dir)
	f := q.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return q.raftErr(err)
	}
	for _, s := range f.Configuration().Servers {
		if s.ID == sid && (s.Address == saddr || s.Suffrage == raft.Voter) {
			return nil
		}
		if sidID, _, _ := parseServerID(s.ID); sidID == id && s.ID != sid && s.Suffrage != raft.Voter {
			if err := q.raft.RemoveServer(s.ID, 0, timeoutOf(ctx)).Error(); err != nil {
				return q.raftErr(err)
			}
			q.logger.Info("dropped an observer's older directory", "node_id", id, "server", s.ID)
		}
	}
	if err := q.raft.AddNonvoter(sid, saddr, 0, timeoutOf(ctx)).Error(); err != nil {
		return q.raftErr(err)
	}
	q.logger.Info("added an observer of the metadata log", "node_id", id, "directory_id", dir.String(), "addr", addr)
	return nil
}

// AddVoter makes node id with directory dir, reachable at controller address addr, a voter
// (KIP-853's AddRaftVoter). One voter change runs at a time (ErrChangeInProgress). The node
// must answer at addr as that node and directory; it is added as a non-voter first and becomes a
// voter once it has every entry committed when the change began, so that adding it never leaves
// the quorum waiting for a voter that is far behind. ctx bounds the whole change.
func (q *Quorum) AddVoter(ctx context.Context, id int32, dir DirectoryID, addr string) error {
	if err := q.checkOpen(ctx); err != nil {
		return err
	}
	if !q.ready() {
		return q.notController()
	}
	if dir.IsZero() {
		return fmt.Errorf("%w: a new voter needs its directory id (meta.properties' directory.id)", ErrInvalidVoter)
	}
	if q.shortTimeouts {
		return fmt.Errorf("%w: node %d runs the metadata quorum as its only voter with the %v election timeout, too short for a leader "+
			"that waits for other voters: set controller.quorum.election.timeout.ms (Kafka's default is 1000) on node %d, restart it, then add voters",
			ErrInvalidVoter, q.opts.NodeID, SingleVoterElectionTimeout, q.opts.NodeID)
	}
	if err := checkMember(id, addr); err != nil {
		return err
	}
	if !q.change.TryLock() {
		return ErrChangeInProgress
	}
	defer q.change.Unlock()
	f := q.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return q.raftErr(err)
	}
	sid, saddr := serverID(id, dir), serverAddress(addr, dir)
	member := false
	for _, s := range f.Configuration().Servers {
		sidID, sdir, _ := parseServerID(s.ID)
		if s.Suffrage == raft.Voter && sidID == id {
			return fmt.Errorf("%w: node %d (directory %s) is a voter; remove it first", ErrDuplicateVoter, id, sdir)
		}
		member = member || s.ID == sid
	}
	r, err := q.hello(ctx, addr, helloRequest{Op: "hello"})
	if err != nil {
		return fmt.Errorf("%w: nothing answers at %s: %v", ErrNotCaughtUp, addr, err)
	}
	if r.NodeID != id || r.DirectoryID != dir.String() {
		return fmt.Errorf("%w: %s is node %d with directory %q, not node %d with directory %s", ErrNotCaughtUp, addr, r.NodeID, r.DirectoryID, id, dir)
	}
	if !member {
		if err := q.raft.AddNonvoter(sid, saddr, 0, timeoutOf(ctx)).Error(); err != nil {
			return q.raftErr(err)
		}
	}
	target := q.raft.CommitIndex()
	for {
		r, err := q.hello(ctx, addr, helloRequest{Op: "hello"})
		if err == nil && r.LastIndex >= target {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: node %d did not reach offset %d in time (it is at %d)", ErrNotCaughtUp, id, target, r.LastIndex)
		case <-q.closing:
			return ErrClosed
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := q.raft.AddVoter(sid, saddr, 0, timeoutOf(ctx)).Error(); err != nil {
		return q.raftErr(err)
	}
	q.logger.Info("added a voter", "node_id", id, "directory_id", dir.String(), "addr", addr)
	return nil
}

// RemoveVoter removes the voter with node id and directory dir (the zero directory matches a
// voter named by its node id alone) (KIP-853's RemoveRaftVoter). The leader may remove itself:
// it commits the configuration without itself and steps down. The last voter cannot be removed.
func (q *Quorum) RemoveVoter(ctx context.Context, id int32, dir DirectoryID) error {
	if err := q.checkOpen(ctx); err != nil {
		return err
	}
	if !q.ready() {
		return q.notController()
	}
	if !q.change.TryLock() {
		return ErrChangeInProgress
	}
	defer q.change.Unlock()
	f := q.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return q.raftErr(err)
	}
	sid := serverID(id, dir)
	found, voters := false, 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
			found = found || s.ID == sid
		}
	}
	if !found {
		return fmt.Errorf("%w: node %d with directory %s is not a voter", ErrVoterNotFound, id, dir)
	}
	if voters == 1 {
		return fmt.Errorf("%w: node %d is the only voter", ErrInvalidVoter, id)
	}
	if err := q.raft.RemoveServer(sid, 0, timeoutOf(ctx)).Error(); err != nil {
		// Removing the leader itself: it steps down once the change commits, and the future
		// can report the lost leadership although the change went through. Ask the
		// configuration (which followers hold too) before calling it a failure.
		if !errors.Is(err, raft.ErrLeadershipLost) || !q.awaitRemoved(ctx, sid) {
			return q.raftErr(err)
		}
	}
	q.logger.Info("removed a voter", "node_id", id, "directory_id", dir.String())
	return nil
}

// awaitRemoved reports whether sid leaves the voters of the configuration this node knows
// within ctx (at most 5 s): after a leader removed itself, the new leader commits or drops the
// change.
func (q *Quorum) awaitRemoved(ctx context.Context, sid raft.ServerID) bool {
	deadline := time.Now().Add(5 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for {
		if f := q.raft.GetConfiguration(); f.Error() == nil {
			voter := false
			for _, s := range f.Configuration().Servers {
				voter = voter || (s.ID == sid && s.Suffrage == raft.Voter)
			}
			if !voter {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func checkMember(id int32, addr string) error {
	if id < 0 {
		return fmt.Errorf("%w: node id %d is negative", ErrInvalidVoter, id)
	}
	return checkAddr(addr)
}

func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return fmt.Errorf("%w: address %q is not host:port", ErrInvalidVoter, addr)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("%w: address %q: port is not in 1..65535", ErrInvalidVoter, addr)
	}
	return nil
}

func timeoutOf(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return 0
}

// raftErr translates a configuration change's error.
func (q *Quorum) raftErr(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("%w: %v", metadata.ErrNotController, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrClosed
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %v", ErrChangeInProgress, err)
	}
	return err
}

// Voters returns the voters of this node's current Raft configuration (id, directory id and
// controller address; no progress fields), as any member knows it: what a controller lists for
// DescribeCluster's controller endpoints (KIP-919).
func (q *Quorum) Voters() ([]ReplicaState, error) {
	if err := q.checkOpen(context.Background()); err != nil {
		return nil, err
	}
	f := q.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, q.raftErr(err)
	}
	var out []ReplicaState
	for _, s := range f.Configuration().Servers {
		if s.Suffrage != raft.Voter {
			continue
		}
		id, dir, _ := parseServerID(s.ID)
		hp, _, _ := splitServerAddress(s.Address)
		out = append(out, ReplicaState{NodeID: id, DirectoryID: dir, Addr: hp, LogEndOffset: -1, LastFetchTimestamp: -1, LastCaughtUpTimestamp: -1})
	}
	slices.SortFunc(out, func(a, b ReplicaState) int { return cmp.Compare(a.NodeID, b.NodeID) })
	return out, nil
}
