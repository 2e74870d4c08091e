package api_test

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/api"
	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/record"
)

// subjectsByID stands in for the registry's SubjectsForID: the check is what is under test
// here; tests/registry_validation_test.go runs it against the real registry.
type subjectsByID struct {
	mu      sync.Mutex
	ids     map[int][]string
	failing error // answered for every id when set
	asked   int
}

type statusError int

func (e statusError) Error() string { return "schema not found" }
func (e statusError) Status() int   { return int(e) }

func (r *subjectsByID) SubjectsForID(_ context.Context, id int) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked++
	if r.failing != nil {
		return nil, r.failing
	}
	s, ok := r.ids[id]
	if !ok {
		return nil, statusError(404)
	}
	return s, nil
}

func (r *subjectsByID) register(id int, subject string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[id] = append(r.ids[id], subject)
}

// wire is Confluent's wire format: magic byte 0, the schema id, then the payload.
func wire(id uint32, payload string) []byte {
	b := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], id)
	return append(b, payload...)
}

type kv struct{ key, value []byte }

func batchOf(t *testing.T, codec record.Codec, recs ...kv) []byte {
	t.Helper()
	bld := record.NewBuilder(codec)
	now := time.Now().UnixMilli()
	for _, r := range recs {
		bld.Add(now, r.key, r.value)
	}
	b, err := bld.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProduceSchemaIDValidation(t *testing.T) {
	b := startBroker(t)
	reg := &subjectsByID{ids: map[int][]string{
		1: {"orders-value"},
		2: {"orders-key"},
		3: {"other-value"},
		4: {"rec-com.acme.Order"},
		5: {"com.acme.Order"},
	}}
	b.env.SchemaIDs = api.NewSchemaIDValidator(reg) // before any request: the server reads env per request
	b.createTopic("plain", 1, nil)
	b.createTopic("orders", 1, map[string]string{"sluice.value.schema.id.validation": "true"})
	b.createTopic("keyed", 1, map[string]string{"sluice.key.schema.id.validation": "true"})
	b.createTopic("rec", 1, map[string]string{"sluice.value.schema.id.validation": "true",
		"sluice.value.subject.name.strategy": "TopicRecordNameStrategy"})
	b.createTopic("any", 1, map[string]string{"sluice.value.schema.id.validation": "true",
		"sluice.value.subject.name.strategy": "io.confluent.kafka.serializers.subject.RecordNameStrategy"})
	// "keyed" uses TopicNameStrategy for keys: orders-key is not keyed-key.
	reg.register(2, "keyed-key")

	cases := []struct {
		name    string
		topic   string
		codec   record.Codec
		recs    []kv
		bad     []int32 // per-record errors expected (nil: accepted)
		message string  // in the first record error
	}{
		{"no validation: anything goes", "plain", record.None, []kv{{nil, []byte("not avro")}}, nil, ""},
		{"registered id", "orders", record.None, []kv{{nil, wire(1, "x")}, {[]byte("k"), wire(1, "y")}}, nil, ""},
		{"tombstone passes", "orders", record.None, []kv{{[]byte("k"), nil}}, nil, ""},
		{"no magic byte", "orders", record.None, []kv{{nil, []byte("plain text")}}, []int32{0},
			"value has no schema id: sluice.value.schema.id.validation is on for topic orders"},
		{"too short", "orders", record.None, []kv{{nil, []byte{0, 0, 1}}}, []int32{0}, "value has no schema id"},
		{"empty value", "orders", record.None, []kv{{nil, []byte{}}}, []int32{0}, "value has no schema id"},
		{"unknown id", "orders", record.None, []kv{{nil, wire(99, "x")}}, []int32{0},
			"value schema id 99 is not registered under subject orders-value (TopicNameStrategy)"},
		{"id of another topic's subject", "orders", record.None, []kv{{nil, wire(3, "x")}}, []int32{0},
			"value schema id 3 is not registered under subject orders-value"},
		{"id of the key subject", "orders", record.None, []kv{{nil, wire(2, "x")}}, []int32{0}, "not registered"},
		{"bad records among good ones", "orders", record.None,
			[]kv{{nil, wire(99, "x")}, {nil, wire(1, "ok")}, {nil, []byte("raw")}, {nil, wire(1, "ok")}}, []int32{0, 2}, "99"},
		{"compressed, registered", "orders", record.Zstd, []kv{{nil, wire(1, "x")}, {nil, wire(1, "y")}}, nil, ""},
		{"compressed, one bad", "orders", record.LZ4, []kv{{nil, wire(1, "x")}, {nil, wire(7, "y")}}, []int32{1}, "schema id 7"},
		{"compressed gzip, no magic", "orders", record.Gzip, []kv{{nil, []byte("x")}}, []int32{0}, "no schema id"},
		{"key validated, value free", "keyed", record.None, []kv{{wire(2, "k"), []byte("anything")}}, nil, ""},
		{"null key passes", "keyed", record.None, []kv{{nil, []byte("anything")}}, nil, ""},
		{"key without id", "keyed", record.None, []kv{{[]byte("k"), []byte("v")}}, []int32{0},
			"key has no schema id: sluice.key.schema.id.validation is on for topic keyed"},
		{"key id of another subject", "keyed", record.None, []kv{{wire(1, "k"), nil}}, []int32{0},
			"key schema id 1 is not registered under subject keyed-key"},
		{"topic record name", "rec", record.None, []kv{{nil, wire(4, "x")}}, nil, ""},
		{"topic record name, other topic", "rec", record.None, []kv{{nil, wire(5, "x")}}, []int32{0},
			"a subject rec-<record name> (TopicRecordNameStrategy)"},
		{"record name, any subject", "any", record.None, []kv{{nil, wire(3, "x")}, {nil, wire(5, "y")}}, nil, ""},
		{"record name, unknown id", "any", record.None, []kv{{nil, wire(42, "x")}}, []int32{0}, "any subject (RecordNameStrategy)"},
	}
	c := b.dial()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp := produceRaw(c, 9, tc.topic, batchOf(t, tc.codec, tc.recs...))
			if tc.bad == nil {
				if sp.ErrorCode != 0 {
					t.Fatalf("refused: %v %v", kerr.ErrorForCode(sp.ErrorCode), deref(sp.ErrorMessage))
				}
				return
			}
			if sp.ErrorCode != kerr.InvalidRecord.Code {
				t.Fatalf("error %v, want INVALID_RECORD", kerr.ErrorForCode(sp.ErrorCode))
			}
			if len(sp.ErrorRecords) != len(tc.bad) {
				t.Fatalf("record errors %+v, want records %v", sp.ErrorRecords, tc.bad)
			}
			for i, want := range tc.bad {
				if got := sp.ErrorRecords[i].RelativeOffset; got != want {
					t.Errorf("record error %d names record %d, want %d", i, got, want)
				}
			}
			if msg := deref(sp.ErrorRecords[0].ErrorMessage); !strings.Contains(msg, tc.message) {
				t.Errorf("record error %q, want it to say %q", msg, tc.message)
			}
			if msg := deref(sp.ErrorMessage); !strings.Contains(msg, tc.message) {
				t.Errorf("error message %q, want it to say %q", msg, tc.message)
			}
		})
	}
	// Nothing refused was appended: the accepted records alone are in the log.
	p, _ := b.parts.Partition("orders", 0)
	if end := p.Log().LogEndOffset(); end != 5 {
		t.Errorf("orders log ends at %d, want 5 (the accepted records only)", end)
	}
}

// A producer refused for an unregistered id is accepted as soon as the schema is registered:
// "not registered" is never cached. A registered id is cached: the registry is asked once.
func TestProduceSchemaIDRegisteredLater(t *testing.T) {
	b := startBroker(t)
	reg := &subjectsByID{ids: map[int][]string{}}
	b.env.SchemaIDs = api.NewSchemaIDValidator(reg)
	b.createTopic("late", 1, map[string]string{"sluice.value.schema.id.validation": "true"})
	c := b.dial()
	records := func() []byte { return batchOf(t, record.None, kv{nil, wire(10, "a")}, kv{nil, wire(10, "b")}) }
	if sp := produceRaw(c, 9, "late", records()); sp.ErrorCode != kerr.InvalidRecord.Code {
		t.Fatalf("unregistered id: %v, want INVALID_RECORD", kerr.ErrorForCode(sp.ErrorCode))
	}
	reg.register(10, "late-value")
	for i := range 3 {
		if sp := produceRaw(c, 9, "late", records()); sp.ErrorCode != 0 {
			t.Fatalf("produce %d after registering: %v %s", i, kerr.ErrorForCode(sp.ErrorCode), deref(sp.ErrorMessage))
		}
	}
	reg.mu.Lock()
	asked := reg.asked
	reg.mu.Unlock()
	if asked != 2 {
		t.Errorf("registry asked %d times, want 2 (the refusal, then once: cached)", asked)
	}
}

// Turning validation off (a dynamic topic config) lets anything through again; a registry
// that fails refuses the records with its error; no registry at all says so.
func TestProduceSchemaIDValidationStates(t *testing.T) {
	b := startBroker(t)
	reg := &subjectsByID{ids: map[int][]string{}, failing: errors.New("registry still loading")}
	b.env.SchemaIDs = api.NewSchemaIDValidator(reg)
	b.createTopic("t", 1, map[string]string{"sluice.value.schema.id.validation": "true"})
	c := b.dial()
	sp := produceRaw(c, 9, "t", batchOf(t, record.None, kv{nil, wire(1, "x")}))
	if sp.ErrorCode != kerr.InvalidRecord.Code || !strings.Contains(deref(sp.ErrorMessage), "could not be checked: registry still loading") {
		t.Fatalf("failing registry: %v %q", kerr.ErrorForCode(sp.ErrorCode), deref(sp.ErrorMessage))
	}
	b.apply([]metadata.Record{&metadata.ConfigRecord{ResourceType: metadata.ConfigResourceTopic, ResourceName: "t",
		Name: "sluice.value.schema.id.validation", Value: "false"}})
	if sp := produceRaw(c, 9, "t", batchOf(t, record.None, kv{nil, []byte("raw")})); sp.ErrorCode != 0 {
		t.Fatalf("validation off: %v", kerr.ErrorForCode(sp.ErrorCode))
	}

	later := startBroker(t) // a registry not started yet, then started
	pending := api.NewSchemaIDValidator(nil)
	later.env.SchemaIDs = pending
	later.createTopic("t", 1, map[string]string{"sluice.value.schema.id.validation": "true"})
	lc := later.dial()
	sp = produceRaw(lc, 9, "t", batchOf(t, record.None, kv{nil, wire(1, "x")}))
	if sp.ErrorCode != kerr.InvalidRecord.Code || !strings.Contains(deref(sp.ErrorMessage), "schema registry has not started yet") {
		t.Fatalf("registry not started: %v %q", kerr.ErrorForCode(sp.ErrorCode), deref(sp.ErrorMessage))
	}
	pending.SetRegistry(&subjectsByID{ids: map[int][]string{1: {"t-value"}}})
	if sp := produceRaw(lc, 9, "t", batchOf(t, record.None, kv{nil, wire(1, "x")})); sp.ErrorCode != 0 {
		t.Fatalf("registry started: %v %q", kerr.ErrorForCode(sp.ErrorCode), deref(sp.ErrorMessage))
	}

	none := startBroker(t) // Env.SchemaIDs nil: no registry on this broker
	none.createTopic("t", 1, map[string]string{"sluice.value.schema.id.validation": "true"})
	sp = produceRaw(none.dial(), 9, "t", batchOf(t, record.None, kv{nil, wire(1, "x")}))
	if sp.ErrorCode != kerr.InvalidRecord.Code || !strings.Contains(deref(sp.ErrorMessage), "serves no schema registry") {
		t.Fatalf("no registry: %v %q", kerr.ErrorForCode(sp.ErrorCode), deref(sp.ErrorMessage))
	}
}
