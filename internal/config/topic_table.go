package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Topic config names (Kafka's), one for every row of topicTable.
const (
	CleanupPolicy                        Name = "cleanup.policy"
	CompressionType                      Name = "compression.type"
	CompressionGzipLevel                 Name = "compression.gzip.level"
	CompressionLz4Level                  Name = "compression.lz4.level"
	CompressionZstdLevel                 Name = "compression.zstd.level"
	DeleteRetentionMs                    Name = "delete.retention.ms"
	FileDeleteDelayMs                    Name = "file.delete.delay.ms"
	FlushMessages                        Name = "flush.messages"
	FlushMs                              Name = "flush.ms"
	FollowerReplicationThrottledReplicas Name = "follower.replication.throttled.replicas"
	IndexIntervalBytes                   Name = "index.interval.bytes"
	LeaderReplicationThrottledReplicas   Name = "leader.replication.throttled.replicas"
	LocalRetentionBytes                  Name = "local.retention.bytes"
	LocalRetentionMs                     Name = "local.retention.ms"
	MaxCompactionLagMs                   Name = "max.compaction.lag.ms"
	MaxMessageBytes                      Name = "max.message.bytes"
	MessageDownconversionEnable          Name = "message.downconversion.enable"
	MessageTimestampAfterMaxMs           Name = "message.timestamp.after.max.ms"
	MessageTimestampBeforeMaxMs          Name = "message.timestamp.before.max.ms"
	MessageTimestampType                 Name = "message.timestamp.type"
	MinCleanableDirtyRatio               Name = "min.cleanable.dirty.ratio"
	MinCompactionLagMs                   Name = "min.compaction.lag.ms"
	MinInsyncReplicas                    Name = "min.insync.replicas"
	Preallocate                          Name = "preallocate"
	RemoteLogCopyDisable                 Name = "remote.log.copy.disable"
	RemoteLogDeleteOnDisable             Name = "remote.log.delete.on.disable"
	RemoteStorageEnable                  Name = "remote.storage.enable"
	RetentionBytes                       Name = "retention.bytes"
	RetentionMs                          Name = "retention.ms"
	SegmentBytes                         Name = "segment.bytes"
	SegmentIndexBytes                    Name = "segment.index.bytes"
	SegmentJitterMs                      Name = "segment.jitter.ms"
	SegmentMs                            Name = "segment.ms"
	UncleanLeaderElectionEnable          Name = "unclean.leader.election.enable"
)

// Values of cleanup.policy, compression.type and message.timestamp.type.
const (
	CleanupPolicyDelete  = "delete"
	CleanupPolicyCompact = "compact"

	CompressionProducer     = "producer"
	CompressionUncompressed = "uncompressed"
	CompressionGzip         = "gzip"
	CompressionSnappy       = "snappy"
	CompressionLz4          = "lz4"
	CompressionZstd         = "zstd"

	TimestampCreateTime    = "CreateTime"
	TimestampLogAppendTime = "LogAppendTime"
)

var longMax = strconv.FormatInt(math.MaxInt64, 10)

var compressionTypes = OneOf(CompressionUncompressed, CompressionZstd, CompressionLz4, CompressionSnappy, CompressionGzip, CompressionProducer)

var gzipLevel = Either(Between(-1, -1), Between(1, 9))
var lz4Level = Between(1, 17)
var zstdLevel = Between(-131072, 22)

// throttledReplicas accepts "*", "", or partition:broker pairs, as Kafka's validator does.
var throttledReplicas = Func("[partitionId]:[brokerId],[partitionId]:[brokerId],... or *",
	func(_ string, list []string) error {
		if len(list) == 1 && list[0] == "*" {
			return nil
		}
		for _, e := range list {
			p, b, ok := strings.Cut(e, ":")
			if !ok {
				return fmt.Errorf("%q is not partition:broker", e)
			}
			if _, err := strconv.ParseUint(p, 10, 31); err != nil {
				return fmt.Errorf("%q: partition is not a non-negative integer", e)
			}
			if _, err := strconv.ParseUint(b, 10, 31); err != nil {
				return fmt.Errorf("%q: broker is not a non-negative integer", e)
			}
		}
		return nil
	})

func synonym(name Name) []Synonym { return []Synonym{{Name: name}} }

// topicTable is every topic config Kafka defines, with Kafka's types, defaults and validators.
// Configs Sluice accepts for compatibility but does not act on say so in their Doc.
var topicTable = []Def{
	{Name: CleanupPolicy, Type: TypeList, Default: CleanupPolicyDelete,
		Valid:    ListOf(false, CleanupPolicyCompact, CleanupPolicyDelete),
		Synonyms: synonym(LogCleanupPolicy),
		Doc: "What happens to old segments: \"delete\" removes them once they pass retention.ms or " +
			"retention.bytes; \"compact\" keeps only the latest record per key; \"compact,delete\" does both."},
	{Name: CompressionType, Type: TypeString, Default: CompressionProducer, Valid: compressionTypes,
		Synonyms: synonym(CompressionType),
		Doc: "Compression of batches as stored. \"producer\" keeps whatever codec the producer used; any " +
			"other value makes the broker recompress batches into that codec (\"uncompressed\" for none)."},
	{Name: CompressionGzipLevel, Type: TypeInt, Default: "-1", Valid: gzipLevel,
		Synonyms: synonym(CompressionGzipLevel),
		Doc:      "Level used when the broker compresses with gzip (-1 is the codec's default)."},
	{Name: CompressionLz4Level, Type: TypeInt, Default: "9", Valid: lz4Level,
		Synonyms: synonym(CompressionLz4Level),
		Doc:      "Level used when the broker compresses with lz4."},
	{Name: CompressionZstdLevel, Type: TypeInt, Default: "3", Valid: zstdLevel,
		Synonyms: synonym(CompressionZstdLevel),
		Doc:      "Level used when the broker compresses with zstd."},
	{Name: DeleteRetentionMs, Type: TypeLong, Default: "86400000", Valid: AtLeast(0),
		Synonyms: synonym(LogCleanerDeleteRetentionMs),
		Doc: "How long a compacted topic keeps tombstones (records with a null value), so that " +
			"consumers reading from the start still see the delete."},
	{Name: FileDeleteDelayMs, Type: TypeLong, Default: "60000", Valid: AtLeast(0),
		Synonyms: synonym(LogSegmentDeleteDelayMs),
		Doc: "Time between a segment leaving the log (retention, DeleteRecords, truncation, merged away by compaction) " +
			"and its files, renamed *.deleted meanwhile, being removed from disk."},
	{Name: FlushMessages, Type: TypeLong, Default: longMax, Valid: AtLeast(1),
		Synonyms: synonym(LogFlushIntervalMessages),
		Doc: "Force an fsync after this many messages. By default Sluice, like Kafka, leaves " +
			"durability to replication and the page cache."},
	{Name: FlushMs, Type: TypeLong, Default: longMax, Valid: AtLeast(0),
		Synonyms: []Synonym{{Name: LogFlushIntervalMs}, {Name: LogFlushSchedulerIntervalMs}},
		Doc:      "Force an fsync when unflushed data is older than this many milliseconds."},
	{Name: FollowerReplicationThrottledReplicas, Type: TypeList, Default: "", Valid: throttledReplicas,
		Doc: "Replicas whose follower-side replication is throttled (partition:broker pairs, the broker being the follower, " +
			"or * for all) at the follower's follower.replication.throttled.rate, while they are out of the ISR."},
	{Name: IndexIntervalBytes, Type: TypeInt, Default: "4096", Valid: AtLeast(0),
		Synonyms: synonym(LogIndexIntervalBytes),
		Doc:      "Bytes of log between two entries of the sparse offset index; smaller means faster seeks and bigger indexes."},
	{Name: LeaderReplicationThrottledReplicas, Type: TypeList, Default: "", Valid: throttledReplicas,
		Doc: "Replicas whose leader-side replication is throttled (partition:broker pairs, the broker being the leader, " +
			"or * for all) at the leader's leader.replication.throttled.rate, for followers out of the ISR."},
	{Name: LocalRetentionBytes, NoEffect: true, Type: TypeLong, Default: "-2", Valid: AtLeast(-2),
		Synonyms: synonym(LogLocalRetentionBytes),
		Doc: "With tiered storage, bytes kept on local disk before segments are only in the remote " +
			"tier; -2 means use retention.bytes. Sluice has no tiered storage yet."},
	{Name: LocalRetentionMs, NoEffect: true, Type: TypeLong, Default: "-2", Valid: AtLeast(-2),
		Synonyms: synonym(LogLocalRetentionMs),
		Doc: "With tiered storage, time segments stay on local disk; -2 means use retention.ms. " +
			"Sluice has no tiered storage yet."},
	{Name: MaxCompactionLagMs, Type: TypeLong, Default: longMax, Valid: AtLeast(1),
		Synonyms: synonym(LogCleanerMaxCompactionLagMs),
		Doc:      "Longest time a record may stay uncompacted in a compacted topic."},
	{Name: MaxMessageBytes, Type: TypeInt, Default: "1048588", Valid: AtLeast(0),
		Synonyms: synonym(MessageMaxBytes),
		Doc: "Largest record batch the topic accepts, after compression. Consumers' fetch sizes " +
			"must allow at least this much."},
	{Name: MessageDownconversionEnable, Type: TypeBoolean, Default: "true",
		Synonyms: synonym(LogMessageDownconversionEnable),
		Doc: "Whether consumers using Fetch v0-v3 (message formats v0/v1) get the topic's record " +
			"batches down-converted; off, they get UNSUPPORTED_VERSION, as in Kafka 3 (Kafka 4 " +
			"removed both)."},
	{Name: MessageTimestampAfterMaxMs, Type: TypeLong, Default: "3600000", Valid: AtLeast(0),
		Synonyms: synonym(LogMessageTimestampAfterMaxMs),
		Doc: "With CreateTime, reject batches whose timestamp is more than this far ahead of the " +
			"broker's clock."},
	{Name: MessageTimestampBeforeMaxMs, Type: TypeLong, Default: longMax, Valid: AtLeast(0),
		Synonyms: synonym(LogMessageTimestampBeforeMaxMs),
		Doc: "With CreateTime, reject batches whose timestamp is more than this far behind the " +
			"broker's clock."},
	{Name: MessageTimestampType, Type: TypeString, Default: TimestampCreateTime,
		Valid:    OneOf(TimestampCreateTime, TimestampLogAppendTime),
		Synonyms: synonym(LogMessageTimestampType),
		Doc: "CreateTime keeps the producer's timestamps; LogAppendTime replaces them with the " +
			"broker's clock when the batch is appended."},
	{Name: MinCleanableDirtyRatio, Type: TypeDouble, Default: "0.5", Valid: FloatBetween(0, 1),
		Synonyms: synonym(LogCleanerMinCleanableRatio),
		Doc:      "Compaction starts once this fraction of a compacted log has not been compacted yet."},
	{Name: MinCompactionLagMs, Type: TypeLong, Default: "0", Valid: AtLeast(0),
		Synonyms: synonym(LogCleanerMinCompactionLagMs),
		Doc:      "Shortest time a record stays uncompacted, so consumers can see every update for a while."},
	{Name: MinInsyncReplicas, Type: TypeInt, Default: "1", Valid: AtLeast(1),
		Synonyms: synonym(MinInsyncReplicas),
		Doc: "With acks=all, a write succeeds only while at least this many replicas are in sync; " +
			"otherwise the producer gets NOT_ENOUGH_REPLICAS."},
	{Name: Preallocate, NoEffect: true, Type: TypeBoolean, Default: "false",
		Synonyms: synonym(LogPreallocate),
		Doc:      "Preallocate the file of a new segment. Accepted for compatibility; Sluice does not preallocate."},
	{Name: RemoteLogCopyDisable, NoEffect: true, Type: TypeBoolean, Default: "false",
		Doc: "With tiered storage, stop copying segments to the remote tier. Sluice has no tiered storage yet."},
	{Name: RemoteLogDeleteOnDisable, NoEffect: true, Type: TypeBoolean, Default: "false",
		Doc: "With tiered storage, delete remote data when tiering is turned off. Sluice has no tiered storage yet."},
	{Name: RemoteStorageEnable, NoEffect: true, Type: TypeBoolean, Default: "false",
		Doc: "Tier closed segments to remote storage. Sluice has no tiered storage yet."},
	{Name: RetentionBytes, Type: TypeLong, Default: "-1",
		Synonyms: synonym(LogRetentionBytes),
		Doc: "Delete the oldest segments once a partition is larger than this; -1 means no size " +
			"limit. Applies per partition."},
	{Name: RetentionMs, Type: TypeLong, Default: "604800000", Valid: AtLeast(-1),
		Synonyms: []Synonym{{Name: LogRetentionMs}, {Name: LogRetentionMinutes, Convert: MinutesToMs},
			{Name: LogRetentionHours, Convert: HoursToMs}},
		Doc: "Delete a segment once its newest record is older than this; -1 means no time limit."},
	{Name: SegmentBytes, Type: TypeInt, Default: "1073741824", Valid: AtLeast(1 << 20),
		Synonyms: synonym(LogSegmentBytes),
		Doc:      "Size at which the active segment is closed and a new one started."},
	{Name: SegmentIndexBytes, Type: TypeInt, Default: "10485760", Valid: AtLeast(4),
		Synonyms: synonym(LogIndexSizeMaxBytes),
		Doc:      "Largest size of a segment's offset index; a full index also rolls the segment."},
	{Name: SegmentJitterMs, Type: TypeLong, Default: "0", Valid: AtLeast(0),
		Synonyms: []Synonym{{Name: LogRollJitterMs}, {Name: LogRollJitterHours, Convert: HoursToMs}},
		Doc:      "Random time subtracted from segment.ms per segment, so partitions do not all roll at once."},
	{Name: SegmentMs, Type: TypeLong, Default: "604800000", Valid: AtLeast(1),
		Synonyms: []Synonym{{Name: LogRollMs}, {Name: LogRollHours, Convert: HoursToMs}},
		Doc: "Age at which the active segment is closed even if not full, so that retention and " +
			"compaction can act on it."},
	schemaTopicRows[0], schemaTopicRows[1], schemaTopicRows[2], schemaTopicRows[3], // topic_schema.go
	{Name: UncleanLeaderElectionEnable, Type: TypeBoolean, Default: "false",
		Synonyms: synonym(UncleanLeaderElectionEnable),
		Doc: "Allow a replica outside the ISR to become leader when no in-sync replica is left: " +
			"the partition comes back sooner but acknowledged records may be lost. The active controller applies a change on its next maintenance pass."},
}
