"""librdkafka (confluent-kafka) under a producer_byte_rate quota: produce 512 KiB as client.id
argv[2] to topic argv[3] and report the throttle times librdkafka's throttle_cb saw, as JSON."""
import json
import os
import sys

from confluent_kafka import Producer

brokers, client_id, topic = sys.argv[1], sys.argv[2], sys.argv[3]
throttles = []


def on_throttle(event):
    throttles.append(event.throttle_time)


p = Producer({"bootstrap.servers": brokers, "client.id": client_id, "throttle_cb": on_throttle,
              "compression.type": "none", "linger.ms": 0})
value = os.urandom(16 << 10)
for _ in range(32):
    p.produce(topic, value)
    p.poll(0)
p.flush(30)
for _ in range(10):  # throttle events are served by poll
    p.poll(0.1)
print(json.dumps({"throttles": throttles}))
