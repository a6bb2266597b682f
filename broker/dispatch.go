package broker

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The dispatch table: the one source of the supported APIs and versions
// (STYLE rule 21). Ranges follow Apache Kafka 4.0.1's broker intersected
// with kmsg v1.15.1, raised only where the feature works end to end.
// advertisedMin may be below handledMin (Kafka 4.0 advertises Produce
// v0-2 for librdkafka's sake, KAFKA-18659, yet refuses them): a request
// below handledMin, like any unknown key or version, closes its
// connection.
type apiEntry struct {
	key           int16
	advertisedMin int16
	handledMin    int16
	max           int16
	handle        func(*Broker, *request)
}

const produceKey int16 = 0

// apiTable is sorted by key; ApiVersions lists it in this order. It is a
// function (called once, by New) because the handlers refer back to it.
func apiTable() []apiEntry {
	return []apiEntry{
		{key: 0, advertisedMin: 0, handledMin: 3, max: 12, handle: handleProduce},
		{key: 1, advertisedMin: 4, handledMin: 4, max: 17, handle: handleFetch},
		{key: 2, advertisedMin: 1, handledMin: 1, max: 9, handle: handleListOffsets},
		{key: 3, advertisedMin: 0, handledMin: 0, max: 12, handle: handleMetadata},
		{key: 8, advertisedMin: 2, handledMin: 2, max: 9, handle: handleOffsetCommit},
		{key: 9, advertisedMin: 1, handledMin: 1, max: 9, handle: handleOffsetFetch},
		{key: 10, advertisedMin: 0, handledMin: 0, max: 6, handle: handleFindCoordinator},
		{key: 11, advertisedMin: 0, handledMin: 0, max: 9, handle: handleJoinGroup},
		{key: 12, advertisedMin: 0, handledMin: 0, max: 4, handle: handleHeartbeat},
		{key: 13, advertisedMin: 0, handledMin: 0, max: 5, handle: handleLeaveGroup},
		{key: 14, advertisedMin: 0, handledMin: 0, max: 5, handle: handleSyncGroup},
		{key: 15, advertisedMin: 0, handledMin: 0, max: 5, handle: handleDescribeGroups},
		{key: 16, advertisedMin: 0, handledMin: 0, max: 5, handle: handleListGroups},
		{key: 18, advertisedMin: 0, handledMin: 0, max: 4, handle: handleAPIVersions},
		{key: 19, advertisedMin: 2, handledMin: 2, max: 7, handle: handleCreateTopics},
		{key: 20, advertisedMin: 1, handledMin: 1, max: 6, handle: handleDeleteTopics},
		{key: 21, advertisedMin: 0, handledMin: 0, max: 2, handle: handleDeleteRecords},
		{key: 22, advertisedMin: 0, handledMin: 0, max: 5, handle: handleInitProducerID},
		{key: 23, advertisedMin: 2, handledMin: 2, max: 4, handle: handleOffsetForLeaderEpoch},
		{key: 32, advertisedMin: 1, handledMin: 1, max: 4, handle: handleDescribeConfigs},
		{key: 33, advertisedMin: 0, handledMin: 0, max: 2, handle: handleAlterConfigs},
		{key: 35, advertisedMin: 1, handledMin: 1, max: 4, handle: handleDescribeLogDirs},
		{key: 37, advertisedMin: 0, handledMin: 0, max: 3, handle: handleCreatePartitions},
		{key: 42, advertisedMin: 0, handledMin: 0, max: 2, handle: handleDeleteGroups},
		{key: 44, advertisedMin: 0, handledMin: 0, max: 1, handle: handleIncrementalAlterConfigs},
		{key: 47, advertisedMin: 0, handledMin: 0, max: 0, handle: handleOffsetDelete},
		{key: 60, advertisedMin: 0, handledMin: 0, max: 1, handle: handleDescribeCluster},
		{key: 61, advertisedMin: 0, handledMin: 0, max: 0, handle: handleDescribeProducers},
		{key: 74, advertisedMin: 0, handledMin: 0, max: 0, handle: handleListClientMetricsResources},
	}
}

// handledVersion returns the table entry of key when version is handled.
func (b *Broker) handledVersion(key, version int16) (apiEntry, bool) {
	for _, e := range b.apis {
		if e.key == key {
			return e, version >= e.handledMin && version <= e.max
		}
	}
	return apiEntry{}, false
}

// apiVersionsEntry is the table's own row for ApiVersions.
func (b *Broker) apiVersionsEntry() apiEntry {
	e, _ := b.handledVersion(apiVersionsKey, 0)
	return e
}

// advertisedKeys renders the table as ApiVersions lists it.
func (b *Broker) advertisedKeys() []kmsg.ApiVersionsResponseApiKey {
	out := make([]kmsg.ApiVersionsResponseApiKey, 0, len(b.apis))
	for _, e := range b.apis {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MinVersion, k.MaxVersion = e.key, e.advertisedMin, e.max
		out = append(out, k)
	}
	return out
}
