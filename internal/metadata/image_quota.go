package metadata

import (
	"cmp"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"
)

// QuotaName names one part of a client quota entity: a user, a client id or an IP, or, with
// Default, the default entity of its type.
type QuotaName struct {
	Name    string
	Default bool
}

func (n QuotaName) String() string {
	if n.Default {
		return "<default>"
	}
	return n.Name
}

// ClientQuotaEntity is the entity a client quota applies to (KIP-546): a user, a client id, a
// user and client id together, or an IP, each possibly the default. It is comparable, so it
// keys maps without allocating.
type ClientQuotaEntity struct {
	HasUser, HasClientID, HasIP bool
	User, ClientID, IP          QuotaName
}

// Parts returns the entity as the record's (type, name) list, in the order user, client-id, ip.
func (e ClientQuotaEntity) Parts() []QuotaEntityPart {
	var out []QuotaEntityPart
	add := func(has bool, typ string, n QuotaName) {
		if has {
			out = append(out, QuotaEntityPart{Type: typ, Name: n.Name, Default: n.Default})
		}
	}
	add(e.HasUser, QuotaEntityUser, e.User)
	add(e.HasClientID, QuotaEntityClientID, e.ClientID)
	add(e.HasIP, QuotaEntityIP, e.IP)
	return out
}

// String is the entity as kafka-configs names it: "user=alice, client-id=<default>".
func (e ClientQuotaEntity) String() string {
	var parts []string
	for _, p := range e.Parts() {
		parts = append(parts, p.Type+"="+QuotaName{Name: p.Name, Default: p.Default}.String())
	}
	return strings.Join(parts, ", ")
}

// EntityFromParts validates a (type, name) list as Kafka's controller does and returns the
// entity. The error wraps ErrInvalidRequest (as Kafka's, also for a type Kafka does not know).
func EntityFromParts(parts []QuotaEntityPart) (ClientQuotaEntity, error) {
	var e ClientQuotaEntity
	if len(parts) == 0 {
		return e, errorf(ErrInvalidRequest, "invalid empty client quota entity")
	}
	for _, p := range parts {
		n := QuotaName{Name: p.Name, Default: p.Default}
		if n.Default {
			n.Name = ""
		} else if p.Name == "" {
			return e, errorf(ErrInvalidRequest, "empty %s not supported", p.Type)
		}
		var has *bool
		switch p.Type {
		case QuotaEntityUser:
			has, e.User = &e.HasUser, n
		case QuotaEntityClientID:
			has, e.ClientID = &e.HasClientID, n
		case QuotaEntityIP:
			if !n.Default {
				if _, err := netip.ParseAddr(n.Name); err != nil {
					return e, errorf(ErrInvalidRequest, "%s is not a valid IP address", n.Name)
				}
			}
			has, e.IP = &e.HasIP, n
		default:
			return e, errorf(ErrInvalidRequest, "unhandled client quota entity type: %s", p.Type)
		}
		if *has {
			return e, errorf(ErrInvalidRequest, "duplicate entity entry %s in the client quota entity", p.Type)
		}
		*has = true
	}
	if e.HasIP && (e.HasUser || e.HasClientID) {
		return e, errorf(ErrInvalidRequest, "invalid quota entity combination: the ip entity cannot be combined with user or client-id")
	}
	return e, nil
}

// ClientQuotas is the client quotas of an Image: entity → key → value. It is immutable, and a
// new one is built only when a batch changes a quota, so pointer equality of two *ClientQuotas
// means "unchanged" (the quota managers cache their resolution by it).
type ClientQuotas struct {
	byEntity map[ClientQuotaEntity]map[string]float64
}

var noClientQuotas = &ClientQuotas{byEntity: map[ClientQuotaEntity]map[string]float64{}}

// ClientQuotas returns the Image's client quotas; never nil.
func (img *Image) ClientQuotas() *ClientQuotas {
	if img.clientQuotas == nil {
		return noClientQuotas
	}
	return img.clientQuotas
}

// Len is the number of entities with at least one quota.
func (q *ClientQuotas) Len() int { return len(q.byEntity) }

// Get returns an entity's quotas (read-only), nil when it has none.
func (q *ClientQuotas) Get(e ClientQuotaEntity) map[string]float64 { return q.byEntity[e] }

// Entities returns every entity with a quota, in a fixed order.
func (q *ClientQuotas) Entities() []ClientQuotaEntity {
	return slices.SortedFunc(maps.Keys(q.byEntity), compareEntities)
}

func compareEntities(a, b ClientQuotaEntity) int {
	return cmp.Or(compareName(a.HasUser, a.User, b.HasUser, b.User),
		compareName(a.HasClientID, a.ClientID, b.HasClientID, b.ClientID),
		compareName(a.HasIP, a.IP, b.HasIP, b.IP))
}

func compareName(ha bool, a QuotaName, hb bool, b QuotaName) int {
	key := func(h bool, n QuotaName) int {
		switch {
		case !h:
			return 0
		case n.Default:
			return 1
		}
		return 2
	}
	return cmp.Or(cmp.Compare(key(ha, a), key(hb, b)), strings.Compare(a.Name, b.Name))
}

// Resolve finds the quota key that applies to a client by Kafka's precedence (KIP-55,
// KIP-546), first match wins:
//
//	user=<user>, client-id=<client-id>
//	user=<user>, client-id=<default>
//	user=<user>
//	user=<default>, client-id=<client-id>
//	user=<default>, client-id=<default>
//	user=<default>
//	client-id=<client-id>
//	client-id=<default>
//
// It returns the value and the entity that matched; ok is false when none has the key. It
// does not allocate.
func (q *ClientQuotas) Resolve(user, clientID, key string) (value float64, matched ClientQuotaEntity, ok bool) {
	if len(q.byEntity) == 0 {
		return 0, matched, false
	}
	u, du := QuotaName{Name: user}, QuotaName{Default: true}
	c, dc := QuotaName{Name: clientID}, QuotaName{Default: true}
	candidates := [...]ClientQuotaEntity{
		{HasUser: true, User: u, HasClientID: true, ClientID: c},
		{HasUser: true, User: u, HasClientID: true, ClientID: dc},
		{HasUser: true, User: u},
		{HasUser: true, User: du, HasClientID: true, ClientID: c},
		{HasUser: true, User: du, HasClientID: true, ClientID: dc},
		{HasUser: true, User: du},
		{HasClientID: true, ClientID: c},
		{HasClientID: true, ClientID: dc},
	}
	for _, e := range candidates {
		if v, found := q.byEntity[e][key]; found {
			return v, e, true
		}
	}
	return 0, matched, false
}

// ResolveIP finds the quota key for an IP: the IP's own entity, else the default IP entity.
func (q *ClientQuotas) ResolveIP(ip, key string) (value float64, matched ClientQuotaEntity, ok bool) {
	for _, e := range [...]ClientQuotaEntity{{HasIP: true, IP: QuotaName{Name: ip}}, {HasIP: true, IP: QuotaName{Default: true}}} {
		if v, found := q.byEntity[e][key]; found {
			return v, e, true
		}
	}
	return 0, matched, false
}

// clientQuota applies a ClientQuotaRecord. Quotas are copied on the batch's first quota
// record, so the base Image's stay untouched.
func (b *builder) clientQuota(r *ClientQuotaRecord) error {
	e, err := EntityFromParts(r.Entity)
	if err != nil {
		return errorf(ErrInvalidRecord, "client quota entity: %v", err)
	}
	if r.Key == "" {
		return errorf(ErrInvalidRecord, "client quota record without a key")
	}
	if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		return errorf(ErrInvalidRecord, "client quota %s value %v", r.Key, r.Value)
	}
	if !b.quotasCopied {
		next := &ClientQuotas{byEntity: maps.Clone(b.next.ClientQuotas().byEntity)}
		b.next.clientQuotas = next
		b.quotasCopied = true
		b.ownQuotas = map[ClientQuotaEntity]bool{}
	}
	m := b.next.clientQuotas.byEntity[e]
	if !b.ownQuotas[e] {
		m = maps.Clone(m)
		b.ownQuotas[e] = true
	}
	if r.Remove {
		delete(m, r.Key)
	} else {
		if m == nil {
			m = map[string]float64{}
		}
		m[r.Key] = r.Value
	}
	if len(m) == 0 {
		delete(b.next.clientQuotas.byEntity, e)
	} else {
		b.next.clientQuotas.byEntity[e] = m
	}
	return nil
}

// appendClientQuotaRecords appends the records that rebuild img's client quotas, in a fixed
// order.
func (img *Image) appendClientQuotaRecords(out []Record) []Record {
	q := img.ClientQuotas()
	for _, e := range q.Entities() {
		kv := q.byEntity[e]
		for _, k := range slices.Sorted(maps.Keys(kv)) {
			out = append(out, &ClientQuotaRecord{Entity: e.Parts(), Key: k, Value: kv[k]})
		}
	}
	return out
}
