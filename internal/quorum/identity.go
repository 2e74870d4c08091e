package quorum

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// DirectoryID identifies one data directory's copy of the metadata log (KIP-853, KIP-858): a
// random UUID, written in Kafka's form (base64url without padding, 22 characters). A node whose
// disk was replaced gets a new one, so the quorum can tell the new, empty log from the old voter.
// The zero value is Kafka's "unassigned" directory id: a voter of a configuration written before
// directory ids (a node id alone).
type DirectoryID [16]byte

// NewDirectoryID returns a random directory id outside Kafka's reserved range (the ids whose
// first 64 bits are zero are reserved: unassigned, lost, migrating).
func NewDirectoryID() DirectoryID {
	for {
		var d DirectoryID
		if _, err := rand.Read(d[:]); err != nil {
			panic(fmt.Sprintf("quorum: random directory id: %v", err)) // crypto/rand never fails on Linux
		}
		if !d.reserved() {
			return d
		}
	}
}

func (d DirectoryID) reserved() bool { return [8]byte(d[:8]) == [8]byte{} }

// Bytes returns the id's 16 bytes.
func (d DirectoryID) Bytes() []byte { return d[:] }

// IsZero reports whether d is the unassigned directory id.
func (d DirectoryID) IsZero() bool { return d == DirectoryID{} }

func (d DirectoryID) String() string { return base64.RawURLEncoding.EncodeToString(d[:]) }

// ParseDirectoryID parses Kafka's base64url form of a UUID.
func ParseDirectoryID(s string) (DirectoryID, error) {
	var d DirectoryID
	if len(s) != 22 {
		return d, fmt.Errorf("directory id %q is not a 22-character base64url UUID", s)
	}
	n, err := base64.RawURLEncoding.Decode(d[:], []byte(s))
	if err != nil || n != 16 {
		return DirectoryID{}, fmt.Errorf("directory id %q is not a 22-character base64url UUID", s)
	}
	return d, nil
}

// MetaPropertiesFile is the name of the identity file in a data directory, as Kafka's.
const MetaPropertiesFile = "meta.properties"

// MetaProperties is a data directory's identity (Kafka's meta.properties, version 1): which
// cluster and node it belongs to and its directory id. ClusterID is empty until the node has
// learnt its cluster's id from the metadata log.
type MetaProperties struct {
	ClusterID   string
	NodeID      int32
	DirectoryID DirectoryID
}

// ReadMetaProperties reads dir/meta.properties; ok is false when there is none.
func ReadMetaProperties(dir string) (mp MetaProperties, ok bool, err error) {
	path := filepath.Join(dir, MetaPropertiesFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return mp, false, nil
	}
	if err != nil {
		return mp, false, fmt.Errorf("read %s: %w", path, err)
	}
	mp, err = parseMetaProperties(b)
	if err != nil {
		return mp, false, fmt.Errorf("%s: %w", path, err)
	}
	return mp, true, nil
}

// parseMetaProperties parses a Java properties file of the keys meta.properties uses (comments
// and blank lines skipped; unknown keys ignored, as Kafka ignores them).
func parseMetaProperties(b []byte) (MetaProperties, error) {
	var mp MetaProperties
	props := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return mp, fmt.Errorf("line %q is not key=value", line)
		}
		props[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if err := sc.Err(); err != nil {
		return mp, err
	}
	switch v := props["version"]; v {
	case "1":
	case "":
		return mp, errors.New("no version")
	default:
		return mp, fmt.Errorf("version %s is not supported (only 1, KRaft's)", v)
	}
	n, err := strconv.ParseInt(props["node.id"], 10, 32)
	if err != nil || n < 0 {
		return mp, fmt.Errorf("node.id %q is not a node id", props["node.id"])
	}
	mp.NodeID = int32(n)
	mp.ClusterID = props["cluster.id"]
	if s := props["directory.id"]; s != "" {
		if mp.DirectoryID, err = ParseDirectoryID(s); err != nil {
			return mp, err
		}
	}
	return mp, nil
}

func (mp MetaProperties) encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "#\n#%s\n", time.Now().UTC().Format("Mon Jan 02 15:04:05 MST 2006"))
	if mp.ClusterID != "" {
		fmt.Fprintf(&b, "cluster.id=%s\n", mp.ClusterID)
	}
	if !mp.DirectoryID.IsZero() {
		fmt.Fprintf(&b, "directory.id=%s\n", mp.DirectoryID)
	}
	fmt.Fprintf(&b, "node.id=%d\nversion=1\n", mp.NodeID)
	return b.Bytes()
}

// writeMetaProperties replaces dir/meta.properties atomically and durably (a temporary file,
// fsynced, renamed over the old one, and the directory fsynced).
func writeMetaProperties(dir string, mp MetaProperties) error {
	path := filepath.Join(dir, MetaPropertiesFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(mp.encode())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		var d *os.File
		if d, err = os.Open(dir); err == nil {
			err = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// A Raft server is named after its node id and directory id: ServerID "id:dir" and
// ServerAddress "host:port/dir". Putting the directory id in the address too lets the transport
// check, on every connection, that it reached the directory it meant (stream.go): an RPC for the
// old voter of a replaced disk is refused by the node that now runs on that address with a new,
// empty log, so that node can never vote or count towards a commit as the old voter. It also
// keeps addresses unique in a configuration while an old voter and its replacement share a
// host:port.
//
// Configurations written before directory ids name a server by its node id alone ("id",
// "host:port"); such a node keeps its name (it has no other) and the zero DirectoryID stands for
// it.
func serverID(id int32, dir DirectoryID) raft.ServerID {
	if dir.IsZero() {
		return raft.ServerID(strconv.Itoa(int(id)))
	}
	return raft.ServerID(strconv.Itoa(int(id)) + ":" + dir.String())
}

func serverAddress(hostport string, dir DirectoryID) raft.ServerAddress {
	if dir.IsZero() {
		return raft.ServerAddress(hostport)
	}
	return raft.ServerAddress(hostport + "/" + dir.String())
}

// parseServerID splits a ServerID into node id and directory id.
func parseServerID(sid raft.ServerID) (int32, DirectoryID, bool) {
	idText, dirText, hasDir := strings.Cut(string(sid), ":")
	n, err := strconv.ParseInt(idText, 10, 32)
	if err != nil || n < 0 {
		return -1, DirectoryID{}, false
	}
	var dir DirectoryID
	if hasDir {
		if dir, err = ParseDirectoryID(dirText); err != nil {
			return -1, DirectoryID{}, false
		}
	}
	return int32(n), dir, true
}

// splitServerAddress returns the host:port of a ServerAddress and the directory id it names.
func splitServerAddress(a raft.ServerAddress) (hostport string, dir DirectoryID, err error) {
	s := string(a)
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return s, dir, nil
	}
	dir, err = ParseDirectoryID(s[i+1:])
	return s[:i], dir, err
}

// localServerIDKey is where the Raft stable store keeps this node's ServerID, written with the
// node's first Raft state. State without it predates directory ids: the node is named by its node
// id alone.
var localServerIDKey = []byte("SluiceLocalServerID")

// identify settles this node's Raft name (q.localID) and directory id, records them in
// meta.properties and, for new Raft state, in the stable store; mp is what meta.properties held
// (its node id already checked).
func (q *Quorum) identify(store *raftboltdb.BoltStore, existing bool, mp MetaProperties) error {
	// This node's Raft name. New Raft state gets a new directory id, even when meta.properties
	// names one: that id's log is gone, and the new log must never pass for it (unless raft.db
	// shows the directory never held any, below).
	if existing {
		v, err := store.Get(localServerIDKey)
		switch {
		case err == nil:
			q.localID = raft.ServerID(v)
		case errors.Is(err, raftboltdb.ErrKeyNotFound):
			q.localID = serverID(q.opts.NodeID, DirectoryID{})
		default:
			return fmt.Errorf("quorum: read this node's raft id: %w", err)
		}
		id, dir, ok := parseServerID(q.localID)
		if !ok || id != q.opts.NodeID {
			return fmt.Errorf("quorum: the metadata log in %s is node %s's, not node %d's", q.opts.Dir, q.localID, q.opts.NodeID)
		}
		if !dir.IsZero() {
			mp.DirectoryID = dir
		} else if mp.DirectoryID.IsZero() {
			mp.DirectoryID = NewDirectoryID() // a data directory from before directory ids
		}
	} else {
		// raft.db may name this node already although it holds no Raft state (no term, no
		// vote, no entry): a start that ended before this node took part in anything, e.g.
		// while a new cluster's nodes exchanged directory ids. Nothing of that directory was
		// lost, so it keeps its id, which peers may have bootstrapped with.
		v, err := store.Get(localServerIDKey)
		id, dir, ok := parseServerID(raft.ServerID(v))
		switch {
		case err == nil && ok && id == q.opts.NodeID && !dir.IsZero():
			mp.DirectoryID = dir
		case err == nil || errors.Is(err, raftboltdb.ErrKeyNotFound):
			if !mp.DirectoryID.IsZero() {
				q.logger.Info("the metadata log is empty: this directory gets a new directory id", "old_directory_id", mp.DirectoryID.String())
			}
			mp.DirectoryID = NewDirectoryID()
		default:
			return fmt.Errorf("quorum: read this node's raft id: %w", err)
		}
		q.localID = serverID(q.opts.NodeID, mp.DirectoryID)
	}
	if err := writeMetaProperties(q.metaDir, mp); err != nil {
		return fmt.Errorf("quorum: %w", err)
	}
	if !existing {
		if err := store.Set(localServerIDKey, []byte(q.localID)); err != nil {
			return fmt.Errorf("quorum: write this node's raft id: %w", err)
		}
	}
	q.meta.mp = mp
	return nil
}
