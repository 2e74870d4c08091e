"""Confluent's Python Avro serializers against records Sluice's Connect worker writes and reads
through AvroConverter and `sluice serve`'s schema registry. Debian's confluent-kafka 1.7 has no
fastavro, so Avro goes through confluent_kafka.avro (MessageSerializer, AvroProducer) over
python3-avro, as tests/python/streams_serde_interop.py does.

usage:
  connect_registry_avro.py decode REGISTRY_URL < {"keys": [hex|null...], "values": [hex|null...]}
      prints {"keys": [...], "values": [...]}: each record decoded by MessageSerializer
      (the writer's schema fetched by the id in the bytes), decimals and times as strings.
  connect_registry_avro.py produce REGISTRY_URL BOOTSTRAP TOPIC
      produces the rows below with AvroProducer (key and value schemas registered under
      TOPIC-key and TOPIC-value) and prints {"produced": n}."""
import datetime
import decimal
import json
import sys

from confluent_kafka.avro import AvroProducer, CachedSchemaRegistryClient
from confluent_kafka.avro import loads as avro_loads
from confluent_kafka.avro.serializer.message_serializer import MessageSerializer


def plain(v):
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, decimal.Decimal):
        return "decimal:" + str(v)
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return "time:" + v.isoformat()
    if isinstance(v, bytes):
        return "bytes:" + v.hex()
    return v


KEY = '{"type": "record", "name": "ProductKey", "namespace": "shop", "fields": [{"name": "id", "type": "int"}]}'
VALUE = json.dumps({
    "type": "record", "name": "Product", "namespace": "shop", "fields": [
        {"name": "id", "type": "int"},
        {"name": "name", "type": "string"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "added", "type": {"type": "int", "logicalType": "date"}},
        {"name": "updated", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "qty", "type": "long"},
        {"name": "ratio", "type": "double"},
        {"name": "active", "type": "boolean"},
    ]})

ROWS = [
    {"id": 1, "name": "kettle", "note": "steel", "price": decimal.Decimal("19.99"),
     "added": datetime.date(2026, 1, 15),
     "updated": datetime.datetime(2026, 1, 15, 10, 30, 0, 123000, tzinfo=datetime.timezone.utc),
     "qty": 12, "ratio": 0.5, "active": True},
    {"id": 2, "name": "mug", "note": None, "price": decimal.Decimal("-3.50"),
     "added": datetime.date(1999, 12, 31),
     "updated": datetime.datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=datetime.timezone.utc),
     "qty": -4, "ratio": 1e10, "active": False},
    {"id": 3, "name": "tea \u00e9\u00e8 \"q\"", "note": "", "price": decimal.Decimal("0.00"),
     "added": datetime.date(1970, 1, 1),
     "updated": datetime.datetime(1970, 1, 1, 0, 0, 0, tzinfo=datetime.timezone.utc),
     "qty": 9007199254740993, "ratio": -0.25, "active": True},
]

mode, registry_url = sys.argv[1], sys.argv[2]
if mode == "decode":
    serializer = MessageSerializer(CachedSchemaRegistryClient({"url": registry_url}))
    given = json.load(sys.stdin)
    out = {}
    for part in ("keys", "values"):
        out[part] = [None if h is None else plain(serializer.decode_message(bytes.fromhex(h)))
                     for h in given[part]]
    print(json.dumps(out))
elif mode == "produce":
    bootstrap, topic = sys.argv[3], sys.argv[4]
    producer = AvroProducer({"bootstrap.servers": bootstrap, "schema.registry.url": registry_url},
                            default_key_schema=avro_loads(KEY), default_value_schema=avro_loads(VALUE))
    for row in ROWS:
        producer.produce(topic=topic, key={"id": row["id"]}, value=row)
    left = producer.flush(30)
    if left:
        sys.exit("%d records not delivered" % left)
    print(json.dumps({"produced": len(ROWS)}))
else:
    sys.exit(__doc__)
