package serde

import (
	"fmt"
	"math"

	"github.com/sluicehq/sluice/streams/state"
)

// Windowed is a key of a windowed aggregation: the record key and its window, [Start, End) in
// milliseconds for time windows (Kafka Streams' Windowed<K> with a TimeWindow), [Start, End]
// for sessions (a SessionWindow, both ends inclusive).
type Windowed[K any] struct {
	Key        K
	Start, End int64
}

type timeWindowedSerde[K any] struct {
	inner      Serde[K]
	windowSize int64
}

// TimeWindowed is Kafka Streams' TimeWindowedSerde: the inner serde's key bytes followed by the
// window start as an 8-byte big-endian integer. The end is not written; Deserialize sets it to
// start + windowSize (milliseconds), clamped to math.MaxInt64 on overflow as Kafka Streams'
// TimeWindowedDeserializer does. nil or empty data deserializes to the zero Windowed (Kafka
// Streams: null); data of 1 to 7 bytes is an error.
func TimeWindowed[K any](inner Serde[K], windowSize int64) Serde[Windowed[K]] {
	return timeWindowedSerde[K]{inner, windowSize}
}

func (s timeWindowedSerde[K]) Serialize(topic string, w Windowed[K]) ([]byte, error) {
	key, err := s.inner.Serialize(topic, w.Key)
	if err != nil {
		return nil, err
	}
	return state.AppendTimeWindowedKey(make([]byte, 0, len(key)+8), key, w.Start), nil
}

func (s timeWindowedSerde[K]) Deserialize(topic string, data []byte) (Windowed[K], error) {
	if len(data) == 0 {
		return Windowed[K]{}, nil
	}
	keyBytes, start, err := state.ParseTimeWindowedKey(data)
	if err != nil {
		return Windowed[K]{}, fmt.Errorf("serde: TimeWindowed: %d bytes, want at least 8 (key | start): %w", len(data), err)
	}
	key, err := s.inner.Deserialize(topic, keyBytes)
	if err != nil {
		return Windowed[K]{}, err
	}
	end := start + s.windowSize
	if s.windowSize > 0 && end < start {
		end = math.MaxInt64
	}
	return Windowed[K]{Key: key, Start: start, End: end}, nil
}

type sessionWindowedSerde[K any] struct{ inner Serde[K] }

// SessionWindowed is Kafka Streams' SessionWindowedSerde: the inner serde's key bytes, then the
// session end and the session start, each an 8-byte big-endian integer. nil or empty data
// deserializes to the zero Windowed (Kafka Streams: null); data of 1 to 15 bytes, or an end
// before the start, is an error.
func SessionWindowed[K any](inner Serde[K]) Serde[Windowed[K]] {
	return sessionWindowedSerde[K]{inner}
}

func (s sessionWindowedSerde[K]) Serialize(topic string, w Windowed[K]) ([]byte, error) {
	key, err := s.inner.Serialize(topic, w.Key)
	if err != nil {
		return nil, err
	}
	return state.AppendSessionKey(make([]byte, 0, len(key)+16), key, w.Start, w.End), nil
}

func (s sessionWindowedSerde[K]) Deserialize(topic string, data []byte) (Windowed[K], error) {
	if len(data) == 0 {
		return Windowed[K]{}, nil
	}
	keyBytes, start, end, err := state.ParseSessionKey(data)
	if err != nil {
		return Windowed[K]{}, fmt.Errorf("serde: SessionWindowed: %d bytes, want key | end | start with end >= start: %w", len(data), err)
	}
	key, err := s.inner.Deserialize(topic, keyBytes)
	if err != nil {
		return Windowed[K]{}, err
	}
	return Windowed[K]{Key: key, Start: start, End: end}, nil
}
