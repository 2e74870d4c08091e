package partition

import (
	"math"
	"slices"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/record"
)

// Config is the part of a topic's configuration the partition leader
// enforces on produce. Start from DefaultConfig or FromResolved.
type Config struct {
	// MaxMessageBytes bounds one record batch (max.message.bytes).
	MaxMessageBytes int32
	// MinInsyncReplicas is the ISR size acks=all requires (min.insync.replicas).
	MinInsyncReplicas int
	// Compacted reports cleanup.policy includes compact: records need keys.
	Compacted bool
	// LogAppendTime reports message.timestamp.type=LogAppendTime: the
	// broker stamps batches with its clock.
	LogAppendTime bool
	// TimestampBeforeMaxMs and TimestampAfterMaxMs bound how far a CreateTime
	// timestamp may lie behind or ahead of the broker's clock
	// (message.timestamp.before.max.ms, message.timestamp.after.max.ms).
	TimestampBeforeMaxMs int64
	TimestampAfterMaxMs  int64
	// Recompress and Codec carry compression.type: unless it is "producer"
	// (Recompress false, the default), the leader rewrites batches
	// compressed with another codec than Codec.
	Recompress bool
	Codec      record.Codec
	// Level is Codec's level from compression.gzip.level,
	// compression.lz4.level or compression.zstd.level.
	Level int
	// SchemaIDs is the topic's schema id validation settings, which internal/api enforces
	// before Append (the partition itself does not look at them).
	SchemaIDs SchemaIDValidation
}

// SchemaIDValidation is sluice.{key,value}.schema.id.validation and
// sluice.{key,value}.subject.name.strategy (strategies by their short names,
// config.TopicNameStrategy ...).
type SchemaIDValidation struct {
	Key, Value                 bool
	KeyStrategy, ValueStrategy string
}

// On reports whether keys or values are validated.
func (v SchemaIDValidation) On() bool { return v.Key || v.Value }

// DefaultConfig is Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		MaxMessageBytes:      1048588,
		MinInsyncReplicas:    1,
		TimestampBeforeMaxMs: math.MaxInt64,
		TimestampAfterMaxMs:  3600000,
	}
}

// FromResolved reads the partition's settings from a topic's effective
// configuration.
func FromResolved(r *config.Resolved) Config {
	codec, recompress := topicCodec(r.String(config.CompressionType))
	return Config{
		Recompress:           recompress,
		Codec:                codec,
		Level:                codecLevel(r, codec),
		MaxMessageBytes:      r.Int(config.MaxMessageBytes),
		MinInsyncReplicas:    int(r.Int(config.MinInsyncReplicas)),
		Compacted:            slices.Contains(r.List(config.CleanupPolicy), config.CleanupPolicyCompact),
		LogAppendTime:        r.String(config.MessageTimestampType) == config.TimestampLogAppendTime,
		TimestampBeforeMaxMs: r.Int64(config.MessageTimestampBeforeMaxMs),
		TimestampAfterMaxMs:  r.Int64(config.MessageTimestampAfterMaxMs),
		SchemaIDs: SchemaIDValidation{
			Key:           r.Bool(config.SluiceKeySchemaIDValidation),
			Value:         r.Bool(config.SluiceValueSchemaIDValidation),
			KeyStrategy:   config.SubjectNameStrategy(r.String(config.SluiceKeySubjectNameStrategy)),
			ValueStrategy: config.SubjectNameStrategy(r.String(config.SluiceValueSubjectNameStrategy)),
		},
	}
}
