// Package state holds the state stores of Sluice's Streams library: key-value, window and
// session stores over byte keys and values, backed by Pebble (one DB per task directory) or
// by memory, each optionally logging its mutations for a changelog topic and restorable from
// one. Kafka Streams' stores are the model for behaviour and for every byte layout that leaves
// the process. The package is usable on its own; the Streams runtime adds serdes, changelog
// topics and tasks on top.
//
// # Stores
//
// KeyValueStore: Get (nil when absent), Put (a nil value deletes; an empty value is a value),
// Delete, Range / ReverseRange over [from, to) in byte order (nil bounds are open),
// ApproximateEntries (an exact count by a scan), Flush, Close.
//
// WindowStore: values per (key, window start) of fixed-size windows; Fetch one window,
// FetchRange one key's windows in start order, FetchAll every key's windows ordered by start
// then key (what closing windows up to stream time needs). With RetainDuplicates (Kafka
// Streams' stream-stream join windows) every Put adds an entry with a new 4-byte sequence
// number (1, 2, ... wrapping at 2^31, restarting at the highest restored one, not persisted
// otherwise, as in Kafka Streams) and nil values are ignored.
//
// SessionStore: values per (key, start, end); FindSessions(key, earliestSessionEnd,
// latestSessionStart) returns the sessions a new record may merge with (end >= earliest,
// start <= latest), Fetch(key) all of a key's sessions, FetchAll by end then key.
//
// Callbacks get slices valid only during the call; they may call the store again (the
// in-memory stores may or may not show such a change to the running scan; Pebble's scans read
// a snapshot taken at their start). A ChangeLogger must not call back into its store. Stores
// may be used from several goroutines (a task writing, interactive queries reading); each
// mutation is atomic, a sequence of them is not.
//
// # Retention (window and session stores)
//
// A store's observed stream time is the largest window start (session end) it was given by
// Put or RestoreBatch; after reopening a Pebble store it is the largest one still stored.
// Entries whose start (session: end) is <= stream time - Retention are expired, as Kafka
// Streams' segmented stores define it (live from stream time - retention + 1): they are
// invisible at once, a Put of one is dropped without being logged, and storage is reclaimed a
// whole segment at a time: time is cut into segments of SegmentInterval (default
// max(Retention/2, 60 s), Kafka Streams' choice) and a segment wholly below the live time is
// deleted by one range deletion per key space (in Pebble a DeleteRange tombstone, no scan).
// Segment drops are not logged: the changelog topic's own retention (cleanup.policy
// compact,delete) expires them there.
//
// # Changelog layouts
//
// Each mutation is passed to the store's ChangeLogger (nil value for a delete), after it was
// applied, with Kafka Streams' changelog key layout (integers big-endian):
//
//	key-value store: the key as is
//	window store:    key | window start int64 | seqnum int32 (0 without RetainDuplicates)   (WindowKeySchema)
//	session store:   key | session end int64 | session start int64                         (SessionKeySchema)
//
// RestoreBatch applies such records (nil values delete) without logging them; a key that does not parse fails the whole call with
// ErrCorruptKey. Output topics of windowed aggregations use Kafka Streams' windowed serdes:
// TimeWindowedSerializer key | start int64, SessionWindowedSerializer key | end | start, with
// the Append*/Parse* functions here. Changelog bytes come from the network: every Parse
// function has a fuzz target.
//
// # Pebble layout
//
// Open(dir) opens one Pebble DB; KeyValue(name), Window(name, opts) and Session(name, opts)
// open stores in it, each under the key prefix 's' | uvarint(len(name)) | name | space byte
// (a name may be open once at a time). Inside a store keys are order-preserving: times as
// big-endian with the sign bit flipped, user keys escaped (0x00 as 0x00 0xff) and ended by
// 0x00 0x01. A window store keeps 'w' start | key | seq -> value (time-major) and the index
// 'x' segment | key | start | seq (key-major within a segment, for FetchRange); a session
// store 'p' end | key | start -> value and 'y' segment | key | end | start. In-memory stores
// run the same code over a sorted map, so both behave alike by construction.
//
// Each Pebble store buffers its sets and deletes in memory (Options.WriteBack bytes, default
// 4 MiB; reads see them) and writes the buffer to Pebble as one batch when it is full, before
// a scan or a range deletion of that store, and before any SetCheckpoint, DeleteCheckpoint,
// Flush or Close of the DB: a key updated many times between checkpoints (an aggregation's)
// reaches Pebble's memtable once. Pebble's writes go to its write-ahead log without fsync;
// Flush (any store's, or the DB's) fsyncs it for every store of the DB at once. After a crash
// each store holds a prefix, in write order, of what was written to it: all of it up to the
// last Flush, perhaps more (each store's buffer goes to Pebble on its own).
//
// # Checkpoints
//
// SetCheckpoint(changelog partition, next) records that the stores hold every record of that
// changelog partition before offset next; restoring resumes at next (no checkpoint: from the
// beginning). It is written to the same write-ahead log after every mutation made before it,
// so no crash image has a checkpoint claiming more than its data (the data may be ahead of
// the checkpoint, which restoring from it rewrites harmlessly). It becomes durable with the
// next Flush, like the data it covers. PreviousCloseClean reports whether the DB was last
// closed by Close; under exactly-once an unclean stop means the stores may hold writes of an
// aborted transaction, so the runtime calls Wipe (every store's data and every checkpoint,
// durably) and restores from scratch, as Kafka Streams does without KIP-892.
package state
