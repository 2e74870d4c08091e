package storage

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return tp.Topic + "-" + strconv.Itoa(int(tp.Partition)) }

// Names of the files in a data directory and a partition directory (docs/format/layout.md).
const (
	recoveryPointCheckpointName  = "recovery-point-offset-checkpoint"
	logStartOffsetCheckpointName = "log-start-offset-checkpoint"
	replicationCheckpointName    = "replication-offset-checkpoint"
	cleanShutdownName            = ".kafka_cleanshutdown"
	leaderEpochCheckpointName    = "leader-epoch-checkpoint"
	partitionMetadataName        = "partition.metadata"
	tmpSuffix                    = ".tmp"
	deleteSuffix                 = "-delete"
	deletedSuffix                = ".deleted" // a segment file waiting out file.delete.delay.ms
	clusterMetadataDirPrefix     = "__cluster_metadata"
	// metaPropertiesPrefix: the quorum's identity file (meta.properties) and its temporary,
	// which the quorum may be writing while storage loads: not ours to remove.
	metaPropertiesPrefix = "meta.properties"
)

// fileKind is one of the files of a segment.
type fileKind uint8

const (
	kindLog fileKind = iota
	kindIndex
	kindTimeIndex
	kindTxnIndex
	numKinds
)

var kindExt = [numKinds]string{".log", ".index", ".timeindex", ".txnindex"}

// segmentFileName is the 20-digit base offset and the kind's extension.
func segmentFileName(base int64, kind fileKind) string {
	return fmt.Sprintf("%020d%s", base, kindExt[kind])
}

// parseSegmentFileName returns the base offset and kind of a segment file name.
func parseSegmentFileName(name string) (int64, fileKind, bool) {
	for k := range numKinds {
		ext := kindExt[k]
		if !strings.HasSuffix(name, ext) {
			continue
		}
		digits := name[:len(name)-len(ext)]
		if len(digits) != 20 {
			return 0, 0, false
		}
		base, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || base < 0 {
			return 0, 0, false
		}
		return base, k, true
	}
	return 0, 0, false
}

// parsePartitionDir parses "<topic>-<partition>".
func parsePartitionDir(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || strconv.FormatInt(p, 10) != name[i+1:] {
		return TopicPartition{}, false
	}
	topic := name[:i]
	if !validTopicName(topic) {
		return TopicPartition{}, false
	}
	return TopicPartition{Topic: topic, Partition: int32(p)}, true
}

// validTopicName applies Kafka's rule: 1-249 characters of [a-zA-Z0-9._-], not "." or "..".
func validTopicName(t string) bool {
	if len(t) == 0 || len(t) > 249 || t == "." || t == ".." {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func partitionDirName(dataDir string, tp TopicPartition) string {
	return filepath.Join(dataDir, tp.String())
}
