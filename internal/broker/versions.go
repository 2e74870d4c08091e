package broker

import (
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/metadata"
)

// followVersions keeps b.versions, the Env.Versions of the broker and controller listeners,
// on sluice.protocol.legacy.versions.enable: from the static config at once, then from every
// Image whose dynamic broker configs for this node changed (the config is cluster-wide
// dynamic). It runs on every node, controller-only ones included, before any listener serves.
func (b *Broker) followVersions() {
	b.versions.SetLegacy(config.ResolveBroker(config.Layers{Static: b.static}).Bool(config.SluiceProtocolLegacyVersionsEnable))
	b.unfollowVersions = b.quorum.Subscribe(func(prev, next *metadata.Image) {
		if prev != nil && sameDynamicConfigs(prev, next, b.cfg.NodeID) {
			return
		}
		perBroker, clusterDefault := next.DynamicConfigsFor(b.cfg.NodeID)
		resolved := config.ResolveBroker(config.Layers{DynamicBroker: perBroker, DynamicDefault: clusterDefault, Static: b.static})
		b.versions.SetLegacy(resolved.Bool(config.SluiceProtocolLegacyVersionsEnable))
	})
}
