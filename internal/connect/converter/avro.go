package converter

import (
	"fmt"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/internal/connect/data"
)

// AvroClass is Confluent's Avro converter.
const AvroClass = "io.confluent.connect.avro.AvroConverter"

// Avro is Confluent's AvroConverter: Connect data in the Confluent wire format (magic byte 0,
// the schema id as 4 bytes big-endian, Avro binary) with the Avro schema in a schema registry.
//
// FromConnect derives the Avro schema from the Connect schema as Confluent's AvroData does
// (avroSchemaWriter), registers it under the subject (auto.register.schemas; else looks it
// up; use.latest.version writes with the subject's latest schema instead) once per schema,
// and writes the value. ToConnect fetches the writer's schema by id once, derives the
// Connect schema (avroToConnect; the top-level schema takes the subject's version unless
// connect.version says otherwise) and reads the value.
//
// Settings: schema.registry.url (comma list; required), basic.auth.credentials.source (URL or
// USER_INFO) with basic.auth.user.info, auto.register.schemas (true), use.latest.version
// (false), latest.compatibility.strict (true), key.subject.name.strategy /
// value.subject.name.strategy (Confluent's TopicNameStrategy, RecordNameStrategy,
// TopicRecordNameStrategy), connect.meta.data (true), enhanced.avro.schema.support (false),
// schemas.cache.config (1000 schemas in each cache).
type Avro struct {
	rc       registryConfig
	meta     bool
	enhanced bool

	texts   boundedCache[avroOut]    // by Connect schema: the Avro schema text and parsed form
	writers boundedCache[avroWriter] // by subject and schema text: the id and schema written with
	readers boundedCache[avroIn]     // by schema id: the writer's schema and its Connect form
}

type avroOut struct {
	text   string
	parsed avro.Schema
}

type avroWriter struct {
	id     int
	schema avro.Schema
}

type avroIn struct {
	avro    avro.Schema
	connect *data.Schema
}

func (c *Avro) Configure(cfg map[string]string, isKey bool) error {
	var err error
	if c.rc, err = newRegistryConfig(cfg, isKey); err != nil {
		return err
	}
	if c.meta, err = parseBool(cfg, "connect.meta.data", true); err != nil {
		return err
	}
	if c.enhanced, err = parseBool(cfg, "enhanced.avro.schema.support", false); err != nil {
		return err
	}
	c.texts.max, c.writers.max, c.readers.max = c.rc.cacheSize, c.rc.cacheSize, c.rc.cacheSize
	return nil
}

// parseAvroSchema parses text in a name space of its own (hamba/avro's default cache is
// global: two versions of one record name must not meet).
func parseAvroSchema(text string) (avro.Schema, error) {
	s, err := avro.ParseWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("converter: Avro schema: %w", err)
	}
	return s, nil
}

// avroRecordName is the name the record name strategies use: a named type's full name, else
// the type's name.
func avroRecordName(s avro.Schema) string {
	if n, ok := deref(s).(avro.NamedSchema); ok {
		return n.FullName()
	}
	return string(s.Type())
}

func (c *Avro) FromConnect(topic string, s *data.Schema, v any) ([]byte, error) {
	if s == nil && v == nil {
		return nil, nil
	}
	if s == nil {
		return nil, fmt.Errorf("converter: AvroConverter needs a schema (schemaless %T)", v)
	}
	if v == nil {
		if !s.Optional {
			return nil, fmt.Errorf("converter: a null value for the required %v", s)
		}
		return nil, nil // a null value of an optional schema is a null record value
	}
	out, err := c.texts.get(s, func() (avroOut, error) {
		text, err := avroSchemaText(s, c.meta)
		if err != nil {
			return avroOut{}, err
		}
		parsed, err := parseAvroSchema(text)
		if err != nil {
			return avroOut{}, fmt.Errorf("%w (the schema derived from %v)", err, s)
		}
		return avroOut{text, parsed}, nil
	})
	if err != nil {
		return nil, err
	}
	subject := c.rc.subject(topic, avroRecordName(out.parsed))
	w, err := c.writers.get(subject+"\x00"+out.text, func() (avroWriter, error) { return c.writer(subject, out) })
	if err != nil {
		return nil, err
	}
	b, _ := wireHeader.AppendEncode(make([]byte, 0, 64), w.id, nil)
	if b, err = avroEncode(b, w.schema, s, v); err != nil {
		return nil, fmt.Errorf("%w (topic %s)", err, topic)
	}
	return b, nil
}

// writer resolves the schema id (and, under use.latest.version, the schema) records of
// subject with schema out are written with.
func (c *Avro) writer(subject string, out avroOut) (avroWriter, error) {
	ss, err := c.rc.resolve(subject, sr.Schema{Schema: out.text, Type: sr.TypeAvro})
	if err != nil {
		return avroWriter{}, err
	}
	w := avroWriter{id: ss.ID, schema: out.parsed}
	if c.rc.useLatest {
		if len(ss.References) > 0 {
			return avroWriter{}, fmt.Errorf("converter: the latest version of %s has references, which AvroConverter does not follow", subject)
		}
		if w.schema, err = parseAvroSchema(ss.Schema.Schema); err != nil {
			return avroWriter{}, fmt.Errorf("%w (the latest version of %s)", err, subject)
		}
		if c.rc.latestStrict {
			if err := avro.NewSchemaCompatibility().Compatible(w.schema, out.parsed); err != nil {
				return avroWriter{}, fmt.Errorf("converter: the latest version of %s (id %d) is not backward compatible with the record's schema: %w", subject, ss.ID, err)
			}
		}
	}
	return w, nil
}

func (c *Avro) ToConnect(topic string, b []byte) (*data.Schema, any, error) {
	if b == nil {
		return nil, nil, nil
	}
	id, payload, err := splitWire("AvroConverter", b)
	if err != nil {
		return nil, nil, err
	}
	in, err := c.readers.get(id, func() (avroIn, error) { return c.reader(topic, id) })
	if err != nil {
		return nil, nil, err
	}
	r := &avroReader{b: payload, items: len(payload) + 1024}
	v, err := r.decode(in.avro, in.connect)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (schema id %d, topic %s)", err, id, topic)
	}
	if len(r.b) != 0 {
		return nil, nil, fmt.Errorf("converter: %d bytes after the Avro value (schema id %d, topic %s)", len(r.b), id, topic)
	}
	return in.connect, v, nil
}

// reader fetches the schema with id and derives its Connect schema; the top-level schema
// takes its version under the record's subject unless it carries connect.version.
func (c *Avro) reader(topic string, id int) (avroIn, error) {
	s, err := c.rc.schemaByID(id)
	if err != nil {
		return avroIn{}, err
	}
	if s.Type != sr.TypeAvro {
		return avroIn{}, fmt.Errorf("converter: AvroConverter: schema id %d is a %v schema", id, s.Type)
	}
	if len(s.References) > 0 {
		return avroIn{}, fmt.Errorf("converter: AvroConverter: schema id %d has references, which are not supported", id)
	}
	parsed, err := parseAvroSchema(s.Schema)
	if err != nil {
		return avroIn{}, fmt.Errorf("%w (schema id %d)", err, id)
	}
	version := 0
	if propValue(deref(parsed), connectVersionProp) == nil {
		version = c.rc.version(c.rc.subject(topic, avroRecordName(parsed)), id)
	}
	conv := &avroToConnect{meta: c.meta, enhanced: c.enhanced}
	cs, err := conv.schema(parsed, false, nil, false, version)
	if err != nil {
		return avroIn{}, fmt.Errorf("%w (schema id %d)", err, id)
	}
	return avroIn{parsed, cs}, nil
}
