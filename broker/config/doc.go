// Package config is Takhin's config table: one typed row per Kafka config
// name, for topic configs (Topics) and broker configs (Brokers), each with
// Kafka 4.0's type, default and valid range, and Takhin's classification:
//
//   - Honoured: the data path does what the config says.
//   - TriviallySatisfied: accepted with any valid value and nothing to do
//     (meaningful only in a cluster, or Takhin already does better, or it
//     tunes machinery Takhin does not have). Note says which.
//   - Unsupported: only Kafka's default is accepted; any other value is
//     refused (the broker answers INVALID_CONFIG) with a message saying
//     Takhin does not support it yet.
//
// A Honoured or TriviallySatisfied row may also carry a Limit: valid Kafka
// values Takhin refuses the same way (more than one data directory).
//
// Resolution follows Kafka's precedence: a topic override (the metadata
// image's configs for that topic) beats the broker configs: the image's
// dynamic ones for this node, then its cluster-wide dynamic defaults
// (WithDynamic; only Kafka's dynamically updatable names, dynamic.go),
// then the static ones (flags beat the YAML file, which beats the
// defaults). A topic config without an
// override takes its broker synonyms in Kafka's order (log.retention.ms,
// then log.retention.minutes, then log.retention.hours) converted to its
// unit. Every resolved entry keeps its value typed and as a string, its
// source (Kafka's DescribeConfigs ConfigSource) and its synonyms.
//
// Errors are package-prefixed sentinels (errors.go); the broker maps every
// one of them to INVALID_CONFIG, using the error's text as the message.
//
// The package is pure: no I/O, no clock, no globals but the read-only
// tables. CONFIGS.md is generated from the tables (go test -run
// TestConfigsMarkdown -update) and is the README's "Configs" section.
package config
