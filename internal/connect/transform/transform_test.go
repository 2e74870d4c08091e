package transform

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/connect"
	"github.com/sluicehq/sluice/internal/connect/data"
)

func chain(t *testing.T, cfg map[string]string) connect.Chain {
	t.Helper()
	c, err := connect.NewChain(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var rowSchema = data.MustStruct("db.public.t.Value", data.F("id", data.Int32Schema), data.F("name", data.OptionalStringSchema)).AsOptional()
var srcSchema = data.MustStruct("src", data.F("table", data.StringSchema), data.F("lsn", data.OptionalInt64Schema))
var envSchema = data.MustStruct("db.public.t.Envelope", data.F("before", rowSchema), data.F("after", rowSchema),
	data.F("source", srcSchema), data.F("op", data.StringSchema), data.F("ts_ms", data.OptionalInt64Schema))

func event(op string, before, after *data.Struct) *connect.Record {
	env := data.NewStructValue(envSchema).Set("op", op).Set("ts_ms", int64(5)).
		Set("source", data.NewStructValue(srcSchema).Set("table", "t").Set("lsn", int64(77)))
	if before != nil {
		env.Set("before", before)
	}
	if after != nil {
		env.Set("after", after)
	}
	return &connect.Record{Topic: "db.public.t", Partition: -1, ValueSchema: envSchema, Value: env, Offset: -1}
}

func row(id int32, name string) *data.Struct {
	return data.NewStructValue(rowSchema).Set("id", id).Set("name", name)
}

func TestExtractNewRecordState(t *testing.T) {
	unwrap := chain(t, map[string]string{"transforms": "unwrap", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState"})
	r, err := unwrap.Apply(event("u", row(1, "a"), row(1, "b")))
	if err != nil || r.Value.(*data.Struct).Get("name") != "b" || r.ValueSchema.Name != "db.public.t.Value" {
		t.Fatalf("update: %v %v", r, err)
	}
	for _, rec := range []*connect.Record{event("d", row(1, "b"), nil), {Topic: "x", Value: nil}, event("t", nil, nil)} {
		if r, err := unwrap.Apply(rec); r != nil || err != nil {
			t.Errorf("%v not dropped: %v %v", rec, r, err)
		}
	}
	rewrite := chain(t, map[string]string{"transforms": "u", "transforms.u.type": "io.debezium.transforms.ExtractNewRecordState",
		"transforms.u.delete.handling.mode": "rewrite", "transforms.u.drop.tombstones": "false", "transforms.u.add.fields": "op,table,source.lsn"})
	r, err = rewrite.Apply(event("d", row(2, "gone"), nil))
	if err != nil {
		t.Fatal(err)
	}
	v := r.Value.(*data.Struct)
	if v.Get("id") != int32(2) || v.Get("__deleted") != "true" || v.Get("__op") != "d" || v.Get("__table") != "t" || v.Get("__source_lsn") != int64(77) {
		t.Errorf("rewritten delete: %v", v)
	}
	if r, _ := rewrite.Apply(&connect.Record{Topic: "x"}); r == nil {
		t.Error("a tombstone was dropped with drop.tombstones=false")
	}
}

func TestFieldTransforms(t *testing.T) {
	c := chain(t, map[string]string{
		"transforms":                    "insert,replace,mask,cast,route",
		"transforms.insert.type":        "org.apache.kafka.connect.transforms.InsertField$Value",
		"transforms.insert.topic.field": "src_topic", "transforms.insert.static.field": "dc", "transforms.insert.static.value": "eu",
		"transforms.insert.timestamp.field": "at",
		"transforms.replace.type":           "org.apache.kafka.connect.transforms.ReplaceField$Value",
		"transforms.replace.exclude":        "secret", "transforms.replace.renames": "name:full_name",
		"transforms.mask.type": "org.apache.kafka.connect.transforms.MaskField$Value", "transforms.mask.fields": "card",
		"transforms.cast.type": "org.apache.kafka.connect.transforms.Cast$Value", "transforms.cast.spec": "id:string",
		"transforms.route.type":  "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex": "db\\.public\\.(.*)", "transforms.route.replacement": "clean-$1",
	})
	s := data.MustStruct("v", data.F("id", data.Int64Schema), data.F("name", data.StringSchema), data.F("secret", data.StringSchema), data.F("card", data.StringSchema))
	v := data.NewStructValue(s).Set("id", int64(7)).Set("name", "Ann").Set("secret", "x").Set("card", "4111")
	r, err := c.Apply(&connect.Record{Topic: "db.public.users", Partition: -1, ValueSchema: s, Value: v, Timestamp: 1000, Offset: -1})
	if err != nil {
		t.Fatal(err)
	}
	got := r.Value.(*data.Struct)
	if r.Topic != "clean-users" || got.Get("id") != "7" || got.Get("full_name") != "Ann" || got.Get("card") != "" || got.Get("dc") != "eu" ||
		got.Get("src_topic") != "db.public.users" || !got.Get("at").(time.Time).Equal(time.UnixMilli(1000)) {
		t.Errorf("%s %v", r.Topic, got)
	}
	if _, ok := r.ValueSchema.Field("secret"); ok {
		t.Error("excluded field kept")
	}
	if err := data.Validate(r.ValueSchema, got); err != nil {
		t.Error(err)
	}
	// Schemaless maps too.
	m := map[any]any{"id": int64(1), "name": "x", "secret": "s", "card": "c"}
	r, err = c.Apply(&connect.Record{Topic: "db.public.m", Partition: -1, Value: m, Timestamp: 1000, Offset: -1})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(r.Value); got != "map[at:1970-01-01 00:00:01 +0000 UTC card: dc:eu full_name:x id:1 src_topic:db.public.m]" {
		t.Errorf("schemaless: %s", got)
	}
}

func TestPredicatesAndFilter(t *testing.T) {
	c := chain(t, map[string]string{
		"transforms": "drop", "transforms.drop.type": "org.apache.kafka.connect.transforms.Filter",
		"transforms.drop.predicate": "isTest", "predicates": "isTest",
		"predicates.isTest.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches", "predicates.isTest.pattern": "test-.*",
	})
	if r, _ := c.Apply(&connect.Record{Topic: "test-1", Value: "x"}); r != nil {
		t.Error("a matching record passed the filter")
	}
	if r, _ := c.Apply(&connect.Record{Topic: "prod", Value: "x"}); r == nil {
		t.Error("a record not matching was dropped")
	}
	neg := chain(t, map[string]string{
		"transforms": "keepTombstones", "transforms.keepTombstones.type": "org.apache.kafka.connect.transforms.Filter",
		"transforms.keepTombstones.predicate": "t", "transforms.keepTombstones.negate": "true", "predicates": "t",
		"predicates.t.type": "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
	})
	if r, _ := neg.Apply(&connect.Record{Topic: "a", Value: "x"}); r != nil {
		t.Error("negate: a value passed")
	}
	if r, _ := neg.Apply(&connect.Record{Topic: "a"}); r == nil {
		t.Error("negate: a tombstone was dropped")
	}
	for _, bad := range []map[string]string{
		{"transforms": "x", "transforms.x.type": "com.example.Nope"},
		{"transforms": "x", "transforms.x.type": "org.apache.kafka.connect.transforms.Filter", "transforms.x.predicate": "missing"},
		{"transforms": "x", "transforms.x.type": "org.apache.kafka.connect.transforms.Cast$Value", "transforms.x.spec": "a:bytes"},
		{"transforms": "x", "transforms.x.type": "org.apache.kafka.connect.transforms.RegexRouter", "transforms.x.regex": "("},
	} {
		if _, err := connect.NewChain(bad); err == nil {
			t.Errorf("accepted %v", bad)
		}
	}
}

func TestTimestampRouter(t *testing.T) {
	c := chain(t, map[string]string{"transforms": "r", "transforms.r.type": "org.apache.kafka.connect.transforms.TimestampRouter",
		"transforms.r.topic.format": "${topic}_${timestamp}", "transforms.r.timestamp.format": "yyyy-MM-dd"})
	r, err := c.Apply(&connect.Record{Topic: "logs", Timestamp: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC).UnixMilli()})
	if err != nil || r.Topic != "logs_2026-12-07" {
		t.Errorf("%v %v", r, err)
	}
}
