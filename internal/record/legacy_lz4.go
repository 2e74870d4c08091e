package record

import (
	"encoding/binary"
	"math/bits"
)

// Kafka's KafkaLZ4BlockOutputStream before 0.10 computed the LZ4 frame descriptor's header
// checksum (HC) over the frame's magic number as well as the descriptor, where the LZ4 frame
// format says the descriptor alone. Message format v0 keeps that framing for compatibility:
// Kafka ignores HC when reading a v0 wrapper and writes the old checksum into one, and old
// clients (kafka-python, librdkafka) expect it there. v1 wrappers use the correct checksum.
//
// An LZ4 frame starts with
//
//	magic  4 bytes  0x184D2204 (little endian)
//	FLG    1 byte   bit 3: content size present, bit 0: dictionary id present
//	BD     1 byte
//	[content size 8 bytes] [dictionary id 4 bytes]
//	HC     1 byte   (xxh32(descriptor, seed 0) >> 8) & 0xff; descriptor = FLG .. before HC

const (
	lz4FrameMagic  = 0x184D2204
	lz4FlagSize    = 0x08
	lz4FlagDictID  = 0x01
	lz4DescStart   = 4 // FLG
	lz4MinFrameHdr = 7 // magic, FLG, BD, HC
)

// lz4DescriptorEnd returns where HC sits in frame, or -1 if frame does not start with an LZ4
// frame header.
func lz4DescriptorEnd(frame []byte) int {
	if len(frame) < lz4MinFrameHdr || binary.LittleEndian.Uint32(frame) != lz4FrameMagic {
		return -1
	}
	end := lz4DescStart + 2
	if frame[lz4DescStart]&lz4FlagSize != 0 {
		end += 8
	}
	if frame[lz4DescStart]&lz4FlagDictID != 0 {
		end += 4
	}
	if end >= len(frame) {
		return -1
	}
	return end
}

// fixLegacyLZ4 returns a v0 wrapper's LZ4 payload with the header checksum the LZ4 format
// expects, copying the payload only when the checksum differs. A payload that is not an LZ4
// frame is returned as it is (decompression then reports it).
func fixLegacyLZ4(payload []byte) []byte {
	hc := lz4DescriptorEnd(payload)
	if hc < 0 {
		return payload
	}
	want := lz4HeaderChecksum(payload[lz4DescStart:hc])
	if payload[hc] == want {
		return payload
	}
	fixed := append([]byte(nil), payload...)
	fixed[hc] = want
	return fixed
}

// breakLegacyLZ4 rewrites, in place, the header checksum of an LZ4 frame Sluice compressed to
// the one Kafka writes into v0 wrappers (computed from the frame's first byte).
func breakLegacyLZ4(frame []byte) {
	if hc := lz4DescriptorEnd(frame); hc >= 0 {
		frame[hc] = lz4HeaderChecksum(frame[:hc])
	}
}

func lz4HeaderChecksum(b []byte) byte { return byte(xxh32(b) >> 8) }

// xxh32 is XXH32 with seed 0 (frame descriptors are at most 18 bytes).
func xxh32(b []byte) uint32 {
	const (
		prime1 uint32 = 2654435761
		prime2 uint32 = 2246822519
		prime3 uint32 = 3266489917
		prime4 uint32 = 668265263
		prime5 uint32 = 374761393
	)
	n := uint32(len(b))
	h := prime5
	if len(b) >= 16 {
		p1, p2 := prime1, prime2 // variables: the seeds wrap around, as the algorithm means
		v := [4]uint32{p1 + p2, p2, 0, -p1}
		for ; len(b) >= 16; b = b[16:] {
			for i := range v {
				v[i] = bits.RotateLeft32(v[i]+binary.LittleEndian.Uint32(b[4*i:])*prime2, 13) * prime1
			}
		}
		h = bits.RotateLeft32(v[0], 1) + bits.RotateLeft32(v[1], 7) + bits.RotateLeft32(v[2], 12) + bits.RotateLeft32(v[3], 18)
	}
	h += n
	for ; len(b) >= 4; b = b[4:] {
		h += binary.LittleEndian.Uint32(b) * prime3
		h = bits.RotateLeft32(h, 17) * prime4
	}
	for _, c := range b {
		h += uint32(c) * prime5
		h = bits.RotateLeft32(h, 11) * prime1
	}
	h ^= h >> 15
	h *= prime2
	h ^= h >> 13
	h *= prime3
	h ^= h >> 16
	return h
}
