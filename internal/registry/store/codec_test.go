package store

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/internal/registry"
	"github.com/sluicehq/sluice/internal/registry/format"
)

func strp(s string) *string { return &s }

// confluentRecords are _schemas records byte for byte as Confluent's registry writes them
// (Jackson's field order, null and empty fields left out), with what they decode to.
var confluentRecords = []struct {
	name       string
	key, value string
	want       registry.Record
}{
	{"avro schema", `{"keytype":"SCHEMA","subject":"orders-value","version":1,"magic":1}`,
		`{"subject":"orders-value","version":1,"id":1,"schema":"{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"}]}","deleted":false}`,
		registry.Record{Key: registry.Key{KeyType: registry.KeySchema, Subject: strp("orders-value"), Version: 1, Magic: 1},
			Value: &registry.SchemaValue{Subject: "orders-value", Version: 1, ID: 1,
				Schema: `{"type":"record","name":"Order","fields":[{"name":"id","type":"long"}]}`}}},
	{"protobuf schema with references, soft-deleted", `{"keytype":"SCHEMA","subject":"user-value","version":3,"magic":1}`,
		`{"subject":"user-value","version":3,"id":7,"schemaType":"PROTOBUF","references":[{"name":"addr.proto","subject":"addr","version":1}],"schema":"syntax = \"proto3\";\nimport \"addr.proto\";\nmessage U { A a = 1; }\n","deleted":true}`,
		registry.Record{Key: registry.Key{KeyType: registry.KeySchema, Subject: strp("user-value"), Version: 3, Magic: 1},
			Value: &registry.SchemaValue{Subject: "user-value", Version: 3, ID: 7, SchemaType: format.Protobuf,
				References: []format.Reference{{Name: "addr.proto", Subject: "addr", Version: 1}},
				Schema:     "syntax = \"proto3\";\nimport \"addr.proto\";\nmessage U { A a = 1; }\n", Deleted: true}}},
	{"json schema with <, > and & unescaped, in a context", `{"keytype":"SCHEMA","subject":":.staging:a&b","version":2,"magic":1}`,
		`{"subject":":.staging:a&b","version":2,"id":12,"schemaType":"JSON","schema":"{\"description\":\"<a> & <b>\"}","deleted":false}`,
		registry.Record{Key: registry.Key{KeyType: registry.KeySchema, Subject: strp(":.staging:a&b"), Version: 2, Magic: 1},
			Value: &registry.SchemaValue{Subject: ":.staging:a&b", Version: 2, ID: 12, SchemaType: format.JSON,
				Schema: `{"description":"<a> & <b>"}`}}},
	{"global config", `{"keytype":"CONFIG","magic":0}`, `{"compatibilityLevel":"FULL_TRANSITIVE"}`,
		registry.Record{Key: registry.Key{KeyType: registry.KeyConfig},
			Value: &registry.ConfigValue{CompatibilityLevel: "FULL_TRANSITIVE"}}},
	{"subject config", `{"keytype":"CONFIG","subject":"orders-value","magic":0}`, `{"compatibilityLevel":"NONE","normalize":true}`,
		registry.Record{Key: registry.Key{KeyType: registry.KeyConfig, Subject: strp("orders-value")},
			Value: &registry.ConfigValue{CompatibilityLevel: "NONE", Normalize: new(true)}}},
	{"subject config deleted", `{"keytype":"CONFIG","subject":"orders-value","magic":0}`, ``,
		registry.Record{Key: registry.Key{KeyType: registry.KeyConfig, Subject: strp("orders-value")}}},
	{"global mode", `{"keytype":"MODE","magic":0}`, `{"mode":"IMPORT"}`,
		registry.Record{Key: registry.Key{KeyType: registry.KeyMode}, Value: &registry.ModeValue{Mode: "IMPORT"}}},
	{"subject mode", `{"keytype":"MODE","subject":"s","magic":0}`, `{"mode":"READONLY"}`,
		registry.Record{Key: registry.Key{KeyType: registry.KeyMode, Subject: strp("s")}, Value: &registry.ModeValue{Mode: "READONLY"}}},
	{"delete subject", `{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}`, `{"subject":"s","version":4}`,
		registry.Record{Key: registry.Key{KeyType: registry.KeyDeleteSubject, Subject: strp("s")},
			Value: &registry.DeleteSubjectValue{Subject: "s", Version: 4}}},
	{"clear subject", `{"keytype":"CLEAR_SUBJECT","subject":"s","magic":0}`, `{"subject":"s"}`,
		registry.Record{Key: registry.Key{KeyType: registry.KeyClearSubject, Subject: strp("s")},
			Value: &registry.ClearSubjectValue{Subject: "s"}}},
	{"noop", `{"keytype":"NOOP","magic":0}`, ``, registry.Record{Key: registry.Key{KeyType: registry.KeyNoop}}},
}

func TestDecodeConfluentRecords(t *testing.T) {
	for _, tc := range confluentRecords {
		t.Run(tc.name, func(t *testing.T) {
			var value []byte
			if tc.value != "" {
				value = []byte(tc.value)
			}
			got, err := Decode([]byte(tc.key), value)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Decode = %+v (value %+v), want %+v (value %+v)", got, got.Value, tc.want, tc.want.Value)
			}
		})
	}
}

// TestEncodeAsConfluent: what Sluice writes is byte for byte what Confluent's registry writes,
// so a Confluent registry reading a _schemas topic Sluice wrote sees its own records.
func TestEncodeAsConfluent(t *testing.T) {
	for _, tc := range confluentRecords {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(EncodeKey(tc.want.Key)); got != tc.key {
				t.Errorf("EncodeKey:\n got %s\nwant %s", got, tc.key)
			}
			v, err := EncodeValue(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if string(v) != tc.value {
				t.Errorf("EncodeValue:\n got %s\nwant %s", v, tc.value)
			}
		})
	}
}

func TestEncodeKeyMagic(t *testing.T) {
	// The caller's magic does not matter: a SCHEMA key is written with 1, the others with 0.
	k := registry.Key{KeyType: registry.KeySchema, Subject: strp("s"), Version: 2, Magic: 0}
	if got := string(EncodeKey(k)); got != `{"keytype":"SCHEMA","subject":"s","version":2,"magic":1}` {
		t.Fatal(got)
	}
	k = registry.Key{KeyType: registry.KeyMode, Subject: strp("s"), Version: 9, Magic: 1}
	if got := string(EncodeKey(k)); got != `{"keytype":"MODE","subject":"s","magic":0}` {
		t.Fatal(got)
	}
}

func TestEncodeValueMismatch(t *testing.T) {
	r := registry.Record{Key: registry.Key{KeyType: registry.KeyConfig}, Value: &registry.ModeValue{Mode: "READONLY"}}
	if _, err := EncodeValue(r); err == nil {
		t.Fatal("a MODE value under a CONFIG key encoded")
	}
	r = registry.Record{Key: registry.Key{KeyType: registry.KeyConfig}, Value: registry.ConfigValue{}}
	if _, err := EncodeValue(r); err == nil {
		t.Fatal("a non-pointer value encoded")
	}
}

func TestDecodeRefuses(t *testing.T) {
	cases := []struct {
		name, key, value string
		want             error
	}{
		{"unknown key type", `{"keytype":"CONTEXT","context":".staging","magic":0}`, `{}`, ErrUnknownKeyType},
		{"not json", `SCHEMA`, `{}`, ErrBadRecord},
		{"no keytype", `{"subject":"s","magic":0}`, `{}`, ErrBadRecord},
		{"keytype not a string", `{"keytype":7}`, `{}`, ErrBadRecord},
		{"schema key magic 2", `{"keytype":"SCHEMA","subject":"s","version":1,"magic":2}`, `{}`, ErrBadRecord},
		{"schema key without version", `{"keytype":"SCHEMA","subject":"s","magic":1}`, `{}`, ErrBadRecord},
		{"schema key without subject", `{"keytype":"SCHEMA","version":1,"magic":1}`, `{}`, ErrBadRecord},
		{"schema value not an object", `{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}`, `[1]`, ErrBadRecord},
		{"id not a number", `{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}`, `{"id":"x"}`, ErrBadRecord},
		{"magic not a number", `{"keytype":"CONFIG","magic":"0"}`, `{}`, ErrBadRecord},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.key), []byte(tc.value))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeLenient(t *testing.T) {
	// Older registries wrote "subject":null for global configs; unknown fields are ignored.
	r, err := Decode([]byte(`{"keytype":"CONFIG","subject":null,"magic":0,"extra":[1]}`), []byte(`{"compatibilityLevel":"BACKWARD","later":{"x":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Key.Subject != nil || r.Value.(*registry.ConfigValue).CompatibilityLevel != "BACKWARD" {
		t.Fatalf("%+v", r)
	}
	// A JSON null value is a tombstone too.
	r, err = Decode([]byte(`{"keytype":"SCHEMA","subject":"s","version":1,"magic":0}`), []byte(`null`))
	if err != nil || r.Value != nil || r.Key.Version != 1 {
		t.Fatalf("%+v %v", r, err)
	}
}

// FuzzDecode: Decode never panics; what it decodes encodes and decodes again to the same record.
func FuzzDecode(f *testing.F) {
	for _, tc := range confluentRecords {
		f.Add([]byte(tc.key), []byte(tc.value))
	}
	f.Add([]byte(`{"keytype":"SCHEMA","subject":"","version":-1,"magic":0}`), []byte(`{"metadata":{"a":[1,2,{"b":null}]},"ruleSet":{}}`))
	f.Add([]byte(`{"keytype":"X"}`), []byte(`{`))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		r, err := Decode(key, value)
		if err != nil {
			return
		}
		k2 := EncodeKey(r.Key)
		v2, err := EncodeValue(r)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", r, err)
		}
		r2, err := Decode(k2, v2)
		if err != nil {
			t.Fatalf("re-encoded %s / %s does not decode: %v", k2, v2, err)
		}
		// Encoding normalizes the magic and drops an empty subject (Jackson's NON_EMPTY).
		r.Key.Magic, r2.Key.Magic = 0, 0
		if r.Key.Subject != nil && *r.Key.Subject == "" {
			r.Key.Subject = nil
		}
		dropEmpty(&r)
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the record:\n%+v %+v\n%+v %+v", r, r.Value, r2, r2.Value)
		}
	})
}

// dropEmpty clears r's empty maps and lists, which encoding leaves out (omitempty, Jackson's
// NON_EMPTY), so they read back as nil.
func dropEmpty(r *registry.Record) {
	switch v := r.Value.(type) {
	case *registry.SchemaValue:
		if len(v.References) == 0 {
			v.References = nil
		}
		if len(v.Metadata) == 0 {
			v.Metadata = nil
		}
		if len(v.RuleSet) == 0 {
			v.RuleSet = nil
		}
	case *registry.ConfigValue:
		for _, m := range []*map[string]any{&v.DefaultMetadata, &v.OverrideMetadata, &v.DefaultRuleSet, &v.OverrideRuleSet} {
			if len(*m) == 0 {
				*m = nil
			}
		}
	}
}
