"""confluent-kafka (librdkafka): a balanced consumer subscribes to `topic` in group `group`,
prints every record value it reads until it has `count`, commits synchronously and leaves."""
import sys

from confluent_kafka import Consumer

bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "auto.offset.reset": "earliest", "enable.auto.commit": False,
                     "session.timeout.ms": 6000})
consumer.subscribe([topic])
seen = set()
while len(seen) < count:
    msg = consumer.poll(1.0)
    if msg is None:
        continue
    if msg.error():
        raise SystemExit("consume error: %s" % msg.error())
    value = msg.value().decode()
    seen.add(value)
    print(value, flush=True)
consumer.commit(asynchronous=False)
consumer.close()
