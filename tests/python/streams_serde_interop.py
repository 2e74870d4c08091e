"""Interop of Sluice's streams/serde with confluent-kafka 1.7's schema registry serializers,
through Sluice's registry only (no broker): the Go test passes, as JSON on stdin, the bytes
its Avro, JSON Schema and Protobuf serdes wrote; this script decodes them with Confluent's
deserializers and writes its own values with Confluent's serializers (registering their
schemas under py-interop-* subjects), for the Go serdes to decode. Avro goes through the
older confluent_kafka.avro MessageSerializer (python3-avro), as Debian has no fastavro.

Prints JSON: {"avro": [...], "json": [...], "proto": [...]} decoded from Go's bytes and
{"avro_made": [hex...], "json_made": [...], "proto_made": [...]}.

usage: streams_serde_interop.py REGISTRY_URL PROTO_OUT_DIR < go_bytes.json"""
import importlib
import json
import sys

from confluent_kafka.avro import CachedSchemaRegistryClient
from confluent_kafka.avro import loads as avro_loads
from confluent_kafka.avro.serializer.message_serializer import MessageSerializer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

registry_url, proto_dir = sys.argv[1], sys.argv[2]
go = json.load(sys.stdin)
out = {}

READING = ('{"type": "record", "name": "Reading", "namespace": "acme", "fields": ['
           '{"name": "sensor", "type": "string"}, {"name": "celsius", "type": "double"},'
           ' {"name": "note", "type": ["null", "string"], "default": null}]}')
USER = json.dumps({"$schema": "http://json-schema.org/draft-07/schema#", "title": "User", "type": "object",
                   "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                   "required": ["name"]})


def ctx(topic):
    return SerializationContext(topic, MessageField.VALUE)


# Avro: decode_message fetches the writer's schema by the id in the bytes.
avro_serializer = MessageSerializer(CachedSchemaRegistryClient({"url": registry_url}))
out["avro"] = [avro_serializer.decode_message(bytes.fromhex(h)) for h in go["avro"]]
out["avro_made"] = [avro_serializer.encode_record_with_schema("py-interop-avro", avro_loads(READING), r).hex()
                    for r in [{"sensor": "p1", "celsius": 0.5, "note": None},
                              {"sensor": "p2", "celsius": -40.0, "note": "frost"}]]

client = SchemaRegistryClient({"url": registry_url})

# JSON Schema.
json_deserializer = JSONDeserializer(USER, from_dict=lambda d, c: d)
out["json"] = [json_deserializer(bytes.fromhex(h), ctx("go-interop-json")) for h in go["json"]]
json_serializer = JSONSerializer(USER, client)
out["json_made"] = [json_serializer(u, ctx("py-interop-json")).hex()
                    for u in [{"name": "cy", "age": 51}, {"name": "di"}]]

# Protobuf: the _pb2 protoc generated from the Go test's acme/pay.proto.
sys.path.insert(0, proto_dir)
pay_pb2 = importlib.import_module("acme.pay_pb2")
proto_deserializer = ProtobufDeserializer(pay_pb2.Payment)
decoded = [proto_deserializer(bytes.fromhex(h), ctx("go-interop-proto")) for h in go["proto"]]
out["proto"] = [[m.id, m.amount.cents, m.amount.currency, m.at.seconds, m.at.nanos] for m in decoded]
proto_serializer = ProtobufSerializer(pay_pb2.Payment, client)
made = []
for pid, cents, currency, seconds in [("py-1", 300, "GBP", 1800000000), ("py-2", 1, "CHF", 2)]:
    p = pay_pb2.Payment(id=pid)
    p.amount.cents, p.amount.currency = cents, currency
    p.at.seconds, p.at.nanos = seconds, 9
    made.append(proto_serializer(p, ctx("py-interop-proto")).hex())
out["proto_made"] = made

print(json.dumps(out))
