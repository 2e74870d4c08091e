package serde

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// avroAPI bounds what decoding untrusted bytes may allocate: a string or bytes field of at
// most 64 MiB, an array or map of at most 1 Mi entries (a record of Kafka's default 1 MiB
// limit cannot hold more items of at least a byte each).
var avroAPI = avro.Config{MaxByteSliceSize: 64 << 20, MaxSliceAllocSize: 1 << 20}.Freeze()

type avroSerde[T any] struct {
	client *sr.Client
	o      options
	text   string

	parseMu sync.Mutex
	parsed  atomic.Pointer[avro.Schema] // the serde's own schema, parsed with its references

	writers cache[string, avroWriter] // by topic: the id and schema Serialize writes with
	readers cache[int, avro.Schema]   // by schema id: the writer's schema resolved against ours
}

type avroWriter struct {
	id     int
	schema avro.Schema
}

// Avro is a serde of Avro records in the Confluent wire format through the schema registry
// client: hamba/avro/v2 marshals T (struct fields matched by `avro` tags, or maps) with schema.
//
// Serialize registers schema under the subject (TopicNameStrategy: "<topic>-value", or
// "<topic>-key" with Key(); SubjectNames for the others) once per topic, then writes
// 0 | id | Avro binary. NoAutoRegister looks the schema up instead; UseLatestVersion writes
// with the subject's latest schema. A nil T (pointer, map, interface) serializes to nil.
//
// Deserialize reads the schema id, fetches the writer's schema by id once (with its
// references) and resolves it against schema (Avro schema resolution: fields added with
// defaults, removed fields skipped, promotions), then unmarshals into T. nil data
// deserializes to T's zero value.
//
// Schemas referring to named types in other subjects take References; those are fetched
// on first use, so Avro returns an error at once only for a schema that does not parse
// without them.
func Avro[T any](client *sr.Client, schema string, opts ...Option) (Serde[T], error) {
	a := &avroSerde[T]{client: client, o: buildOptions(opts), text: schema}
	if len(a.o.references) == 0 {
		s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
		if err != nil {
			return nil, fmt.Errorf("serde: Avro schema: %w", err)
		}
		a.parsed.Store(&s)
	}
	return a, nil
}

// schema returns the serde's own schema, parsing it with its references the first time.
func (a *avroSerde[T]) schema() (avro.Schema, error) {
	if s := a.parsed.Load(); s != nil {
		return *s, nil
	}
	a.parseMu.Lock()
	defer a.parseMu.Unlock()
	if s := a.parsed.Load(); s != nil {
		return *s, nil
	}
	ctx, cancel := a.o.context()
	defer cancel()
	s, err := parseAvro(ctx, a.client, sr.Schema{Schema: a.text, References: a.o.references})
	if err != nil {
		return nil, err
	}
	a.parsed.Store(&s)
	return s, nil
}

// parseAvro parses s after the schemas it refers to, fetched from the registry, into a cache
// of its own (named types of different versions must not meet).
func parseAvro(ctx context.Context, cl *sr.Client, s sr.Schema) (avro.Schema, error) {
	refs, err := fetchReferences(ctx, cl, s.References)
	if err != nil {
		return nil, fmt.Errorf("serde: Avro: %w", err)
	}
	names := &avro.SchemaCache{}
	for _, ref := range refs {
		if _, err := avro.ParseWithCache(ref.Schema.Schema, "", names); err != nil {
			return nil, fmt.Errorf("serde: Avro: referenced schema %s: %w", ref.name, err)
		}
	}
	parsed, err := avro.ParseWithCache(s.Schema, "", names)
	if err != nil {
		return nil, fmt.Errorf("serde: Avro schema: %w", err)
	}
	return parsed, nil
}

// recordName is the full name of a named schema (record, enum, fixed), for the record name
// strategies.
func avroRecordName(s avro.Schema) string {
	if n, ok := s.(avro.NamedSchema); ok {
		return n.FullName()
	}
	return string(s.Type())
}

func (a *avroSerde[T]) Serialize(topic string, v T) ([]byte, error) {
	if isNil(v) {
		return nil, nil
	}
	w, err := a.writers.get(topic, func() (avroWriter, error) { return a.writer(topic) })
	if err != nil {
		return nil, err
	}
	payload, err := avroAPI.Marshal(w.schema, v)
	if err != nil {
		return nil, fmt.Errorf("serde: Avro: %w", err)
	}
	b, _ := header.AppendEncode(make([]byte, 0, 5+len(payload)), w.id, nil)
	return append(b, payload...), nil
}

// writer resolves the id (and, with UseLatestVersion, the schema) Serialize writes to topic
// with.
func (a *avroSerde[T]) writer(topic string) (avroWriter, error) {
	own, err := a.schema()
	if err != nil {
		return avroWriter{}, err
	}
	subject := a.o.subject(topic, avroRecordName(own))
	ss, err := resolveSchema(a.client, &a.o, subject, sr.Schema{Schema: a.text, Type: sr.TypeAvro, References: a.o.references})
	if err != nil {
		return avroWriter{}, fmt.Errorf("serde: Avro: %w", err)
	}
	w := avroWriter{id: ss.ID, schema: own}
	if a.o.useLatest {
		ctx, cancel := a.o.context()
		defer cancel()
		if w.schema, err = parseAvro(ctx, a.client, ss.Schema); err != nil {
			return avroWriter{}, err
		}
	}
	return w, nil
}

func (a *avroSerde[T]) Deserialize(topic string, data []byte) (T, error) {
	var v T
	if data == nil {
		return v, nil
	}
	id, payload, err := decodeHeader("Avro", data)
	if err != nil {
		return v, err
	}
	s, err := a.readers.get(id, func() (avro.Schema, error) { return a.reader(id) })
	if err != nil {
		return v, err
	}
	if err := avroAPI.Unmarshal(s, payload, &v); err != nil {
		return v, fmt.Errorf("serde: Avro: schema id %d: %w", id, err)
	}
	return v, nil
}

// reader fetches the writer's schema with id and resolves it against the serde's own.
func (a *avroSerde[T]) reader(id int) (avro.Schema, error) {
	own, err := a.schema()
	if err != nil {
		return nil, err
	}
	ctx, cancel := a.o.context()
	defer cancel()
	s, err := a.client.SchemaByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("serde: Avro: schema id %d: %w", id, err)
	}
	if s.Type != sr.TypeAvro {
		return nil, fmt.Errorf("serde: Avro: schema id %d is a %v schema", id, s.Type)
	}
	writer, err := parseAvro(ctx, a.client, s)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	if writer.Fingerprint() == own.Fingerprint() {
		return own, nil
	}
	resolved, err := avro.NewSchemaCompatibility().Resolve(own, writer)
	if err != nil {
		return nil, fmt.Errorf("serde: Avro: the writer's schema (id %d) does not resolve against the reader's: %w", id, err)
	}
	return resolved, nil
}
