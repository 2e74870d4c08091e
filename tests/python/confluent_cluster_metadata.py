"""confluent-kafka (librdkafka): lists the cluster's metadata from a bootstrap node. Prints one
JSON object: broker ids with host:port, and for each named topic each partition's leader,
replicas and ISR."""
import json
import sys

from confluent_kafka.admin import AdminClient

bootstrap, topics = sys.argv[1], sys.argv[2:]
admin = AdminClient({"bootstrap.servers": bootstrap})
md = admin.list_topics(timeout=20)
out = {"brokers": {str(b.id): "%s:%d" % (b.host, b.port) for b in md.brokers.values()}, "topics": {}}
for name in topics:
    t = md.topics.get(name)
    if t is None or t.error is not None:
        out["topics"][name] = None
        continue
    out["topics"][name] = {str(p.id): {"leader": p.leader, "replicas": sorted(p.replicas), "isr": sorted(p.isrs)}
                           for p in t.partitions.values()}
print(json.dumps(out, sort_keys=True))
