package replication

import "example.com/takhin/env"

// Replica is a machine: it has Step, Ready and Advance.
type Replica struct {
	rand  *env.Rand // a seeded stream: fine
	log   *raftLog
	ready Ready
}

// raftLog is part of the machine's state, reached from its fields.
type raftLog struct {
	entries [][]byte
	//lint:ignore MachineIO fixture: proves the escape hatch suppresses
	file env.File
}

// Ready is what the machine wants done.
type Ready struct{ Persist [][]byte }

func (r *Replica) Step(event int) error { return nil }
func (r *Replica) Ready() Ready         { return r.ready }
func (r *Replica) Advance(rd Ready)     {}
