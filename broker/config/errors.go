package config

import (
	"errors"
	"fmt"
)

// The sentinels below classify every error this package returns (test
// with errors.Is). The broker answers INVALID_CONFIG for all of them, with
// the error's text as the message; a bad static config stops the process.
var (
	// ErrUnknown: no row has that name (Kafka: "Unknown topic config
	// name"), or a YAML key that is not a broker config.
	ErrUnknown = errors.New("config: unknown config")
	// ErrInvalidValue: the value does not parse as the row's type or is
	// outside Kafka's valid range, or configs contradict each other.
	ErrInvalidValue = errors.New("config: invalid value")
	// ErrUnsupported: valid in Kafka 4.0, but Takhin does not support that
	// value (yet), or the config was removed in Kafka 4.0.
	ErrUnsupported = errors.New("config: not supported by Takhin")
	// ErrInternal: an internal (test-only) config given through the admin
	// APIs; only the static broker config may set it.
	ErrInternal = errors.New("config: internal config")
	// ErrMissing: a required broker config (node.id) is not set.
	ErrMissing = errors.New("config: required config missing")
	// ErrFile: the static config file is not a YAML mapping of config
	// names to scalars.
	ErrFile = errors.New("config: malformed config file")
)

// Error is one refused config: which name, what value, why. Unwrap gives
// its sentinel.
type Error struct {
	Kind   error  // one of the sentinels above
	Name   string // the config name
	Value  string // the value as given
	Reason string // why, in words the client sees
}

func (e *Error) Error() string {
	switch e.Kind {
	case ErrUnknown, ErrMissing:
		return fmt.Sprintf("%s: %s", e.Reason, e.Name)
	case ErrInvalidValue:
		return fmt.Sprintf("invalid value %q for configuration %s: %s", e.Value, e.Name, e.Reason)
	case ErrUnsupported:
		return fmt.Sprintf("%s=%s is not supported by Takhin: %s", e.Name, e.Value, e.Reason)
	default:
		return fmt.Sprintf("%s: %s", e.Name, e.Reason)
	}
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

func invalid(name, value, reason string) error {
	return &Error{Kind: ErrInvalidValue, Name: name, Value: value, Reason: reason}
}

func unsupported(name, value, reason string) error {
	return &Error{Kind: ErrUnsupported, Name: name, Value: value, Reason: reason}
}
