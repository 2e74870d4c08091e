package partition

import (
	"fmt"
	"sync"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/record"
)

// topicCodec maps a compression.type value to the codec the leader
// rewrites batches with; ok is false for "producer" (keep the producer's).
func topicCodec(name string) (c record.Codec, ok bool) {
	switch name {
	case config.CompressionUncompressed:
		return record.None, true
	case config.CompressionGzip:
		return record.Gzip, true
	case config.CompressionSnappy:
		return record.Snappy, true
	case config.CompressionLz4:
		return record.LZ4, true
	case config.CompressionZstd:
		return record.Zstd, true
	}
	return record.None, false
}

// codecLevel reads the level configured for codec.
func codecLevel(r *config.Resolved, codec record.Codec) int {
	switch codec {
	case record.Gzip:
		return int(r.Int(config.CompressionGzipLevel))
	case record.LZ4:
		return int(r.Int(config.CompressionLz4Level))
	case record.Zstd:
		return int(r.Int(config.CompressionZstdLevel))
	}
	return 0
}

// recompressBuffers hold the rewritten record set between validation and
// the append; the log copies the bytes into its file, so a buffer returns to
// the pool once Append is done with it.
var (
	recompressBuffers  = sync.Pool{New: func() any { return new([]byte) }}
	recompressBuilders = sync.Pool{New: func() any { return record.NewBuilder(record.None) }}
)

// putRecompressBuffer returns a buffer to the pool unless one large request
// grew it past what is worth keeping.
func putRecompressBuffer(b *[]byte) {
	if cap(*b) <= 8<<20 {
		recompressBuffers.Put(b)
	}
}

// needsRecompression reports whether any batch of an already validated
// record set is compressed with another codec than the topic's.
func needsRecompression(records []byte, cfg Config) bool {
	if !cfg.Recompress {
		return false
	}
	it := record.NewBatches(records)
	for _, h, ok := it.Next(); ok; _, h, ok = it.Next() {
		if h.Compression() != cfg.Codec {
			return true
		}
	}
	return false
}

// recompress rewrites every batch of a validated record set with codec, the
// way Kafka's leader does when a topic's compression.type is not
// "producer": the same records (keys, values, headers, create times, offset
// deltas) at the topic's codec level, and the same producer id, epoch, base sequence and transactional
// flag, in a new batch with a fresh CRC. Batches already in codec are
// copied unchanged. The result lives in *buf (pooled by the caller).
//
// Unlike the rest of the produce path this decompresses and copies record
// bytes: it is the price of a topic-level codec, paid only when producer and
// topic disagree.
func recompress(records []byte, codec record.Codec, level int, buf *[]byte) ([]byte, error) {
	b := recompressBuilders.Get().(*record.Builder)
	defer recompressBuilders.Put(b)
	scratch := decompressBuffers.Get().(*[]byte)
	defer decompressBuffers.Put(scratch)
	out := (*buf)[:0]
	it := record.NewBatches(records)
	for batch, h, ok := it.Next(); ok; batch, h, ok = it.Next() {
		if h.Compression() == codec {
			out = append(out, batch...)
			continue
		}
		recs, grown, err := record.Iterate(batch, *scratch, record.DefaultMaxDecompressedSize)
		*scratch = grown
		if err != nil {
			return nil, fmt.Errorf("recompress: %w", err)
		}
		b.Reset()
		b.Codec, b.Level, b.BaseOffset, b.PartitionLeaderEpoch = codec, level, h.BaseOffset, h.PartitionLeaderEpoch
		b.ProducerID, b.ProducerEpoch, b.BaseSequence = h.ProducerID, h.ProducerEpoch, h.BaseSequence
		b.Transactional, b.Control = h.IsTransactional(), false
		var rec record.Record
		for recs.Next(&rec) {
			if err := b.AddRecord(&rec); err != nil {
				return nil, fmt.Errorf("recompress: %w", err)
			}
		}
		if err := recs.Err(); err != nil {
			return nil, fmt.Errorf("recompress: %w", err)
		}
		if out, err = b.Build(out); err != nil {
			return nil, fmt.Errorf("recompress: %w", err)
		}
	}
	*buf = out
	return out, it.Err()
}

// checkBatchSizes applies max.message.bytes to batches the leader rewrote:
// a recompressed batch can outgrow the limit its original met.
func checkBatchSizes(records []byte, limit int32) error {
	it := record.NewBatches(records)
	for _, h, ok := it.Next(); ok; _, h, ok = it.Next() {
		if h.Size() > int(limit) {
			return fmt.Errorf("%w: recompressed batch of %d bytes, limit %d", ErrMessageTooLarge, h.Size(), limit)
		}
	}
	return it.Err()
}
