package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configure Open.
type Options struct {
	// FS is the file system (nil: the OS). Tests pass vfs.NewCrashableMem().
	FS vfs.FS
	// CacheSize is the block cache for reads in bytes (0: 16 MiB). Pebble charges its
	// memtables to the same cache, so the cache made is CacheSize + 2 * MemTableSize.
	CacheSize int64
	// MemTableSize in bytes (0: 8 MiB).
	MemTableSize uint64
	// Cache, if not nil, is a block cache shared by several DBs (a process with many tasks
	// bounds its memory so, as Kafka Streams users do with a shared RocksDB cache); it must
	// hold every sharing DB's memtables too (2 x MemTableSize each) or nothing gets cached.
	// CacheSize is then ignored; the caller keeps its own reference (pebble.NewCache, Unref).
	Cache *pebble.Cache
	// Logger receives Pebble's messages (nil: discarded).
	Logger pebble.Logger
	// WriteBack is how many bytes of writes each store keeps in memory before writing them
	// to Pebble in one batch (0: 4 MiB; negative: none, every write is its own batch). A key
	// written again before then is written once: an aggregation updating the same keys over
	// and over costs a map update per write instead of a memtable insert. Checkpoints, Flush
	// and Close write them first.
	WriteBack int
}

const defaultWriteBack = 4 << 20

// TopicPartition names a changelog partition in checkpoints.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// DB is one Pebble database, normally one per task directory, holding any number of named
// stores (each under its own key prefix) and the task's changelog checkpoints. Its methods
// and its stores' may be called from several goroutines.
type DB struct {
	pdb       *pebble.DB
	closed    atomic.Bool
	wasClean  bool
	writeBack int
	mu        sync.Mutex
	stores    map[string]*pebbleEngine
}

// Pebble key layout: 'm' meta ('o': the open marker; 'c' + uvarint(len) topic + partition:
// a checkpoint), 's' + uvarint(len) name + space byte + store key: store data.
var openMarker = []byte("mo")

// Open opens (creating if needed) the store DB in dir.
func Open(dir string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	po := &pebble.Options{FS: o.FS, Logger: o.Logger}
	if po.FS == nil {
		po.FS = vfs.Default
	}
	if po.Logger == nil {
		po.Logger = quietLogger{}
	}
	po.MemTableSize = 8 << 20
	if o.MemTableSize > 0 {
		po.MemTableSize = o.MemTableSize
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 16 << 20
	}
	po.CacheSize = o.CacheSize + 2*int64(po.MemTableSize)
	po.Cache = o.Cache
	// Bloom filters on every level, as Kafka Streams configures RocksDB: a windowed
	// aggregation's first Fetch of each new window misses.
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	pdb, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", dir, err)
	}
	db := &DB{pdb: pdb, stores: map[string]*pebbleEngine{}, writeBack: o.WriteBack}
	if db.writeBack == 0 {
		db.writeBack = defaultWriteBack
	}
	_, closer, err := pdb.Get(openMarker)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		db.wasClean = true
	case err != nil:
		pdb.Close()
		return nil, err
	default:
		closer.Close()
	}
	if err := pdb.Set(openMarker, nil, pebble.Sync); err != nil {
		pdb.Close()
		return nil, err
	}
	return db, nil
}

// PreviousCloseClean reports whether the DB was closed by Close the last time it was open (or
// is new). After an unclean stop the stores hold every flushed write and possibly later ones:
// under at-least-once that is fine (restoring from the checkpoint rewrites them), under
// exactly-once they may hold uncommitted writes and the runtime calls Wipe, as Kafka Streams
// does without KIP-892.
func (db *DB) PreviousCloseClean() bool { return db.wasClean }

// Wipe deletes every store's data and every checkpoint, durably. No store may be open.
func (db *DB) Wipe() error {
	if db.closed.Load() {
		return ErrClosed
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if len(db.stores) > 0 {
		return ErrStoreOpen
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	_ = b.DeleteRange([]byte("mc"), []byte("md"), nil)
	_ = b.DeleteRange([]byte("s"), []byte("t"), nil)
	return b.Commit(pebble.Sync)
}

func checkpointKey(tp TopicPartition) []byte {
	k := []byte("mc")
	k = binary.AppendUvarint(k, uint64(len(tp.Topic)))
	k = append(k, tp.Topic...)
	return binary.BigEndian.AppendUint32(k, uint32(tp.Partition))
}

// SetCheckpoint records that the stores hold every record of changelog partition tp before
// offset next (restoring resumes at next). It is written after every mutation made before
// the call, in the write-ahead log's order, so whatever survives a crash never has a
// checkpoint claiming more than its data; it is durable with the next Flush.
func (db *DB) SetCheckpoint(tp TopicPartition, next int64) error {
	if db.closed.Load() {
		return ErrClosed
	}
	if err := db.writeBackAll(); err != nil {
		return err
	}
	return db.pdb.Set(checkpointKey(tp), binary.BigEndian.AppendUint64(nil, uint64(next)), pebble.NoSync)
}

// DeleteCheckpoint removes tp's checkpoint (restoring then starts from the beginning).
func (db *DB) DeleteCheckpoint(tp TopicPartition) error {
	if db.closed.Load() {
		return ErrClosed
	}
	if err := db.writeBackAll(); err != nil {
		return err
	}
	return db.pdb.Delete(checkpointKey(tp), pebble.NoSync)
}

// Checkpoint returns tp's checkpoint.
func (db *DB) Checkpoint(tp TopicPartition) (next int64, ok bool, err error) {
	if db.closed.Load() {
		return 0, false, ErrClosed
	}
	v, closer, err := db.pdb.Get(checkpointKey(tp))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, false, fmt.Errorf("state: checkpoint of %s-%d: %d bytes", tp.Topic, tp.Partition, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), true, nil
}

// Checkpoints returns every checkpoint.
func (db *DB) Checkpoints() (map[TopicPartition]int64, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte("mc"), UpperBound: []byte("md")})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := map[TopicPartition]int64{}
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key()[2:], it.Value()
		n, w := binary.Uvarint(k)
		if w <= 0 || uint64(len(k)-w) != n+4 || len(v) != 8 {
			return nil, fmt.Errorf("state: corrupt checkpoint key %q", it.Key())
		}
		tp := TopicPartition{Topic: string(k[w : w+int(n)]), Partition: int32(binary.BigEndian.Uint32(k[w+int(n):]))}
		out[tp] = int64(binary.BigEndian.Uint64(v))
	}
	return out, it.Error()
}

// Flush makes every write so far (all stores, checkpoints) durable: one fsync of the
// write-ahead log.
func (db *DB) Flush() error {
	if db.closed.Load() {
		return ErrClosed
	}
	if err := db.writeBackAll(); err != nil {
		return err
	}
	return db.pdb.LogData(nil, pebble.Sync)
}

func (db *DB) closedErr() error {
	if db.closed.Load() {
		return ErrClosed
	}
	return nil
}

// writeBackAll writes every open store's buffered writes to Pebble.
func (db *DB) writeBackAll() error {
	db.mu.Lock()
	engines := make([]*pebbleEngine, 0, len(db.stores))
	for _, e := range db.stores {
		engines = append(engines, e)
	}
	db.mu.Unlock()
	for _, e := range engines {
		e.mu.Lock()
		err := e.writeBack()
		e.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// Close flushes and closes the DB, marking the close clean. Stores still open return
// ErrClosed afterwards; using a store concurrently with Close is a bug of the caller.
func (db *DB) Close() error {
	if db.closed.Load() {
		return ErrClosed
	}
	// Buffered writes first, or the clean mark would promise state the stores never wrote.
	wbErr := db.writeBackAll()
	if db.closed.Swap(true) {
		return ErrClosed
	}
	if wbErr != nil {
		// Not marked clean: a restart restores from the checkpoints.
		db.pdb.Close()
		return wbErr
	}
	err := db.pdb.Delete(openMarker, pebble.Sync)
	if cerr := db.pdb.Close(); err == nil {
		err = cerr
	}
	return err
}

func (db *DB) engine(name string) (*pebbleEngine, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.stores[name] != nil {
		return nil, ErrStoreOpen
	}
	p := []byte{'s'}
	p = binary.AppendUvarint(p, uint64(len(name)))
	e := &pebbleEngine{db: db, name: name, prefix: append(p, name...), dirty: map[string]*dirtyValue{}}
	db.stores[name] = e
	return e, nil
}

func (db *DB) unregister(name string) {
	db.mu.Lock()
	delete(db.stores, name)
	db.mu.Unlock()
}

// KeyValue opens the key-value store name (logger may be nil).
func (db *DB) KeyValue(name string, logger ChangeLogger) (KeyValueStore, error) {
	e, err := db.engine(name)
	if err != nil {
		return nil, err
	}
	return newKeyValue(name, e, logger), nil
}

// Window opens the window store name.
func (db *DB) Window(name string, opts WindowOptions) (WindowStore, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	e, err := db.engine(name)
	if err != nil {
		return nil, err
	}
	return newWindow(name, e, opts)
}

// Session opens the session store name.
func (db *DB) Session(name string, opts SessionOptions) (SessionStore, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	e, err := db.engine(name)
	if err != nil {
		return nil, err
	}
	return newSession(name, e, opts)
}

// pebbleEngine is one store's key space in the DB, with its write-back buffer.
//
// Concurrency: mu guards buf and the buffer (dirty, dirtyBytes); it is held for map work and
// while a write-back commits its batch, never across a scan. Lock order: DB.mu, then an
// engine's mu (writeBackAll takes them one after the other, never nested).
type pebbleEngine struct {
	db     *DB
	name   string
	prefix []byte
	mu     sync.Mutex
	buf    []byte
	// dirty holds writes not yet in Pebble, by Pebble key (prefix | space | key).
	dirty      map[string]*dirtyValue
	dirtyBytes int
	closed     atomic.Bool
}

type dirtyValue struct {
	v   []byte
	del bool
}

// dirtyOverhead approximates a buffered entry's memory beyond its key and value bytes.
const dirtyOverhead = 64

func (e *pebbleEngine) check() error {
	if e.closed.Load() || e.db.closed.Load() {
		return ErrClosed
	}
	return nil
}

func (e *pebbleEngine) key(dst []byte, s byte, k []byte) []byte {
	dst = append(dst, e.prefix...)
	dst = append(dst, s)
	return append(dst, k...)
}

func (e *pebbleEngine) get(s byte, k []byte) ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.buf = e.key(e.buf[:0], s, k)
	if d := e.dirty[string(e.buf)]; d != nil {
		var out []byte
		if !d.del {
			out = append([]byte{}, d.v...)
		}
		e.mu.Unlock()
		return out, nil
	}
	v, closer, err := e.db.pdb.Get(e.buf)
	e.mu.Unlock()
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte{}, v...)
	closer.Close()
	return out, nil
}

func (e *pebbleEngine) iterate(s byte, lo, hi []byte, reverse bool, fn func(k, v []byte) bool) error {
	if err := e.check(); err != nil {
		return err
	}
	// Scans read Pebble alone: the buffer goes in first.
	e.mu.Lock()
	err := e.writeBack()
	e.mu.Unlock()
	if err != nil {
		return err
	}
	pl := len(e.prefix) + 1
	lower := e.key(nil, s, lo)
	var upper []byte
	if hi != nil {
		upper = e.key(nil, s, hi)
	} else {
		upper = prefixEnd(lower[:pl])
	}
	it, err := e.db.pdb.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	var ok bool
	if reverse {
		ok = it.Last()
	} else {
		ok = it.First()
	}
	for ok {
		if !fn(it.Key()[pl:], it.Value()) {
			break
		}
		if reverse {
			ok = it.Prev()
		} else {
			ok = it.Next()
		}
	}
	err = it.Error()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return err
}

// apply buffers sets and deletes (a key written again replaces its buffered write, reusing
// its value's memory) and writes the buffer back when it is over the DB's WriteBack bytes. A
// range deletion writes the buffer back first and goes to Pebble with the rest of ops in one
// batch, so the order of writes is kept.
func (e *pebbleEngine) apply(ops []op) error {
	if err := e.check(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.db.writeBack < 0 || hasRange(ops) {
		if err := e.writeBack(); err != nil {
			return err
		}
		return e.commit(ops)
	}
	for _, p := range ops {
		e.buf = e.key(e.buf[:0], p.space, p.k)
		d := e.dirty[string(e.buf)]
		if d != nil {
			e.dirtyBytes -= len(d.v)
		} else {
			d = &dirtyValue{}
			e.dirty[string(e.buf)] = d
			e.dirtyBytes += len(e.buf) + dirtyOverhead
		}
		d.del = p.kind == opDel
		d.v = d.v[:0]
		if !d.del {
			d.v = append(d.v, p.v...)
			e.dirtyBytes += len(d.v)
		}
	}
	if e.dirtyBytes > e.db.writeBack {
		return e.writeBack()
	}
	return nil
}

func hasRange(ops []op) bool {
	for _, p := range ops {
		if p.kind == opDelRange {
			return true
		}
	}
	return false
}

// writeBack writes the buffer to Pebble in one batch; e.mu is held.
func (e *pebbleEngine) writeBack() error {
	if len(e.dirty) == 0 {
		return nil
	}
	b := e.db.pdb.NewBatch()
	for k, d := range e.dirty {
		if d.del {
			_ = b.Delete([]byte(k), nil)
		} else {
			_ = b.Set([]byte(k), d.v, nil)
		}
	}
	err := b.Commit(pebble.NoSync)
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err // the buffer stays: a later write-back tries again
	}
	clear(e.dirty)
	e.dirtyBytes = 0
	return nil
}

// commit writes ops to Pebble as one batch; e.mu is held.
func (e *pebbleEngine) commit(ops []op) error {
	b := e.db.pdb.NewBatch()
	for _, p := range ops {
		e.buf = e.key(e.buf[:0], p.space, p.k)
		switch p.kind {
		case opSet:
			_ = b.Set(e.buf, p.v, nil)
		case opDel:
			_ = b.Delete(e.buf, nil)
		case opDelRange:
			var hi []byte
			if p.v != nil {
				hi = e.key(nil, p.space, p.v)
			} else {
				hi = prefixEnd(e.buf[:len(e.prefix)+1])
			}
			_ = b.DeleteRange(e.buf, hi, nil)
		}
	}
	err := b.Commit(pebble.NoSync)
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	return err
}

func (e *pebbleEngine) flush() error {
	if err := e.check(); err != nil {
		return err
	}
	return e.db.Flush()
}

func (e *pebbleEngine) close() error {
	if err := e.db.closedErr(); err == nil {
		e.mu.Lock()
		err = e.writeBack()
		e.mu.Unlock()
		if err != nil {
			return err
		}
	}
	if e.closed.Swap(true) {
		return ErrClosed
	}
	e.db.unregister(e.name)
	return nil
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
