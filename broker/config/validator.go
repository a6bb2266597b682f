package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Validator is a constraint on a parsed value: Kafka's valid range (a
// row's Valid) or Takhin's narrower one (a row's Limit). The zero
// Validator accepts everything. Its String is what CONFIGS.md shows.
type Validator struct {
	text  string
	check func(Value) string // "" when the value passes, else why not
}

// String renders the constraint as Kafka's docs do ("[1,...]").
func (v Validator) String() string { return v.text }

// Check returns "" when value passes, else the reason it does not.
func (v Validator) Check(value Value) string {
	if v.check == nil || value.IsNull() {
		return ""
	}
	return v.check(value)
}

// atLeast accepts integers ≥ lo.
func atLeast(lo int64) Validator {
	return Validator{text: fmt.Sprintf("[%d,...]", lo), check: func(v Value) string {
		if v.Int() < lo {
			return fmt.Sprintf("value must be at least %d", lo)
		}
		return ""
	}}
}

// between accepts integers in [lo, hi].
func between(lo, hi int64) Validator {
	return Validator{text: fmt.Sprintf("[%d,...,%d]", lo, hi), check: func(v Value) string {
		if v.Int() < lo || v.Int() > hi {
			return fmt.Sprintf("value must be between %d and %d", lo, hi)
		}
		return ""
	}}
}

// betweenOr accepts integers in [lo, hi] and the one extra value.
func betweenOr(lo, hi, extra int64) Validator {
	return Validator{text: fmt.Sprintf("[%d,...,%d] or %d", lo, hi, extra), check: func(v Value) string {
		if v.Int() != extra && (v.Int() < lo || v.Int() > hi) {
			return fmt.Sprintf("value must be between %d and %d, or %d", lo, hi, extra)
		}
		return ""
	}}
}

// ratio accepts doubles in [0, 1].
func ratio() Validator {
	return Validator{text: "[0,...,1]", check: func(v Value) string {
		if v.Double() < 0 || v.Double() > 1 {
			return "value must be between 0 and 1"
		}
		return ""
	}}
}

// oneOf accepts exactly the given strings (case-sensitive, as Kafka's
// ValidString is).
func oneOf(allowed ...string) Validator {
	text := "[" + strings.Join(allowed, ", ") + "]"
	return Validator{text: text, check: func(v Value) string {
		if !slices.Contains(allowed, v.Str()) {
			return "value must be one of " + text
		}
		return ""
	}}
}

// listOf accepts lists whose every item is one of allowed (an empty list
// too, as Kafka 4.0's ValidList does).
func listOf(allowed ...string) Validator {
	text := "[" + strings.Join(allowed, ", ") + "]"
	return Validator{text: text, check: func(v Value) string {
		for _, item := range v.List() {
			if !slices.Contains(allowed, item) {
				return fmt.Sprintf("%q is not one of %s", item, text)
			}
		}
		return ""
	}}
}

// notIn refuses lists holding any of the given items (a Limit).
func notIn(refused ...string) Validator {
	return Validator{text: "not " + strings.Join(refused, ", "), check: func(v Value) string {
		for _, item := range v.List() {
			if slices.Contains(refused, item) {
				return fmt.Sprintf("%q is not implemented yet", item)
			}
		}
		return ""
	}}
}

// oneDirectory is Takhin's Limit on log.dirs: a single data directory.
func oneDirectory() Validator {
	return Validator{text: "one directory", check: func(v Value) string {
		if strings.Contains(v.Str(), ",") {
			return "Takhin keeps all data in one directory"
		}
		return ""
	}}
}

// oneReplica is Takhin's Limit on default.replication.factor: a single
// node holds one replica of every partition.
func oneReplica() Validator {
	return Validator{text: "1 (one node)", check: func(v Value) string {
		if v.Int() != 1 {
			return "Takhin is a single node: every topic has one replica"
		}
		return ""
	}}
}

// notZero refuses 0, saying what Kafka would do with it.
func notZero(kafka string) Validator {
	return Validator{text: "not 0", check: func(v Value) string {
		if v.Int() == 0 {
			return "0 is not supported by Takhin (in Kafka, " + kafka + ")"
		}
		return ""
	}}
}

// nonEmpty refuses the empty string.
func nonEmpty() Validator {
	return Validator{text: "non-empty string", check: func(v Value) string {
		if v.Str() == "" {
			return "value must not be empty"
		}
		return ""
	}}
}

// throttledReplicas accepts Kafka's replica throttle lists: "*" alone, or
// items partition:broker (an empty list too).
func throttledReplicas() Validator {
	return Validator{text: "[partitionId]:[brokerId],[partitionId]:[brokerId],... or *", check: func(v Value) string {
		items := v.List()
		if len(items) == 1 && items[0] == "*" {
			return ""
		}
		for _, item := range items {
			p, b, ok := strings.Cut(item, ":")
			if !ok || !isDigits(p) || !isDigits(b) {
				return fmt.Sprintf("%q is not partitionId:brokerId (or * alone)", item)
			}
		}
		return ""
	}}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// listeners accepts comma-separated NAME://host:port items, the host
// possibly empty (all interfaces) or a bracketed IPv6 address.
func listeners() Validator {
	return Validator{text: "NAME://host:port,...", check: func(v Value) string {
		for _, item := range strings.Split(v.Str(), ",") {
			if why := checkListener(strings.TrimSpace(item)); why != "" {
				return why
			}
		}
		return ""
	}}
}

func checkListener(item string) string {
	name, rest, ok := strings.Cut(item, "://")
	if !ok || name == "" {
		return fmt.Sprintf("listener %q is not NAME://host:port", item)
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return fmt.Sprintf("listener %q has no port", item)
	}
	port, err := strconv.Atoi(rest[i+1:])
	if err != nil || port < 0 || port > math.MaxUint16 {
		return fmt.Sprintf("listener %q has no valid port", item)
	}
	return ""
}

// onePlaintextListener is Takhin's Limit on listeners: one listener, no
// TLS or SASL yet.
func onePlaintextListener() Validator {
	return Validator{text: "one PLAINTEXT listener", check: func(v Value) string {
		items := strings.Split(v.Str(), ",")
		if len(items) != 1 {
			return "Takhin serves exactly one listener"
		}
		if name, _, _ := strings.Cut(strings.TrimSpace(items[0]), "://"); name != "PLAINTEXT" {
			return "only PLAINTEXT is implemented (no TLS or SASL yet)"
		}
		return ""
	}}
}
