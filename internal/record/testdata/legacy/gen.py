#!/usr/bin/python3
# Writes legacy message sets encoded by kafka-python (an implementation independent of
# Sluice's) for internal/record's legacy tests: magic 0 and 1, uncompressed and gzip.
# Run from this directory with Debian's python3-kafka: /usr/bin/python3 gen.py
from kafka.record.legacy_records import LegacyRecordBatchBuilder

def build(magic, codec, name):
    b = LegacyRecordBatchBuilder(magic=magic, compression_type=codec, batch_size=1 << 20)
    for i in range(5):
        key = None if i == 2 else b"key-%d" % i
        value = None if i == 3 else b"value-%d-" % i + b"x" * i
        b.append(i, timestamp=1700000000000 + i, key=key, value=value)
    with open(name, "wb") as f:
        f.write(bytes(b.build()))

for magic in (0, 1):
    build(magic, 0, "kafka-python-v%d-none.bin" % magic)
    build(magic, 1, "kafka-python-v%d-gzip.bin" % magic)
