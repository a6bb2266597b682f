package broker

import "strings"

// Topic names, validated as Kafka's Topic.validate does: 1 to 249
// characters of [a-zA-Z0-9._-], not "." or "..". Only a validated name may
// become a path on disk.
const topicNameMax = 249

func validTopicName(name string) (string, bool) {
	switch {
	case name == "":
		return "the topic name is empty", false
	case name == "." || name == "..":
		return "the topic name cannot be '.' or '..'", false
	case len(name) > topicNameMax:
		return "the topic name is longer than 249 characters", false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "the topic name holds a character other than ASCII alphanumerics, '.', '_' and '-'", false
		}
	}
	return "", true
}

// collisionName is Kafka's unifyCollisionChars: '.' and '_' collide in
// metric names, so two topics may not differ only by them.
func collisionName(name string) string { return strings.ReplaceAll(name, ".", "_") }

// internalTopic reports the topics clients may not write or alter.
func internalTopic(name string) bool {
	return name == "__consumer_offsets" || name == "__transaction_state" || name == "__cluster_metadata"
}
