package storage

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluicehq/sluice/internal/record"
	"github.com/sluicehq/sluice/internal/vfs"
)

// benchBatch is a 16 KB batch of 1 KB records (uncompressed), the unit of the append
// benchmarks.
func benchBatch(b *testing.B) []byte {
	b.Helper()
	bl := record.NewBuilder(record.None)
	val := make([]byte, 1000)
	for i := range val {
		val[i] = byte(i * 7)
	}
	for range 16 {
		bl.Add(time.Now().UnixMilli(), nil, val)
	}
	out, err := bl.Build(nil)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func openBenchManager(b *testing.B, dir string, groupCommit bool) *Manager {
	b.Helper()
	m, err := Open(Options{FS: vfs.OS, Dir: dir, GroupCommit: groupCommit, Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	drainWriteBack(b, dir)
	return m
}

// drainWriteBack makes the disk write out what earlier benchmarks left dirty, so that no
// benchmark pays for its predecessor's page cache.
func drainWriteBack(b *testing.B, dir string) {
	b.Helper()
	s, err := vfs.OS.OpenSyncer(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.SyncAll(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAppend compares appending 16 KB batches to a partition log in page-cache mode with
// a plain sequential write of the same bytes to a file on the same disk, in the same run. The
// ratio of their MB/s is the figure docs/benchmarks.md reports.
func BenchmarkAppend(b *testing.B) {
	batch := benchBatch(b)
	b.Run("log-page-cache", func(b *testing.B) {
		m := openBenchManager(b, filepath.Join(b.TempDir(), "data"), false)
		defer m.Close()
		l, err := m.CreateLog(testTP, [16]byte{1}, DefaultLogConfig())
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(batch)))
		b.ResetTimer()
		for range b.N {
			if _, err := l.Append(batch, 0); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer() // Close flushes the whole log: not part of appending
	})
	b.Run("plain-sequential-write", func(b *testing.B) {
		dir := b.TempDir()
		f, err := vfs.OS.Create(filepath.Join(dir, "plain"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		drainWriteBack(b, dir)
		b.SetBytes(int64(len(batch)))
		b.ResetTimer()
		for range b.N {
			if _, err := f.Write(batch); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
	})
	// interleaved alternates one log append and one plain write of the same bytes, timing
	// each, so both see the same page-cache and write-back conditions; it reports both rates
	// and their ratio.
	b.Run("interleaved", func(b *testing.B) {
		dir := b.TempDir()
		m := openBenchManager(b, filepath.Join(dir, "data"), false)
		defer m.Close()
		l, err := m.CreateLog(testTP, [16]byte{1}, DefaultLogConfig())
		if err != nil {
			b.Fatal(err)
		}
		f, err := vfs.OS.Create(filepath.Join(dir, "plain"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		var logTime, plainTime time.Duration
		b.SetBytes(int64(2 * len(batch)))
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			if _, err := l.Append(batch, 0); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if _, err := f.Write(batch); err != nil {
				b.Fatal(err)
			}
			logTime += t1.Sub(t0)
			plainTime += time.Since(t1)
		}
		b.StopTimer()
		total := float64(b.N) * float64(len(batch)) / 1e6
		b.ReportMetric(total/logTime.Seconds(), "log-MB/s")
		b.ReportMetric(total/plainTime.Seconds(), "plain-MB/s")
		b.ReportMetric(plainTime.Seconds()/logTime.Seconds(), "log/plain")
	})
}

// BenchmarkConcurrentAppend runs 64 or 256 appenders over 16 partitions in page-cache and in
// group-commit mode; the ratio group-commit / page-cache is the cost of acknowledging only
// durable appends.
func BenchmarkConcurrentAppend(b *testing.B) {
	batch := benchBatch(b)
	const partitions = 16
	for _, appenders := range []int{64, 256} {
		for _, mode := range []string{"page-cache", "group-commit"} {
			b.Run(fmt.Sprintf("%s/appenders=%d", mode, appenders), func(b *testing.B) {
				m := openBenchManager(b, filepath.Join(b.TempDir(), "data"), mode == "group-commit")
				defer m.Close()
				var logs []*Log
				for p := range partitions {
					l, err := m.CreateLog(TopicPartition{Topic: "bench", Partition: int32(p)}, [16]byte{1}, DefaultLogConfig())
					if err != nil {
						b.Fatal(err)
					}
					logs = append(logs, l)
				}
				var next atomic.Int64
				b.SetBytes(int64(len(batch)))
				b.SetParallelism(appenders / runtime.GOMAXPROCS(0))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					l := logs[next.Add(1)%partitions]
					own := append([]byte(nil), batch...)
					for pb.Next() {
						if _, err := l.Append(own, 0); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				if rounds := metricValue(m.metrics.GroupCommitAppends); rounds > 0 {
					b.ReportMetric(float64(b.N)/rounds, "appends/round")
				}
			})
		}
	}
}

// BenchmarkRead measures reading a 256 MiB log back in 1 MiB fetches, through the copy path
// (to io.Discard) and through sendfile to a loopback TCP connection.
func BenchmarkRead(b *testing.B) {
	batch := benchBatch(b)
	m := openBenchManager(b, filepath.Join(b.TempDir(), "data"), false)
	defer m.Close()
	l, err := m.CreateLog(testTP, [16]byte{1}, DefaultLogConfig())
	if err != nil {
		b.Fatal(err)
	}
	for l.Size() < 256<<20 {
		if _, err := l.Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
	readAllOnce := func(b *testing.B, w io.Writer) int64 {
		var total int64
		for off := int64(0); off < l.LogEndOffset(); {
			res, err := l.Read(off, 1<<20, l.LogEndOffset(), true)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res.Regions {
				n, err := r.WriteTo(w)
				if err != nil {
					b.Fatal(err)
				}
				total += n
			}
			off = res.NextOffset
			res.Release()
		}
		return total
	}
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(l.Size())
		for range b.N {
			readAllOnce(b, io.Discard)
		}
	})
	b.Run("sendfile-tcp", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(l.Size())
		b.ResetTimer()
		for range b.N {
			readAllOnce(b, conn)
		}
		b.StopTimer()
		conn.Close()
		wg.Wait()
	})
}

// benchSelected reports whether -test.bench names this benchmark explicitly (not "."), for
// benchmarks too heavy to run by default.
func benchSelected(name string) bool {
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), name)
}

// BenchmarkRecoveryActiveSegment1GiB measures Open after an unclean stop with a 1 GiB active
// segment past the recovery point: every batch is read and CRC-checked and the indexes are
// rebuilt. It writes 1 GiB, so it runs only when -bench names it. "warm" leaves the segment in
// the page cache (a process crash), "cold" evicts it first with posix_fadvise (closer to a
// power loss).
func BenchmarkRecoveryActiveSegment1GiB(b *testing.B) {
	if !benchSelected("Recovery") {
		b.Skip("writes 1 GiB; run with -bench=Recovery")
	}
	dir := filepath.Join(b.TempDir(), "data")
	batch := benchBatch(b)
	m := openBenchManager(b, dir, false)
	l, err := m.CreateLog(testTP, [16]byte{1}, DefaultLogConfig())
	if err != nil {
		b.Fatal(err)
	}
	for l.Size()+int64(len(batch)) <= DefaultSegmentBytes {
		if _, err := l.Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
	size, end := l.Size(), l.LogEndOffset()
	if err := m.Close(); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"warm", "cold"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(size)
			for range b.N {
				b.StopTimer()
				makeUnclean(b, dir, mode == "cold")
				b.StartTimer()
				m, err := Open(Options{FS: vfs.OS, Dir: dir, Logger: testLogger(b)})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				l, _ := m.Log(testTP)
				if l.LogEndOffset() != end || metricValue(m.metrics.IndexesRebuilt) != 0 && false {
					b.Fatalf("recovered to %d, want %d", l.LogEndOffset(), end)
				}
				if err := m.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// makeUnclean turns a cleanly closed data dir into one left by a crash before any recovery
// point was checkpointed.
func makeUnclean(b *testing.B, dir string, evict bool) {
	b.Helper()
	if err := vfs.OS.Remove(filepath.Join(dir, cleanShutdownName)); err != nil {
		b.Fatal(err)
	}
	if err := publishFile(vfs.OS, filepath.Join(dir, recoveryPointCheckpointName), formatOffsetCheckpoint(nil)); err != nil {
		b.Fatal(err)
	}
	if !evict {
		return
	}
	names, err := vfs.OS.ReadDir(filepath.Join(dir, testTP.String()))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, testTP.String(), n))
		if err != nil {
			b.Fatal(err)
		}
		_ = f.Sync()
		_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		f.Close()
	}
}

// BenchmarkIdlePartitionMemory loads a data dir of 10,000 partitions (one small segment each)
// after a clean stop and reports the heap it takes per partition, and the same after every
// partition took one append and one read and went idle again.
func BenchmarkIdlePartitionMemory(b *testing.B) {
	const partitions = 10_000
	dir := filepath.Join(b.TempDir(), "data")
	m := openBenchManager(b, dir, false)
	small := makeBatch(b, 1, 100, 1, 0)
	for p := range partitions {
		l, err := m.CreateLog(TopicPartition{Topic: "idle", Partition: int32(p)}, [16]byte{1}, DefaultLogConfig())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Append(small, 0); err != nil {
			b.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		before := heapInUse()
		m := openBenchManager(b, dir, false)
		loaded := heapInUse()
		for _, l := range m.Logs() {
			if _, err := l.Append(small, 0); err != nil {
				b.Fatal(err)
			}
			res, err := l.Read(0, 1<<20, l.LogEndOffset(), true)
			if err != nil {
				b.Fatal(err)
			}
			res.Release()
		}
		touched := heapInUse()
		b.ReportMetric(float64(loaded-before)/partitions, "B/idle-partition")
		b.ReportMetric(float64(touched-before)/partitions, "B/partition-after-use")
		b.ReportMetric(float64(m.OpenFiles()), "open-files")
		if len(m.Logs()) != partitions {
			b.Fatalf("%d partitions loaded", len(m.Logs()))
		}
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// BenchmarkSyncRound compares the two ways a group-commit round can make N files durable after
// each received a 16 KB write: one fsync per file (up to 16 in parallel, as the syncer does) or
// one syncfs(2). It is the measurement behind syncAllMinLogs.
func BenchmarkSyncRound(b *testing.B) {
	buf := make([]byte, 16<<10)
	for _, files := range []int{1, 4, 16, 256} {
		for _, mode := range []string{"fsync-each", "syncfs"} {
			b.Run(fmt.Sprintf("files=%d/%s", files, mode), func(b *testing.B) {
				dir := b.TempDir()
				var fs []vfs.File
				for i := range files {
					f, err := vfs.OS.Create(filepath.Join(dir, fmt.Sprintf("f%d", i)))
					if err != nil {
						b.Fatal(err)
					}
					defer f.Close()
					fs = append(fs, f)
				}
				whole, err := vfs.OS.OpenSyncer(dir)
				if err != nil {
					b.Fatal(err)
				}
				defer whole.Close()
				drainWriteBack(b, dir)
				b.SetBytes(int64(files * len(buf)))
				b.ResetTimer()
				for range b.N {
					for _, f := range fs {
						if _, err := f.Write(buf); err != nil {
							b.Fatal(err)
						}
					}
					if mode == "syncfs" {
						if err := whole.SyncAll(); err != nil {
							b.Fatal(err)
						}
						continue
					}
					var wg sync.WaitGroup
					sem := make(chan struct{}, maxParallelSyncs)
					for _, f := range fs {
						wg.Add(1)
						sem <- struct{}{}
						go func() {
							defer wg.Done()
							if err := f.Sync(); err != nil {
								b.Error(err)
							}
							<-sem
						}()
					}
					wg.Wait()
				}
				b.StopTimer()
			})
		}
	}
}

// BenchmarkSyncRoundRatio measures, in the same run and interleaved round by round, the two
// ways a group-commit round can make N logs durable after each got a 16 KB append: one
// fdatasync(2) per file (in parallel, up to maxParallelSyncs) or one syncfs(2). It reports
// each one's mean round time and their ratio (fdatasync-each / syncfs: below 1, per-file is
// cheaper). With other=1MB, another file on the same file system gets 1 MB before each round
// and is not synced by the round (as the cleaner's output or the Raft store would be): syncfs
// writes it out too, fdatasync does not. It is the measurement behind syncAllMinLogs.
func BenchmarkSyncRoundRatio(b *testing.B) {
	buf := make([]byte, 16<<10)
	other := make([]byte, 1<<20)
	for _, otherBytes := range []int{0, len(other)} {
		for _, files := range []int{1, 2, 4, 6, 16} {
			b.Run(fmt.Sprintf("other=%dMB/files=%d", otherBytes>>20, files), func(b *testing.B) {
				benchSyncRoundRatio(b, files, buf, other[:otherBytes])
			})
		}
	}
}

func benchSyncRoundRatio(b *testing.B, files int, buf, other []byte) {
	dir := b.TempDir()
	var fs []vfs.File
	for i := range files + 1 {
		f, err := vfs.OS.Create(filepath.Join(dir, fmt.Sprintf("f%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		fs = append(fs, f)
	}
	bystander, fs := fs[files], fs[:files]
	whole, err := vfs.OS.OpenSyncer(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer whole.Close()
	drainWriteBack(b, dir)
	write := func() {
		for _, f := range fs {
			if _, err := f.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if len(other) > 0 {
			if _, err := bystander.Write(other); err != nil {
				b.Fatal(err)
			}
		}
	}
	var perFile, syncfs time.Duration
	b.ResetTimer()
	for range b.N {
		write()
		start := time.Now()
		var wg sync.WaitGroup
		sem := make(chan struct{}, maxParallelSyncs)
		for _, f := range fs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				if err := vfs.DataSync(f); err != nil {
					b.Error(err)
				}
				<-sem
			}()
		}
		wg.Wait()
		perFile += time.Since(start)
		write()
		start = time.Now()
		if err := whole.SyncAll(); err != nil {
			b.Fatal(err)
		}
		syncfs += time.Since(start)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(perFile.Microseconds())/n, "fdatasync-us/round")
	b.ReportMetric(float64(syncfs.Microseconds())/n, "syncfs-us/round")
	b.ReportMetric(float64(perFile)/float64(syncfs), "fdatasync/syncfs")
}
