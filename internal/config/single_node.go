package config

// singleNodeValues are what Kafka's shipped single-node server.properties (config/server.properties
// of the KRaft quickstart) sets for the internal topics, whose built-in defaults (replication
// factor 3, transaction.state.log.min.isr 2) a lone broker cannot satisfy.
var singleNodeValues = map[Name]string{
	OffsetsTopicReplicationFactor:  "1",
	TransactionStateLogReplication: "1",
	TransactionStateLogMinIsr:      "1",
	// Kafka 4's server.properties sets these too.
	ShareCoordinatorStateTopicReplicationFactor: "1",
	ShareCoordinatorStateTopicMinIsr:            "1",
}

// SingleNodeDefaults adds to static (a broker's STATIC_BROKER_CONFIG layer, canonical names)
// the single-node values of offsets.topic.replication.factor,
// transaction.state.log.replication.factor and transaction.state.log.min.isr that the user did
// not set, as Kafka's single-node server.properties does, so that a node started without other
// voters serves consumer groups and transactions out of the box. DescribeConfigs then reports
// them as STATIC_BROKER_CONFIG, as Kafka reports the values of its server.properties. The
// broker calls it only for a one-voter quorum; clusters keep Kafka's defaults.
func SingleNodeDefaults(static map[string]string) {
	for name, v := range singleNodeValues {
		if _, ok := static[string(name)]; !ok {
			static[string(name)] = v
		}
	}
}
