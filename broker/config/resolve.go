package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/internal/assert"
)

// Kafka's DescribeConfigs sources that resolution produces.
const (
	SourceTopic        = kmsg.ConfigSourceDynamicTopicConfig
	SourceStaticBroker = kmsg.ConfigSourceStaticBrokerConfig
	SourceDefault      = kmsg.ConfigSourceDefaultConfig
)

// Entry is one resolved config, as DescribeConfigs reports it.
type Entry struct {
	Row Row
	// Value is the effective value; null when nothing set a config that
	// has no default.
	Value Value
	// Source is where Value came from: SourceTopic, SourceStaticBroker or
	// SourceDefault.
	Source kmsg.ConfigSource
	// Synonyms lists every name that has a value for this config, highest
	// precedence first: the topic override, then the broker synonyms that
	// are set or have a default (each in its own unit), as Kafka's
	// DescribeConfigs include_synonyms does.
	Synonyms []SynonymEntry
}

// IsDefault reports whether nothing configured the entry.
func (e Entry) IsDefault() bool { return e.Source == SourceDefault }

// SynonymEntry is one synonym's value and source.
type SynonymEntry struct {
	Name   string
	Value  string
	Source kmsg.ConfigSource
}

// Resolved is a topic's effective config: the typed values the data path
// honours, and every entry for DescribeConfigs.
type Resolved struct {
	RetentionMs    int64 // retention.ms; -1: no time limit
	RetentionBytes int64 // retention.bytes; negative: no size limit
	// SegmentBytes is internal.segment.bytes when set, else
	// segment.bytes.
	SegmentBytes         int64
	SegmentMs            int64 // segment.ms
	SegmentJitterMs      int64 // segment.jitter.ms
	IndexIntervalBytes   int64 // index.interval.bytes
	MaxMessageBytes      int32 // max.message.bytes
	LogAppendTime        bool  // message.timestamp.type=LogAppendTime
	TimestampBeforeMaxMs int64 // message.timestamp.before.max.ms
	TimestampAfterMaxMs  int64 // message.timestamp.after.max.ms
	// Delete and Compact are cleanup.policy's two policies; neither means
	// nothing is ever deleted.
	Delete, Compact bool
	// The log cleaner's: delete.retention.ms, min.compaction.lag.ms,
	// max.compaction.lag.ms, min.cleanable.dirty.ratio.
	DeleteRetentionMs                      int64
	MinCompactionLagMs, MaxCompactionLagMs int64
	MinCleanableDirtyRatio                 float64
	MinInsyncReplicas                      int32 // min.insync.replicas
	FlushMessages                          int64 // flush.messages

	entries []Entry // one per row of Topics, in its order (by name)
}

// Entries returns every topic config's entry, sorted by name, internal
// and removed ones included (DescribeConfigs lists only those whose
// Row.Described is true). The slice is shared: never modify it.
func (r Resolved) Entries() []Entry { return slices.Clip(r.entries) }

// Entry returns the entry of one topic config.
func (r Resolved) Entry(name string) (Entry, bool) {
	i, ok := Topics.byName[name]
	if !ok || i >= len(r.entries) {
		return Entry{}, false
	}
	return r.entries[i], true
}

// ValidateTopicConfigs checks configs given through the admin APIs
// (CreateTopics, AlterConfigs, IncrementalAlterConfigs): every name known
// (an error names all unknown ones), none internal, every value valid and
// supported, and min.compaction.lag.ms ≤ max.compaction.lag.ms. It reports
// the first problem in name order.
func ValidateTopicConfigs(configs map[string]string) error {
	parsed, err := parseConfigs(Topics, configs, true)
	if err != nil {
		return err
	}
	lag := func(name string) Value {
		if v, ok := parsed[name]; ok {
			return v
		}
		row, _ := Topics.Lookup(name)
		return defaultValue(row)
	}
	return checkCompactionLags(lag("min.compaction.lag.ms"), lag("max.compaction.lag.ms"))
}

// ValidateBrokerConfigs checks broker configs given through the admin
// APIs (dynamic broker configs, later) as ValidateTopicConfigs does.
func ValidateBrokerConfigs(configs map[string]string) error {
	_, err := parseConfigs(Brokers, configs, true)
	return err
}

// parseConfigs parses configs of t's scope. admin refuses internal rows.
func parseConfigs(t *Table, configs map[string]string, admin bool) (map[string]Value, error) {
	names := slices.Sorted(maps.Keys(configs))
	var unknown []string
	for _, name := range names {
		if _, ok := t.Lookup(name); !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		return nil, &Error{Kind: ErrUnknown, Name: strings.Join(unknown, ", "),
			Reason: fmt.Sprintf("unknown %s config name", t.scope)}
	}
	parsed := make(map[string]Value, len(configs))
	for _, name := range names {
		row, _ := t.Lookup(name)
		if admin && row.Internal {
			return nil, &Error{Kind: ErrInternal, Name: name, Value: configs[name],
				Reason: "internal (test-only): only the broker's static config may set it, not the admin APIs"}
		}
		v, err := ParseValue(row, configs[name])
		if err != nil {
			return nil, err
		}
		if err := CheckSupported(row, v); err != nil {
			return nil, err
		}
		parsed[name] = v
	}
	return parsed, nil
}

func checkCompactionLags(lo, hi Value) error {
	if lo.Int() > hi.Int() {
		return invalid("min.compaction.lag.ms", lo.String(),
			fmt.Sprintf("must not exceed max.compaction.lag.ms (%s)", hi.String()))
	}
	return nil
}

// TopicConfig resolves a topic's effective config: each topic config
// takes the topic's override if there is one, else its first broker
// synonym with a value (set in b, or a default), converted to its unit,
// else its own default. The overrides come from the metadata image, so
// internal knobs are accepted; unknown, invalid or unsupported ones are
// errors, as are broker values that convert outside the topic config's
// range and min.compaction.lag.ms above max.compaction.lag.ms. It is the
// validating form; what a stored topic runs with is EffectiveTopic's.
func TopicConfig(b *Broker, overrides map[string]string) (Resolved, error) {
	parsed, err := parseConfigs(Topics, overrides, false)
	if err != nil {
		return Resolved{}, err
	}
	r, err := resolveTopic(b, parsed)
	if err != nil {
		return Resolved{}, err
	}
	lo, _ := r.Entry("min.compaction.lag.ms")
	hi, _ := r.Entry("max.compaction.lag.ms")
	if err := checkCompactionLags(lo.Value, hi.Value); err != nil {
		return Resolved{}, err
	}
	return r, nil
}

// EffectiveTopic is what a topic with these stored overrides runs with
// and DescribeConfigs shows. The overrides were validated when they were
// written, so nothing here refuses them whole, as Kafka's
// LogConfig.fromProps does not: an override that no longer parses (a
// value Takhin later stopped accepting) is dropped alone, and
// min.compaction.lag.ms above max.compaction.lag.ms (a broker default
// changed under a topic's override) is kept as it is. Dropping every
// override instead would turn a topic's retention.ms=-1 or
// cleanup.policy=compact into the broker's defaults, and delete its data.
func EffectiveTopic(b *Broker, overrides map[string]string) Resolved {
	kept := make(map[string]Value, len(overrides))
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		parsed, err := parseConfigs(Topics, map[string]string{name: overrides[name]}, false)
		if err == nil {
			kept[name] = parsed[name]
		}
	}
	r, err := resolveTopic(b, kept)
	if err != nil {
		// Only broker values convert here, and the broker config resolved
		// every topic default when it was loaded or layered (WithDynamic).
		assert.Failf("the broker config no longer resolves topic defaults: %v", err)
	}
	return r
}

// resolveTopic resolves every topic config over parsed overrides (see
// TopicConfig), without checking configs against one another.
func resolveTopic(b *Broker, parsed map[string]Value) (Resolved, error) {
	assert.That(b != nil, "resolving topic configs needs the broker config")
	r := Resolved{entries: make([]Entry, 0, len(Topics.rows))}
	for _, row := range Topics.rows {
		e, err := resolveTopicEntry(b, row, parsed)
		if err != nil {
			return Resolved{}, err
		}
		r.entries = append(r.entries, e)
	}
	r.fill()
	return r, nil
}

// resolveTopicEntry resolves one topic config (see TopicConfig).
func resolveTopicEntry(b *Broker, row Row, overrides map[string]Value) (Entry, error) {
	e := Entry{Row: row, Value: defaultValue(row), Source: SourceDefault}
	chosen := false
	if v, ok := overrides[row.Name]; ok {
		e.Value, e.Source, chosen = v, SourceTopic, true
		e.Synonyms = append(e.Synonyms, SynonymEntry{Name: row.Name, Value: v.String(), Source: SourceTopic})
	}
	for _, syn := range row.Synonyms {
		bv, source := b.value(syn.Name)
		if bv.IsNull() {
			continue
		}
		e.Synonyms = append(e.Synonyms, SynonymEntry{Name: syn.Name, Value: bv.String(), Source: source})
		if chosen {
			continue
		}
		v, err := convertSynonym(row, syn, bv)
		if err != nil {
			return Entry{}, err
		}
		e.Value, e.Source, chosen = v, source, true
	}
	return e, nil
}

// convertSynonym turns a broker synonym's value into the topic config's
// unit and type, and checks it against the topic config's range.
func convertSynonym(row Row, syn Synonym, bv Value) (Value, error) {
	v := bv
	if row.Type != bv.Type() || syn.Scale != 1 || syn.ClampNegative {
		n := bv.Int()
		if syn.ClampNegative && n < 0 {
			n = -1
		} else {
			// Synonyms scaled by more than 1 are ints (a table test), so
			// the product fits in an int64.
			n *= syn.Scale
		}
		v = intValue(row.Type, n)
	}
	if why := row.Valid.Check(v); why != "" {
		return Value{}, invalid(syn.Name, bv.String(), fmt.Sprintf("as %s (%s): %s", row.Name, v.String(), why))
	}
	return v, nil
}

// fill sets the typed fields from the entries.
func (r *Resolved) fill() {
	get := func(name string) Value {
		e, ok := r.Entry(name)
		assert.That(ok, "a honoured topic config has a row: "+name)
		return e.Value
	}
	r.RetentionMs = get("retention.ms").Int()
	r.RetentionBytes = get("retention.bytes").Int()
	r.SegmentBytes = get("segment.bytes").Int()
	if internal := get("internal.segment.bytes"); !internal.IsNull() {
		r.SegmentBytes = internal.Int()
	}
	r.SegmentMs = get("segment.ms").Int()
	r.SegmentJitterMs = get("segment.jitter.ms").Int()
	r.IndexIntervalBytes = get("index.interval.bytes").Int()
	r.MaxMessageBytes = int32(get("max.message.bytes").Int())
	r.LogAppendTime = get("message.timestamp.type").Str() == "LogAppendTime"
	r.TimestampBeforeMaxMs = get("message.timestamp.before.max.ms").Int()
	r.TimestampAfterMaxMs = get("message.timestamp.after.max.ms").Int()
	policy := get("cleanup.policy").List()
	r.Delete, r.Compact = slices.Contains(policy, "delete"), slices.Contains(policy, "compact")
	r.DeleteRetentionMs = get("delete.retention.ms").Int()
	r.MinCompactionLagMs = get("min.compaction.lag.ms").Int()
	r.MaxCompactionLagMs = get("max.compaction.lag.ms").Int()
	r.MinCleanableDirtyRatio = get("min.cleanable.dirty.ratio").Double()
	r.MinInsyncReplicas = int32(get("min.insync.replicas").Int())
	r.FlushMessages = get("flush.messages").Int()
}
