package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/sluicehq/sluice/internal/registry"
)

// ErrUnknownKeyType is returned by Decode for a key whose keytype this registry does not know
// (a newer Confluent registry's, such as CONTEXT): the reader skips the record and counts it.
var ErrUnknownKeyType = errors.New("store: unknown _schemas key type")

// ErrBadRecord is wrapped by Decode's other errors: the key or value does not decode.
var ErrBadRecord = errors.New("store: undecodable _schemas record")

// Confluent's key magic: 1 on SCHEMA keys, 0 on the others (SchemaKey and the other key
// classes of Confluent's registry). A SCHEMA key of another magic is refused, as Confluent's
// deserializer refuses it.
const (
	schemaKeyMagic = 1
	otherKeyMagic  = 0
)

// EncodeKey returns k as Confluent's registry writes it: its fields in Confluent's order
// (keytype, subject, version, magic), subject left out when nil or empty and version on SCHEMA
// keys only (Jackson's NON_EMPTY), magic 1 on SCHEMA keys and 0 on the others whatever k.Magic
// says.
func EncodeKey(k registry.Key) []byte {
	var b bytes.Buffer
	b.WriteString(`{"keytype":`)
	writeJSONString(&b, string(k.KeyType))
	if k.KeyType != registry.KeyNoop && k.Subject != nil && *k.Subject != "" {
		b.WriteString(`,"subject":`)
		writeJSONString(&b, *k.Subject)
	}
	magic := otherKeyMagic
	if k.KeyType == registry.KeySchema {
		b.WriteString(`,"version":`)
		b.WriteString(strconv.Itoa(k.Version))
		magic = schemaKeyMagic
	}
	b.WriteString(`,"magic":`)
	b.WriteString(strconv.Itoa(magic))
	b.WriteByte('}')
	return b.Bytes()
}

// EncodeValue returns r's value as Confluent's registry writes it (Jackson's field order, null
// and empty fields left out, no HTML escaping), or nil for a tombstone (r.Value nil) and for a
// NOOP record, whose value Confluent leaves null.
func EncodeValue(r registry.Record) ([]byte, error) {
	if r.Value == nil || r.Key.KeyType == registry.KeyNoop {
		return nil, nil
	}
	switch v := r.Value.(type) {
	case *registry.SchemaValue, *registry.ConfigValue, *registry.ModeValue,
		*registry.DeleteSubjectValue, *registry.ClearSubjectValue:
		if !valueMatches(r.Key.KeyType, v) {
			return nil, fmt.Errorf("store: a %T value under a %s key", v, r.Key.KeyType)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // Jackson writes <, > and & as they are
		if err := enc.Encode(v); err != nil {
			return nil, fmt.Errorf("store: encode %s value: %w", r.Key.KeyType, err)
		}
		return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
	default:
		return nil, fmt.Errorf("store: cannot encode a %T value", r.Value)
	}
}

// valueMatches reports whether v is the value type of a key of type kt.
func valueMatches(kt registry.KeyType, v any) bool {
	switch v.(type) {
	case *registry.SchemaValue:
		return kt == registry.KeySchema
	case *registry.ConfigValue:
		return kt == registry.KeyConfig
	case *registry.ModeValue:
		return kt == registry.KeyMode
	case *registry.DeleteSubjectValue:
		return kt == registry.KeyDeleteSubject
	case *registry.ClearSubjectValue:
		return kt == registry.KeyClearSubject
	}
	return false
}

// rawKey is a key as read: every field optional, so that what is missing can be told apart.
type rawKey struct {
	KeyType *string         `json:"keytype"`
	Subject *string         `json:"subject"`
	Version *int            `json:"version"`
	Magic   json.RawMessage `json:"magic"`
}

// Decode decodes one _schemas record as Confluent's registry reads it. A value that is empty
// (a Kafka null) is a tombstone: Record.Value stays nil. A NOOP record's value is ignored.
// Unknown key types wrap ErrUnknownKeyType; keys and values that do not decode wrap
// ErrBadRecord. Unknown JSON fields are ignored. Decode never panics and allocates in
// proportion to its input.
func Decode(key, value []byte) (registry.Record, error) {
	var rk rawKey
	if err := json.Unmarshal(key, &rk); err != nil {
		return registry.Record{}, fmt.Errorf("%w: key: %w", ErrBadRecord, err)
	}
	if rk.KeyType == nil {
		return registry.Record{}, fmt.Errorf("%w: key %.200q has no keytype", ErrBadRecord, key)
	}
	k := registry.Key{KeyType: registry.KeyType(*rk.KeyType), Subject: rk.Subject}
	if len(rk.Magic) > 0 && string(rk.Magic) != "null" {
		if err := json.Unmarshal(rk.Magic, &k.Magic); err != nil {
			return registry.Record{}, fmt.Errorf("%w: key magic: %w", ErrBadRecord, err)
		}
	}
	r := registry.Record{Key: k}
	var v any
	switch k.KeyType {
	case registry.KeySchema:
		if rk.Version == nil || k.Subject == nil || *k.Subject == "" {
			return r, fmt.Errorf("%w: SCHEMA key %.200q without subject or version", ErrBadRecord, key)
		}
		if k.Magic != 0 && k.Magic != 1 {
			return r, fmt.Errorf("%w: SCHEMA key magic %d", ErrBadRecord, k.Magic)
		}
		r.Key.Version = *rk.Version
		v = new(registry.SchemaValue)
	case registry.KeyConfig:
		v = new(registry.ConfigValue)
	case registry.KeyMode:
		v = new(registry.ModeValue)
	case registry.KeyDeleteSubject:
		v = new(registry.DeleteSubjectValue)
	case registry.KeyClearSubject:
		v = new(registry.ClearSubjectValue)
	case registry.KeyNoop:
		return r, nil
	default:
		return r, fmt.Errorf("%w: %.100q", ErrUnknownKeyType, k.KeyType)
	}
	if len(value) == 0 || string(bytes.TrimSpace(value)) == "null" {
		return r, nil // a tombstone
	}
	if err := json.Unmarshal(value, v); err != nil {
		return r, fmt.Errorf("%w: %s value: %w", ErrBadRecord, k.KeyType, err)
	}
	r.Value = v
	return r, nil
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(b *bytes.Buffer, s string) {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
}
