// Package broker is Takhin's Kafka front end: a single-threaded machine
// (Broker) that owns the node's client connections, decodes and encodes
// every request and response with kmsg (headers in header.go), answers
// metadata questions from the controller's published Image, and turns data
// requests into events for the partition machines and changes for the
// controller. It does no I/O: its Ready lists frames to send, connections
// to close or pause, events for partitions and proposals for the
// controller; a driver (production or simulator) carries them out.
//
// One Kafka API per file, each opening with the versions it handles and
// what it leaves out; dispatch.go's table is the single source of the
// supported ranges and generates ApiVersions.
package broker
