package api

import (
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/record"
)

// Fetch v0–v3 predate record batch v2: their consumers read message sets of magic 0 (v0–v1)
// or magic 1 (v2–v3). Sluice stores v2 batches only, so what such a fetch reads is copied out
// of the log and down-converted (record.DownConvert) instead of spliced with sendfile, as
// Kafka 3's broker did for them. The work is bounded by the read: the partition's bytes
// (its PartitionMaxBytes, or the first batch whole), and the converted set stops at that
// size once one batch is in (the first batch is converted whole so the consumer progresses).

// legacyReadBuffers hold a partition's v2 bytes while they are down-converted.
var legacyReadBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledLegacyRead: larger read buffers are left to the GC.
const maxPooledLegacyRead = 8 << 20

// downConversionAllowed is message.downconversion.enable for t's topic: off, an old consumer
// gets UNSUPPORTED_VERSION for the partition, as Kafka 3 answered.
func (f *fetch) downConversionAllowed(t *fetchTarget) int16 {
	if f.replica >= 0 || f.env.TopicConfig(f.img, t.topic).Bool(config.MessageDownconversionEnable) {
		return 0
	}
	return kerr.UnsupportedVersion.Code
}

// downConvert replaces rp's records with t's read rewritten as a v0/v1 message set, then
// releases the read (its bytes are copied). A batch that cannot be converted (zstd, which
// message formats v0/v1 cannot carry: UNSUPPORTED_COMPRESSION_TYPE; unreadable bytes) fails
// the partition when it is the first, and ends the set otherwise.
func (f *fetch) downConvert(t *fetchTarget, rp *kmsg.FetchResponseTopicPartition) {
	defer t.res.Records.Release()
	n := t.res.Records.Bytes()
	buf := legacyReadBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledLegacyRead {
			legacyReadBuffers.Put(buf)
		}
	}()
	if int64(cap(*buf)) < n {
		*buf = make([]byte, n)
	}
	v2 := (*buf)[:n]
	var at int64
	for _, r := range t.res.Records.Regions {
		if _, err := r.ReadAt(v2[at:at+r.Len()], 0); err != nil {
			f.failPartition(rp, kerr.KafkaStorageError.Code)
			return
		}
		at += r.Len()
	}
	magic := int8(1)
	if f.req.Version <= 1 {
		magic = 0
	}
	// Room for the usual growth (v0/v1 spend 14-22 bytes per message more than v2 records),
	// so the set is not copied as it grows.
	set, converted, err := record.DownConvert(make([]byte, 0, n+n/2), v2, record.DownConvertOptions{Magic: magic, FetchOffset: t.fetchOffset, MaxBytes: int(n)})
	if err != nil {
		f.failPartition(rp, ErrorCode(fmt.Errorf("down-convert %s-%d: %w", t.topic.Name, t.key.partition, err)))
		return
	}
	rp.RecordBatches = set
	if m, ok := f.env.TopicMetrics.(ConversionMetrics); ok && converted.Records > 0 {
		m.FetchConverted(t.topic.Name, int64(converted.Records))
	}
}

// failPartition answers a partition with an error: no records, offsets -1.
func (f *fetch) failPartition(rp *kmsg.FetchResponseTopicPartition, code int16) {
	rp.ErrorCode, rp.RecordBatches = code, []byte{}
	rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
}
