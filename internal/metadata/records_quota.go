package metadata

import (
	"encoding/binary"
	"math"
)

// TypeClientQuota sets or removes one client quota value (Kafka's ClientQuotaRecord, KIP-546).
const TypeClientQuota RecordType = 15

// Kafka's client quota entity types (ClientQuotaEntity).
const (
	QuotaEntityUser     = "user"
	QuotaEntityClientID = "client-id"
	QuotaEntityIP       = "ip"
)

// Kafka's client quota keys (QuotaConfig).
const (
	QuotaProducerByteRate       = "producer_byte_rate"
	QuotaConsumerByteRate       = "consumer_byte_rate"
	QuotaRequestPercentage      = "request_percentage"
	QuotaControllerMutationRate = "controller_mutation_rate"
	QuotaConnectionCreationRate = "connection_creation_rate"
)

// QuotaEntityPart is one (type, name) pair of a client quota entity, as Kafka's record has it:
// Default means the name is null, the default entity of the type ("<default>" in Kafka's tools).
type QuotaEntityPart struct {
	Type    string
	Name    string // "" when Default
	Default bool
}

// ClientQuotaRecord sets (or, with Remove, deletes) the quota Key of an entity to Value.
// Entity lists the entity's parts: user, client-id, both, or ip.
type ClientQuotaRecord struct {
	Entity []QuotaEntityPart
	Key    string
	Value  float64
	Remove bool
}

func (*ClientQuotaRecord) Type() RecordType { return TypeClientQuota }

func (r *ClientQuotaRecord) encode(e *encoder) {
	e.uvarint(uint64(len(r.Entity)))
	for _, p := range r.Entity {
		e.str(p.Type)
		e.bool(p.Default)
		e.str(p.Name)
	}
	e.str(r.Key)
	e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(r.Value))
	e.bool(r.Remove)
}

func decodeClientQuota(d *decoder) *ClientQuotaRecord {
	r := &ClientQuotaRecord{}
	n := d.count(3) // type, default and name: at least a byte each
	if d.err == nil && n > 0 {
		r.Entity = make([]QuotaEntityPart, n)
		for i := range r.Entity {
			r.Entity[i] = QuotaEntityPart{Type: d.str(), Default: d.bool(), Name: d.str()}
		}
	}
	r.Key = d.str()
	if v := d.bytes(8); v != nil {
		r.Value = math.Float64frombits(binary.BigEndian.Uint64(v))
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			d.fail("client quota value %v", r.Value)
		}
	}
	r.Remove = d.bool()
	return r
}
