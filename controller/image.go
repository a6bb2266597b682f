package controller

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/takhin-io/takhin/storage"
)

// Image is an immutable snapshot of the applied metadata: everything in
// it is durable in the metadata log. The controller builds a new Image for
// each change (copy-on-write) and never mutates one it has published, so
// a reader (the broker) may keep and share it freely. Slices returned by
// its accessors are shared too: never modify them.
type Image struct {
	clusterID     string
	nodeID        int32
	formatVersion int
	// end is the metadata log offset after the last applied record
	// (Kafka's metadata offset + 1): the image reflects exactly the
	// records below it.
	end            storage.Offset
	topics         []Topic // sorted by name
	byName         map[string]int
	byID           map[TopicID]int
	brokerConfigs  []BrokerConfigs // sorted by BrokerID; none empty
	nextProducerID int64
}

// Topic is one topic as the image holds it.
type Topic struct {
	Name       string
	ID         TopicID
	Partitions int32
	Configs    []ConfigEntry // sorted by name; nil when none
}

// BrokerConfigs are the dynamic configs of one broker (ClusterDefault for
// the cluster-wide default).
type BrokerConfigs struct {
	BrokerID int32
	Configs  []ConfigEntry // sorted by name, never empty
}

// emptyImage is the state before the first record.
var emptyImage = &Image{byName: map[string]int{}, byID: map[TopicID]int{}}

// Bootstrapped reports whether the Bootstrap record has been applied. A
// published image always is.
func (img *Image) Bootstrapped() bool { return img.clusterID != "" }

// ClusterID is the cluster id from the Bootstrap record.
func (img *Image) ClusterID() string { return img.clusterID }

// NodeID is the node id from the Bootstrap record.
func (img *Image) NodeID() int32 { return img.nodeID }

// FormatVersion is the metadata format the log was bootstrapped with.
func (img *Image) FormatVersion() int { return img.formatVersion }

// End is the metadata log offset after the last applied record: a change
// replied with Offset o is in every image with End > o.
func (img *Image) End() storage.Offset { return img.end }

// Topics returns every topic, sorted by name.
func (img *Image) Topics() []Topic { return slices.Clip(img.topics) }

// Topic looks a topic up by name.
func (img *Image) Topic(name string) (Topic, bool) {
	i, ok := img.byName[name]
	if !ok {
		return Topic{}, false
	}
	return img.topics[i], true
}

// TopicByID looks a topic up by id.
func (img *Image) TopicByID(id TopicID) (Topic, bool) {
	i, ok := img.byID[id]
	if !ok {
		return Topic{}, false
	}
	return img.topics[i], true
}

// BrokerConfigs returns the dynamic configs of broker id (ClusterDefault
// for the cluster-wide ones), sorted by name.
func (img *Image) BrokerConfigs(id int32) []ConfigEntry {
	i, ok := slices.BinarySearchFunc(img.brokerConfigs, id, func(b BrokerConfigs, id int32) int { return cmp.Compare(b.BrokerID, id) })
	if !ok {
		return nil
	}
	return slices.Clip(img.brokerConfigs[i].Configs)
}

// AllBrokerConfigs returns the dynamic configs of every broker that has
// some, sorted by broker id.
func (img *Image) AllBrokerConfigs() []BrokerConfigs { return slices.Clip(img.brokerConfigs) }

// NextProducerID is the first producer id never allocated.
func (img *Image) NextProducerID() int64 { return img.nextProducerID }

// String renders the whole image, deterministically, for logs and tests.
func (img *Image) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cluster=%s node=%d format=%d end=%d next-producer-id=%d\n",
		img.clusterID, img.nodeID, img.formatVersion, img.end, img.nextProducerID)
	for _, t := range img.topics {
		fmt.Fprintf(&b, "topic %s id=%s partitions=%d%s\n", t.Name, t.ID, t.Partitions, configsString(t.Configs))
	}
	for _, bc := range img.brokerConfigs {
		fmt.Fprintf(&b, "broker %d%s\n", bc.BrokerID, configsString(bc.Configs))
	}
	return b.String()
}

func configsString(cs []ConfigEntry) string {
	if len(cs) == 0 {
		return ""
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + "=" + c.Value
	}
	return " configs=" + strings.Join(parts, ",")
}
