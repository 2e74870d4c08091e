"""confluent-kafka (librdkafka) consumer with client.rack (KIP-392): reads count records of
partition 0 of topic from offset 0 and prints their values, one a line."""
import sys

from confluent_kafka import Consumer, TopicPartition

bootstrap, topic, rack, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-manual-assign",
                     "enable.auto.commit": False, "client.rack": rack})
consumer.assign([TopicPartition(topic, 0, 0)])
seen = []
idle = 0
while len(seen) < count and idle < 150:
    msg = consumer.poll(0.2)
    if msg is None:
        idle += 1
        continue
    if msg.error():
        raise SystemExit("consume error: %s" % msg.error())
    seen.append(msg.value().decode())
consumer.close()
print("\n".join(seen))
