"""kafka-python: a consumer of group `group` subscribes to `topic`, prints every record value it
reads until it has `count`, commits synchronously and leaves."""
import sys

from kafka import KafkaConsumer

bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                         auto_offset_reset="earliest", enable_auto_commit=False,
                         session_timeout_ms=10000, heartbeat_interval_ms=1000)
seen = set()
while len(seen) < count:
    for records in consumer.poll(timeout_ms=1000).values():
        for msg in records:
            value = msg.value.decode()
            seen.add(value)
            print(value, flush=True)
consumer.commit()
consumer.close()
