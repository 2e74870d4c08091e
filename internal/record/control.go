package record

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// ControlType is the type field of a control record's key.
type ControlType int16

// Control record types. Abort and commit are the transaction markers the transaction
// coordinator writes; leader change is KRaft's, listed so String can name it.
const (
	ControlAbort        ControlType = 0
	ControlCommit       ControlType = 1
	ControlLeaderChange ControlType = 2
)

// String names the control type.
func (t ControlType) String() string {
	switch t {
	case ControlAbort:
		return "abort"
	case ControlCommit:
		return "commit"
	case ControlLeaderChange:
		return "leader_change"
	}
	return "control(" + strconv.Itoa(int(t)) + ")"
}

// A control record's key is version int16 (0) then type int16; an end-transaction marker's
// value is version int16 (0) then the coordinator epoch int32.
const (
	controlKeySize         = 4
	endTxnMarkerValueSize  = 6
	controlRecordVersion   = 0
	endTxnMarkerValVersion = 0
)

// AddControl appends the control record of a transaction marker (ControlAbort or ControlCommit)
// with the coordinator epoch in its value. The Builder must have Control set (and, for a
// marker, Transactional and the producer's id and epoch).
func (b *Builder) AddControl(typ ControlType, timestamp int64, coordinatorEpoch int32) error {
	if !b.Control {
		return fmt.Errorf("record: builder: control record in a batch without the control flag")
	}
	var key [controlKeySize]byte
	binary.BigEndian.PutUint16(key[0:], controlRecordVersion)
	binary.BigEndian.PutUint16(key[2:], uint16(typ))
	var value [endTxnMarkerValueSize]byte
	binary.BigEndian.PutUint16(value[0:], endTxnMarkerValVersion)
	binary.BigEndian.PutUint32(value[2:], uint32(coordinatorEpoch))
	b.Add(timestamp, key[:], value[:])
	return b.err
}

// ControlRecordType parses the key of a control record (one read from a batch whose header has
// IsControl). Types this package does not name are returned as they are; a key too short, null
// or with a negative version is ErrCorrupt.
func ControlRecordType(rec *Record) (ControlType, error) {
	if len(rec.Key) < controlKeySize {
		return 0, fmt.Errorf("%w: control record key of %d bytes, need %d", ErrCorrupt, len(rec.Key), controlKeySize)
	}
	if v := int16(binary.BigEndian.Uint16(rec.Key)); v < 0 {
		return 0, fmt.Errorf("%w: control record key version %d", ErrCorrupt, v)
	}
	return ControlType(binary.BigEndian.Uint16(rec.Key[2:])), nil
}

// EndTxnCoordinatorEpoch parses the value of a transaction marker (an abort or commit control
// record): the epoch of the transaction coordinator that wrote it.
func EndTxnCoordinatorEpoch(rec *Record) (int32, error) {
	if len(rec.Value) < endTxnMarkerValueSize {
		return 0, fmt.Errorf("%w: transaction marker value of %d bytes, need %d", ErrCorrupt, len(rec.Value), endTxnMarkerValueSize)
	}
	if v := int16(binary.BigEndian.Uint16(rec.Value)); v < 0 {
		return 0, fmt.Errorf("%w: transaction marker version %d", ErrCorrupt, v)
	}
	return int32(binary.BigEndian.Uint32(rec.Value[2:])), nil
}
