package tests

import (
	"syscall"
	"testing"
	"time"
)

// TestStreamsRuntimeExactlyOnceFaults: two instances of the count app under exactly-once while
// input flows; one is SIGKILLed (mid-transaction: with a 100 ms commit interval and steady
// input a transaction is nearly always open) and restarted on the same state directory (not
// closed cleanly: wiped and restored); then the other is SIGSTOPped past its session timeout,
// so the group moves its tasks while it still has a transaction open (a zombie), and
// SIGCONTed. The read_committed output must count every input exactly once.
//
// It runs with the key-value count and with the count per 2-second tumbling window (a window
// store), the "windowed aggregation", with and without the record cache in front of
// the window store.
func TestStreamsRuntimeExactlyOnceFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and pauses streams app processes (about 70 s)")
	}
	t.Run("key_value", func(t *testing.T) { testStreamsExactlyOnceFaults(t, 0, false) })
	t.Run("windowed", func(t *testing.T) { testStreamsExactlyOnceFaults(t, 2000, false) })
	// The window store behind the record cache: its writes reach the store and the changelog
	// at commits, so an aborted transaction (the zombie's) must throw the cache away with the
	// task's state, and a killed instance's cache is lost with it.
	t.Run("windowed_cached", func(t *testing.T) { testStreamsExactlyOnceFaults(t, 2000, true) })
}

func testStreamsExactlyOnceFaults(t *testing.T, windowMS int64, caching bool) {
	n := startNode(t)
	n.createTopic("input", 6, nil)
	n.createTopic("output", 6, nil)
	args := streamsAppArgs{brokers: n.kafkaAddr, app: "faults", input: "input", output: "output", eos: true, commitMS: 100, windowMS: windowMS, caching: caching}
	aArgs, bArgs := args, args
	aArgs.stateDir, bArgs.stateDir = t.TempDir(), t.TempDir()
	a, b := startStreamsApp(t, "a", aArgs), startStreamsApp(t, "b", bArgs)
	a.waitRunning(30 * time.Second)
	b.waitRunning(30 * time.Second)
	feed := feedInput(t, n.client(), "input", 30)
	time.Sleep(3 * time.Second)

	a.kill()
	time.Sleep(time.Second)
	a = startStreamsApp(t, "a2", aArgs)
	a.waitRunning(30 * time.Second)
	time.Sleep(3 * time.Second)

	b.cmd.Process.Signal(syscall.SIGSTOP)
	time.Sleep(9 * time.Second) // session timeout 6 s (streamsapp's default here)
	b.cmd.Process.Signal(syscall.SIGCONT)
	time.Sleep(5 * time.Second)

	in := feed.finish()
	if windowMS > 0 {
		in = windowed(in, windowMS)
	}
	outs := readCountOutput(t, n, "output", true, 90*time.Second, countsDone(in))
	t.Logf("%d inputs, %d outputs", len(in), len(outs))
	checkCountsExact(t, in, outs)
	select {
	case <-b.exited:
		t.Logf("the zombie exited after SIGCONT: %v", b.cmd.ProcessState)
	default:
		b.term()
	}
	a.term()
}
