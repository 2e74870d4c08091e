"""kafka-python pinned to api_version=(0, 10): the request versions a Kafka 0.10.0 client sends
(Produce v2 with magic-1 message sets, Fetch v2, ListOffsets v0, Metadata v1, GroupCoordinator
v0, JoinGroup/SyncGroup/Heartbeat/LeaveGroup v0, OffsetCommit v2, OffsetFetch v1), all removed
or legacy in Kafka 4 (KIP-896).

mode "roundtrip" (args: bootstrap topic group count): produces `count` records to the topic's
three partitions, consumes them in group `group`, commits, and prints JSON with the produced
offsets, the records seen (keys `group`-k<i>), the committed offsets, what a second member of the group then reads
and the end offsets (ListOffsets v0).

mode "assigned" (args: bootstrap topic version group): kafka-python pinned to `version` (such as
0.8.1: Produce, Fetch, ListOffsets, Metadata, OffsetCommit and OffsetFetch all v0; 0.8.2:
OffsetCommit and OffsetFetch v1) produces 5 records to partition 0, reads them with an assigned
consumer of group `group`, commits offset 3 and reads it back; prints JSON with the values read,
the committed offset, the end offset and the request classes the client sent.

mode "refused" (args: bootstrap topic): one record and the end offsets, expected to fail when
the broker serves no legacy versions; prints the error class names as JSON."""
import json
import logging
import re
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

OLD = (0, 10)
mode, bootstrap, topic = sys.argv[1], sys.argv[2], sys.argv[3]


def roundtrip(group, count):
    producer = KafkaProducer(bootstrap_servers=bootstrap, api_version=OLD, acks="all",
                             request_timeout_ms=15000)
    prefix = group.encode()  # keys of this round: the group reads earlier rounds' records too
    futures = [producer.send(topic, key=prefix + b"-k%d" % i, value=b"v%d" % i, partition=i % 3,
                             timestamp_ms=1_600_000_000_000 + i) for i in range(count)]
    producer.flush()
    produced = {}
    for i, f in enumerate(futures):
        md = f.get(timeout=30)
        produced["%s-k%d" % (group, i)] = [md.partition, md.offset]
    producer.close()

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, api_version=OLD,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             session_timeout_ms=10000, heartbeat_interval_ms=1000,
                             request_timeout_ms=15000)
    seen = {}
    for _ in range(120):
        for records in consumer.poll(timeout_ms=500).values():
            for m in records:
                seen[m.key.decode()] = [m.value.decode(), m.partition, m.offset, m.timestamp]
        if all("%s-k%d" % (group, i) in seen for i in range(count)):
            break
    consumer.commit()
    parts = [TopicPartition(topic, p) for p in range(3)]
    committed = [consumer.committed(tp) for tp in parts]
    ends = consumer.end_offsets(parts)
    consumer.close()

    again = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, api_version=OLD,
                          auto_offset_reset="earliest", enable_auto_commit=False,
                          session_timeout_ms=10000, heartbeat_interval_ms=1000,
                          request_timeout_ms=15000)
    reread = 0
    for _ in range(8):
        reread += sum(len(r) for r in again.poll(timeout_ms=500).values())
    again.close()
    print(json.dumps({"produced": produced, "seen": seen, "committed": committed,
                      "end_offsets": [ends[tp] for tp in parts], "reread": reread}))


def refused():
    out = {}
    producer = KafkaProducer(bootstrap_servers=bootstrap, api_version=OLD, retries=0,
                             request_timeout_ms=5000, max_block_ms=5000)
    try:
        producer.send(topic, value=b"refused", partition=0).get(timeout=15)
        out["produce"] = "ok"
    except Exception as e:  # the error class is the result
        out["produce"] = type(e).__name__
    producer.close(timeout=5)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, api_version=OLD, request_timeout_ms=5000,
                             session_timeout_ms=3000, heartbeat_interval_ms=1000)
    try:
        consumer.end_offsets([TopicPartition(topic, 0)])
        out["end_offsets"] = "ok"
    except Exception as e:
        out["end_offsets"] = type(e).__name__
    consumer.close()
    print(json.dumps(out))


class RequestLog(logging.Handler):
    """Collects the request classes kafka-python logs as it sends them (ProduceRequest_v0, ...)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.sent = set()

    def emit(self, record):
        self.sent.update(re.findall(r"\b([A-Za-z]+Request_v\d+)\(", record.getMessage()))


def assigned(version, group):
    log = RequestLog()
    root = logging.getLogger("kafka")
    root.setLevel(logging.DEBUG)
    root.addHandler(log)
    ver = tuple(int(x) for x in version.split("."))
    producer = KafkaProducer(bootstrap_servers=bootstrap, api_version=ver, acks=1,
                             request_timeout_ms=15000)
    for i in range(5):
        producer.send(topic, value=b"v%d" % i, partition=0)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, api_version=ver, group_id=group,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             session_timeout_ms=10000, request_timeout_ms=15000)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    got = []
    for _ in range(60):
        for records in consumer.poll(timeout_ms=500).values():
            got += [m.value.decode() for m in records]
        if len(got) >= 5:
            break
    consumer.commit({tp: OffsetAndMetadata(3, "zk-era")})
    committed = consumer.committed(tp)
    end = consumer.end_offsets([tp])[tp]
    consumer.close()
    print(json.dumps({"got": got, "committed": committed, "end": end, "sent": sorted(log.sent)}))


if mode == "assigned":
    assigned(sys.argv[4], sys.argv[5])
elif mode == "roundtrip":
    roundtrip(sys.argv[4], int(sys.argv[5]))
else:
    refused()
