"""kafka-python: an admin client bootstrapped from one node creates a topic with the given
partitions and replication factor, then describes the cluster and the topic. Prints one JSON
object: the broker ids, and each partition's replicas."""
import json
import sys
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic

bootstrap, topic, partitions, rf = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="e2e-cluster-admin",
                         request_timeout_ms=20000)
admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=rf)],
                    timeout_ms=20000)
cluster = admin.describe_cluster()
replicas = {}
deadline = time.time() + 20
while time.time() < deadline:
    described = admin.describe_topics([topic])
    if described and described[0]["error_code"] == 0 and len(described[0]["partitions"]) == partitions:
        replicas = {str(p["partition"]): sorted(p["replicas"]) for p in described[0]["partitions"]}
        break
    time.sleep(0.2)
admin.close()
print(json.dumps({
    "brokers": sorted(b["node_id"] for b in cluster["brokers"]),
    "replicas": replicas,
}))
