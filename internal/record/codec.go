package record

import "strconv"

// Codec is a compression codec, as numbered in attributes bits 0-2 of a batch header.
type Codec int8

// The codecs Kafka defines. Their names (String) are the values of compression.type.
const (
	None   Codec = 0
	Gzip   Codec = 1
	Snappy Codec = 2
	LZ4    Codec = 3
	Zstd   Codec = 4
)

func (c Codec) valid() bool { return c >= None && c <= Zstd }

// String returns Kafka's name for the codec ("none", "gzip", "snappy", "lz4", "zstd").
func (c Codec) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Snappy:
		return "snappy"
	case LZ4:
		return "lz4"
	case Zstd:
		return "zstd"
	}
	return "codec(" + strconv.Itoa(int(c)) + ")"
}
