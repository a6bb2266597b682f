package config

import (
	"cmp"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/internal/assert"
)

// Scope says which resource a config belongs to.
type Scope uint8

const (
	ScopeTopic Scope = iota + 1
	ScopeBroker
)

func (s Scope) String() string {
	switch s {
	case ScopeTopic:
		return "topic"
	case ScopeBroker:
		return "broker"
	}
	return "unknown"
}

// Classification is what Takhin does with a config (see the package
// comment).
type Classification uint8

const (
	Honoured Classification = iota + 1
	TriviallySatisfied
	Unsupported
)

func (c Classification) String() string {
	switch c {
	case Honoured:
		return "Honoured"
	case TriviallySatisfied:
		return "TriviallySatisfied"
	case Unsupported:
		return "Unsupported"
	}
	return "unknown"
}

// Row is one config name. Rows are read-only: never modify one, or the
// slices it holds.
type Row struct {
	Name  string
	Scope Scope
	// Type is Kafka's type for it (Boolean, String, Int, Short, Long,
	// Double or List), as DescribeConfigs reports it.
	Type kmsg.ConfigType
	// Default is Kafka 4.0's default in string form, unless NoDefault.
	// KafkaDefault is set only where Takhin's default differs from
	// Kafka's, which is then what Default holds.
	Default      string
	KafkaDefault string
	// NoDefault: Kafka's default is null, so the config is unset unless
	// configured (a later synonym, or nothing, then applies).
	NoDefault bool
	// Required: a broker config that must be set (node.id).
	Required bool
	// Valid is Kafka's constraint on values; Limit is Takhin's narrower
	// one, whose failures are ErrUnsupported. An Unsupported row accepts
	// only its default and needs no Limit.
	Valid Validator
	Limit Validator
	// Takhin is the classification; Note says in one line what Takhin
	// does with it (CONFIGS.md shows it).
	Takhin Classification
	Note   string
	// Doc says what the config controls, in a line.
	Doc string
	// Internal: a test-only knob. The static broker config may set it; the
	// admin APIs refuse it and DescribeConfigs does not list it.
	Internal bool
	// Removed: removed in Kafka 4.0. Recognised only to refuse it with a
	// reason; DescribeConfigs does not list it.
	Removed bool
	// Synonyms are, for a topic config, the broker configs that supply its
	// value when the topic has no override, highest precedence first.
	Synonyms []Synonym
}

// Synonym is a broker config standing in for a topic config.
type Synonym struct {
	Name string
	// Scale converts the broker value to the topic config's unit: topic
	// value = broker value × Scale (1, or 60000 for minutes, 3600000 for
	// hours).
	Scale int64
	// ClampNegative: any negative value means -1 (unlimited), as Kafka
	// reads log.retention.{ms,minutes,hours}.
	ClampNegative bool
}

// Described reports whether DescribeConfigs lists the row.
func (r Row) Described() bool { return !r.Internal && !r.Removed }

// Table is the rows of one scope, sorted by name. Build one with
// newTable; the package's two are Topics and Brokers.
type Table struct {
	scope  Scope
	rows   []Row
	byName map[string]int
}

// Topics holds every Kafka 4.0 topic config, the removed ones Takhin
// still recognises, and the internal knobs.
var Topics = newTable(ScopeTopic, topicRows)

// Brokers holds the broker configs Takhin recognises.
var Brokers = newTable(ScopeBroker, brokerRows)

// newTable indexes rows, asserting the table's own invariants: unique
// names of the right scope, defaults that parse and pass their own
// validators, and Unsupported rows without a Limit.
func newTable(scope Scope, rows []Row) *Table {
	t := &Table{scope: scope, rows: slices.Clone(rows), byName: make(map[string]int, len(rows))}
	slices.SortFunc(t.rows, func(a, b Row) int { return cmp.Compare(a.Name, b.Name) })
	for i, r := range t.rows {
		if _, dup := t.byName[r.Name]; dup {
			assert.Failf("config %s listed twice", r.Name)
		}
		t.byName[r.Name] = i
		assert.That(r.Scope == scope && r.Takhin != 0 && r.Doc != "", "a row has its scope, classification and doc: "+r.Name)
		assert.That(r.Takhin != Unsupported || r.Limit.check == nil, "an Unsupported row needs no Limit: "+r.Name)
		assert.That(!r.Required || r.NoDefault, "a required config has no default: "+r.Name)
		if r.NoDefault {
			continue
		}
		if _, err := ParseValue(r, r.Default); err != nil {
			assert.Failf("default of %s: %v", r.Name, err)
		}
	}
	return t
}

// Scope is the table's scope.
func (t *Table) Scope() Scope { return t.scope }

// Lookup finds the row of a config name.
func (t *Table) Lookup(name string) (Row, bool) {
	i, ok := t.byName[name]
	if !ok {
		return Row{}, false
	}
	return t.rows[i], true
}

// Rows returns every row, sorted by name. The slice is shared: never
// modify it.
func (t *Table) Rows() []Row { return slices.Clip(t.rows) }

// Count returns how many rows have classification c.
func (t *Table) Count(c Classification) int {
	n := 0
	for _, r := range t.rows {
		if r.Takhin == c {
			n++
		}
	}
	return n
}
