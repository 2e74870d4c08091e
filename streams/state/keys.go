package state

import (
	"bytes"
	"encoding/binary"
)

// Kafka Streams' byte layouts of windowed keys (all integers big-endian):
//
//	window changelog (WindowKeySchema.toStoreKeyBinary): key | start int64 | seqnum int32
//	session changelog and SessionWindowedSerializer (SessionKeySchema): key | end int64 | start int64
//	TimeWindowedSerializer (output topics):               key | start int64
//
// The key is not length-prefixed: it is everything before the fixed-size suffix.

// AppendWindowChangelogKey appends key | start | seq to dst.
func AppendWindowChangelogKey(dst, key []byte, start int64, seq int32) []byte {
	dst = append(dst, key...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(start))
	return binary.BigEndian.AppendUint32(dst, uint32(seq))
}

// ParseWindowChangelogKey splits a window changelog key. The returned key aliases b.
func ParseWindowChangelogKey(b []byte) (key []byte, start int64, seq int32, err error) {
	if len(b) < 12 {
		return nil, 0, 0, ErrCorruptKey
	}
	n := len(b) - 12
	return b[:n:n], int64(binary.BigEndian.Uint64(b[n:])), int32(binary.BigEndian.Uint32(b[n+8:])), nil
}

// AppendSessionKey appends key | end | start to dst: the session changelog key and Kafka
// Streams' SessionWindowedSerializer layout.
func AppendSessionKey(dst, key []byte, start, end int64) []byte {
	dst = append(dst, key...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(end))
	return binary.BigEndian.AppendUint64(dst, uint64(start))
}

// ParseSessionKey splits key | end | start. A session whose end precedes its start is
// ErrCorruptKey. The returned key aliases b.
func ParseSessionKey(b []byte) (key []byte, start, end int64, err error) {
	if len(b) < 16 {
		return nil, 0, 0, ErrCorruptKey
	}
	n := len(b) - 16
	end = int64(binary.BigEndian.Uint64(b[n:]))
	start = int64(binary.BigEndian.Uint64(b[n+8:]))
	if end < start {
		return nil, 0, 0, ErrCorruptKey
	}
	return b[:n:n], start, end, nil
}

// AppendTimeWindowedKey appends key | start: Kafka Streams' TimeWindowedSerializer layout.
func AppendTimeWindowedKey(dst, key []byte, start int64) []byte {
	dst = append(dst, key...)
	return binary.BigEndian.AppendUint64(dst, uint64(start))
}

// ParseTimeWindowedKey splits key | start. The returned key aliases b. (The window's end is not
// in the bytes: TimeWindowedDeserializer takes the window size from its configuration.)
func ParseTimeWindowedKey(b []byte) (key []byte, start int64, err error) {
	if len(b) < 8 {
		return nil, 0, ErrCorruptKey
	}
	n := len(b) - 8
	return b[:n:n], int64(binary.BigEndian.Uint64(b[n:])), nil
}

// Internal (Pebble and in-memory) layouts are order-preserving: times as big-endian with the
// sign bit flipped, user keys escaped (0x00 -> 0x00 0xff) and terminated by 0x00 0x01, so a
// key that is a prefix of another sorts first and no key's bytes run into the time after it.

func appendTime(dst []byte, t int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(t)^(1<<63))
}

func readTime(b []byte) int64 {
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
}

func appendEscaped(dst, key []byte) []byte {
	for {
		i := bytes.IndexByte(key, 0)
		if i < 0 {
			break
		}
		dst = append(dst, key[:i]...)
		dst = append(dst, 0, 0xff)
		key = key[i+1:]
	}
	dst = append(dst, key...)
	return append(dst, 0, 1)
}

// readEscaped decodes an escaped key at the start of b, appending it to dst; it returns the
// key and the rest of b after the terminator.
func readEscaped(dst, b []byte) (key, rest []byte, ok bool) {
	for {
		i := bytes.IndexByte(b, 0)
		if i < 0 || i+1 >= len(b) {
			return nil, nil, false
		}
		dst = append(dst, b[:i]...)
		switch b[i+1] {
		case 0xff:
			dst = append(dst, 0)
			b = b[i+2:]
		case 1:
			return dst, b[i+2:], true
		default:
			return nil, nil, false
		}
	}
}
