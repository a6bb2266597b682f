// Package replication holds the partition replica machine. On a single node
// it is a log whose high watermark is its fsynced end; next round Raft
// slides in underneath (Raft term = Kafka leader epoch, commit = high
// watermark) with the same Step/Ready/Advance surface.
//
// Machines here do no I/O: they never see env.FS or env.Network. Their
// Ready lists what an executor must do with storage; completions come back
// as events carrying now.
package replication
