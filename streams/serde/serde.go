// Package serde turns typed keys and values into the bytes of Kafka records and back, for the
// streams library: plain formats (bytes, strings, Kafka's fixed-width numbers, JSON) and the
// Confluent wire format through any Confluent-API schema registry (Avro, JSON Schema,
// Protobuf).
package serde

// Serde serializes values of type T for a topic and deserializes them back. A nil record key
// or value (a tombstone) reaches Deserialize as nil data; serdes of pointer, slice and
// interface types return their zero value for it, others return an error unless documented.
// Implementations are safe for concurrent use.
type Serde[T any] interface {
	Serialize(topic string, v T) ([]byte, error)
	Deserialize(topic string, data []byte) (T, error)
}
