"""TLS with kafka-python or confluent-kafka: connect to an SSL listener, produce one record
and read it back. Prints one JSON object: {"ok": true, "value": ...} or
{"ok": false, "error": "..."} when the client is refused.

usage: tls_clients.py kafka-python|confluent BOOTSTRAP TOPIC CAFILE [CERTFILE KEYFILE]
(without CERTFILE and KEYFILE the client presents no certificate)."""
import json
import sys
import time

lib, bootstrap, topic, cafile = sys.argv[1:5]
certfile, keyfile = (sys.argv[5], sys.argv[6]) if len(sys.argv) > 6 else (None, None)
value = "%s-over-tls" % lib


def kafka_python():
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    common = dict(bootstrap_servers=bootstrap, security_protocol="SSL", ssl_cafile=cafile,
                  ssl_certfile=certfile, ssl_keyfile=keyfile, ssl_check_hostname=True,
                  request_timeout_ms=15000, api_version_auto_timeout_ms=10000)
    try:
        producer = KafkaProducer(acks="all", **common)
        md = producer.send(topic, value=value.encode()).get(timeout=15)
        producer.close()
        consumer = KafkaConsumer(group_id=None, auto_offset_reset="earliest",
                                 consumer_timeout_ms=10000, **common)
        tp = TopicPartition(topic, md.partition)
        consumer.assign([tp])
        consumer.seek(tp, md.offset)
        for msg in consumer:
            return {"ok": True, "value": msg.value.decode()}
        return {"ok": False, "error": "consumed nothing"}
    except Exception as e:  # refused: the error kafka-python raised
        return {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}


def confluent():
    from confluent_kafka import Consumer, Producer, TopicPartition
    conf = {"bootstrap.servers": bootstrap, "security.protocol": "SSL", "ssl.ca.location": cafile,
            "ssl.endpoint.identification.algorithm": "https"}
    if certfile:
        conf["ssl.certificate.location"], conf["ssl.key.location"] = certfile, keyfile
    errors = []
    conf["error_cb"] = lambda err: errors.append(str(err))
    p = Producer(dict(conf, **{"message.timeout.ms": 10000}))
    delivered = []
    p.produce(topic, value.encode(), on_delivery=lambda err, msg: delivered.append((err, msg)))
    p.flush(15)
    if not delivered or delivered[0][0] is not None:
        return {"ok": False, "error": "; ".join(errors) or str(delivered)}
    msg = delivered[0][1]
    c = Consumer(dict(conf, **{"group.id": "tls-test", "enable.auto.commit": False}))
    c.assign([TopicPartition(topic, msg.partition(), msg.offset())])
    deadline = time.time() + 15
    while time.time() < deadline:
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            c.close()
            return {"ok": True, "value": m.value().decode()}
    c.close()
    return {"ok": False, "error": "consumed nothing; " + "; ".join(errors)}


print(json.dumps(kafka_python() if lib == "kafka-python" else confluent()))
