package tests

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStreamsRuntimeCount: one instance of the count application under each guarantee
// counts every input; the output equals the model (each key's counts 1..n with the ids of its
// inputs in order). Changelog and internal topics are created by the app.
func TestStreamsRuntimeCount(t *testing.T) {
	for _, tc := range []struct {
		name string
		eos  bool
	}{{"at_least_once", false}, {"exactly_once_v2", true}} {
		t.Run(tc.name, func(t *testing.T) {
			n := startNode(t)
			n.createTopic("input", 4, nil)
			n.createTopic("output", 4, nil)
			args := streamsAppArgs{brokers: n.kafkaAddr, app: "count-" + tc.name, input: "input", output: "output",
				stateDir: t.TempDir(), eos: tc.eos, commitMS: 200}
			p := startStreamsApp(t, "app", args)
			cl := n.client()
			in := produceCountInput(t, cl, "input", 0, 1000, 20)
			p.waitRunning(30 * time.Second)
			in = append(in, produceCountInput(t, cl, "input", 1000, 1000, 20)...)
			outs := readCountOutput(t, n, "output", tc.eos, 60*time.Second, countsDone(in))
			checkCountsExact(t, in, outs)
			p.term()
			details, err := n.admin().ListTopics(t.Context(), "count-"+tc.name+"-counts-changelog")
			if err != nil || details["count-"+tc.name+"-counts-changelog"].Err != nil {
				t.Fatalf("changelog topic: %v %v", err, details)
			}
			if got := len(details["count-"+tc.name+"-counts-changelog"].Partitions); got != 4 {
				t.Errorf("changelog has %d partitions, want 4 (the input's)", got)
			}
		})
	}
}

// TestStreamsRuntimeRestoreAfterStateDirDeleted: the app stops cleanly, its state directory
// is deleted, more input arrives; the restarted app restores the counts from the changelog
// and continues them (a count starting again at 1 would fail the exact check).
func TestStreamsRuntimeRestoreAfterStateDirDeleted(t *testing.T) {
	for _, tc := range []struct {
		name string
		eos  bool
	}{{"at_least_once", false}, {"exactly_once_v2", true}} {
		t.Run(tc.name, func(t *testing.T) {
			n := startNode(t)
			n.createTopic("input", 3, nil)
			n.createTopic("output", 3, nil)
			stateDir := t.TempDir()
			args := streamsAppArgs{brokers: n.kafkaAddr, app: "restore", input: "input", output: "output",
				stateDir: stateDir, eos: tc.eos, commitMS: 200}
			cl := n.client()
			p := startStreamsApp(t, "first", args)
			in := produceCountInput(t, cl, "input", 0, 600, 12)
			readCountOutput(t, n, "output", tc.eos, 60*time.Second, countsDone(in))
			p.term()
			if _, err := os.Stat(filepath.Join(stateDir, "restore", "0_0")); err != nil {
				t.Fatalf("no task directory after the first run: %v", err)
			}
			if err := os.RemoveAll(stateDir); err != nil {
				t.Fatal(err)
			}
			in = append(in, produceCountInput(t, cl, "input", 600, 600, 12)...)
			p2 := startStreamsApp(t, "second", args)
			p2.waitRunning(60 * time.Second)
			outs := readCountOutput(t, n, "output", tc.eos, 60*time.Second, countsDone(in))
			checkCountsExact(t, in, outs)
			p2.term()
		})
	}
}
