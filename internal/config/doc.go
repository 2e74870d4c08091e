// Package config is Sluice's one table of topic and broker configs: for each config its Kafka
// name, type, default, validator, documentation, whether it can change at run time, and (for
// topic configs) the broker configs it inherits from. Validation of CreateTopics and
// AlterConfigs, DescribeConfigs (values, sources, synonyms, documentation, types), the broker's
// start-up configuration and docs/configs.md all come from this table and nothing else.
//
// Values travel as strings, as in Kafka: the metadata log stores a topic's overrides and the
// dynamic broker configs as key=value strings in canonical form (see Def.Normalize), and a
// Resolved turns the layers into typed values.
//
// Precedence, highest first (Kafka's): a topic's own override (DYNAMIC_TOPIC_CONFIG), this
// broker's dynamic config (DYNAMIC_BROKER_CONFIG), the cluster-wide dynamic default
// (DYNAMIC_DEFAULT_BROKER_CONFIG), the static broker config (STATIC_BROKER_CONFIG), the built-in
// default (DEFAULT_CONFIG). Within each broker layer a topic config looks at its synonyms in
// order: retention.ms ← log.retention.ms, then log.retention.minutes, then log.retention.hours,
// converting units.
//
// Invariants: every built-in default passes its own validator; every topic synonym is a broker
// config; a topic config's default equals its first defaulted synonym's default, converted.
// The tests hold the table to these, so resolution never fails on built-in values.
//
// Example:
//
//	overrides, err := config.ValidateTopic(map[string]string{"retention.ms": "3600000"})
//	if err != nil { ... } // wraps config.ErrUnknownConfig or config.ErrInvalidValue, names key and value
//	eff := config.ResolveTopic(config.Layers{Topic: overrides, Static: staticBrokerConfig})
//	retention := eff.Int64(config.RetentionMs)
//	e, _ := eff.Entry(config.RetentionMs) // e.Source == config.SourceDynamicTopic
//
// docs/configs.md is generated from the table:
//
//go:generate go test -run TestConfigsDoc -update
package config
