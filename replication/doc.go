// Package replication will hold the Raft state machine used for every
// partition and for the metadata log (next round).
package replication
