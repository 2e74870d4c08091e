package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// The encoding is specified in docs/format/metadata-records.md; keep the two in step.

// Errors of decoding. Both are wrapped with the position of the fault.
var (
	// ErrCorrupt: the bytes are not a well-formed batch or snapshot (bad magic, checksum,
	// framing, or a field out of range).
	ErrCorrupt = errors.New("metadata: corrupt encoding")
	// ErrUnsupportedVersion: a batch, snapshot, record type or record version this build does
	// not know, written by a newer Sluice.
	ErrUnsupportedVersion = errors.New("metadata: unsupported encoding version")
)

const (
	batchMagic   = 0xA7
	batchVersion = 1
	// batchHeaderSize is magic, version and CRC-32C.
	batchHeaderSize = 1 + 1 + 4
	// recordVersion is the version of every record type but those that say otherwise
	// (versioned): Partition and PartitionChange are version 1 when they carry a reassignment,
	// so that bytes written without one stay readable by older builds.
	recordVersion = 0
)

// versioned is a record whose encoding version depends on its content.
type versioned interface{ version() uint8 }

func recordVersionOf(r Record) uint8 {
	if v, ok := r.(versioned); ok {
		return v.version()
	}
	return recordVersion
}

func (r *PartitionRecord) version() uint8 {
	if len(r.AddingReplicas) > 0 || len(r.RemovingReplicas) > 0 {
		return 1
	}
	return 0
}

func (r *PartitionChangeRecord) version() uint8 {
	if r.AddingReplicas != nil || r.RemovingReplicas != nil {
		return 1
	}
	return 0
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendBatch appends the encoding of a batch of records to dst.
func AppendBatch(dst []byte, records []Record) []byte {
	start := len(dst)
	dst = append(dst, batchMagic, batchVersion, 0, 0, 0, 0)
	dst = binary.AppendUvarint(dst, uint64(len(records)))
	e := encoder{}
	for _, r := range records {
		e.buf = e.buf[:0]
		e.u8(uint8(r.Type()))
		e.u8(recordVersionOf(r))
		r.encode(&e)
		dst = binary.AppendUvarint(dst, uint64(len(e.buf)))
		dst = append(dst, e.buf...)
	}
	crc := crc32.Checksum(dst[start+batchHeaderSize:], castagnoli)
	binary.BigEndian.PutUint32(dst[start+2:], crc)
	return dst
}

// EncodeBatch returns the encoding of a batch of records.
func EncodeBatch(records []Record) []byte { return AppendBatch(nil, records) }

// DecodeBatch decodes a batch. It never panics: bad bytes give an error wrapping ErrCorrupt or
// ErrUnsupportedVersion.
func DecodeBatch(b []byte) ([]Record, error) {
	if len(b) < batchHeaderSize {
		return nil, fmt.Errorf("%w: batch of %d bytes is shorter than its header", ErrCorrupt, len(b))
	}
	if b[0] != batchMagic {
		return nil, fmt.Errorf("%w: batch magic 0x%02x", ErrCorrupt, b[0])
	}
	if b[1] != batchVersion {
		return nil, fmt.Errorf("%w: batch version %d", ErrUnsupportedVersion, b[1])
	}
	if want, got := binary.BigEndian.Uint32(b[2:]), crc32.Checksum(b[batchHeaderSize:], castagnoli); want != got {
		return nil, fmt.Errorf("%w: batch checksum 0x%08x, computed 0x%08x", ErrCorrupt, want, got)
	}
	d := decoder{b: b[batchHeaderSize:]}
	n := d.count(3) // a record takes at least length, type and version
	if d.err != nil {
		return nil, fmt.Errorf("batch record count: %w", d.err)
	}
	records := make([]Record, 0, n)
	for i := 0; i < n; i++ {
		size := d.count(1)
		body := d.bytes(size)
		if d.err != nil {
			return nil, fmt.Errorf("record %d of %d: %w", i, n, d.err)
		}
		r, err := decodeRecord(body)
		if err != nil {
			return nil, fmt.Errorf("record %d of %d: %w", i, n, err)
		}
		records = append(records, r)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(d.b))
	}
	return records, nil
}

func decodeRecord(b []byte) (Record, error) {
	d := decoder{b: b}
	typ := RecordType(d.u8())
	version := d.u8()
	if d.err != nil {
		return nil, d.err
	}
	maxVersion := uint8(recordVersion)
	if typ == TypePartition || typ == TypePartitionChange {
		maxVersion = 1
	}
	if version > maxVersion {
		return nil, fmt.Errorf("%w: %s record version %d", ErrUnsupportedVersion, typ, version)
	}
	var r Record
	switch typ {
	case TypeClusterID:
		r = &ClusterIDRecord{ClusterID: d.str()}
	case TypeRegisterBroker:
		r = decodeRegisterBroker(&d)
	case TypeTopic:
		r = &TopicRecord{Name: d.str(), TopicID: d.uuid()}
	case TypePartition:
		p := &PartitionRecord{TopicID: d.uuid(), Partition: d.int32(), Replicas: d.int32s(), ISR: d.int32s(),
			Leader: d.int32(), LeaderEpoch: d.int32(), PartitionEpoch: d.int32()}
		if version >= 1 {
			// Empty lists decode as nil, as version 0 has them, so re-encoding is stable.
			p.AddingReplicas, p.RemovingReplicas = nilIfEmpty(d.int32s()), nilIfEmpty(d.int32s())
		}
		r = p
	case TypePartitionChange:
		r = decodePartitionChange(&d, version)
	case TypeConfig:
		r = &ConfigRecord{ResourceType: ConfigResourceType(d.u8()), ResourceName: d.str(), Name: d.str(),
			Delete: d.bool(), Value: d.str()}
	case TypeRemoveTopic:
		r = &RemoveTopicRecord{TopicID: d.uuid()}
	case TypeFeatureLevel:
		r = &FeatureLevelRecord{Name: d.str(), Level: d.int16()}
	case TypeProducerIDs:
		r = &ProducerIDsRecord{BrokerID: d.int32(), BrokerEpoch: d.int64(), NextProducerID: d.int64()}
	case TypeBrokerRegistrationChange:
		r = &BrokerRegistrationChangeRecord{BrokerID: d.int32(), BrokerEpoch: d.int64(), Fenced: d.int8(),
			InControlledShutdown: d.int8()}
	case TypeUserScramCredential, TypeRemoveUserScramCredential, TypeAccessControlEntry, TypeRemoveAccessControlEntry:
		r = decodeSecurityRecord(typ, &d)
	case TypeClientQuota:
		r = decodeClientQuota(&d)
	default:
		return nil, fmt.Errorf("%w: record type %d", ErrUnsupportedVersion, uint8(typ))
	}
	if d.err != nil {
		return nil, fmt.Errorf("%s record: %w", typ, d.err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %s record has %d trailing bytes", ErrCorrupt, typ, len(d.b))
	}
	return r, nil
}

func decodeRegisterBroker(d *decoder) *RegisterBrokerRecord {
	r := &RegisterBrokerRecord{BrokerID: d.int32(), Incarnation: d.uuid(), Epoch: d.int64()}
	n := d.count(4) // listener, host, port, protocol: at least a byte each
	if d.err == nil && n > 0 {
		r.Endpoints = make([]Endpoint, n)
		for i := range r.Endpoints {
			r.Endpoints[i] = Endpoint{Listener: d.str(), Host: d.str(), Port: d.int32(), SecurityProtocol: d.int16()}
		}
	}
	r.Rack = d.str()
	r.Fenced = d.bool()
	return r
}

const (
	changeHasISR      = 1 << 0
	changeHasReplicas = 1 << 1
	// Version 1 only.
	changeHasAdding   = 1 << 2
	changeHasRemoving = 1 << 3
)

func nilIfEmpty(s []int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return s
}

func decodePartitionChange(d *decoder, version uint8) *PartitionChangeRecord {
	r := &PartitionChangeRecord{TopicID: d.uuid(), Partition: d.int32(), Leader: d.int32()}
	flags := d.u8()
	known := uint8(changeHasISR | changeHasReplicas)
	if version >= 1 {
		known |= changeHasAdding | changeHasRemoving
	}
	if flags&^known != 0 && d.err == nil {
		d.err = fmt.Errorf("%w: unknown partition change flags 0x%02x in version %d", ErrCorrupt, flags, version)
	}
	if flags&changeHasISR != 0 {
		r.ISR = d.int32s()
	}
	if flags&changeHasReplicas != 0 {
		r.Replicas = d.int32s()
	}
	if flags&changeHasAdding != 0 {
		r.AddingReplicas = d.int32s()
	}
	if flags&changeHasRemoving != 0 {
		r.RemovingReplicas = d.int32s()
	}
	return r
}

func (r *ClusterIDRecord) encode(e *encoder) { e.str(r.ClusterID) }

func (r *RegisterBrokerRecord) encode(e *encoder) {
	e.varint(int64(r.BrokerID))
	e.uuid(r.Incarnation)
	e.varint(r.Epoch)
	e.uvarint(uint64(len(r.Endpoints)))
	for _, ep := range r.Endpoints {
		e.str(ep.Listener)
		e.str(ep.Host)
		e.varint(int64(ep.Port))
		e.varint(int64(ep.SecurityProtocol))
	}
	e.str(r.Rack)
	e.bool(r.Fenced)
}

func (r *TopicRecord) encode(e *encoder) {
	e.str(r.Name)
	e.uuid(r.TopicID)
}

func (r *PartitionRecord) encode(e *encoder) {
	e.uuid(r.TopicID)
	e.varint(int64(r.Partition))
	e.int32s(r.Replicas)
	e.int32s(r.ISR)
	e.varint(int64(r.Leader))
	e.varint(int64(r.LeaderEpoch))
	e.varint(int64(r.PartitionEpoch))
	if r.version() >= 1 {
		e.int32s(r.AddingReplicas)
		e.int32s(r.RemovingReplicas)
	}
}

func (r *PartitionChangeRecord) encode(e *encoder) {
	e.uuid(r.TopicID)
	e.varint(int64(r.Partition))
	e.varint(int64(r.Leader))
	var flags uint8
	if r.ISR != nil {
		flags |= changeHasISR
	}
	if r.Replicas != nil {
		flags |= changeHasReplicas
	}
	if r.AddingReplicas != nil {
		flags |= changeHasAdding
	}
	if r.RemovingReplicas != nil {
		flags |= changeHasRemoving
	}
	e.u8(flags)
	if r.ISR != nil {
		e.int32s(r.ISR)
	}
	if r.Replicas != nil {
		e.int32s(r.Replicas)
	}
	if r.AddingReplicas != nil {
		e.int32s(r.AddingReplicas)
	}
	if r.RemovingReplicas != nil {
		e.int32s(r.RemovingReplicas)
	}
}

func (r *ConfigRecord) encode(e *encoder) {
	e.u8(uint8(r.ResourceType))
	e.str(r.ResourceName)
	e.str(r.Name)
	e.bool(r.Delete)
	e.str(r.Value)
}

func (r *RemoveTopicRecord) encode(e *encoder) { e.uuid(r.TopicID) }

func (r *FeatureLevelRecord) encode(e *encoder) {
	e.str(r.Name)
	e.varint(int64(r.Level))
}

func (r *ProducerIDsRecord) encode(e *encoder) {
	e.varint(int64(r.BrokerID))
	e.varint(r.BrokerEpoch)
	e.varint(r.NextProducerID)
}

func (r *BrokerRegistrationChangeRecord) encode(e *encoder) {
	e.varint(int64(r.BrokerID))
	e.varint(r.BrokerEpoch)
	e.varint(int64(r.Fenced))
	e.varint(int64(r.InControlledShutdown))
}

type encoder struct{ buf []byte }

func (e *encoder) u8(v uint8)       { e.buf = append(e.buf, v) }
func (e *encoder) varint(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) uuid(id [16]byte) { e.buf = append(e.buf, id[:]...) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.buf = append(e.buf, s...) }
func (e *encoder) int32s(vs []int32) {
	e.uvarint(uint64(len(vs)))
	for _, v := range vs {
		e.varint(int64(v))
	}
}

func (e *encoder) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

// decoder reads fields with a sticky error: after the first fault every read returns a zero
// value, and the caller checks err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
}

func (d *decoder) u8() uint8 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bool() bool {
	switch v := d.u8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("boolean byte %d", v)
		return false
	}
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int64() int64 { return d.varint() }

func (d *decoder) int32() int32 {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("%d does not fit 32 bits", v)
		return 0
	}
	return int32(v)
}

func (d *decoder) int8() int8 {
	v := d.varint()
	if v < math.MinInt8 || v > math.MaxInt8 {
		d.fail("%d does not fit 8 bits", v)
		return 0
	}
	return int8(v)
}

func (d *decoder) int16() int16 {
	v := d.varint()
	if v < math.MinInt16 || v > math.MaxInt16 {
		d.fail("%d does not fit 16 bits", v)
		return 0
	}
	return int16(v)
}

// count reads a length or element count and checks it against the bytes left, each element
// taking at least minSize bytes, so a lying count cannot make us allocate.
func (d *decoder) count(minSize int) int {
	v := d.uvarint()
	if d.err != nil {
		return 0
	}
	if v > uint64(len(d.b)/minSize) {
		d.fail("count %d exceeds the %d bytes left", v, len(d.b))
		return 0
	}
	return int(v)
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail("truncated")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.bytes(d.count(1))) }

func (d *decoder) uuid() (id [16]byte) {
	copy(id[:], d.bytes(16))
	return id
}

func (d *decoder) int32s() []int32 {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	vs := make([]int32, n)
	for i := range vs {
		vs[i] = d.int32()
	}
	return vs
}
