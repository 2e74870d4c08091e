package console

import (
	"strings"
	"testing"
)

func TestParseSchemaForm(t *testing.T) {
	cases := []struct {
		name, schema, typ, refs string
		wantType                string
		wantRefs                int
		wantErr                 string
	}{
		{name: "avro default", schema: `{"type":"string"}`, wantType: ""},
		{name: "avro named", schema: `"int"`, typ: "avro", wantType: ""},
		{name: "json", schema: `{"type":"object"}`, typ: "JSON", wantType: "JSON"},
		{name: "protobuf with reference", schema: `syntax = "proto3";`, typ: "PROTOBUF",
			refs: `[{"name":"a.proto","subject":"a","version":1}]`, wantType: "PROTOBUF", wantRefs: 1},
		{name: "empty", schema: "  ", wantErr: "empty"},
		{name: "unknown type", schema: "x", typ: "XML", wantErr: "AVRO, JSON or PROTOBUF"},
		{name: "bad references", schema: "x", refs: `{"name":1}`, wantErr: "references"},
		{name: "unknown reference field", schema: "x", refs: `[{"nom":"a"}]`, wantErr: "references"},
		{name: "incomplete reference", schema: "x", refs: `[{"name":"a"}]`, wantErr: "name, subject and version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := parseSchemaForm(tc.schema, tc.typ, tc.refs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req.SchemaType != tc.wantType || len(req.References) != tc.wantRefs {
				t.Fatalf("got %+v", req)
			}
		})
	}
}

func FuzzParseSchemaForm(f *testing.F) {
	f.Add(`{"type":"record","name":"r","fields":[]}`, "AVRO", `[{"name":"a","subject":"b","version":1}]`)
	f.Add("x", "JSON", "[]")
	f.Fuzz(func(t *testing.T, schema, typ, refs string) {
		req, err := parseSchemaForm(schema, typ, refs)
		if err != nil {
			return
		}
		if req.Schema == "" {
			t.Fatal("accepted an empty schema")
		}
		for _, r := range req.References {
			if r.Name == "" || r.Subject == "" || r.Version == 0 {
				t.Fatalf("accepted reference %+v", r)
			}
		}
		_ = prettySchema(req.SchemaType, req.Schema)
	})
}
