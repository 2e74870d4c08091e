package runtime

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/sluicehq/sluice/streams/processor"
)

// The user data of the "sluice-streams" group protocol, inside Kafka's
// ConsumerMemberMetadata / ConsumerMemberAssignment (so brokers and tools can still read the
// topics). Integers are uvarints except where noted; strings and lists are a uvarint length
// then the items; a task id is two zig-zag varints (sub-topology, partition).
//
//	subscription: version=1 | process id string | endpoint string | prev active []task | local []task
//	assignment:   version=1 | standby []task | hosts []{endpoint string | active []task}
//
// Both come from the network (other members, through the coordinator): decoding checks every
// length against what is left, so a bad payload is an error, never a panic or a large
// allocation.

const userDataVersion = 1

// Subscription is what a member reports when it joins.
type Subscription struct {
	ProcessID  string
	Endpoint   string
	PrevActive []processor.TaskID
	Local      []processor.TaskID
}

// HostTasks says which active tasks the instance at an application.server endpoint runs.
type HostTasks struct {
	Endpoint string
	Active   []processor.TaskID
}

// AssignmentData is the user data of one member's assignment.
type AssignmentData struct {
	Standby []processor.TaskID
	Hosts   []HostTasks
}

var errUserData = errors.New("runtime: malformed group user data")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTasks(b []byte, ts []processor.TaskID) []byte {
	b = binary.AppendUvarint(b, uint64(len(ts)))
	for _, t := range ts {
		b = binary.AppendVarint(b, int64(t.Subtopology))
		b = binary.AppendVarint(b, int64(t.Partition))
	}
	return b
}

// Encode returns the subscription's bytes.
func (s *Subscription) Encode() []byte {
	b := []byte{userDataVersion}
	b = appendString(b, s.ProcessID)
	b = appendString(b, s.Endpoint)
	b = appendTasks(b, s.PrevActive)
	return appendTasks(b, s.Local)
}

// Encode returns the assignment data's bytes.
func (a *AssignmentData) Encode() []byte {
	b := []byte{userDataVersion}
	b = appendTasks(b, a.Standby)
	b = binary.AppendUvarint(b, uint64(len(a.Hosts)))
	for _, h := range a.Hosts {
		b = appendString(b, h.Endpoint)
		b = appendTasks(b, h.Active)
	}
	return b
}

// reader decodes with a sticky error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errUserData
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) int32() int32 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 || v < math.MinInt32 || v > math.MaxInt32 {
		r.err = errUserData
		return 0
	}
	r.b = r.b[n:]
	return int32(v)
}

// count reads a list length, at most what the remaining bytes can hold at minItem bytes each.
func (r *reader) count(minItem int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/minItem) {
		r.err = errUserData
		return 0
	}
	return int(n)
}

func (r *reader) string() string {
	n := r.count(1)
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) tasks() []processor.TaskID {
	n := r.count(2)
	if r.err != nil || n == 0 {
		return nil
	}
	ts := make([]processor.TaskID, 0, n)
	for range n {
		t := processor.TaskID{Subtopology: r.int32(), Partition: r.int32()}
		if r.err != nil {
			return nil
		}
		ts = append(ts, t)
	}
	return ts
}

func (r *reader) version() {
	if len(r.b) == 0 || r.b[0] != userDataVersion {
		r.err = errUserData
		return
	}
	r.b = r.b[1:]
}

// DecodeSubscription parses a member's subscription user data.
func DecodeSubscription(b []byte) (Subscription, error) {
	r := &reader{b: b}
	r.version()
	s := Subscription{ProcessID: r.string(), Endpoint: r.string(), PrevActive: r.tasks(), Local: r.tasks()}
	if r.err != nil {
		return Subscription{}, r.err
	}
	return s, nil
}

// DecodeAssignment parses a member's assignment user data.
func DecodeAssignment(b []byte) (AssignmentData, error) {
	r := &reader{b: b}
	r.version()
	a := AssignmentData{Standby: r.tasks()}
	n := r.count(2)
	for range n {
		h := HostTasks{Endpoint: r.string(), Active: r.tasks()}
		if r.err != nil {
			break
		}
		a.Hosts = append(a.Hosts, h)
	}
	if r.err != nil {
		return AssignmentData{}, r.err
	}
	return a, nil
}
