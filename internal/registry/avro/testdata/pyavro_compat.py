# Reads pairs of Avro schemas (one JSON object a line: {"reader": "...", "writer": "..."}) and
# writes, for each, the verdict of Python Avro's port of Java's SchemaCompatibility: a JSON
# object {"compatible": bool, "types": [...]} (types sorted, without repeats), or {"error": "..."}
# when Python Avro does not parse one of them. Used by TestAgainstPythonAvro.
import json
import sys

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

for line in sys.stdin:
    pair = json.loads(line)
    try:
        reader = avro.schema.parse(pair["reader"])
        writer = avro.schema.parse(pair["writer"])
    except Exception as e:  # noqa: BLE001 - any parse failure is reported, not raised
        print(json.dumps({"error": str(e)}))
        continue
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    types = sorted({t.name.upper() for t in result.incompatibilities})
    print(json.dumps({"compatible": result.compatibility == SchemaCompatibilityType.compatible, "types": types}))
