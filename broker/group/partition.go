package group

// PartitionFor returns the __consumer_offsets partition of groupID among n,
// as Kafka computes it: Utils.abs(groupId.hashCode()) % n, where hashCode
// is Java's String.hashCode over UTF-16 code units and Utils.abs maps
// MIN_VALUE to 0.
func PartitionFor(groupID string, n int32) int32 {
	var h int32
	for _, r := range groupID {
		if r >= 0x10000 { // a surrogate pair: two code units
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % n
}
