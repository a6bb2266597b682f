package config

import (
	"fmt"
	"strings"
)

// Markdown renders both tables as the README's "Configs" section: one row
// per config (topic configs first, then broker configs, each by name) with
// its scope, type, default, valid values, Takhin's classification and
// what Takhin does with it. CONFIGS.md is this output; a test keeps it up
// to date.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Configs\n\n")
	b.WriteString("Generated from `broker/config` by `go test ./broker/config -run TestConfigsMarkdown -update`; do not edit.\n\n")
	b.WriteString("Takhin recognises every Apache Kafka 4.0 topic config and the broker configs below, with Kafka 4.0's\n")
	b.WriteString("types, defaults and valid values. **Honoured**: the data path does what it says. **TriviallySatisfied**:\n")
	b.WriteString("any valid value is accepted and nothing needs doing (the note says why). **Unsupported**: only the\n")
	b.WriteString("default is accepted; any other value gets INVALID_CONFIG saying Takhin does not support it yet. Some\n")
	b.WriteString("honoured configs refuse particular values the same way (the note says which). Any other name is\n")
	b.WriteString("refused as unknown. A topic without an override takes its broker synonym, in Kafka's order.\n\n")
	for _, t := range []*Table{Topics, Brokers} {
		fmt.Fprintf(&b, "%s configs: %d honoured, %d trivially satisfied, %d unsupported.\n\n",
			capitalize(t.scope.String()), t.Count(Honoured), t.Count(TriviallySatisfied), t.Count(Unsupported))
	}
	b.WriteString("| name | scope | type | default | valid values | Takhin | note |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, t := range []*Table{Topics, Brokers} {
		for _, r := range t.rows {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s |\n",
				r.Name, r.Scope, typeName(r), markdownDefault(r), cell(r.Valid.String()), markdownClass(r), cell(markdownNote(r)))
		}
	}
	return b.String()
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// typeName is Kafka's lower-case name of a row's type.
func typeName(r Row) string {
	return strings.ToLower(r.Type.String())
}

func markdownDefault(r Row) string {
	switch {
	case r.Required:
		return "(required)"
	case r.NoDefault:
		return "null"
	case r.KafkaDefault != "":
		return fmt.Sprintf("`%s` (Kafka: `%s`)", r.Default, r.KafkaDefault)
	case r.Default == "":
		return `""`
	}
	return "`" + r.Default + "`"
}

func markdownClass(r Row) string {
	switch {
	case r.Removed:
		return r.Takhin.String() + " (removed in Kafka 4.0)"
	case r.Internal:
		return r.Takhin.String() + " (internal)"
	}
	return r.Takhin.String()
}

func markdownNote(r Row) string {
	if r.Takhin == Unsupported && !r.Removed {
		return "only the default: " + r.Note
	}
	return r.Note
}

// cell escapes a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
