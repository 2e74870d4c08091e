"""confluent-kafka's JSON Schema serializers against records Sluice's Connect worker writes and
reads through JsonSchemaConverter and `sluice serve`'s schema registry.

usage:
  connect_registry_json.py decode REGISTRY_URL < {"values": [hex|null...]}
      prints {"values": [...]}: each record decoded by JSONDeserializer, which validates the
      document against the schema registered under the id in the record (fetched here, as
      confluent-kafka 1.7's deserializer takes the schema text).
  connect_registry_json.py produce REGISTRY_URL BOOTSTRAP TOPIC
      produces the rows below with JSONSerializer for keys and values (registered under
      TOPIC-key and TOPIC-value) and prints {"produced": n}."""
import json
import struct
import sys

from confluent_kafka import SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

KEY = json.dumps({"title": "ProductKey", "type": "object", "properties": {"id": {"type": "integer"}},
                  "required": ["id"]})
VALUE = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#", "title": "Product", "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "note": {"type": ["string", "null"]},
        "price": {"type": "number"},
        "active": {"type": "boolean"},
    },
    "required": ["id", "name", "note", "price", "active"]})
ROWS = [
    {"id": 1, "name": "kettle", "note": "steel", "price": 19.5, "active": True},
    {"id": 2, "name": "mug \u00e9 \"q\"", "note": None, "price": -3.25, "active": False},
    {"id": 3, "name": "tea", "note": "", "price": 0.0, "active": True},
]

mode, registry_url = sys.argv[1], sys.argv[2]
client = SchemaRegistryClient({"url": registry_url})
if mode == "decode":
    given = json.load(sys.stdin)
    deserializers = {}
    out = []
    for h in given["values"]:
        if h is None:
            out.append(None)
            continue
        raw = bytes.fromhex(h)
        _, schema_id = struct.unpack(">bI", raw[:5])
        if schema_id not in deserializers:
            deserializers[schema_id] = JSONDeserializer(client.get_schema(schema_id).schema_str)
        out.append(deserializers[schema_id](raw, SerializationContext("t", MessageField.VALUE)))
    print(json.dumps({"values": out}))
elif mode == "produce":
    bootstrap, topic = sys.argv[3], sys.argv[4]
    producer = SerializingProducer({
        "bootstrap.servers": bootstrap,
        "key.serializer": JSONSerializer(KEY, client),
        "value.serializer": JSONSerializer(VALUE, client)})
    for row in ROWS:
        producer.produce(topic=topic, key={"id": row["id"]}, value=row)
    left = producer.flush(30)
    if left:
        sys.exit("%d records not delivered" % left)
    print(json.dumps({"produced": len(ROWS)}))
else:
    sys.exit(__doc__)
