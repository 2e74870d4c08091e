"""confluent-kafka (librdkafka) transactions. Mode "produce": a transactional producer commits
transaction A, aborts transaction B and commits transaction C (10 records each, over two
partitions). Mode "verify": nothing is produced. Both modes then read the topic from the start
with a read_committed and a read_uncommitted consumer and print JSON with the values each saw.
Usage: confluent_transactions.py BOOTSTRAP TOPIC TRANSACTIONAL_ID produce|verify"""
import json
import sys

from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap, topic, txn_id, mode = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

if mode == "produce":
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id,
                         "transaction.timeout.ms": 30000, "linger.ms": 5})
    producer.init_transactions(20)
    for name, commit in (("a", True), ("b", False), ("c", True)):
        producer.begin_transaction()
        for i in range(10):
            producer.produce(topic, key=b"%s%d" % (name.encode(), i),
                             value=b"%s%d" % (name.encode(), i), partition=i % 2)
        producer.flush(10)
        if commit:
            producer.commit_transaction(20)
        else:
            producer.abort_transaction(20)


def read(isolation):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-" + isolation,
                         "enable.auto.commit": False, "isolation.level": isolation})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(2)])
    seen = []
    idle = 0
    while idle < 8:
        msg = consumer.poll(0.2)
        if msg is None:
            idle += 1
            continue
        if msg.error():
            if msg.error().code() == -191:  # _PARTITION_EOF
                continue
            raise SystemExit("consume error: %s" % msg.error())
        idle = 0
        seen.append(msg.value().decode())
    consumer.close()
    return sorted(seen)


print(json.dumps({"committed": read("read_committed"), "uncommitted": read("read_uncommitted")}))
