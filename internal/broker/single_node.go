package broker

import (
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/config"
)

// oneVoter reports whether cfg starts a one-voter metadata quorum: no --peers, or only this
// node itself (--peers may list it).
func oneVoter(cfg Config) bool {
	self := strconv.Itoa(int(cfg.NodeID))
	for _, p := range cfg.Peers {
		if id, _, _ := strings.Cut(strings.TrimSpace(p), "@"); id != self {
			return false
		}
	}
	return true
}

// applySingleNodeDefaults gives a one-voter node Kafka's single-node internal-topic settings
// (config.SingleNodeDefaults) unless the user set them; a cluster keeps Kafka's defaults
// (replication factor 3), so its internal topics wait for three live brokers.
func applySingleNodeDefaults(static map[string]string, cfg Config) {
	if oneVoter(cfg) {
		config.SingleNodeDefaults(static)
	}
}
