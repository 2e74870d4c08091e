package connect

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The membership loop (run) is the one goroutine that joins the group, assigns (when leader),
// starts and stops the work assigned here, heartbeats and acts on config changes. Rebalancing
// is eager, as Kafka Connect's protocol "default": before rejoining, a worker stops all its
// connectors and tasks; the new assignment starts them again wherever they land.

// membership is the loop's own state.
type membership struct {
	memberID   string
	generation int32
	assignment assignment
}

var errRejoin = errors.New("connect: rejoin the group")

func (d *Distributed) run(ctx context.Context) {
	defer close(d.done)
	var m membership
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		if backoff > 0 {
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
		}
		err := d.joinAndSync(ctx, &m)
		if err == nil {
			backoff = 0
			err = d.runAssignment(ctx, &m)
		}
		d.setMember(m.generation, "", false)
		d.stopWork()
		if err != nil && !errors.Is(err, errRejoin) && ctx.Err() == nil {
			d.log.Warn("group membership", "err", err)
			backoff = min(max(2*backoff, 500*time.Millisecond), 5*time.Second)
		}
	}
	if m.memberID != "" {
		lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req := kmsg.NewPtrLeaveGroupRequest()
		req.Group, req.MemberID = d.set.groupID, m.memberID
		lm := kmsg.NewLeaveGroupRequestMember()
		lm.MemberID = m.memberID
		req.Members = append(req.Members, lm)
		if _, err := req.RequestWith(lctx, d.group); err != nil {
			d.log.Warn("leaving the group", "err", err)
		}
	}
}

func (d *Distributed) setMember(generation int32, leaderURL string, leader bool) {
	d.member.Lock()
	d.member.generation, d.member.leaderURL, d.member.leader = generation, leaderURL, leader
	d.member.Unlock()
}

// joinAndSync joins the group, assigns if this worker leads, and reads the config topic as
// far as the assignment says.
func (d *Distributed) joinAndSync(ctx context.Context, m *membership) error {
	resp, err := d.join(ctx, m)
	if err != nil {
		return err
	}
	m.generation = resp.Generation
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = d.set.groupID, resp.Generation, m.memberID
	sync.ProtocolType, sync.Protocol = kmsg.StringPtr(connectProtocolType), kmsg.StringPtr(connectProtocolName)
	if resp.LeaderID == m.memberID {
		if sync.GroupAssignment, err = d.assign(ctx, m.memberID, resp.Members); err != nil {
			return err
		}
	}
	sresp, err := sync.RequestWith(ctx, d.group)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(sresp.ErrorCode); err != nil {
		if errors.Is(err, kerr.UnknownMemberID) {
			m.memberID = ""
		}
		return fmt.Errorf("%w: sync: %v", errRejoin, err)
	}
	a, err := decodeAssignment(sresp.MemberAssignment)
	if err != nil {
		return err
	}
	if a.Error != 0 {
		// The leader was behind a member: read on, then rejoin.
		rctx, cancel := context.WithTimeout(ctx, d.set.syncWait)
		defer cancel()
		d.configs.readToEnd(rctx)
		return fmt.Errorf("%w: the leader's config offset was behind", errRejoin)
	}
	rctx, cancel := context.WithTimeout(ctx, d.set.syncWait)
	defer cancel()
	for d.configs.position() < a.ConfigOffset {
		if err := d.configs.readToEnd(rctx); err != nil {
			return fmt.Errorf("reading the config topic to the leader's offset %d: %w", a.ConfigOffset, err)
		}
	}
	m.assignment = a
	return nil
}

func (d *Distributed) join(ctx context.Context, m *membership) (*kmsg.JoinGroupResponse, error) {
	for {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.ProtocolType = d.set.groupID, m.memberID, connectProtocolType
		req.SessionTimeoutMillis = int32(d.set.session.Milliseconds())
		req.RebalanceTimeoutMillis = int32(d.set.rebalance.Milliseconds())
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name = connectProtocolName
		p.Metadata = encodeMemberMetadata(memberMetadata{URL: d.url, ConfigOffset: d.configs.position()})
		req.Protocols = append(req.Protocols, p)
		resp, err := req.RequestWith(ctx, d.group)
		if err != nil {
			return nil, err
		}
		switch err := kerr.ErrorForCode(resp.ErrorCode); {
		case err == nil:
			m.memberID = resp.MemberID
			return resp, nil
		case errors.Is(err, kerr.MemberIDRequired):
			m.memberID = resp.MemberID
		case errors.Is(err, kerr.UnknownMemberID):
			m.memberID = ""
		default:
			return nil, fmt.Errorf("join: %w", err)
		}
	}
}

// assign is the leader's: it reads the config topic to its end (so it is at least as far as
// every member) and shares the connectors and tasks round-robin.
func (d *Distributed) assign(ctx context.Context, self string, members []kmsg.JoinGroupResponseMember) ([]kmsg.SyncGroupRequestGroupAssignment, error) {
	rctx, cancel := context.WithTimeout(ctx, d.set.syncWait)
	defer cancel()
	readErr := d.configs.readToEnd(rctx)
	offset := d.configs.position()
	ids := make([]string, 0, len(members))
	behind := readErr != nil
	for _, mem := range members {
		md, err := decodeMemberMetadata(mem.ProtocolMetadata)
		if err != nil {
			d.log.Warn("a member's metadata", "member", mem.MemberID, "err", err)
		} else if md.ConfigOffset > offset {
			behind = true
		}
		ids = append(ids, mem.MemberID)
	}
	connectors, counts := d.view.snapshot()
	plan := assignEager(ids, connectors, counts)
	var out []kmsg.SyncGroupRequestGroupAssignment
	for _, id := range ids {
		a := plan[id]
		a.Leader, a.LeaderURL, a.ConfigOffset = self, d.url, offset
		if behind {
			a.Error, a.Connectors, a.Tasks = assignmentConfigMismatch, nil, nil
		}
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID, ga.MemberAssignment = id, encodeAssignment(*a)
		out = append(out, ga)
	}
	d.log.Info("assigned the group's work", "members", len(ids), "connectors", len(connectors), "config_offset", offset, "mismatch", behind)
	return out, nil
}

// runAssignment runs the assignment and heartbeats until the group rebalances or ctx ends.
func (d *Distributed) runAssignment(ctx context.Context, m *membership) error {
	a := m.assignment
	d.setMember(m.generation, a.LeaderURL, a.Leader == m.memberID)
	d.log.Info("joined the group", "generation", m.generation, "leader", a.Leader == m.memberID, "leader_url", a.LeaderURL,
		"connectors", a.Connectors, "tasks", len(a.Tasks))
	var later []configRecord // records past what the assignment reflects
	for _, e := range d.drainEvents() {
		if e.Offset >= a.ConfigOffset {
			later = append(later, e)
		}
	}
	d.startWork(a)
	if d.handleEvents(later) {
		return errRejoin
	}
	tick := time.NewTicker(d.set.heartbeat)
	defer tick.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
			if d.handleEvents(d.drainEvents()) {
				return errRejoin
			}
		case <-tick.C:
			req := kmsg.NewPtrHeartbeatRequest()
			req.Group, req.Generation, req.MemberID = d.set.groupID, m.generation, m.memberID
			hctx, cancel := context.WithTimeout(ctx, d.set.session)
			resp, err := req.RequestWith(hctx, d.group)
			cancel()
			if err == nil {
				err = kerr.ErrorForCode(resp.ErrorCode)
			}
			switch {
			case err == nil:
				lastOK = time.Now()
			case errors.Is(err, kerr.RebalanceInProgress):
				return errRejoin
			case errors.Is(err, kerr.UnknownMemberID), errors.Is(err, kerr.IllegalGeneration), errors.Is(err, kerr.FencedInstanceID):
				m.memberID = ""
				return fmt.Errorf("%w: heartbeat: %v", errRejoin, err)
			case time.Since(lastOK) > d.set.session:
				return fmt.Errorf("no heartbeat answered for %v: %w", d.set.session, err)
			}
		}
	}
}

func (d *Distributed) drainEvents() []configRecord {
	d.events.Lock()
	defer d.events.Unlock()
	q := d.events.queue
	d.events.queue = nil
	return q
}

// handleEvents acts on config records read since the last look; true means the group must
// rebalance (connectors or task configurations changed).
func (d *Distributed) handleEvents(events []configRecord) (rebalance bool) {
	for _, e := range events {
		switch e.Kind {
		case configConnector, configCommit:
			rebalance = true
		case configTarget:
			if e.Target != "" {
				d.applyTarget(e.Connector)
			}
		case configRestart:
			d.applyRestart(e)
		}
	}
	return rebalance
}

// startWork starts what the assignment gives this worker.
func (d *Distributed) startWork(a assignment) {
	for _, name := range a.Connectors {
		cs := d.localConn(name)
		if cs == nil {
			continue
		}
		d.work.Lock()
		d.work.instances[name] = true
		d.work.Unlock()
		d.startInstance(cs)
	}
	for _, id := range a.Tasks {
		cs := d.localConn(id.Connector)
		_, target, tasks, ok := d.view.connector(id.Connector)
		if cs == nil || !ok || id.Task >= len(tasks) || target == StateStopped {
			continue
		}
		t := &taskRunner{cs: cs, id: id.Task, config: taskRunConfig(cs.config, tasks[id.Task])}
		d.work.Lock()
		d.work.tasks[id] = t
		d.work.Unlock()
		t.start(target == StatePaused)
	}
}

// localConn returns (making it) the connState of a connector with work here; nil (and a
// FAILED status) when its configuration names no known plugin.
func (d *Distributed) localConn(name string) *connState {
	d.work.Lock()
	cs := d.work.conns[name]
	d.work.Unlock()
	if cs != nil {
		return cs
	}
	config, target, _, ok := d.view.connector(name)
	if !ok {
		return nil
	}
	plugin, err := LookupPlugin(config["connector.class"])
	if err != nil {
		d.writeStatus(name, connectorTaskID, StateFailed, err.Error())
		return nil
	}
	cs = &connState{w: d.w, name: name, config: config, plugin: plugin, target: target, state: StateUnassigned,
		topics: map[string]struct{}{}, reconfigure: make(chan struct{}, 1)}
	cs.reconfigureHook = func() { d.reconfigure(cs) }
	d.work.Lock()
	d.work.conns[name] = cs
	d.work.Unlock()
	return cs
}

// startInstance starts a connector instance assigned here and, if its task configurations
// differ from the committed ones, sends them to the leader.
func (d *Distributed) startInstance(cs *connState) {
	configs, ok := cs.startConnector()
	d.w.mu.Lock()
	state, trace := cs.state, cs.trace
	d.w.mu.Unlock()
	if !ok {
		if state == StateStopped {
			d.writeStatus(cs.name, connectorTaskID, StateStopped, "")
		}
		return // a failure was recorded by fail
	}
	d.writeStatus(cs.name, connectorTaskID, state, trace)
	_, _, committed, _ := d.view.connector(cs.name)
	if !sameTaskConfigs(configs, committed) {
		go d.sendTaskConfigs(cs.name, configs)
	}
}

func sameTaskConfigs(a, b []map[string]string) bool {
	return slices.EqualFunc(a, b, func(x, y map[string]string) bool { return maps.Equal(x, y) })
}

// reconfigure is a connector instance asking for its task configurations to be computed
// again.
func (d *Distributed) reconfigure(cs *connState) {
	d.w.mu.Lock()
	conn := cs.conn
	d.w.mu.Unlock()
	if conn == nil {
		return
	}
	configs, err := cs.taskConfigsOf(conn)
	if err != nil {
		cs.fail(err)
		return
	}
	_, _, committed, _ := d.view.connector(cs.name)
	if !sameTaskConfigs(configs, committed) {
		d.sendTaskConfigs(cs.name, configs)
	}
}

// stopWork stops everything running here (eager rebalancing).
func (d *Distributed) stopWork() {
	d.work.Lock()
	tasks, conns := slices.Collect(maps.Values(d.work.tasks)), d.work.conns
	instances := d.work.instances
	d.work.tasks, d.work.conns, d.work.instances = map[TaskID]*taskRunner{}, map[string]*connState{}, map[string]bool{}
	d.work.Unlock()
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Add(1)
		go func() { defer wg.Done(); t.stop() }()
	}
	wg.Wait()
	for name := range instances {
		if cs := conns[name]; cs != nil {
			d.stopInstance(cs)
			d.writeStatus(name, connectorTaskID, StateUnassigned, "")
		}
	}
}

func (d *Distributed) stopInstance(cs *connState) {
	d.w.mu.Lock()
	conn := cs.conn
	cs.conn = nil
	d.w.mu.Unlock()
	if conn != nil {
		if err := conn.Stop(); err != nil {
			d.log.Warn("stopping a connector", "connector", cs.name, "err", err)
		}
	}
}

// applyTarget makes what runs here of a connector follow its new target state.
func (d *Distributed) applyTarget(name string) {
	_, target, _, ok := d.view.connector(name)
	d.work.Lock()
	cs, instance := d.work.conns[name], d.work.instances[name]
	var tasks []*taskRunner
	for id, t := range d.work.tasks {
		if id.Connector == name {
			tasks = append(tasks, t)
		}
	}
	d.work.Unlock()
	if !ok || cs == nil {
		return
	}
	d.w.mu.Lock()
	old := cs.target
	cs.target = target
	d.w.mu.Unlock()
	if old == target {
		return
	}
	switch {
	case target == StateStopped:
		for _, t := range tasks {
			t.stop()
		}
		if instance {
			d.stopInstance(cs)
			d.writeStatus(name, connectorTaskID, StateStopped, "")
		}
	case old == StateStopped:
		if instance {
			d.startInstance(cs) // its task configurations follow, and a rebalance with them
		}
	default:
		for _, t := range tasks {
			t.setPaused(target == StatePaused)
		}
		if instance {
			d.writeStatus(name, connectorTaskID, target, "")
		}
	}
}

// applyRestart restarts what runs here of a connector, as a restart request asks.
func (d *Distributed) applyRestart(r configRecord) {
	d.work.Lock()
	cs, instance := d.work.conns[r.Connector], d.work.instances[r.Connector]
	tasks := map[TaskID]*taskRunner{}
	for id, t := range d.work.tasks {
		if id.Connector == r.Connector {
			tasks[id] = t
		}
	}
	d.work.Unlock()
	if cs == nil {
		return
	}
	d.w.mu.Lock()
	connFailed := cs.state == StateFailed
	d.w.mu.Unlock()
	if instance && (!r.OnlyFailed || connFailed) {
		d.stopInstance(cs)
		d.startInstance(cs)
	}
	if !r.IncludeTasks {
		return
	}
	for id, t := range tasks {
		if !r.OnlyFailed || t.status().State == StateFailed {
			d.restartLocalTask(id, t)
		}
	}
}

// restartLocalTask replaces a task running here by a fresh one with the same configuration.
func (d *Distributed) restartLocalTask(id TaskID, t *taskRunner) {
	t.stop()
	d.w.mu.Lock()
	paused := t.cs.target == StatePaused
	d.w.mu.Unlock()
	nt := &taskRunner{cs: t.cs, id: t.id, config: t.config}
	d.work.Lock()
	if d.work.tasks[id] != t {
		d.work.Unlock()
		return // a rebalance took it meanwhile
	}
	d.work.tasks[id] = nt
	nt.start(paused) // under work's lock, so stopWork cannot miss it
	d.work.Unlock()
}
