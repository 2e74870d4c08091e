package metadata

import (
	"context"
	"math"
)

// QuotaOp is one operation of AlterClientQuotas: set Key to Value, or remove it.
type QuotaOp struct {
	Key    string
	Value  float64
	Remove bool
}

// QuotaAlteration is one entity's operations in AlterClientQuotas.
type QuotaAlteration struct {
	Entity []QuotaEntityPart
	Ops    []QuotaOp
}

// quotaKeyKind is how Kafka's QuotaConfig types a key: integral keys refuse fractions.
type quotaKeyKind uint8

const (
	quotaDouble quotaKeyKind = iota
	quotaLong
	quotaInt
)

// quotaKeys are the keys valid for an entity, as Kafka's QuotaConfig defines them per entity
// combination: user, client-id and user+client-id take the byte rates, request percentage and
// controller mutation rate; ip takes the connection creation rate.
func quotaKeys(e ClientQuotaEntity) map[string]quotaKeyKind {
	if e.HasIP {
		return map[string]quotaKeyKind{QuotaConnectionCreationRate: quotaInt}
	}
	return map[string]quotaKeyKind{
		QuotaProducerByteRate:       quotaLong,
		QuotaConsumerByteRate:       quotaLong,
		QuotaRequestPercentage:      quotaDouble,
		QuotaControllerMutationRate: quotaDouble,
	}
}

// validateQuotaValue applies Kafka's checks of a quota value for its key's type.
func validateQuotaValue(key string, kind quotaKeyKind, v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return errorf(ErrInvalidRequest, "quota %s value %v is not a number", key, v)
	case v <= 0:
		return errorf(ErrInvalidRequest, "quota %s must be greater than 0, got %v", key, v)
	case kind == quotaInt && v > math.MaxInt32:
		return errorf(ErrInvalidRequest, "proposed value for %s is too large for an INT", key)
	case kind == quotaLong && v > math.MaxInt64:
		return errorf(ErrInvalidRequest, "proposed value for %s is too large for a LONG", key)
	case kind != quotaDouble && math.Abs(math.Mod(v, 1)) > 1e-6: // Kafka's test of an integral value
		return errorf(ErrInvalidRequest, "%s cannot be a fractional value", key)
	}
	return nil
}

// planQuotaAlteration validates one entity's operations against img and returns the records
// that carry them out: a set only when the value changes, a removal only of a key that is set.
func planQuotaAlteration(img *Image, a QuotaAlteration) (ClientQuotaEntity, []Record, error) {
	e, err := EntityFromParts(a.Entity)
	if err != nil {
		return e, nil, err
	}
	valid := quotaKeys(e)
	current := img.ClientQuotas().Get(e)
	seen := make(map[string]bool, len(a.Ops))
	var recs []Record
	for _, op := range a.Ops {
		if seen[op.Key] {
			return e, nil, errorf(ErrInvalidRequest, "quota key %s appears more than once for entity %s", op.Key, e)
		}
		seen[op.Key] = true
		kind, ok := valid[op.Key]
		if !ok {
			return e, nil, errorf(ErrInvalidRequest, "invalid configuration key %s for entity %s", op.Key, e)
		}
		old, set := current[op.Key]
		if op.Remove {
			if set {
				recs = append(recs, &ClientQuotaRecord{Entity: e.Parts(), Key: op.Key, Remove: true})
			}
			continue
		}
		if err := validateQuotaValue(op.Key, kind, op.Value); err != nil {
			return e, nil, err
		}
		if !set || old != op.Value {
			recs = append(recs, &ClientQuotaRecord{Entity: e.Parts(), Key: op.Key, Value: op.Value})
		}
	}
	return e, recs, nil
}

// AlterClientQuotas sets and removes client quotas (AlterClientQuotas, KIP-546); with
// validateOnly it only validates. It returns one error per alteration, in order: entities are
// independent, but an entity named twice fails both times. The changes of every valid entity
// are committed in one batch.
func (c *Controller) AlterClientQuotas(ctx context.Context, alts []QuotaAlteration, validateOnly bool) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := make([]error, len(alts))
	img, err := c.log.LeaderImage(ctx)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	entities := make([]ClientQuotaEntity, len(alts))
	count := map[ClientQuotaEntity]int{}
	plans := make([][]Record, len(alts))
	for i, a := range alts {
		entities[i], plans[i], errs[i] = planQuotaAlteration(img, a)
		if errs[i] == nil {
			count[entities[i]]++
		}
	}
	var records []Record
	for i := range alts {
		if errs[i] == nil && count[entities[i]] > 1 {
			errs[i] = errorf(ErrInvalidRequest, "entity %s appears more than once in the request", entities[i])
		}
		if errs[i] == nil {
			records = append(records, plans[i]...)
		}
	}
	if validateOnly || len(records) == 0 {
		return errs
	}
	if _, err := c.log.Propose(ctx, records); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return errs
}
