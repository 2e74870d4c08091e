package metadata

import (
	"bytes"
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
)

func user(name string) QuotaEntityPart { return QuotaEntityPart{Type: QuotaEntityUser, Name: name} }
func clientID(name string) QuotaEntityPart {
	return QuotaEntityPart{Type: QuotaEntityClientID, Name: name}
}
func defaultOf(typ string) QuotaEntityPart { return QuotaEntityPart{Type: typ, Default: true} }
func entity(t *testing.T, parts ...QuotaEntityPart) ClientQuotaEntity {
	t.Helper()
	e, err := EntityFromParts(parts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func quotaRecords() []Record {
	return []Record{
		&ClientQuotaRecord{Entity: []QuotaEntityPart{user("alice"), clientID("app")}, Key: QuotaProducerByteRate, Value: 1048576},
		&ClientQuotaRecord{Entity: []QuotaEntityPart{defaultOf(QuotaEntityUser)}, Key: QuotaConsumerByteRate, Value: 2e6},
		&ClientQuotaRecord{Entity: []QuotaEntityPart{defaultOf(QuotaEntityClientID)}, Key: QuotaRequestPercentage, Value: 12.5},
		&ClientQuotaRecord{Entity: []QuotaEntityPart{{Type: QuotaEntityIP, Name: "127.0.0.1"}}, Key: QuotaConnectionCreationRate, Value: 10},
		&ClientQuotaRecord{Entity: []QuotaEntityPart{user("alice"), clientID("app")}, Key: QuotaProducerByteRate, Remove: true},
	}
}

func TestClientQuotaRecordRoundTrip(t *testing.T) {
	recs := quotaRecords()
	got, err := DecodeBatch(EncodeBatch(recs))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("round trip differs\n got %#v\nwant %#v", got, recs)
	}
	// A NaN or infinite value is corrupt: no valid writer produces it.
	bad := EncodeBatch([]Record{&ClientQuotaRecord{Entity: []QuotaEntityPart{user("a")}, Key: "k", Value: math.Inf(1)}})
	if _, err := DecodeBatch(bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("infinite value decoded: %v", err)
	}
}

func TestClientQuotaApplyAndSnapshot(t *testing.T) {
	img, err := Empty().Apply(1, quotaRecords()[:4])
	if err != nil {
		t.Fatal(err)
	}
	q := img.ClientQuotas()
	if q.Len() != 4 {
		t.Fatalf("entities %v", q.Entities())
	}
	if v := q.Get(entity(t, user("alice"), clientID("app")))[QuotaProducerByteRate]; v != 1048576 {
		t.Fatalf("alice/app producer rate %v", v)
	}
	next, err := img.Apply(2, quotaRecords()[4:])
	if err != nil {
		t.Fatal(err)
	}
	if next.ClientQuotas().Len() != 3 || next.ClientQuotas().Get(entity(t, user("alice"), clientID("app"))) != nil {
		t.Fatalf("removing the only key keeps the entity: %v", next.ClientQuotas().Entities())
	}
	// The base Image is untouched, and an Image without quota changes shares them.
	if img.ClientQuotas().Len() != 4 {
		t.Fatal("apply modified the base Image's quotas")
	}
	same, err := next.Apply(3, []Record{&FeatureLevelRecord{Name: "x", Level: 1}})
	if err != nil || same.ClientQuotas() != next.ClientQuotas() {
		t.Fatalf("unrelated batch replaced the quotas (%v)", err)
	}
	snap := AppendSnapshot(nil, img)
	back, err := DecodeSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.ClientQuotas().byEntity, img.ClientQuotas().byEntity) || !bytes.Equal(AppendSnapshot(nil, back), snap) {
		t.Fatal("snapshot does not rebuild the quotas")
	}
}

func TestClientQuotaApplyRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  *ClientQuotaRecord
	}{
		{"no entity", &ClientQuotaRecord{Key: "k", Value: 1}},
		{"unknown type", &ClientQuotaRecord{Entity: []QuotaEntityPart{{Type: "group", Name: "g"}}, Key: "k", Value: 1}},
		{"duplicate type", &ClientQuotaRecord{Entity: []QuotaEntityPart{user("a"), user("b")}, Key: "k", Value: 1}},
		{"ip with user", &ClientQuotaRecord{Entity: []QuotaEntityPart{user("a"), {Type: QuotaEntityIP, Name: "::1"}}, Key: "k", Value: 1}},
		{"empty name", &ClientQuotaRecord{Entity: []QuotaEntityPart{user("")}, Key: "k", Value: 1}},
		{"no key", &ClientQuotaRecord{Entity: []QuotaEntityPart{user("a")}, Value: 1}},
		{"NaN", &ClientQuotaRecord{Entity: []QuotaEntityPart{user("a")}, Key: "k", Value: math.NaN()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Empty().Apply(1, []Record{tc.rec}); !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("applied: %v", err)
			}
		})
	}
}

// TestClientQuotaResolvePrecedence walks Kafka's eight levels from the most specific down:
// each level is removed in turn and the next one must answer.
func TestClientQuotaResolvePrecedence(t *testing.T) {
	levels := [][]QuotaEntityPart{
		{user("alice"), clientID("app")},
		{user("alice"), defaultOf(QuotaEntityClientID)},
		{user("alice")},
		{defaultOf(QuotaEntityUser), clientID("app")},
		{defaultOf(QuotaEntityUser), defaultOf(QuotaEntityClientID)},
		{defaultOf(QuotaEntityUser)},
		{clientID("app")},
		{defaultOf(QuotaEntityClientID)},
	}
	var recs []Record
	for i, parts := range levels {
		recs = append(recs, &ClientQuotaRecord{Entity: parts, Key: QuotaProducerByteRate, Value: float64(i + 1)})
	}
	// Another key at the top level does not hide the lower levels' producer rate.
	recs = append(recs, &ClientQuotaRecord{Entity: levels[0], Key: QuotaConsumerByteRate, Value: 99})
	img, err := Empty().Apply(1, recs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range levels {
		v, matched, ok := img.ClientQuotas().Resolve("alice", "app", QuotaProducerByteRate)
		if !ok || v != float64(i+1) || matched != entity(t, levels[i]...) {
			t.Fatalf("level %d: got %v %v %v", i+1, v, matched, ok)
		}
		if img, err = img.Apply(int64(i+2), []Record{&ClientQuotaRecord{Entity: levels[i], Key: QuotaProducerByteRate, Remove: true}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, ok := img.ClientQuotas().Resolve("alice", "app", QuotaProducerByteRate); ok {
		t.Fatal("resolved with no quota left")
	}
	if v, _, ok := img.ClientQuotas().Resolve("alice", "app", QuotaConsumerByteRate); !ok || v != 99 {
		t.Fatalf("consumer rate %v %v", v, ok)
	}
	// Other clients and users do not match alice/app's own entity.
	if _, _, ok := img.ClientQuotas().Resolve("bob", "app", QuotaConsumerByteRate); ok {
		t.Fatal("bob matched alice's quota")
	}
}

func TestAlterClientQuotas(t *testing.T) {
	ctl, log := newTestController(t, []int32{1}, nil)
	ctx := context.Background()
	alice := []QuotaEntityPart{user("alice")}
	errs := ctl.AlterClientQuotas(ctx, []QuotaAlteration{
		{Entity: alice, Ops: []QuotaOp{{Key: QuotaProducerByteRate, Value: 1024}, {Key: QuotaRequestPercentage, Value: 50.5}}},
		{Entity: []QuotaEntityPart{defaultOf(QuotaEntityClientID)}, Ops: []QuotaOp{{Key: QuotaConsumerByteRate, Value: 2048}}},
	}, false)
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	if got := log.img.ClientQuotas().Get(entity(t, alice...)); got[QuotaProducerByteRate] != 1024 || got[QuotaRequestPercentage] != 50.5 {
		t.Fatalf("alice: %v", got)
	}
	// Setting the same value again, or removing an unset key, proposes nothing.
	proposed := log.proposed
	errs = ctl.AlterClientQuotas(ctx, []QuotaAlteration{{Entity: alice, Ops: []QuotaOp{{Key: QuotaProducerByteRate, Value: 1024},
		{Key: QuotaConsumerByteRate, Remove: true}}}}, false)
	if errs[0] != nil || log.proposed != proposed {
		t.Fatalf("no-op alteration: %v, %d proposals", errs, log.proposed-proposed)
	}
	// validate_only commits nothing.
	errs = ctl.AlterClientQuotas(ctx, []QuotaAlteration{{Entity: alice, Ops: []QuotaOp{{Key: QuotaProducerByteRate, Remove: true}}}}, true)
	if errs[0] != nil || log.img.ClientQuotas().Get(entity(t, alice...))[QuotaProducerByteRate] != 1024 {
		t.Fatalf("validate_only: %v", errs)
	}

	for _, tc := range []struct {
		name string
		alts []QuotaAlteration
		want error
	}{
		{"unknown key", []QuotaAlteration{{Entity: alice, Ops: []QuotaOp{{Key: "producer.byte.rate", Value: 1}}}}, ErrInvalidRequest},
		{"ip key on a user", []QuotaAlteration{{Entity: alice, Ops: []QuotaOp{{Key: QuotaConnectionCreationRate, Value: 1}}}}, ErrInvalidRequest},
		{"fractional byte rate", []QuotaAlteration{{Entity: alice, Ops: []QuotaOp{{Key: QuotaProducerByteRate, Value: 1.5}}}}, ErrInvalidRequest},
		{"zero", []QuotaAlteration{{Entity: alice, Ops: []QuotaOp{{Key: QuotaProducerByteRate, Value: 0}}}}, ErrInvalidRequest},
		{"int too large", []QuotaAlteration{{Entity: []QuotaEntityPart{{Type: QuotaEntityIP, Name: "10.0.0.1"}},
			Ops: []QuotaOp{{Key: QuotaConnectionCreationRate, Value: 1e10}}}}, ErrInvalidRequest},
		{"bad ip", []QuotaAlteration{{Entity: []QuotaEntityPart{{Type: QuotaEntityIP, Name: "not an ip"}},
			Ops: []QuotaOp{{Key: QuotaConnectionCreationRate, Value: 1}}}}, ErrInvalidRequest},
		{"duplicate key", []QuotaAlteration{{Entity: alice, Ops: []QuotaOp{{Key: QuotaProducerByteRate, Value: 1}, {Key: QuotaProducerByteRate, Value: 2}}}}, ErrInvalidRequest},
		{"duplicate entity", []QuotaAlteration{{Entity: alice}, {Entity: alice}}, ErrInvalidRequest},
		{"unknown entity type", []QuotaAlteration{{Entity: []QuotaEntityPart{{Type: "group", Name: "g"}}}}, ErrInvalidRequest},
		{"empty entity", []QuotaAlteration{{}}, ErrInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := log.img.ClientQuotas()
			for i, err := range ctl.AlterClientQuotas(ctx, tc.alts, false) {
				if !errors.Is(err, tc.want) {
					t.Fatalf("alteration %d: %v, want %v", i, err, tc.want)
				}
			}
			if log.img.ClientQuotas() != before {
				t.Fatal("a refused alteration changed the quotas")
			}
		})
	}
	log.leader = false
	if errs := ctl.AlterClientQuotas(ctx, []QuotaAlteration{{Entity: alice}}, false); !errors.Is(errs[0], ErrNotController) {
		t.Fatalf("not controller: %v", errs)
	}
}

// FuzzDecodeClientQuotaBatch seeds the batch decoder with client quota records: no input
// panics, and whatever decodes re-encodes to the same records.
func FuzzDecodeClientQuotaBatch(f *testing.F) {
	f.Add(EncodeBatch(quotaRecords()))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkBatch(t, b)
		if len(b) >= batchHeaderSize {
			checkBatch(t, fixCRC(bytes.Clone(b)))
		}
	})
}
