"""Message formats v0/v1 end to end with real old-format clients. librdkafka (confluent-kafka)
with api.version.request=false and broker.version.fallback 0.9.0 (Produce/Fetch v1: magic 0),
and kafka-python with api_version (0, 9) / (0, 10), produce with each
codec their format allows; each topic is read back by the same old client and by a modern one
(v2 batches), and records a modern producer wrote are read by every old client. Prints JSON:
per case, what was produced and, per reader, the records that came back wrong or not at all."""
import json
import logging
import re
import sys

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KPTopicPartition

bootstrap = sys.argv[1]
COUNT = 60
TS = 1700000000000

# librdkafka with broker.version.fallback=0.10.0 still asks for ApiVersions (0.10.0 has it)
# and then speaks v2 batches, so only 0.9.0 pins it to an old message format (magic 0).
OLD_RD = {"rd-0.9.0": "0.9.0"}
OLD_KP = {"kp-0.9": (0, 9), "kp-0.10": (0, 10)}


class Versions(logging.Handler):
    """Collects the request versions librdkafka's protocol debug log names."""
    def __init__(self):
        super().__init__()
        self.seen = set()

    def emit(self, record):
        for name, v in re.findall(r"(Produce|Fetch)Request \(v(\d+)", record.getMessage()):
            self.seen.add("%s v%s" % (name, v))


versions = Versions()
logger = logging.getLogger("librdkafka")
logger.addHandler(versions)
logger.setLevel(logging.DEBUG)


def rd_conf(fallback):
    conf = {"bootstrap.servers": bootstrap}
    if fallback:
        conf.update({"api.version.request": False, "broker.version.fallback": fallback, "debug": "protocol"})
    return conf


def expected(topic):
    return {("k%d" % i): ("%s-v%d-" % (topic, i)) + "x" * (i % 13) for i in range(COUNT)}


def produce_rd(topic, fallback, codec):
    conf = rd_conf(fallback)
    conf.update({"acks": "all", "compression.type": codec, "linger.ms": 20})
    p = Producer(conf, logger=logger)
    errors = []
    def cb(err, msg):
        if err is not None:
            errors.append(str(err))
    for k, v in expected(topic).items():
        p.produce(topic, key=k.encode(), value=v.encode(), partition=0, timestamp=TS + int(k[1:]), on_delivery=cb)
    left = p.flush(30)
    if errors or left:
        raise SystemExit("%s: produce failed: %s (%d undelivered)" % (topic, errors[:3], left))


def produce_kp(topic, api_version, codec):
    p = KafkaProducer(bootstrap_servers=bootstrap, api_version=api_version, acks=1,
                      compression_type=None if codec == "none" else codec, linger_ms=20)
    futures = [p.send(topic, key=k.encode(), value=v.encode(), partition=0, timestamp_ms=TS + int(k[1:]))
               for k, v in expected(topic).items()]
    p.flush(30)
    for f in futures:
        f.get(timeout=30)
    p.close()


def consume_rd(topic, fallback):
    conf = rd_conf(fallback)
    conf.update({"group.id": "legacy-formats-unused", "enable.auto.commit": False})
    c = Consumer(conf, logger=logger)
    c.assign([TopicPartition(topic, 0, 0)])
    got, idle = {}, 0
    while len(got) < COUNT and idle < 40:
        m = c.poll(0.25)
        if m is None:
            idle += 1
            continue
        if m.error():
            raise SystemExit("%s: consume error: %s" % (topic, m.error()))
        got[m.key().decode()] = (m.value().decode(), m.timestamp()[1], m.offset())
    c.close()
    return got


def consume_kp(topic, api_version):
    c = KafkaConsumer(bootstrap_servers=bootstrap, api_version=api_version, enable_auto_commit=False,
                      group_id=None, consumer_timeout_ms=10000)
    tp = KPTopicPartition(topic, 0)
    c.assign([tp])
    c.seek(tp, 0)
    got = {}
    for m in c:
        got[m.key.decode()] = (m.value.decode(), m.timestamp, m.offset)
        if len(got) == COUNT:
            break
    c.close()
    return got


def check(topic, got, with_timestamps):
    """Records missing or wrong: value, offset (in key order), and timestamp when both the
    producer's and the reader's formats carry one."""
    bad = []
    for i, (k, v) in enumerate(sorted(expected(topic).items(), key=lambda kv: int(kv[0][1:]))):
        g = got.get(k)
        if g is None:
            bad.append("%s missing" % k)
        elif g[0] != v or g[2] != i or (with_timestamps and g[1] != TS + i):
            bad.append("%s = %r" % (k, g))
    return bad[:5]


cases = []
topics = []
for name, fallback in OLD_RD.items():
    for codec in ("none", "gzip", "snappy", "lz4"):
        topics.append(("%s-%s" % (name, codec), "rd", fallback, codec))
for name, api_version in OLD_KP.items():
    for codec in ("none", "gzip"):
        topics.append(("%s-%s" % (name, codec), "kp", api_version, codec))
topics.append(("modern-lz4", "rd", None, "lz4"))
topics.append(("modern-gzip", "rd", None, "gzip"))

admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic(t[0], num_partitions=1, replication_factor=1) for t in topics]).values():
    f.result(timeout=10)

readers = [("rd-modern", "rd", None, 1)] + [(n, "rd", fb, 0) for n, fb in OLD_RD.items()] + \
          [(n, "kp", av, 0 if av == (0, 9) else 1) for n, av in OLD_KP.items()]
for topic, kind, version, codec in topics:
    versions.seen = set()
    if kind == "rd":
        produce_rd(topic, version, codec)
    else:
        produce_kp(topic, version, codec)
    magic = 2 if version is None else (0 if version in ("0.9.0", (0, 9)) else 1)
    result = {"topic": topic, "magic": magic, "readers": {}}
    for rname, rkind, rversion, rmagic in readers:
        if magic != 2 and rname != "rd-modern" and not rname.startswith(topic.split("-")[0] + "-" + topic.split("-")[1]):
            continue  # old-format topics: their own client and the modern one
        if rkind == "kp" and codec not in ("none", "gzip"):
            continue  # Debian's kafka-python has no lz4 or snappy library
        got = consume_rd(topic, rversion) if rkind == "rd" else consume_kp(topic, rversion)
        result["readers"][rname] = {"count": len(got), "bad": check(topic, got, magic >= 1 and rmagic >= 1)}
    result["rd_versions"] = sorted(versions.seen)
    cases.append(result)
print(json.dumps(cases))
