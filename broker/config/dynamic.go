package config

import (
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The DescribeConfigs sources of dynamic broker configs.
const (
	SourceDynamicBroker        = kmsg.ConfigSourceDynamicBrokerConfig
	SourceDynamicDefaultBroker = kmsg.ConfigSourceDynamicDefaultBrokerConfig
)

// dynamicBrokerConfigs are the broker configs the admin APIs may change
// (IncrementalAlterConfigs and AlterConfigs on a BROKER resource, per node
// or cluster-wide), sorted. They are Apache Kafka 4.0's dynamic ones
// (DynamicBrokerConfig.AllDynamicConfigs: DynamicLogConfig's primary
// broker synonyms of topic configs, LogCleaner's, DynamicThreadPool's,
// SocketServer's) that the table has, except two Takhin reads only at
// start-up and so keeps read-only: max.connections and
// producer.id.expiration.ms. All are cluster-wide in Kafka (settable for
// one broker too); Takhin has none of Kafka's per-broker-only ones
// (listeners, advertised.listeners and the security configs are
// read-only here). Kafka's other dynamic names are not in the table yet:
// log.cleaner.{dedupe.buffer.size, io.buffer.size, io.buffer.load.factor,
// io.max.bytes.per.second, backoff.ms}, num.replica.fetchers,
// max.connection.creation.rate, max.connections.per.ip.overrides; whoever
// adds one of their rows adds it here too.
var dynamicBrokerConfigs = []string{
	"background.threads",
	"compression.gzip.level",
	"compression.lz4.level",
	"compression.type",
	"compression.zstd.level",
	"log.cleaner.delete.retention.ms",
	"log.cleaner.max.compaction.lag.ms",
	"log.cleaner.min.cleanable.ratio",
	"log.cleaner.min.compaction.lag.ms",
	"log.cleaner.threads",
	"log.cleanup.policy",
	"log.flush.interval.messages",
	"log.flush.interval.ms",
	"log.index.interval.bytes",
	"log.index.size.max.bytes",
	"log.local.retention.bytes",
	"log.local.retention.ms",
	"log.message.downconversion.enable",
	"log.message.timestamp.after.max.ms",
	"log.message.timestamp.before.max.ms",
	"log.message.timestamp.type",
	"log.preallocate",
	"log.retention.bytes",
	"log.retention.ms",
	"log.roll.jitter.ms",
	"log.roll.ms",
	"log.segment.bytes",
	"log.segment.delete.delay.ms",
	"max.connections.per.ip",
	"message.max.bytes",
	"min.insync.replicas",
	"num.io.threads",
	"num.network.threads",
	"num.recovery.threads.per.data.dir",
	"unclean.leader.election.enable",
}

// Dynamic reports whether a broker config may be changed through the
// admin APIs (DescribeConfigs shows the others read-only).
func Dynamic(name string) bool {
	_, ok := slices.BinarySearch(dynamicBrokerConfigs, name)
	return ok
}

// WithDynamic returns b with the metadata image's dynamic broker configs
// layered above its static ones: node (this node's) over cluster (the
// cluster-wide default). Entries were validated when they were written;
// one that no longer parses or is no longer dynamic is ignored, and if
// the layers together no longer resolve every topic default (a value that
// converts outside a topic config's range), b is returned unchanged.
// Defaults that merely conflict (min.compaction.lag.ms above
// max.compaction.lag.ms, after a static config changed under a dynamic
// one) are kept, as Kafka keeps them: only an alter validates the pair.
// b itself is never modified.
func (b *Broker) WithDynamic(node, cluster map[string]string) *Broker {
	if len(node) == 0 && len(cluster) == 0 {
		return b
	}
	nb := *b
	nb.dynamicNode, nb.dynamicCluster = parseDynamic(node), parseDynamic(cluster)
	nb.fill()
	if _, err := resolveTopic(&nb, nil); err != nil {
		return b
	}
	return &nb
}

// parseDynamic parses a layer of dynamic broker configs, dropping the
// entries that fail (see WithDynamic).
func parseDynamic(configs map[string]string) map[string]Value {
	out := make(map[string]Value, len(configs))
	for _, name := range slices.Sorted(maps.Keys(configs)) {
		if !Dynamic(name) {
			continue
		}
		parsed, err := parseConfigs(Brokers, map[string]string{name: configs[name]}, true)
		if err == nil {
			out[name] = parsed[name]
		}
	}
	return out
}
