package config

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/takhin-io/takhin/internal/assert"
)

// Value is a parsed config value: typed, plus its string form (Kafka's
// rendering of the parsed value, as DescribeConfigs shows it). The zero
// Value is null: a config with no default that nothing set.
type Value struct {
	typ  kmsg.ConfigType
	set  bool
	i    int64    // Int, Short, Long
	f    float64  // Double
	b    bool     // Boolean
	s    string   // String
	list []string // List
	text string
}

// IsNull reports whether the value is unset (Kafka's null).
func (v Value) IsNull() bool { return !v.set }

// Type is the value's Kafka type.
func (v Value) Type() kmsg.ConfigType { return v.typ }

// String is the value's string form; "" when null.
func (v Value) String() string { return v.text }

// Int returns an Int, Short or Long value.
func (v Value) Int() int64 {
	if v.typ != kmsg.ConfigTypeInt && v.typ != kmsg.ConfigTypeLong && v.typ != kmsg.ConfigTypeShort {
		assert.Failf("config value of type %v read as an integer", v.typ)
	}
	return v.i
}

// Bool returns a Boolean value.
func (v Value) Bool() bool {
	assert.That(v.typ == kmsg.ConfigTypeBoolean, "config value read as a boolean")
	return v.b
}

// Double returns a Double value.
func (v Value) Double() float64 {
	assert.That(v.typ == kmsg.ConfigTypeDouble, "config value read as a double")
	return v.f
}

// Str returns a String value.
func (v Value) Str() string {
	assert.That(v.typ == kmsg.ConfigTypeString, "config value read as a string")
	return v.s
}

// List returns a List value's items. The slice is shared: never modify it.
func (v Value) List() []string {
	assert.That(v.typ == kmsg.ConfigTypeList, "config value read as a list")
	return slices.Clip(v.list)
}

// intValue builds an integer value of type typ (tests and conversions).
func intValue(typ kmsg.ConfigType, n int64) Value {
	return Value{typ: typ, set: true, i: n, text: strconv.FormatInt(n, 10)}
}

// listSeparator is Kafka's list separator: a comma with any whitespace
// around it.
var listSeparator = regexp.MustCompile(`\s*,\s*`)

// ParseValue parses s as row's type and checks it against Kafka's valid
// range (row.Valid). Like Kafka, it trims surrounding whitespace first and
// reads booleans case-insensitively. Takhin's own limits are
// CheckSupported's. Errors wrap ErrInvalidValue and say exactly why.
func ParseValue(row Row, s string) (Value, error) {
	trimmed := strings.TrimSpace(s)
	v, why := parseTyped(row.Type, trimmed)
	if why == "" {
		why = row.Valid.Check(v)
	}
	if why != "" {
		return Value{}, invalid(row.Name, s, why)
	}
	return v, nil
}

// parseTyped parses an already trimmed string; why is "" on success.
func parseTyped(typ kmsg.ConfigType, s string) (v Value, why string) {
	v = Value{typ: typ, set: true}
	switch typ {
	case kmsg.ConfigTypeBoolean:
		switch strings.ToLower(s) {
		case "true":
			v.b, v.text = true, "true"
		case "false":
			v.text = "false"
		default:
			return Value{}, "expected true or false"
		}
	case kmsg.ConfigTypeShort:
		return parseInt(v, s, 16, "a 16-bit integer (short)")
	case kmsg.ConfigTypeInt:
		return parseInt(v, s, 32, "a 32-bit integer (int)")
	case kmsg.ConfigTypeLong:
		return parseInt(v, s, 64, "a 64-bit integer (long)")
	case kmsg.ConfigTypeDouble:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return Value{}, "not a finite number (double)"
		}
		v.f, v.text = f, formatDouble(f)
	case kmsg.ConfigTypeString:
		v.s, v.text = s, s
	case kmsg.ConfigTypeList:
		if s != "" {
			v.list = listSeparator.Split(s, -1)
		}
		v.text = strings.Join(v.list, ",")
	default:
		assert.Failf("config type %v has no parser", typ)
	}
	return v, ""
}

func parseInt(v Value, s string, bits int, what string) (Value, string) {
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return Value{}, "not " + what
	}
	v.i, v.text = n, strconv.FormatInt(n, 10)
	return v, ""
}

// formatDouble renders a double as Java's Double.toString does for
// ordinary magnitudes: always with a fraction ("1.0", "0.5").
func formatDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// CheckSupported refuses a valid value Takhin does not support: any
// value of a Removed row, a value other than the default of an Unsupported
// row, or one failing the row's Limit. Errors wrap ErrUnsupported.
func CheckSupported(row Row, v Value) error {
	switch {
	case v.IsNull():
		return nil
	case row.Removed:
		return unsupported(row.Name, v.String(), "removed in Apache Kafka 4.0; "+row.Note)
	case row.Takhin == Unsupported && (row.NoDefault || v.String() != defaultValue(row).String()):
		if row.NoDefault {
			return unsupported(row.Name, v.String(), row.Note)
		}
		return unsupported(row.Name, v.String(), fmt.Sprintf("only the default (%s) is supported yet: %s", row.Default, row.Note))
	}
	if why := row.Limit.Check(v); why != "" {
		return unsupported(row.Name, v.String(), why)
	}
	return nil
}

// defaultValue is a row's parsed default, null for NoDefault rows. Table
// construction proved every default parses.
func defaultValue(row Row) Value {
	if row.NoDefault {
		return Value{typ: row.Type}
	}
	v, err := ParseValue(row, row.Default)
	if err != nil {
		assert.Failf("default of %s: %v", row.Name, err)
	}
	return v
}
