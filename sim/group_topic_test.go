package sim

import "testing"

// A bug the simulator found (seed 264783275367955, a harness false alarm):
// a crash and full disks held back the Kafka clients' CreateTopics, a
// group member committed offsets for the topic meanwhile, the broker
// rightly answered UNKNOWN_TOPIC_OR_PARTITION (Kafka refuses commits for a
// topic it does not know), and the member flagged the answer as
// unexpected. With no Kafka clients the topic never exists: every commit
// must be refused that way, and none flagged. (A commit sent once the
// topic was in the image and answered so is still a violation.)
func TestCommitsBeforeTheTopicExists(t *testing.T) {
	o := Swarm(3)
	o.Clients = 0
	o.Groups, o.GroupMembers, o.OffsetsPartitions, o.SessionTimeoutMs = 1, 3, 3, 60
	o.LeavePerMille, o.MemberCrashPerMille = 0, 0
	r := Run(o)
	if !r.OK() {
		t.Fatalf("%s", r.Summary())
	}
	if g := r.Counts.Groups; g.CommitsBeforeTopic == 0 || g.CommitsAcked != 0 {
		t.Fatalf("commits refused before the topic %d, acked %d; want some refused, none acked:\n%s",
			g.CommitsBeforeTopic, g.CommitsAcked, r.Summary())
	}
}
