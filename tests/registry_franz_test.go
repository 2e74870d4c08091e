package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// createSchema registers s under subject with franz-go's client, retrying while the registry
// elects its writer (5xx, connection refused) for up to 60 s.
func createSchema(t *testing.T, cl *sr.Client, subject string, s sr.Schema) sr.SubjectSchema {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ss, err := cl.CreateSchema(ctx, subject, s)
		cancel()
		if err == nil {
			return ss
		}
		var re *sr.ResponseError
		var ne net.Error
		retriable := (errors.As(err, &re) && re.StatusCode >= 500) || errors.As(err, &ne)
		if !retriable || time.Now().After(deadline) {
			t.Fatalf("register %s: %v", subject, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// produceAndConsume produces values to topic (schema id validation on) and returns the values
// a consumer reads back from the start.
func produceAndConsume(t *testing.T, n *node, topic string, values [][]byte) [][]byte {
	t.Helper()
	on := "true"
	n.createTopic(topic, 1, map[string]*string{"sluice.value.schema.id.validation": &on})
	p := n.client(kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, v := range values {
		if err := p.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: v}).FirstErr(); err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
	}
	c := n.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got [][]byte
	for len(got) < len(values) {
		fs := c.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume %s: %v", topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r.Value) })
	}
	return got
}

// TestRegistryFranzGoSerde: franz-go's schema registry client (pkg/sr) and its Serde against a
// real `sluice serve`. Avro (hamba/avro), JSON Schema and Protobuf (protocompile, dynamicpb)
// schemas are registered, each referring to a schema in another subject; values are encoded
// through the Serde (Confluent's wire format, Protobuf message indexes), produced to topics that
// validate schema ids, consumed, and decoded both through the producer's Serde and through one
// built, as a consumer would, from the schemas the registry returns for the ids in the records.
func TestRegistryFranzGoSerde(t *testing.T) {
	n := startNode(t)
	cl, err := sr.NewClient(sr.URLs("http://" + n.registryAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("avro", func(t *testing.T) { franzAvro(t, n, cl) })
	t.Run("json", func(t *testing.T) { franzJSON(t, n, cl) })
	t.Run("protobuf", func(t *testing.T) { franzProtobuf(t, n, cl) })
}

const (
	avroMoney = `{"type":"record","name":"Money","namespace":"com.acme","fields":[{"name":"cents","type":"long"},{"name":"currency","type":"string"}]}`
	avroOrder = `{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"long"},{"name":"total","type":"com.acme.Money"},{"name":"tags","type":{"type":"array","items":"string"}}]}`
)

type avroMoneyV struct {
	Cents    int64  `avro:"cents"`
	Currency string `avro:"currency"`
}

type avroOrderV struct {
	ID    int64      `avro:"id"`
	Total avroMoneyV `avro:"total"`
	Tags  []string   `avro:"tags"`
}

func franzAvro(t *testing.T, n *node, cl *sr.Client) {
	ctx := context.Background()
	money := createSchema(t, cl, "com.acme.Money", sr.Schema{Schema: avroMoney})
	order := createSchema(t, cl, "avro-orders-value", sr.Schema{Schema: avroOrder,
		References: []sr.SchemaReference{{Name: "com.acme.Money", Subject: "com.acme.Money", Version: money.Version}}})
	if again := createSchema(t, cl, "avro-orders-value", order.Schema); again.ID != order.ID || again.Version != 1 {
		t.Fatalf("registering the same schema again: id %d version %d, want id %d version 1", again.ID, again.Version, order.ID)
	}
	cache := &avro.SchemaCache{}
	if _, err := avro.ParseWithCache(avroMoney, "", cache); err != nil {
		t.Fatal(err)
	}
	schema, err := avro.ParseWithCache(avroOrder, "", cache)
	if err != nil {
		t.Fatal(err)
	}
	var serde sr.Serde
	serde.Register(order.ID, avroOrderV{},
		sr.EncodeFn(func(v any) ([]byte, error) { return avro.Marshal(schema, v) }),
		sr.DecodeFn(func(b []byte, v any) error { return avro.Unmarshal(schema, b, v) }))
	want := []avroOrderV{{ID: 1, Total: avroMoneyV{1250, "EUR"}, Tags: []string{"a"}}, {ID: 2, Total: avroMoneyV{99, "USD"}, Tags: []string{}}}
	var values [][]byte
	for _, o := range want {
		values = append(values, serde.MustEncode(o))
	}
	got := produceAndConsume(t, n, "avro-orders", values)

	// A consumer learns the schema from the id in the record: the schema by id, then its
	// references by subject and version, parsed into a cache of its own.
	id, _, err := serde.DecodeID(got[0])
	if err != nil || id != order.ID {
		t.Fatalf("record carries id %d (%v), want %d", id, err, order.ID)
	}
	fetched, err := cl.SchemaByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(fetched.References) != 1 || fetched.References[0].Subject != "com.acme.Money" {
		t.Fatalf("schema %d references %+v", id, fetched.References)
	}
	ref, err := cl.SchemaByVersion(ctx, fetched.References[0].Subject, fetched.References[0].Version)
	if err != nil {
		t.Fatal(err)
	}
	consumerCache := &avro.SchemaCache{}
	if _, err := avro.ParseWithCache(ref.Schema.Schema, "", consumerCache); err != nil {
		t.Fatalf("parse the registry's Money: %v", err)
	}
	readerSchema, err := avro.ParseWithCache(fetched.Schema, "", consumerCache)
	if err != nil {
		t.Fatalf("parse the registry's Order: %v\n%s", err, fetched.Schema)
	}
	var consumer sr.Serde
	consumer.Register(id, avroOrderV{}, sr.DecodeFn(func(b []byte, v any) error { return avro.Unmarshal(readerSchema, b, v) }))
	for i, b := range got {
		var viaProducer, viaRegistry avroOrderV
		if err := serde.Decode(b, &viaProducer); err != nil {
			t.Fatal(err)
		}
		if err := consumer.Decode(b, &viaRegistry); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(viaProducer, want[i]) || !reflect.DeepEqual(viaRegistry, want[i]) {
			t.Fatalf("record %d decoded as %+v / %+v, want %+v", i, viaProducer, viaRegistry, want[i])
		}
	}
}

const (
	jsonAddress = `{"$schema":"http://json-schema.org/draft-07/schema#","$id":"address.json","type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string"}},"required":["street"]}`
	jsonUser    = `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"name":{"type":"string"},"home":{"$ref":"address.json"}},"required":["name"]}`
)

type jsonAddressV struct {
	Street string `json:"street"`
	Zip    string `json:"zip,omitempty"`
}

type jsonUserV struct {
	Name string       `json:"name"`
	Home jsonAddressV `json:"home"`
}

func franzJSON(t *testing.T, n *node, cl *sr.Client) {
	addr := createSchema(t, cl, "address", sr.Schema{Schema: jsonAddress, Type: sr.TypeJSON})
	user := createSchema(t, cl, "json-users-value", sr.Schema{Schema: jsonUser, Type: sr.TypeJSON,
		References: []sr.SchemaReference{{Name: "address.json", Subject: "address", Version: addr.Version}}})
	var serde sr.Serde
	serde.Register(user.ID, jsonUserV{}, sr.EncodeFn(json.Marshal), sr.DecodeFn(json.Unmarshal))
	want := []jsonUserV{{Name: "ada", Home: jsonAddressV{Street: "1 Loop Rd", Zip: "123"}}, {Name: "bob", Home: jsonAddressV{Street: "2 Main St"}}}
	var values [][]byte
	for _, u := range want {
		values = append(values, serde.MustEncode(u))
	}
	got := produceAndConsume(t, n, "json-users", values)
	fetched, err := cl.SchemaByID(context.Background(), user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fetched.Type != sr.TypeJSON || len(fetched.References) != 1 || fetched.References[0].Name != "address.json" {
		t.Fatalf("schema %d by id: type %v references %+v", user.ID, fetched.Type, fetched.References)
	}
	for i, b := range got {
		var u jsonUserV
		if err := serde.Decode(b, &u); err != nil {
			t.Fatal(err)
		}
		if u != want[i] {
			t.Fatalf("record %d decoded as %+v, want %+v", i, u, want[i])
		}
	}
}

const (
	protoCommon = "syntax = \"proto3\";\npackage acme;\n\nmessage Money {\n  int64 cents = 1;\n  string currency = 2;\n}\n"
	protoPay    = "syntax = \"proto3\";\npackage acme;\n\nimport \"acme/common.proto\";\nimport \"google/protobuf/timestamp.proto\";\n\n" +
		"message Header {\n  string trace = 1;\n}\n\nmessage Payment {\n  string id = 1;\n  Money amount = 2;\n  google.protobuf.Timestamp at = 3;\n}\n"
)

func franzProtobuf(t *testing.T, n *node, cl *sr.Client) {
	common := createSchema(t, cl, "acme/common.proto", sr.Schema{Schema: protoCommon, Type: sr.TypeProtobuf})
	pay := createSchema(t, cl, "proto-payments-value", sr.Schema{Schema: protoPay, Type: sr.TypeProtobuf,
		References: []sr.SchemaReference{{Name: "acme/common.proto", Subject: "acme/common.proto", Version: common.Version}}})

	compiler := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(map[string]string{"acme/common.proto": protoCommon, "acme/pay.proto": protoPay})})}
	files, err := compiler.Compile(context.Background(), "acme/pay.proto")
	if err != nil {
		t.Fatal(err)
	}
	payment := files[0].Messages().ByName("Payment")
	if payment == nil {
		t.Fatal("no message Payment")
	}
	// Payment is the file's second message: Confluent's message index [1].
	var serde sr.Serde
	serde.Register(pay.ID, &dynamicpb.Message{}, sr.Index(1),
		sr.EncodeFn(func(v any) ([]byte, error) { return proto.Marshal(v.(*dynamicpb.Message)) }),
		sr.DecodeFn(func(b []byte, v any) error { return proto.Unmarshal(b, v.(*dynamicpb.Message)) }))
	build := func(id string, cents int64, currency string) *dynamicpb.Message {
		m := dynamicpb.NewMessage(payment)
		fields := payment.Fields()
		m.Set(fields.ByName("id"), protoreflect.ValueOfString(id))
		money := dynamicpb.NewMessage(fields.ByName("amount").Message())
		money.Set(money.Descriptor().Fields().ByName("cents"), protoreflect.ValueOfInt64(cents))
		money.Set(money.Descriptor().Fields().ByName("currency"), protoreflect.ValueOfString(currency))
		m.Set(fields.ByName("amount"), protoreflect.ValueOfMessage(money))
		ts := dynamicpb.NewMessage(fields.ByName("at").Message())
		ts.Set(ts.Descriptor().Fields().ByName("seconds"), protoreflect.ValueOfInt64(1_800_000_000))
		m.Set(fields.ByName("at"), protoreflect.ValueOfMessage(ts))
		return m
	}
	want := []*dynamicpb.Message{build("p-1", 500, "EUR"), build("p-2", 7, "JPY")}
	var values [][]byte
	for _, m := range want {
		values = append(values, serde.MustEncode(m))
	}
	got := produceAndConsume(t, n, "proto-payments", values)
	for i, b := range got {
		index, _, err := serde.DecodeIndex(b[5:], 10)
		if err != nil || fmt.Sprint(index) != "[1]" {
			t.Fatalf("record %d message index %v (%v), want [1]", i, index, err)
		}
		m := dynamicpb.NewMessage(payment)
		if err := serde.Decode(b, m); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(m, want[i]) {
			t.Fatalf("record %d decoded as %v, want %v", i, m, want[i])
		}
	}
	text, err := cl.SchemaTextByID(context.Background(), pay.ID)
	if err != nil || text == "" {
		t.Fatalf("schema text of %d: %q %v", pay.ID, text, err)
	}
}
