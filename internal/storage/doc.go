// Package storage is Sluice's partition log: Kafka's on-disk layout of segments and indexes,
// crash recovery, retention, and the durability modes (page cache with flush.messages /
// flush.ms, or group commit). The byte formats are specified in docs/format/.
//
// A Manager owns one data directory. Open loads every partition in it; after a clean stop it
// trusts the checkpoints and reads nothing else, after an unclean one it validates every batch
// past each partition's recovery point, cuts a torn or corrupt tail, rebuilds the indexes it
// scanned, and logs and counts what it dropped. A partition whose fsynced data is damaged is
// taken offline (its methods return ErrLogOffline, wrapping a *CorruptError that names the
// file and byte) without affecting the others.
//
// A Log appends batches that the caller has validated: it assigns offsets by rewriting each
// batch's base offset and partition leader epoch in place (both outside the CRC), writes the
// bytes unchanged with one write, and adds sparse index entries. Read returns file regions,
// never copies; a Region's file stays open until the ReadResult is released, even if retention
// or truncation deletes the segment meanwhile, and Region.WriteTo uses sendfile(2) for sockets.
//
// Invariants:
//
//   - All file I/O goes through internal/vfs (a lint test enforces it), so tests run on a
//     crash-simulating in-memory file system and with injected faults.
//   - Offsets in a log strictly increase; segment base offsets strictly increase; only the
//     last (active) segment is appended to or truncated.
//   - Data and indexes below a log's recovery point are fsynced. Records below a log's
//     durable offset survive a power loss: in group-commit mode it moves when a syncer round
//     that covered them completes (Append waits for that; AppendNoWait + ScheduleSync let the
//     caller wait elsewhere), in page-cache mode it is the log end offset. A segment is
//     fsynced in group-commit mode before the next
//     one becomes active, so after a crash only the active segment can be torn. In page-cache
//     mode the old segment is fsynced in the background after a roll; if power fails first,
//     recovery cuts the log at the first torn batch past the recovery point and deletes the
//     segments after it (Kafka's rule), since nothing there was promised.
//   - Index files are derived data: missing, torn or inconsistent ones are rebuilt from the
//     .log, never trusted blindly. Non-active segments' indexes are read with ReadAt when
//     needed, not held in memory, and segment files are opened lazily and closed when idle
//     (Options.MaxOpenFiles, by default 3/4 of RLIMIT_NOFILE; active segments' .log files are
//     the last evicted), so an idle partition costs little memory and no descriptors.
//   - Nothing read from disk can panic: bad bytes are a typed error.
//
// Concurrency: appends, rolls, truncation and retention on one log are serialized by the log;
// reads run concurrently with all of them. The Manager runs one background goroutine
// (retention, flush.ms, checkpoints), in group-commit mode one syncer shared by all logs, and
// Options.CleanerThreads log-cleaner goroutines (clean.go): for cleanup.policy=compact they
// replace runs of non-active segments with cleaned copies that keep every kept record's offset,
// swapped in atomically (.cleaned → .swap → live; a committed swap is completed at Open).
//
// Example:
//
//	m, err := storage.Open(storage.Options{Dir: "/var/lib/sluice", GroupCommit: true})
//	if err != nil { ... }
//	defer m.Close()
//	l, err := m.CreateLog(storage.TopicPartition{Topic: "orders", Partition: 0}, topicID, storage.DefaultLogConfig())
//	info, err := l.Append(batches, leaderEpoch) // batches already checked with record.Validate
//	res, err := l.Read(info.FirstOffset, 1<<20, l.LogEndOffset(), true)
//	defer res.Release()
//	for _, r := range res.Regions {
//		r.WriteTo(conn) // sendfile to a *net.TCPConn
//	}
package storage
