"""kafka-python: one member of the classic consumer group `group_id` on `topic`. Prints one line
per record it is given ("partition offset value"), flushed at once, until it is killed."""
import sys

from kafka import KafkaConsumer

bootstrap, topic, group, session_ms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                         auto_offset_reset="earliest", enable_auto_commit=True,
                         auto_commit_interval_ms=200, session_timeout_ms=session_ms,
                         heartbeat_interval_ms=max(100, session_ms // 6),
                         max_poll_interval_ms=session_ms * 10)
print("started", flush=True)
for msg in consumer:
    print(msg.partition, msg.offset, msg.value.decode(), flush=True)
