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
	"slices"
	"sort"

	"github.com/sluicehq/sluice/internal/kschema"
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

// errBadProtocol is wrapped by every failure to decode a group protocol message.
var errBadProtocol = errors.New("connect: a malformed group protocol message")

func encodeMemberMetadata(m memberMetadata) []byte {
	b := binary.BigEndian.AppendUint16(nil, 0)
	b = kschema.AppendString(b, m.URL)
	return binary.BigEndian.AppendUint64(b, uint64(m.ConfigOffset))
}

// decodeMemberMetadata reads any version's metadata: versions 1 and 2 (incremental) start
// with the same fields.
func decodeMemberMetadata(b []byte) (memberMetadata, error) {
	r := kschema.Reader{B: b, Bad: errBadProtocol}
	if v := r.Int16(); v < 0 {
		r.Fail("member metadata version %d", v)
	}
	m := memberMetadata{URL: r.NullableString(), ConfigOffset: r.Int64()}
	return m, r.Done("member metadata")
}

func encodeAssignment(a assignment) []byte {
	b := binary.BigEndian.AppendUint16(nil, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(a.Error))
	b = kschema.AppendString(b, a.Leader)
	b = kschema.AppendString(b, a.LeaderURL)
	b = binary.BigEndian.AppendUint64(b, uint64(a.ConfigOffset))
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
	b = binary.BigEndian.AppendUint32(b, uint32(len(names)))
	for _, n := range names {
		b = kschema.AppendString(b, n)
		b = binary.BigEndian.AppendUint32(b, uint32(len(byConn[n])))
		for _, id := range byConn[n] {
			b = binary.BigEndian.AppendUint32(b, uint32(id))
		}
	}
	return b
}

func decodeAssignment(b []byte) (assignment, error) {
	r := kschema.Reader{B: b, Bad: errBadProtocol}
	var a assignment
	if v := r.Int16(); v < 0 {
		r.Fail("assignment version %d", v)
	}
	a.Error, a.Leader, a.LeaderURL, a.ConfigOffset = r.Int16(), r.NullableString(), r.NullableString(), r.Int64()
	for range max(r.ArrayLen(false), 0) {
		name := r.String()
		for range max(r.ArrayLen(false), 0) {
			id := r.Int32()
			switch {
			case r.Err != nil:
			case id == connectorTaskID:
				a.Connectors = append(a.Connectors, name)
			case id >= 0:
				a.Tasks = append(a.Tasks, TaskID{Connector: name, Task: int(id)})
			}
		}
	}
	return a, r.Done("assignment")
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
