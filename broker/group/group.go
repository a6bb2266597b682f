package group

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// State is a classic group's state, named as DescribeGroups and ListGroups
// report it.
type State int8

const (
	Empty State = iota
	PreparingRebalance
	CompletingRebalance
	Stable
	Dead
)

var stateNames = [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"}

func (s State) String() string { return stateNames[s] }

// Protocol is one assignment protocol a member supports, with its
// metadata (for "consumer": a ConsumerMemberMetadata).
type Protocol struct {
	Name     string
	Metadata []byte
}

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Offset is one committed offset.
type Offset struct {
	Offset          int64
	LeaderEpoch     int32
	Metadata        string
	CommitTimestamp int64 // wall ms
	// ExpireTimestamp is when an OffsetCommit v2-4 with a retention time
	// asked the offset to expire (wall ms), replacing the
	// offsets.retention.minutes rule for it (KIP-211's "old expiration
	// semantics"); noExpireTimestamp otherwise.
	ExpireTimestamp int64
}

// noExpireTimestamp is Kafka's "no explicit expire timestamp".
const noExpireTimestamp = -1

// member is one member of a classic group.
type member struct {
	id         string
	instanceID *string
	clientID   string
	clientHost string
	sessionMs  int32
	rebalMs    int32
	protocols  []Protocol
	assignment []byte
	// joinWait and syncWait answer a parked JoinGroup or SyncGroup.
	joinWait func(JoinResult)
	syncWait func(SyncResult)
	// isNew: joined in the rebalance under way and not yet answered; such
	// a member may expire while it waits (Kafka's isNew).
	isNew bool
	// session is the monotonic ns at which the member expires without a
	// heartbeat; armed is the deadline of its session timer (0: none).
	session, armed int64
}

func (m *member) static() bool { return m.instanceID != nil }

// metadataFor returns the member's metadata for protocol.
func (m *member) metadataFor(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

// group is one classic group (or a simple group that only stores offsets:
// no protocol type, always Empty).
type group struct {
	id           string
	state        State
	protocolType string
	protocol     string // chosen by the last completed join
	generation   int32
	leader       string
	members      []*member         // in join order: leader choice and responses follow it
	pending      map[string]int64  // member ids handed out with MEMBER_ID_REQUIRED → expiry (mono ns)
	static       map[string]string // instance id → member id
	offsets      map[TopicPartition]Offset
	// stateMs is when the group last changed state (wall ms): an Empty
	// group's offsets expire offsets.retention.minutes after it.
	stateMs int64
	// join is the deadline of the rebalance under way (mono ns; 0 none);
	// initialDelay marks the delayed first rebalance of an Empty group,
	// with remainingMs of rebalance timeout left to extend it and
	// newMember set when a member joined during the current delay.
	join         int64
	initialDelay bool
	remainingMs  int64
	newMember    bool
	// syncBy is when members that have not sent SyncGroup for the current
	// generation are removed (mono ns; 0 none); awaitingSync names them.
	syncBy       int64
	awaitingSync map[string]bool
	// committing counts, per partition, the offset commits not yet
	// durable. The expiry pass leaves the group alone meanwhile, so that
	// it never tombstones what such a commit is about to acknowledge;
	// DeleteGroups tombstones their partitions too, as their records come
	// before its tombstones in the log (Kafka 4.0's deleteAllOffsets sees
	// uncommitted offsets).
	committing map[TopicPartition]int
	// deleting: a deletion's tombstones are being written. The group
	// stays as the log has it until they are durable (reads see it
	// unchanged; a failed write leaves it so); requests that would
	// change it meanwhile are answered COORDINATOR_NOT_AVAILABLE.
	deleting bool
}

func newGroup(id string, nowMs int64) *group {
	return &group{id: id, pending: map[string]int64{}, static: map[string]string{},
		offsets: map[TopicPartition]Offset{}, awaitingSync: map[string]bool{}, committing: map[TopicPartition]int{},
		stateMs: nowMs}
}

func (g *group) member(id string) *member {
	for _, m := range g.members {
		if m.id == id {
			return m
		}
	}
	return nil
}

func (g *group) removeMemberEntry(id string) *member {
	i := slices.IndexFunc(g.members, func(m *member) bool { return m.id == id })
	if i < 0 {
		return nil
	}
	m := g.members[i]
	g.members = slices.Delete(g.members, i, i+1)
	if m.instanceID != nil && g.static[*m.instanceID] == id {
		delete(g.static, *m.instanceID)
	}
	delete(g.awaitingSync, id)
	if g.leader == id {
		g.leader = ""
		if len(g.members) > 0 {
			g.leader = g.members[0].id
		}
	}
	return m
}

// supports reports whether a joining member's protocols fit the group:
// the same protocol type, and (for a non-empty group) at least one
// protocol every member supports.
func (g *group) supports(protocolType string, protocols []Protocol) bool {
	if protocolType == "" || len(protocols) == 0 {
		return false
	}
	if len(g.members) == 0 {
		return true
	}
	if protocolType != g.protocolType {
		return false
	}
	return slices.ContainsFunc(protocols, func(p Protocol) bool {
		return g.allSupport(p.Name)
	})
}

func (g *group) allSupport(name string) bool {
	for _, m := range g.members {
		if !slices.ContainsFunc(m.protocols, func(p Protocol) bool { return p.Name == name }) {
			return false
		}
	}
	return true
}

// selectProtocol is Kafka's vote: among the protocols every member
// supports, each member votes for the first of its own list; the most
// votes win, ties going to the candidate listed first by the first member.
func (g *group) selectProtocol() string {
	var candidates []string
	for _, p := range g.members[0].protocols {
		if g.allSupport(p.Name) {
			candidates = append(candidates, p.Name)
		}
	}
	votes := make([]int, len(candidates))
	for _, m := range g.members {
		for _, p := range m.protocols {
			if i := slices.Index(candidates, p.Name); i >= 0 {
				votes[i]++
				break
			}
		}
	}
	best := 0
	for i := range candidates {
		if votes[i] > votes[best] {
			best = i
		}
	}
	if len(candidates) == 0 {
		return ""
	}
	return candidates[best]
}

// maxRebalanceMs is the longest rebalance timeout among the members.
func (g *group) maxRebalanceMs() int64 {
	var d int32
	for _, m := range g.members {
		d = max(d, m.rebalMs)
	}
	return int64(d)
}

// allJoined reports whether every member has rejoined and no member id is
// pending.
func (g *group) allJoined() bool {
	if len(g.pending) > 0 {
		return false
	}
	for _, m := range g.members {
		if m.joinWait == nil {
			return false
		}
	}
	return true
}

// subscribed returns the topics the members subscribe to under the chosen
// protocol, or ok=false when that is unknown (not the consumer protocol,
// or metadata that does not decode: then every topic counts as subscribed,
// as Kafka does).
func (g *group) subscribed() (topics map[string]bool, ok bool) {
	if g.protocolType != "consumer" || g.protocol == "" {
		return nil, false
	}
	topics = map[string]bool{}
	for _, m := range g.members {
		var md kmsg.ConsumerMemberMetadata
		if err := md.ReadFrom(m.metadataFor(g.protocol)); err != nil {
			return nil, false
		}
		for _, t := range md.Topics {
			topics[t] = true
		}
	}
	return topics, true
}

func sameProtocols(a, b []Protocol) bool {
	return slices.EqualFunc(a, b, func(x, y Protocol) bool {
		return x.Name == y.Name && string(x.Metadata) == string(y.Metadata)
	})
}
