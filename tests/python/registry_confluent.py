"""confluent-kafka 1.7's schema registry support against Sluice's registry: the
schema_registry client (register, references, lookups, compatibility), JSONSerializer and
ProtobufSerializer (a _pb2 generated with protoc at test time, whose imports, one of them a
well-known type, the serializer registers as references), and the older confluent_kafka.avro AvroProducer/AvroConsumer. Every
topic validates value schema ids; a plain producer of bytes without a schema id is refused.
Prints JSON: what each consumer decoded and the schema ids the records carry, which the Go
test checks against the registry's own answers.

usage: registry_confluent.py BOOTSTRAP REGISTRY_URL PROTO_OUT_DIR"""
import importlib
import json
import struct
import sys
import uuid

from confluent_kafka import Consumer, DeserializingConsumer, KafkaException, Producer, SerializingProducer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import StringDeserializer, StringSerializer

bootstrap, registry_url, proto_dir = sys.argv[1], sys.argv[2], sys.argv[3]
out = {}

admin = AdminClient({"bootstrap.servers": bootstrap})
topics = ["py-json", "py-proto", "py-avro"]
for f in admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1,
                                       config={"sluice.value.schema.id.validation": "true"})
                              for t in topics]).values():
    f.result(timeout=10)


def consume(topic, count, deserializer=None):
    conf = {"bootstrap.servers": bootstrap, "group.id": "py-" + str(uuid.uuid4()),
            "auto.offset.reset": "earliest", "enable.auto.commit": False}
    if deserializer is not None:
        conf.update({"key.deserializer": StringDeserializer("utf_8"), "value.deserializer": deserializer})
        consumer = DeserializingConsumer(conf)
    else:
        consumer = Consumer(conf)
    consumer.subscribe([topic])
    got, idle = [], 0
    while len(got) < count and idle < 100:
        msg = consumer.poll(0.3)
        if msg is None:
            idle += 1
            continue
        if msg.error():
            raise SystemExit("consume %s: %s" % (topic, msg.error()))
        got.append(msg.value())
    consumer.close()
    return got


def record_ids(topic, count):
    """The schema ids in the first count records of topic, read as bytes: magic byte 0, then
    the id as a big-endian int32 (Confluent's wire format)."""
    ids = []
    for v in consume(topic, count):
        if len(v) < 5 or v[0] != 0:
            raise SystemExit("%s: a record without Confluent's framing: %r" % (topic, v[:16]))
        ids.append(struct.unpack(">I", v[1:5])[0])
    return ids


def ref_fields(r):
    # confluent-kafka 1.7's get_latest_version leaves references as the registry's JSON objects.
    if isinstance(r, dict):
        return [r["name"], r["subject"], r["version"]]
    return [r.name, r.subject, r.version]


def produce(producer, topic, values):
    errors = []
    def on_delivery(err, msg):
        if err is not None:
            errors.append(err.str())
    for v in values:
        producer.produce(topic, key="k", value=v, on_delivery=on_delivery)
    producer.flush(30)
    if errors:
        raise SystemExit("produce to %s: %s" % (topic, errors))


# A producer of bytes without a schema id is refused: librdkafka reports INVALID_RECORD.
refused = []
raw = Producer({"bootstrap.servers": bootstrap, "message.send.max.retries": 0})
raw.produce("py-json", value=b'{"name": "no schema id"}',
            on_delivery=lambda err, msg: refused.append(err.name() if err else None))
raw.flush(30)
out["raw_refused"] = refused

client = SchemaRegistryClient({"url": registry_url})

# JSON Schema: the serializer registers py-json-value itself.
user_schema = json.dumps({"$schema": "http://json-schema.org/draft-07/schema#", "title": "User", "type": "object",
                          "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                          "required": ["name"]})
json_producer = SerializingProducer({"bootstrap.servers": bootstrap, "key.serializer": StringSerializer("utf_8"),
                                     "value.serializer": JSONSerializer(user_schema, client)})
users = [{"name": "ada", "age": 36}, {"name": "bob", "age": 7}]
produce(json_producer, "py-json", users)
out["json"] = consume("py-json", 2, JSONDeserializer(user_schema, from_dict=lambda d, ctx: d))
latest = client.get_latest_version("py-json-value")
out["json_latest"] = {"version": latest.version, "type": latest.schema.schema_type, "id": latest.schema_id}
out["json_ids"] = record_ids("py-json", 2)

# A JSON Schema referring to another subject, registered with the client and read back.
addr = client.register_schema("py-address", Schema(json.dumps(
    {"$id": "address.json", "type": "object", "properties": {"street": {"type": "string"}}}), "JSON"))
person = client.register_schema("py-person-value", Schema(json.dumps(
    {"type": "object", "properties": {"home": {"$ref": "address.json"}}}), "JSON",
    references=[SchemaReference("address.json", "py-address", 1)]))
fetched = client.get_schema(person)
out["json_reference"] = {"address_id": addr, "person_id": person,
                         "references": [ref_fields(r) for r in fetched.references]}
# Under BACKWARD (the default), dropping a property from an open content model is compatible;
# adding one is not (data written with the old schema may hold anything under that name).
def draft7_user(properties):
    return Schema(json.dumps({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                              "properties": properties, "required": ["name"]}), "JSON")


out["compatible"] = [
    client.test_compatibility("py-json-value", draft7_user({"name": {"type": "string"}})),
    client.test_compatibility("py-json-value", draft7_user(
        {"name": {"type": "string"}, "age": {"type": "integer"}, "email": {"type": "string"}})),
]

# Protobuf: acme/pay.proto imports acme/common.proto and google/protobuf/timestamp.proto; the
# serializer registers each import (as a base64 FileDescriptorProto) under its file name as a
# subject and refers to it.
sys.path.insert(0, proto_dir)
pay_pb2 = importlib.import_module("acme.pay_pb2")
proto_producer = SerializingProducer({"bootstrap.servers": bootstrap, "key.serializer": StringSerializer("utf_8"),
                                      "value.serializer": ProtobufSerializer(pay_pb2.Payment, client)})
payments = []
for i, (cents, currency, seconds) in enumerate([(500, "EUR", 1700000000), (7, "JPY", 1)]):
    p = pay_pb2.Payment(id="p-%d" % i)
    p.amount.cents, p.amount.currency = cents, currency
    p.at.seconds, p.at.nanos = seconds, 250
    payments.append(p)
produce(proto_producer, "py-proto", payments[:1])
# A second serializer that only looks its schema up (POST /subjects/{subject} with the
# descriptor; the imports are still registered again, which must add no version).
lookup_producer = SerializingProducer({"bootstrap.servers": bootstrap, "key.serializer": StringSerializer("utf_8"),
                                       "value.serializer": ProtobufSerializer(pay_pb2.Payment, client,
                                                                              {"auto.register.schemas": False})})
produce(lookup_producer, "py-proto", payments[1:])
decoded = consume("py-proto", 2, ProtobufDeserializer(pay_pb2.Payment))
out["proto"] = [[m.id, m.amount.cents, m.amount.currency, m.at.seconds, m.at.nanos] for m in decoded]
out["proto_ids"] = record_ids("py-proto", 2)
out["proto_versions"] = {s: client.get_versions(s) for s in
                         ["py-proto-value", "acme/common.proto", "google/protobuf/timestamp.proto"]}
proto_latest = client.get_latest_version("py-proto-value")
out["proto_references"] = sorted(ref_fields(r) for r in proto_latest.schema.references)
out["subjects"] = sorted(client.get_subjects())

# confluent_kafka.avro: AvroProducer registers py-avro-value; AvroConsumer fetches it by id.
from confluent_kafka import avro as ckavro  # noqa: E402
from confluent_kafka.avro import AvroConsumer, AvroProducer  # noqa: E402

value_schema = ckavro.loads('{"type": "record", "name": "Reading", "namespace": "py",'
                            ' "fields": [{"name": "sensor", "type": "string"}, {"name": "celsius", "type": "double"},'
                            ' {"name": "note", "type": ["null", "string"], "default": null}]}')
avro_producer = AvroProducer({"bootstrap.servers": bootstrap, "schema.registry.url": registry_url},
                             default_value_schema=value_schema)
readings = [{"sensor": "s1", "celsius": 21.5, "note": None}, {"sensor": "s2", "celsius": -3.25, "note": "cold"}]
for r in readings:
    avro_producer.produce(topic="py-avro", value=r)
if avro_producer.flush(30) != 0:
    raise SystemExit("avro producer did not flush")
avro_consumer = AvroConsumer({"bootstrap.servers": bootstrap, "group.id": "py-avro-" + str(uuid.uuid4()),
                              "auto.offset.reset": "earliest", "schema.registry.url": registry_url})
avro_consumer.subscribe(["py-avro"])
got, idle = [], 0
while len(got) < 2 and idle < 100:
    msg = avro_consumer.poll(0.3)
    if msg is None:
        idle += 1
        continue
    if msg.error():
        raise SystemExit("avro consume: %s" % msg.error())
    got.append(msg.value())
avro_consumer.close()
out["avro"] = got
out["avro_ids"] = record_ids("py-avro", 2)

print(json.dumps(out))
