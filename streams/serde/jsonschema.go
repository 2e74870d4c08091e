package serde

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/twmb/franz-go/pkg/sr"
)

type jsonSchemaSerde[T any] struct {
	client *sr.Client
	o      options
	text   string
	title  string // the schema's "title", its record name

	compileMu sync.Mutex
	compiled  atomic.Pointer[jsonschema.Schema] // the serde's own schema, for ValidateJSON

	ids     cache[string, int]             // by topic: the schema id Serialize writes
	readers cache[int, *jsonschema.Schema] // by schema id: the writer's schema (nil unless ValidateJSON)
}

// JSONSchema is a serde of JSON documents (encoding/json of T) in the Confluent wire format,
// their schema a JSON Schema in the registry: Confluent's KafkaJsonSchemaSerializer.
//
// Serialize registers schema under the subject once per topic (see Avro for the subject and
// the NoAutoRegister / UseLatestVersion options; the record name is the schema's "title"),
// then writes 0 | id | JSON. With ValidateJSON the value must conform to the schema (the
// latest version's with UseLatestVersion) or Serialize fails (json.fail.invalid.schema). A
// nil T serializes to nil.
//
// Deserialize reads the schema id, checks once per id that the registry holds a JSON schema
// there (with ValidateJSON compiling it and validating every value against it), and
// unmarshals the JSON into T. nil data deserializes to T's zero value.
//
// Schemas are compiled with draft-07 unless they name another in "$schema" (Confluent's
// default); "$ref"s resolve only to the References given, never to files or URLs.
func JSONSchema[T any](client *sr.Client, schema string, opts ...Option) (Serde[T], error) {
	j := &jsonSchemaSerde[T]{client: client, o: buildOptions(opts), text: schema}
	if !json.Valid([]byte(schema)) {
		return nil, fmt.Errorf("serde: JSON schema: not JSON: %q", truncate([]byte(schema)))
	}
	var doc struct {
		Title string `json:"title"`
	}
	_ = json.Unmarshal([]byte(schema), &doc) // a boolean schema has no title
	j.title = doc.Title
	if j.o.strategy != TopicNameStrategy && j.title == "" {
		return nil, fmt.Errorf("serde: JSON schema: a record name strategy needs the schema's \"title\"")
	}
	if len(j.o.references) == 0 {
		s, err := compileJSONSchema(context.Background(), nil, sr.Schema{Schema: schema})
		if err != nil {
			return nil, err
		}
		j.compiled.Store(s)
	}
	return j, nil
}

// schemaBase is the URL schemas without an "$id" are compiled under; a reference's name
// resolves against it (an absolute name stays as it is).
const schemaBase = "mem://registry/schema.json"

// compileJSONSchema compiles s, its references fetched from the registry and added under
// their names.
func compileJSONSchema(ctx context.Context, cl *sr.Client, s sr.Schema) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(jsonschema.SchemeURLLoader{}) // no files, no network
	base, _ := url.Parse(schemaBase)
	if len(s.References) > 0 {
		refs, err := fetchReferences(ctx, cl, s.References)
		if err != nil {
			return nil, fmt.Errorf("serde: JSON schema: %w", err)
		}
		for _, ref := range refs {
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(ref.Schema.Schema)))
			if err != nil {
				return nil, fmt.Errorf("serde: JSON schema: reference %s: %w", ref.name, err)
			}
			u, err := base.Parse(ref.name)
			if err != nil {
				return nil, fmt.Errorf("serde: JSON schema: reference name %q: %w", ref.name, err)
			}
			if err := c.AddResource(u.String(), doc); err != nil {
				return nil, fmt.Errorf("serde: JSON schema: reference %s: %w", ref.name, err)
			}
		}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(s.Schema)))
	if err != nil {
		return nil, fmt.Errorf("serde: JSON schema: %w", err)
	}
	if err := c.AddResource(schemaBase, doc); err != nil {
		return nil, fmt.Errorf("serde: JSON schema: %w", err)
	}
	compiled, err := c.Compile(schemaBase)
	if err != nil {
		return nil, fmt.Errorf("serde: JSON schema: %w", err)
	}
	return compiled, nil
}

// own returns the serde's schema compiled, fetching its references the first time.
func (j *jsonSchemaSerde[T]) own() (*jsonschema.Schema, error) {
	if s := j.compiled.Load(); s != nil {
		return s, nil
	}
	j.compileMu.Lock()
	defer j.compileMu.Unlock()
	if s := j.compiled.Load(); s != nil {
		return s, nil
	}
	ctx, cancel := j.o.context()
	defer cancel()
	s, err := compileJSONSchema(ctx, j.client, sr.Schema{Schema: j.text, References: j.o.references})
	if err != nil {
		return nil, err
	}
	j.compiled.Store(s)
	return s, nil
}

func (j *jsonSchemaSerde[T]) Serialize(topic string, v T) ([]byte, error) {
	if isNil(v) {
		return nil, nil
	}
	id, err := j.ids.get(topic, func() (int, error) { return j.writerID(topic) })
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("serde: JSON schema: %w", err)
	}
	if j.o.validate {
		s, err := j.readers.get(id, func() (*jsonschema.Schema, error) { return j.reader(id) })
		if err != nil {
			return nil, err
		}
		if err := validateJSON(s, payload); err != nil {
			return nil, fmt.Errorf("serde: JSON schema: value does not conform to schema id %d: %w", id, err)
		}
	}
	b, _ := header.AppendEncode(make([]byte, 0, 5+len(payload)), id, nil)
	return append(b, payload...), nil
}

func validateJSON(s *jsonschema.Schema, payload []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

func (j *jsonSchemaSerde[T]) writerID(topic string) (int, error) {
	if j.o.validate && !j.o.useLatest {
		if _, err := j.own(); err != nil {
			return 0, err
		}
	}
	subject := j.o.subject(topic, j.title)
	ss, err := resolveSchema(j.client, &j.o, subject, sr.Schema{Schema: j.text, Type: sr.TypeJSON, References: j.o.references})
	if err != nil {
		return 0, fmt.Errorf("serde: JSON schema: %w", err)
	}
	return ss.ID, nil
}

func (j *jsonSchemaSerde[T]) Deserialize(topic string, data []byte) (T, error) {
	var v T
	if data == nil {
		return v, nil
	}
	id, payload, err := decodeHeader("JSON schema", data)
	if err != nil {
		return v, err
	}
	s, err := j.readers.get(id, func() (*jsonschema.Schema, error) { return j.reader(id) })
	if err != nil {
		return v, err
	}
	if s != nil {
		if err := validateJSON(s, payload); err != nil {
			return v, fmt.Errorf("serde: JSON schema: value does not conform to schema id %d: %w", id, err)
		}
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return v, fmt.Errorf("serde: JSON schema: schema id %d: %w", id, err)
	}
	return v, nil
}

// reader checks that id is a JSON schema and, with ValidateJSON, compiles it.
func (j *jsonSchemaSerde[T]) reader(id int) (*jsonschema.Schema, error) {
	ctx, cancel := j.o.context()
	defer cancel()
	s, err := j.client.SchemaByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("serde: JSON schema: schema id %d: %w", id, err)
	}
	if s.Type != sr.TypeJSON {
		return nil, fmt.Errorf("serde: JSON schema: schema id %d is a %v schema", id, s.Type)
	}
	if !j.o.validate {
		return nil, nil
	}
	compiled, err := compileJSONSchema(ctx, j.client, s)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	return compiled, nil
}
