package connect

// Kafka Connect's group protocol, version 0 ("default", eager), as its workers write it in
// JoinGroup and SyncGroup (big-endian; a string is an int16 length and its bytes, an array an
// int32 count and its elements):
//
//	member metadata:  version int16 (0) | url string | config_offset int64
//	assignment:       version int16 (0) | error int16 | leader string | leader_url string |
//	                  config_offset int64 | [connector string | [task int32]]
//
// In an assignment's task list, -1 stands for the connector instance itself.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
)

const (
	connectProtocolType = "connect"
	connectProtocolName = "default"
	// assignmentConfigMismatch is Kafka Connect's error in an assignment when the leader could
	// not read the config topic as far as a member had.
	assignmentConfigMismatch = 1
	connectorTaskID          = -1
)

// memberMetadata is what a worker tells the group when it joins.
type memberMetadata struct {
	URL          string
	ConfigOffset int64
}

// assignment is what the leader gives each member.
type assignment struct {
	Error        int16
	Leader       string
	LeaderURL    string
	ConfigOffset int64
	Connectors   []string // the connector instances to run
	Tasks        []TaskID
}

type protoWriter struct{ b []byte }

func (w *protoWriter) int16(v int16) { w.b = binary.BigEndian.AppendUint16(w.b, uint16(v)) }
func (w *protoWriter) int32(v int32) { w.b = binary.BigEndian.AppendUint32(w.b, uint32(v)) }
func (w *protoWriter) int64(v int64) { w.b = binary.BigEndian.AppendUint64(w.b, uint64(v)) }
func (w *protoWriter) str(s string) {
	w.int16(int16(len(s)))
	w.b = append(w.b, s...)
}

// protoReader reads with a sticky error: once a read runs past the end, every later read
// returns zero and err says where.
type protoReader struct {
	b   []byte
	err error
}

func (r *protoReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errors.New("connect: a truncated group protocol message")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *protoReader) int16() int16 {
	if b := r.take(2); b != nil {
		return int16(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (r *protoReader) int32() int32 {
	if b := r.take(4); b != nil {
		return int32(binary.BigEndian.Uint32(b))
	}
	return 0
}

func (r *protoReader) int64() int64 {
	if b := r.take(8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

func (r *protoReader) str() string {
	n := r.int16()
	if n < 0 { // a null string
		return ""
	}
	return string(r.take(int(n)))
}

// count reads an array length, refusing one the remaining bytes cannot hold (each element
// is at least minSize bytes), so a hostile count cannot make us allocate.
func (r *protoReader) count(minSize int) int {
	n := r.int32()
	if r.err == nil && (n < 0 || int(n)*minSize > len(r.b)) {
		r.err = fmt.Errorf("connect: a group protocol array of %d elements in %d bytes", n, len(r.b))
	}
	if r.err != nil {
		return 0
	}
	return int(n)
}

func encodeMemberMetadata(m memberMetadata) []byte {
	var w protoWriter
	w.int16(0)
	w.str(m.URL)
	w.int64(m.ConfigOffset)
	return w.b
}

// decodeMemberMetadata reads any version's metadata: versions 1 and 2 (incremental) start
// with the same fields.
func decodeMemberMetadata(b []byte) (memberMetadata, error) {
	r := protoReader{b: b}
	if v := r.int16(); v < 0 && r.err == nil {
		return memberMetadata{}, fmt.Errorf("connect: member metadata version %d", v)
	}
	m := memberMetadata{URL: r.str(), ConfigOffset: r.int64()}
	return m, r.err
}

func encodeAssignment(a assignment) []byte {
	var w protoWriter
	w.int16(0)
	w.int16(a.Error)
	w.str(a.Leader)
	w.str(a.LeaderURL)
	w.int64(a.ConfigOffset)
	byConn := map[string][]int32{}
	var names []string
	add := func(name string, id int32) {
		if _, ok := byConn[name]; !ok {
			names = append(names, name)
		}
		byConn[name] = append(byConn[name], id)
	}
	for _, c := range a.Connectors {
		add(c, connectorTaskID)
	}
	for _, t := range a.Tasks {
		add(t.Connector, int32(t.Task))
	}
	w.int32(int32(len(names)))
	for _, n := range names {
		w.str(n)
		w.int32(int32(len(byConn[n])))
		for _, id := range byConn[n] {
			w.int32(id)
		}
	}
	return w.b
}

func decodeAssignment(b []byte) (assignment, error) {
	r := protoReader{b: b}
	var a assignment
	if v := r.int16(); v < 0 && r.err == nil {
		return a, fmt.Errorf("connect: assignment version %d", v)
	}
	a.Error, a.Leader, a.LeaderURL, a.ConfigOffset = r.int16(), r.str(), r.str(), r.int64()
	n := r.count(6)
	for range n {
		name := r.str()
		tasks := r.count(4)
		for range tasks {
			id := r.int32()
			switch {
			case id == connectorTaskID:
				a.Connectors = append(a.Connectors, name)
			case id >= 0:
				a.Tasks = append(a.Tasks, TaskID{Connector: name, Task: int(id)})
			}
		}
	}
	return a, r.err
}

// assignEager is Kafka Connect's eager round-robin assignor: members sorted by id, one
// circular walk over them, first every connector (sorted by name), then every task (by
// connector, then number).
func assignEager(members []string, connectors []string, taskCounts map[string]int) map[string]*assignment {
	members = slices.Clone(members)
	sort.Strings(members)
	out := map[string]*assignment{}
	for _, m := range members {
		out[m] = &assignment{}
	}
	if len(members) == 0 {
		return out
	}
	connectors = slices.Clone(connectors)
	sort.Strings(connectors)
	next := 0
	pick := func() *assignment {
		a := out[members[next%len(members)]]
		next++
		return a
	}
	for _, c := range connectors {
		a := pick()
		a.Connectors = append(a.Connectors, c)
	}
	for _, c := range connectors {
		for i := range taskCounts[c] {
			a := pick()
			a.Tasks = append(a.Tasks, TaskID{Connector: c, Task: i})
		}
	}
	return out
}
