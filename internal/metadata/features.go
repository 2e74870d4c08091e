package metadata

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
)

// MetadataVersionFeature is the feature Kafka uses to version the metadata log.
const MetadataVersionFeature = "metadata.version"

// ShareVersionFeature turns share groups (KIP-932) on (1) and off (0), as in Kafka 4.1+; a new
// cluster finalizes 1, as Kafka 4.2 does (share groups are production-ready there).
const ShareVersionFeature = "share.version"

// FeatureRange is the range of levels of a feature this build supports, and the level a new
// cluster finalizes.
type FeatureRange struct {
	Name       string
	MinLevel   int16
	MaxLevel   int16
	Bootstrap  int16 // level finalized when a cluster is created; 0 = not finalized
	Production bool
}

// supportedFeatures lists what ApiVersions advertises and UpdateFeatures accepts. Sluice's
// metadata encoding does not depend on metadata.version, so it supports exactly the level of
// the Kafka release it targets (4.2-IV0 = 28): clients that look at it see a 4.2 cluster, and
// no level is offered that would pretend to change behaviour. Features that later issues
// implement (transaction.version, group.version) are added here with them.
var supportedFeatures = []FeatureRange{
	{Name: MetadataVersionFeature, MinLevel: 28, MaxLevel: 28, Bootstrap: 28, Production: true},
	{Name: ShareVersionFeature, MinLevel: 0, MaxLevel: 1, Bootstrap: 1, Production: true},
}

// SupportedFeatures returns the features this build supports, by name. Callers must not modify it.
func SupportedFeatures() []FeatureRange { return supportedFeatures }

// SupportedFeature returns the supported range of one feature.
func SupportedFeature(name string) (FeatureRange, bool) {
	for _, f := range supportedFeatures {
		if f.Name == name {
			return f, true
		}
	}
	return FeatureRange{}, false
}

// NewClusterID returns a random cluster id in Kafka's form (a base64url UUID, 22 characters).
func NewClusterID(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("generate cluster id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// BootstrapRecords are the records the first leader of a new cluster commits: the cluster id
// and the bootstrap level of every supported feature.
func BootstrapRecords(clusterID string) []Record {
	recs := []Record{&ClusterIDRecord{ClusterID: clusterID}}
	for _, f := range supportedFeatures {
		if f.Bootstrap > 0 {
			recs = append(recs, &FeatureLevelRecord{Name: f.Name, Level: f.Bootstrap})
		}
	}
	return recs
}
