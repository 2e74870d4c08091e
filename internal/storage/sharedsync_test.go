package storage

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/vfs"
)

// TestConcurrentCreateLogsSurviveCrash creates many logs at once, so their fsyncs are shared
// (small rounds fsync each file, big ones one syncfs), assigns a leader epoch in each, and
// simulates a power loss right after: every log that CreateLog returned, with its topic id
// and its leader-epoch checkpoint, is there after the restart.
func TestConcurrentCreateLogsSurviveCrash(t *testing.T) {
	for _, n := range []int{1, 3, 64} {
		t.Run(fmt.Sprintf("logs=%d", n), func(t *testing.T) {
			mem := vfs.NewMem()
			m := openManager(t, mem, nil)
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tp := TopicPartition{Topic: "t", Partition: int32(i)}
					l, err := m.CreateLog(tp, [16]byte{byte(i + 1)}, DefaultLogConfig())
					if err == nil {
						err = l.LeaderEpochs().Assign(3, 0)
					}
					errs[i] = err
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("partition %d: %v", i, err)
				}
			}
			crashed := mem.CrashClone(vfs.CrashOptions{})
			for i := range n {
				// Read the file before Open, which drops entries at or past the (empty) log's end.
				data, err := readSmallFile(crashed, filepath.Join(partitionDirName("/data", TopicPartition{Topic: "t", Partition: int32(i)}), leaderEpochCheckpointName))
				if err != nil {
					t.Fatalf("partition %d: leader epoch checkpoint lost in the crash: %v", i, err)
				}
				if es, err := parseEpochCheckpoint(data); err != nil || len(es) != 1 || es[0].Epoch != 3 {
					t.Fatalf("partition %d: leader epoch checkpoint after the crash: %v, %v", i, es, err)
				}
			}
			m2 := openManager(t, crashed, nil)
			for i := range n {
				l, ok := m2.Log(TopicPartition{Topic: "t", Partition: int32(i)})
				if !ok {
					t.Fatalf("partition %d lost in the crash", i)
				}
				if got := l.TopicID(); got != [16]byte{byte(i + 1)} {
					t.Fatalf("partition %d: topic id %x after the crash", i, got)
				}
			}
		})
	}
}
