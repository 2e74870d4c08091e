package tests

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestConnectSourceBackPressure: while the cluster does not answer (the broker SIGSTOPped), a
// file source with 100,000 lines to read stops being polled once its producer holds 10,000
// unacknowledged records (plus the batch in hand): the worker does not read the file into
// memory. When the broker resumes, every line arrives.
func TestConnectSourceBackPressure(t *testing.T) {
	n := startNode(t)
	n.createTopic("bp-lines", 1, nil)
	in := filepath.Join(t.TempDir(), "in.txt")
	appendLines(t, in, 0, 10)
	w := startConnectWorker(t, n, filepath.Join(t.TempDir(), "offsets.json"),
		"--override", "value.converter=org.apache.kafka.connect.storage.StringConverter")
	w.mustCall("PUT", "/connectors/bp/config",
		fmt.Sprintf(`{"connector.class":"FileStreamSource","file":%q,"topic":"bp-lines","batch.size":"2000"}`, in), 201)
	w.waitState("bp", "RUNNING")
	readTopicValues(t, n, "bp-lines", 10)

	polled := func() int {
		m := regexp.MustCompile(`sluice_connect_source_record_poll_total\{connector="bp",task="0"\} (\d+)`).
			FindStringSubmatch(w.mustCall("GET", "/metrics", "", 200))
		if m == nil {
			t.Fatal("no poll counter")
		}
		v, _ := strconv.Atoi(m[1])
		return v
	}
	// Stopped before the lines are appended: a broker still running would take some of them.
	if err := stopProcess(n.cmd.Process); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			n.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	const total = 100_000
	appendLines(t, in, 10, total)
	// The count settles: polls stop once the producer's buffer is full.
	last, stable := -1, 0
	for deadline := time.Now().Add(30 * time.Second); stable < 5; time.Sleep(300 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("polled records never settled (last %d)", last)
		}
		if p := polled(); p == last {
			stable++
		} else {
			last, stable = p, 0
		}
	}
	if limit := 10 + 10_000 + 2*2000; last > limit || last < 10_000 {
		t.Fatalf("with the cluster stopped the task was polled for %d records, want about 10,000 (at most %d)", last, limit)
	}
	t.Logf("with the broker stopped, polling stopped at %d of %d records", last, total)
	n.cmd.Process.Signal(syscall.SIGCONT)
	resumed = true
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := readAllNow(t, n, "bp-lines")
		if len(got) >= total {
			want := make([]string, total)
			for i := range want {
				want[i] = fmt.Sprintf("line-%04d", i)
			}
			checkAtLeastOnce(t, got, want)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lines after the broker resumed", len(got), total)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
