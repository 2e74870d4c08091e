"""confluent-kafka (librdkafka): admin creates a topic, an idempotence-free acks=all producer
writes with lz4, a consumer with manual assignment reads everything back. Prints JSON."""
import json
import sys

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])

admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1,
                                       config={"cleanup.policy": "delete"})]).values():
    f.result(timeout=10)
described = admin.describe_configs([ConfigResource("topic", topic)])
cleanup = None
for f in described.values():
    cleanup = f.result(timeout=10)["cleanup.policy"].value

delivered = []
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                     "compression.type": "lz4", "linger.ms": 5})
def on_delivery(err, msg):
    if err is not None:
        raise SystemExit("delivery failed: %s" % err)
    delivered.append(msg.offset())
for i in range(count):
    producer.produce(topic, key=b"k%d" % i, value=b"v%d" % i, partition=i % 2,
                     on_delivery=on_delivery)
producer.flush(10)

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-manual-assign",
                     "enable.auto.commit": False})
consumer.assign([TopicPartition(topic, p, 0) for p in range(2)])
seen = {}
idle = 0
while len(seen) < count and idle < 50:
    msg = consumer.poll(0.2)
    if msg is None:
        idle += 1
        continue
    if msg.error():
        raise SystemExit("consume error: %s" % msg.error())
    seen[msg.key().decode()] = msg.value().decode()
low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
consumer.close()
print(json.dumps({"delivered": len(delivered), "seen": seen, "cleanup": cleanup,
                  "p0_low": low, "p0_high": high}))
