package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/streams/internal/engine"
	"github.com/sluicehq/sluice/streams/processor"
	"github.com/sluicehq/sluice/streams/state"
)

// globals keeps the global stores: every instance reads every partition of each global
// store's topic (no group) and passes the records to the store's updater (an engine global
// task). Run bootstraps them to the topics' ends before joining the group, then a goroutine
// of its own keeps them up to date; tasks read the stores concurrently (stores allow it).
// Positions are checkpointed in <state dir>/global every commit interval and at close.
type globals struct {
	r      *Runtime
	db     *state.DB
	stores map[string]any
	tasks  map[string]*engine.Task // by topic
	cl     *kgo.Client
	// next is the position per partition, owned by the goroutine (by bootstrap before).
	next   map[state.TopicPartition]int64
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex // err
	err    error
}

// openGlobals opens the global stores and reads their topics to the end.
func (r *Runtime) openGlobals(ctx context.Context) (*globals, error) {
	prog := r.cfg.Program
	g := &globals{r: r, stores: map[string]any{}, tasks: map[string]*engine.Task{}, next: map[state.TopicPartition]int64{}}
	var specs []processor.StoreSpec
	persistent := false
	for _, gl := range prog.Globals {
		specs = append(specs, gl.Store)
		persistent = persistent || !gl.Store.InMemory
	}
	if persistent {
		dir := filepath.Join(r.cfg.StateDir, "global")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("runtime: global state: %w", err)
		}
		db, err := state.Open(dir, nil)
		if err != nil {
			return nil, fmt.Errorf("runtime: global state: %w", err)
		}
		g.db = db
	}
	stores, err := engine.OpenStores(g.db, specs, nil, nil)
	if err != nil {
		g.closeDB()
		return nil, err
	}
	g.stores = stores
	var topics []string
	for _, gl := range prog.Globals {
		t, err := engine.NewGlobalTask(engine.GlobalConfig{AppID: r.cfg.AppID, Global: gl, Store: stores[gl.Store.Name], Clock: r.cfg.Clock, Logger: r.log})
		if err != nil {
			g.close()
			return nil, err
		}
		g.tasks[gl.Topic] = t
		topics = append(topics, gl.Topic)
	}
	if err := g.bootstrap(ctx, topics); err != nil {
		g.close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	g.cancel, g.done = cancel, make(chan struct{})
	go g.run(runCtx)
	return g, nil
}

// bootstrap assigns every partition of the global topics from its checkpoint and processes
// up to the ends listed now.
func (g *globals) bootstrap(ctx context.Context, topics []string) error {
	r := g.r
	ends, err := (&changelogReader{r: r}).ends(ctx, topics)
	if err != nil {
		return fmt.Errorf("runtime: global topics' end offsets: %w", err)
	}
	assign := map[string]map[int32]kgo.Offset{}
	pending := map[state.TopicPartition]int64{}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("runtime: global topics' end offsets: %w", err)
	}
	var list []kadmOffset
	ends.Each(func(e kadmOffset) { list = append(list, e) })
	for _, e := range list {
		tp := state.TopicPartition{Topic: e.Topic, Partition: e.Partition}
		off := kgo.NewOffset().AtStart()
		if g.db != nil {
			if next, ok, err := g.db.Checkpoint(tp); err != nil {
				return err
			} else if ok {
				off, g.next[tp] = kgo.NewOffset().At(next), next
			}
		}
		if assign[e.Topic] == nil {
			assign[e.Topic] = map[int32]kgo.Offset{}
		}
		assign[e.Topic][e.Partition] = off
		if pos, ok := g.next[tp]; (!ok || pos < e.Offset) && e.Offset > 0 {
			pending[tp] = e.Offset
		}
	}
	opts := slices.Clone(r.cfg.ClientOptions)
	opts = append(opts, kgo.KeepControlRecords(), kgo.ConsumePartitions(assign))
	if r.cfg.ExactlyOnce {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	if g.cl, err = kgo.NewClient(opts...); err != nil {
		return fmt.Errorf("runtime: global consumer: %w", err)
	}
	began := time.Now()
	for len(pending) > 0 {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fetches := g.cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := g.apply(fetches); err != nil {
			return err
		}
		for tp, end := range pending {
			if g.next[tp] >= end {
				delete(pending, tp)
			}
		}
	}
	r.log.Info("global stores bootstrapped", "topics", topics, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// apply passes a poll's records to the global tasks.
func (g *globals) apply(fetches kgo.Fetches) error {
	var err error
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		t := g.tasks[p.Topic]
		if t == nil || err != nil || len(p.Records) == 0 {
			return
		}
		for _, rec := range p.Records {
			if rec.Attrs.IsControl() {
				continue
			}
			in := engine.Input{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Key: rec.Key, Value: rec.Value, Timestamp: rec.Timestamp.UnixMilli()}
			if err = t.Process(in); err != nil {
				err = fmt.Errorf("runtime: global store of %s: %w", p.Topic, err)
				return
			}
		}
		g.next[state.TopicPartition{Topic: p.Topic, Partition: p.Partition}] = p.Records[len(p.Records)-1].Offset + 1
		g.r.met.restoredRecords.Add(float64(len(p.Records)))
	})
	return err
}

// run keeps the global stores up to date until cancelled; an error stops it and fails the
// runtime at its next step.
func (g *globals) run(ctx context.Context) {
	defer close(g.done)
	last := time.Now()
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fetches := g.cl.PollFetches(pctx)
		cancel()
		err := g.apply(fetches)
		if err == nil {
			for _, t := range g.tasks {
				if err = t.Punctuate(g.r.cfg.Clock()); err != nil {
					break
				}
			}
		}
		if err == nil && time.Since(last) >= g.r.cfg.CommitInterval {
			last = time.Now()
			err = g.checkpoint()
		}
		if err != nil {
			g.mu.Lock()
			g.err = err
			g.mu.Unlock()
			return
		}
	}
}

func (g *globals) failed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

func (g *globals) checkpoint() error {
	if g.db == nil {
		return nil
	}
	for tp, next := range g.next {
		if err := g.db.SetCheckpoint(tp, next); err != nil {
			return err
		}
	}
	return g.db.Flush()
}

// close stops the goroutine, checkpoints and closes the stores.
func (g *globals) close() error {
	var err error
	if g.cancel != nil {
		g.cancel()
		<-g.done
		err = g.checkpoint()
	}
	if g.cl != nil {
		g.cl.Close()
	}
	for _, t := range g.tasks {
		err = errors.Join(err, t.Close())
	}
	err = errors.Join(err, engine.CloseStores(g.stores))
	return errors.Join(err, g.closeDB())
}

func (g *globals) closeDB() error {
	if g.db == nil {
		return nil
	}
	err := g.db.Close()
	g.db = nil
	return err
}

type kadmOffset = kadm.ListedOffset
