"""kafka-python: admin creates a topic, the producer writes keyed records with headers to every
partition, a group-less consumer reads them all back. Prints one JSON object with what it saw."""
import json
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])

admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="e2e-admin")
admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1,
                              topic_configs={"retention.ms": "3600000"})])
configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
retention = None
for response in configs:
    for resource in response.resources:
        for entry in resource[4]:
            if entry[0] == "retention.ms":
                retention = entry[1]
topics = admin.list_topics()

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                         compression_type="gzip")
futures = [producer.send(topic, key=b"k%d" % i, value=b"v%d" % i, partition=i % 3,
                         headers=[("h", b"%d" % i)]) for i in range(count)]
producer.flush()
offsets = [f.get(timeout=10).offset for f in futures]
producer.close()

consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                         auto_offset_reset="earliest", consumer_timeout_ms=5000)
consumer.assign([TopicPartition(topic, p) for p in range(3)])
seen = {}
for msg in consumer:
    seen[msg.key.decode()] = [msg.value.decode(), msg.partition, msg.offset,
                              dict((k, v.decode()) for k, v in msg.headers)]
    if len(seen) == count:
        break
end_offsets = consumer.end_offsets([TopicPartition(topic, p) for p in range(3)])
consumer.close()
admin.delete_topics([topic])
admin.close()
print(json.dumps({
    "listed": topic in topics,
    "retention": retention,
    "max_offset": max(offsets),
    "seen": seen,
    "end_offsets": sorted(end_offsets.values()),
}))
