"""Authorization with kafka-python or confluent-kafka over SASL_PLAINTEXT/PLAIN: produce one
record to TOPIC and read it back. Prints one JSON object: {"ok": true} or
{"ok": false, "error": "...", "metadata_error": N}, where metadata_error (kafka-python only) is
the topic's error code in a Metadata v1 answer for TOPIC, as kafka-python decodes it:
kafka-python 2.0.2 fails a one-topic metadata update on any topic error without recording
which, so its producer itself only times out.

usage: authz_clients.py kafka-python|confluent BOOTSTRAP TOPIC USER PASSWORD"""
import json
import sys
import time

lib, bootstrap, topic, user, password = sys.argv[1:6]
value = "%s-%s" % (lib, user)


def kafka_python():
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.client_async import KafkaClient
    from kafka.protocol.metadata import MetadataRequest
    common = dict(bootstrap_servers=bootstrap, security_protocol="SASL_PLAINTEXT",
                  sasl_mechanism="PLAIN", sasl_plain_username=user, sasl_plain_password=password,
                  request_timeout_ms=15000, api_version=(2, 5, 0))
    try:
        producer = KafkaProducer(acks="all", max_block_ms=5000, **common)
        md = producer.send(topic, value=value.encode()).get(timeout=15)
        producer.close()
        consumer = KafkaConsumer(group_id=None, consumer_timeout_ms=10000, **common)
        tp = TopicPartition(topic, md.partition)
        consumer.assign([tp])
        consumer.seek(tp, md.offset)
        for msg in consumer:
            return {"ok": msg.value.decode() == value}
        return {"ok": False, "error": "consumed nothing"}
    except Exception as e:
        out = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    client = KafkaClient(**common)
    node = client.least_loaded_node()
    deadline = time.time() + 15
    while not client.ready(node) and time.time() < deadline:
        client.poll(timeout_ms=100)
    future = client.send(node, MetadataRequest[1](topics=[topic]))
    client.poll(future=future, timeout_ms=15000)
    if future.succeeded():
        out["metadata_error"] = future.value.topics[0][0]
    client.close()
    return out


def confluent():
    from confluent_kafka import Consumer, Producer, TopicPartition
    conf = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "PLAIN", "sasl.username": user, "sasl.password": password}
    p = Producer(dict(conf, **{"message.timeout.ms": 10000}))
    delivered = []
    p.produce(topic, value.encode(), on_delivery=lambda err, msg: delivered.append((err, msg)))
    p.flush(15)
    if not delivered:
        return {"ok": False, "error": "no delivery report"}
    err, msg = delivered[0]
    if err is not None:
        return {"ok": False, "error": err.name() + ": " + err.str()}
    c = Consumer(dict(conf, **{"group.id": "authz-confluent", "enable.auto.commit": False}))
    c.assign([TopicPartition(topic, msg.partition(), msg.offset())])
    deadline = time.time() + 15
    while time.time() < deadline:
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            c.close()
            return {"ok": m.value().decode() == value}
    c.close()
    return {"ok": False, "error": "consumed nothing"}


print(json.dumps(kafka_python() if lib == "kafka-python" else confluent()))
