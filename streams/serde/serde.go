package serde

// Serde serializes values of type T for a topic and deserializes them back. A nil record key
// or value (a tombstone) reaches Deserialize as nil data; serdes of pointer, slice and
// interface types return their zero value for it, others return an error unless documented.
// Implementations are safe for concurrent use.
type Serde[T any] interface {
	Serialize(topic string, v T) ([]byte, error)
	Deserialize(topic string, data []byte) (T, error)
}
