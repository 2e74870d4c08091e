package api

import (
	"log/slog"
)

// Env is what handlers reach of the rest of the broker. The broker builds
// one and hands it to the server; handlers treat it as read-only.
//
// Each field is a small interface declared here by the handlers that use it,
// so a handler file states exactly what it needs. A handler file that needs
// another method adds it to the interface here (an additive change) rather
// than reaching around Env.
type Env struct {
	// NodeID is this broker's node id.
	NodeID int32
	// Logger is the handlers' logger; never nil once the broker built Env.
	Logger *slog.Logger
	// Features describes feature levels for ApiVersions.
	Features FeatureSource
}

// FeatureSource reports the feature levels this node supports and the
// levels the cluster has finalized (KIP-584). Metadata owns them.
type FeatureSource interface {
	// SupportedFeatures lists the features this node's software supports.
	SupportedFeatures() []SupportedFeature
	// FinalizedFeatures lists the cluster's finalized levels and the epoch
	// (metadata offset) they were read at; levels of 0 are not listed.
	FinalizedFeatures() (epoch int64, levels []FinalizedFeature)
}

// SupportedFeature is a feature name and the range of levels supported.
type SupportedFeature struct {
	Name       string
	MinVersion int16
	MaxVersion int16
}

// FinalizedFeature is a feature name and the level the cluster runs at.
type FinalizedFeature struct {
	Name  string
	Level int16
}
