// Package broker is Takhin's Kafka front end: connection machines, the
// dispatch table and one file per Kafka API. It arrives with issue 4.
package broker
