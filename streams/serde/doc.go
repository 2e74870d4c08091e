// Package serde turns typed keys and values into the bytes of Kafka records and back, for the
// streams library: plain formats laid out as Kafka's built-in serializers lay them out, Kafka
// Streams' windowed keys, and the Confluent wire format through any Confluent-API schema
// registry (Avro, JSON Schema, Protobuf).
//
// # Plain serdes
//
//	Bytes()        []byte as is (ByteArraySerializer)
//	String()       UTF-8 (StringSerializer)
//	Int64()        8 bytes big-endian (LongSerializer); Int64 of 1 is 00 00 00 00 00 00 00 01
//	Int32()        4 bytes big-endian (IntegerSerializer)
//	Int16()        2 bytes big-endian (ShortSerializer)
//	Float64()      IEEE-754 bits, 8 bytes big-endian, NaN canonical (DoubleSerializer)
//	Float32()      IEEE-754 bits, 4 bytes big-endian (FloatSerializer)
//	Bool()         1 byte, 0x01 true, 0x00 false (BooleanSerializer)
//	UUID()         the 36-character text form (UUIDSerializer)
//	Void()         always null (VoidSerializer)
//	Int64String()  base-10 text, "42"
//	JSON[T]()      encoding/json
//	Nullable(s)    *T over a serde of T: nil pointer <-> null
//
// # Tombstones (null keys and values)
//
// Kafka's deserializers return null for null data. Here a tombstone (nil data) deserializes
// to T's zero value with no error, for every serde of this package: nil for Bytes and for
// JSON of pointer, map, slice and interface types; "", 0, false, the zero UUID, the zero
// Windowed for the others. Where a tombstone must be told apart from a zero, wrap the serde
// in Nullable. In the other direction only the nil of a nilable type becomes a tombstone
// (Bytes(nil), a nil JSON pointer or map, Nullable's nil, Void); "" is an empty value, not a
// tombstone. Fixed-width formats given data of any other length fail with an error wrapping
// ErrSize and naming both lengths; nothing here panics on bad input.
//
// # Windowed keys
//
// TimeWindowed(inner, windowSize) and SessionWindowed(inner) carry a Windowed[K]{Key, Start,
// End} (milliseconds) with Kafka Streams' layouts (integers big-endian, the key not
// length-prefixed):
//
//	time window:    key | start int64            (end = start + windowSize; not in the bytes)
//	session window: key | end int64 | start int64
//
// The bytes are built and parsed by streams/state's AppendTimeWindowedKey / AppendSessionKey
// and their Parse functions, the same code the stores' changelogs use.
//
// # Schema-registry serdes
//
// Avro[T], JSONSchema[T] and Protobuf[T] write Confluent's wire format through any
// Confluent-API schema registry (Sluice's, Confluent's), reached with franz-go's sr.Client:
//
//	magic byte 0 | schema id uint32 big-endian | [Protobuf: message index] | payload
//
// The Protobuf message index is the message's path in its .proto file as zig-zag varints, a
// count then each index, with [0] (the file's first message) as the single byte 0; it is
// written and read by sr.ConfluentHeader. Payloads: Avro binary (hamba/avro/v2), JSON
// (encoding/json, validated by santhosh-tekuri/jsonschema/v6 with ValidateJSON), Protobuf
// binary (google.golang.org/protobuf).
//
// Serializing registers the serde's schema under the subject (Confluent's
// auto.register.schemas=true) once per topic; NoAutoRegister looks it up instead,
// UseLatestVersion takes the subject's latest version (use.latest.version). Subjects follow
// Confluent's strategies: TopicNameStrategy ("<topic>-value", "<topic>-key" with Key()),
// RecordNameStrategy, TopicRecordNameStrategy. Protobuf registers the message's file as a
// base64 FileDescriptorProto and its imports, other than google/protobuf/..., google/type/...
// and confluent/... files, under their file names as references.
//
// Deserializing reads the id, fetches that schema once, and checks its type: Avro resolves
// the writer's schema against the serde's own (schema evolution), JSONSchema validates with
// ValidateJSON, Protobuf checks that the message index names T's message when the registry
// serves descriptors (format=serialized). Bad headers fail with errors wrapping
// ErrWireFormat. A nil value serializes to nil and nil data deserializes to T's zero value,
// as for the plain serdes.
//
// Caches: each registry serde keeps one entry per topic it serialized to (the id to write,
// and for UseLatestVersion the schema) and one per schema id it deserialized that the
// registry knows, for its whole life; failed lookups are not cached (each is retried by the
// next record). Requests are bounded by RequestTimeout (30 s).
//
// # Concurrency
//
// Every serde here is safe for concurrent use. The registry serdes' caches are read under a
// read lock (no lock is held across a registry request); two goroutines missing the same
// entry may both fetch it.
//
// # Example
//
//	counts := serde.TimeWindowed(serde.String(), 10*60*1000) // keys of 10-minute windows
//	b, _ := counts.Serialize("suspicious", serde.Windowed[string]{Key: "c1", Start: t0, End: t0 + 600000})
//	w, _ := counts.Deserialize("suspicious", b) // w.Key "c1", w.Start t0, w.End t0+600000
package serde
