"""kafka-python pinned to api_version=(0, 10): the request versions a Kafka 0.10.0 client sends
(Produce v2 with magic-1 message sets, Fetch v2, ListOffsets v0, Metadata v1, GroupCoordinator
v0, JoinGroup/SyncGroup/Heartbeat/LeaveGroup v0, OffsetCommit v2, OffsetFetch v1), all removed
or legacy in Kafka 4 (KIP-896).

mode "roundtrip" (args: bootstrap topic group count): produces `count` records to the topic's
three partitions, consumes them in group `group`, commits, and prints JSON with the produced
offsets, the records seen (keys `group`-k<i>), the committed offsets, what a second member of the group then reads
and the end offsets (ListOffsets v0).

mode "refused" (args: bootstrap topic): one record and the end offsets, expected to fail when
the broker serves no legacy versions; prints the error class names as JSON."""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

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


if mode == "roundtrip":
    roundtrip(sys.argv[4], int(sys.argv[5]))
else:
    refused()
