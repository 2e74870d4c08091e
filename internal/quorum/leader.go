package quorum

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/sluicehq/sluice/internal/metadata"
)

// watchLeadership runs for the life of the Quorum. Each time this node becomes leader it
// waits until every entry of earlier terms is applied (a Raft barrier), commits the bootstrap
// records if the cluster has none yet, and only then marks the term ready, so that the
// controller never validates against a stale Image.
func (q *Quorum) watchLeadership() {
	defer q.wg.Done()
	for {
		select {
		case <-q.closing:
			return
		case leader := <-q.raft.LeaderCh():
			q.readyTerm.Store(0)
			if leader {
				q.becomeReady()
			}
		}
	}
}

func (q *Quorum) becomeReady() {
	term := q.raft.CurrentTerm()
	if err := q.raft.Barrier(0).Error(); err != nil {
		q.logger.Info("lost leadership before catching up", "term", term, "err", err)
		return
	}
	if q.raft.State() != raft.Leader || q.raft.CurrentTerm() != term {
		return
	}
	if q.Image().ClusterID() == "" {
		// A new cluster, or one whose metadata log was lost while meta.properties kept its id:
		// keep the id the data directory was made for.
		id, err := q.clusterID(), error(nil)
		if id == "" {
			id, err = metadata.NewClusterID(nil)
		}
		if err == nil {
			_, err = q.propose(context.Background(), append(metadata.BootstrapRecords(id), q.opts.Bootstrap...))
		}
		if err != nil {
			q.logger.Error("could not commit the new cluster's id", "err", err)
			return
		}
		q.logger.Info("created cluster", "cluster_id", id, "bootstrap_records", len(q.opts.Bootstrap))
	} else if len(q.opts.Bootstrap) > 0 && q.bootstrapIgnored.CompareAndSwap(false, true) {
		q.logger.Info("the cluster exists: bootstrap records (--add-scram) ignored; change users with AlterUserScramCredentials (sluice user)",
			"cluster_id", q.Image().ClusterID(), "records", len(q.opts.Bootstrap))
	}
	q.readyTerm.Store(term)
	q.logger.Info("this node is the metadata leader (controller)", "node_id", q.opts.NodeID, "term", term, "offset", q.Image().Offset())
}

// ready reports whether this node is the leader and has caught up in its current term.
func (q *Quorum) ready() bool {
	return q.failure() == nil && q.raft.State() == raft.Leader && q.readyTerm.Load() == q.raft.CurrentTerm()
}

func (q *Quorum) notController() error {
	if id, ok := q.Leader(); ok && id != q.opts.NodeID {
		return fmt.Errorf("%w: node %d is the controller", metadata.ErrNotController, id)
	}
	return fmt.Errorf("%w: no controller is ready yet (election or catch-up in progress)", metadata.ErrNotController)
}

// LeaderImage returns the latest Image if this node is the controller and has caught up;
// otherwise an error wrapping metadata.ErrNotController.
func (q *Quorum) LeaderImage(ctx context.Context) (*metadata.Image, error) {
	if err := q.checkOpen(ctx); err != nil {
		return nil, err
	}
	if !q.ready() {
		return nil, q.notController()
	}
	return q.Image(), nil
}

// Propose commits a batch of records and returns once it is committed and applied on this
// node, with the Image after it. Errors: metadata.ErrNotController when this node is not the
// ready leader, or lost leadership before the batch committed (it may still commit under the
// next leader, as in Kafka); metadata.ErrInvalidRecord when the batch committed but was
// rejected on apply; ErrClosed.
//
// ctx bounds only the wait to enter the log: once the batch is in the log, Propose waits for
// its outcome (Raft resolves it on commit or on loss of leadership), because returning earlier
// would let the caller act as if a batch that then commits had not.
func (q *Quorum) Propose(ctx context.Context, records []metadata.Record) (*metadata.Image, error) {
	if err := q.checkOpen(ctx); err != nil {
		return nil, err
	}
	if !q.ready() {
		return nil, q.notController()
	}
	return q.propose(ctx, records)
}

func (q *Quorum) propose(ctx context.Context, records []metadata.Record) (*metadata.Image, error) {
	var timeout time.Duration
	if deadline, ok := ctx.Deadline(); ok {
		if timeout = time.Until(deadline); timeout <= 0 {
			return nil, context.DeadlineExceeded
		}
	}
	f := q.raft.Apply(metadata.EncodeBatch(records), timeout)
	if err := f.Error(); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
			errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrAbortedByRestore):
			return nil, fmt.Errorf("%w: %v", metadata.ErrNotController, err)
		case errors.Is(err, raft.ErrRaftShutdown):
			return nil, ErrClosed
		case errors.Is(err, raft.ErrEnqueueTimeout):
			return nil, fmt.Errorf("propose metadata: %w", context.DeadlineExceeded)
		}
		return nil, fmt.Errorf("propose metadata: %w", err)
	}
	switch resp := f.Response().(type) {
	case *metadata.Image:
		return resp, nil
	case error:
		return nil, resp
	}
	return nil, fmt.Errorf("propose metadata: unexpected apply result %T", f.Response())
}

func (q *Quorum) checkOpen(ctx context.Context) error {
	select {
	case <-q.closing:
		return ErrClosed
	case <-q.failed:
		return q.failErr
	default:
	}
	return ctx.Err()
}

// WaitReady waits until the quorum can serve: a leader is known and this node has applied
// everything committed so far (on the leader: caught up and bootstrapped in its term). The
// broker calls it after Open and before it accepts clients.
func (q *Quorum) WaitReady(ctx context.Context) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := q.failure(); err != nil {
			return err
		}
		if q.isReadyToServe() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("quorum: waiting for a metadata leader: %w", ctx.Err())
		case <-q.closing:
			return ErrClosed
		case <-q.failed:
			return q.failErr
		case <-tick.C:
		}
	}
}

func (q *Quorum) isReadyToServe() bool {
	if !q.peersChecked.Load() {
		return false
	}
	if q.raft.State() == raft.Leader {
		return q.ready()
	}
	if _, ok := q.Leader(); !ok {
		return false
	}
	commit := q.raft.CommitIndex()
	return commit > 0 && q.raft.AppliedIndex() >= commit && q.Image().ClusterID() != ""
}

// CaughtUp reports what WaitReady waits for: a leader is known and this node has applied
// everything committed so far. The authorizer treats its first true as the end of its initial
// load of the ACLs.
func (q *Quorum) CaughtUp() bool { return q.failure() == nil && q.isReadyToServe() }

// Active reports whether this node is the active controller: the Raft leader, caught up in
// its current term.
func (q *Quorum) Active() bool { return q.ready() }
