"""SASL with kafka-python or confluent-kafka: authenticate to a SASL_PLAINTEXT or SASL_SSL
listener, produce one record and read it back. Prints one JSON object: {"ok": true, "value": ...}
or {"ok": false, "error": "..."} when the client is refused.

usage: sasl_clients.py kafka-python|confluent BOOTSTRAP TOPIC MECHANISM USER PASSWORD_OR_TOKEN
       [SASL_PLAINTEXT | SASL_SSL CAFILE]
(for OAUTHBEARER, USER is ignored and PASSWORD_OR_TOKEN is the JWT; on SASL_SSL the client
verifies the broker's certificate and host name against the CA certificate in CAFILE)."""
import json
import sys
import time

lib, bootstrap, topic, mechanism, user, secret = sys.argv[1:7]
protocol = sys.argv[7] if len(sys.argv) > 7 else "SASL_PLAINTEXT"
cafile = sys.argv[8] if protocol == "SASL_SSL" else None
value = "%s-%s-%s-%s" % (lib, protocol, mechanism, user)


def kafka_python():
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.errors import KafkaError
    common = dict(bootstrap_servers=bootstrap, security_protocol=protocol,
                  sasl_mechanism=mechanism, sasl_plain_username=user, sasl_plain_password=secret,
                  request_timeout_ms=15000, api_version_auto_timeout_ms=10000)
    if cafile:
        common.update(ssl_cafile=cafile, ssl_check_hostname=True)
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
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
    conf = {"bootstrap.servers": bootstrap, "security.protocol": protocol,
            "sasl.mechanisms": mechanism}
    if cafile:
        conf["ssl.ca.location"], conf["ssl.endpoint.identification.algorithm"] = cafile, "https"
    if mechanism == "OAUTHBEARER":
        conf["oauth_cb"] = lambda _cfg: (secret, time.time() + 3600)
    else:
        conf["sasl.username"], conf["sasl.password"] = user, secret
    errors, refused = [], []

    def on_error(err):
        errors.append(str(err))
        if err.code() == KafkaError._AUTHENTICATION:
            refused.append(err)
    conf["error_cb"] = on_error
    p = Producer(dict(conf, **{"message.timeout.ms": 10000}))
    delivered = []
    p.produce(topic, value.encode(), on_delivery=lambda err, msg: delivered.append((err, msg)))
    # Until delivered, or refused (librdkafka would retry the login until message.timeout.ms).
    deadline = time.time() + 15
    while not delivered and not refused and time.time() < deadline:
        p.poll(0.1)
    if not delivered or delivered[0][0] is not None:
        return {"ok": False, "error": "; ".join(errors) or str(delivered)}
    msg = delivered[0][1]
    c = Consumer(dict(conf, **{"group.id": "sasl-test", "enable.auto.commit": False}))
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
