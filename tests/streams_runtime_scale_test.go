package tests

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// inputFeeder writes count inputs in small batches until stopped, recording them in order.
type inputFeeder struct {
	t    *testing.T
	cl   *kgo.Client
	mu   sync.Mutex
	in   []countInput
	stop chan struct{}
	done chan struct{}
}

func feedInput(t *testing.T, cl *kgo.Client, topic string, keys int) *inputFeeder {
	f := &inputFeeder{t: t, cl: cl, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		next := 0
		for {
			select {
			case <-f.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			batch := produceCountInput(t, cl, topic, next, 20, keys)
			next += len(batch)
			f.mu.Lock()
			f.in = append(f.in, batch...)
			f.mu.Unlock()
		}
	}()
	return f
}

// finish stops the feeder and returns every input written.
func (f *inputFeeder) finish() []countInput {
	close(f.stop)
	<-f.done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.in
}

// TestStreamsRuntimeScale: one instance, then three, then one again, while input flows.
// At-least-once: nothing lost. Exactly-once: the read_committed output is exactly the model
// (no loss, no duplicates, counts continued across every move of a task).
func TestStreamsRuntimeScale(t *testing.T) {
	if testing.Short() {
		t.Skip("scales a streams app while input flows (about 40 s)")
	}
	for _, tc := range []struct {
		name string
		eos  bool
	}{{"at_least_once", false}, {"exactly_once_v2", true}} {
		t.Run(tc.name, func(t *testing.T) {
			n := startNode(t)
			n.createTopic("input", 6, nil)
			n.createTopic("output", 6, nil)
			args := streamsAppArgs{brokers: n.kafkaAddr, app: "scale", input: "input", output: "output", eos: tc.eos, commitMS: 200}
			start := func(name string) *streamsProc {
				a := args
				a.stateDir = t.TempDir()
				return startStreamsApp(t, name, a)
			}
			a := start("a")
			a.waitRunning(30 * time.Second)
			feed := feedInput(t, n.client(), "input", 30)
			time.Sleep(2 * time.Second)
			b, c := start("b"), start("c")
			b.waitRunning(30 * time.Second)
			c.waitRunning(30 * time.Second)
			time.Sleep(4 * time.Second)
			b.term()
			c.term()
			time.Sleep(3 * time.Second)
			in := feed.finish()
			outs := readCountOutput(t, n, "output", tc.eos, 60*time.Second, countsDone(in))
			t.Logf("%d inputs, %d outputs", len(in), len(outs))
			if tc.eos {
				checkCountsExact(t, in, outs)
			} else {
				checkCountsAtLeastOnce(t, in, outs)
			}
			a.term()
			if t.Failed() {
				fmt.Println()
			}
		})
	}
}
