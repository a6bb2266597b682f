// Package driver is the only production code with goroutines, sockets and
// real time (STYLE rule 2). It runs the same machines the simulator runs,
// on goroutine loops instead of the simulator's single thread. Its leaf
// sub-packages (osfs, tcpnet) adapt the real world to env.
//
// # Loops
//
// StartPartition and StartController each run one machine (a
// replication.Partition, a controller.Controller) on two goroutines:
//
//   - The machine goroutine owns the machine. It selects over the inbox
//     (events callers post), the executor's completions, the one timer, the
//     hand-off of work to the executor, and stop. After every Step it takes
//     each Ready in its documented order: Persist, Reads and Background
//     are queued for the executor, replies (and, for the controller, the
//     published image first) go to the callbacks, the timer is armed from
//     Deadline, a Failure is acted on, and only then Advance.
//   - The executor goroutine owns the executor.Store. It takes work one
//     item at a time, in the order the machine emitted it (so a Persist's
//     write comes before its sync, and a Persist before the next), and
//     posts each completion back: Written after the write, Synced after the
//     fsync, ReadDone, BackgroundDone.
//
// Every event is stamped with the clock's now when the machine goroutine
// steps it (the first, Recovered or Loaded, when the log was opened), so
// the now a machine sees never goes backwards, as in the simulator. The callbacks run on the machine goroutine: they must return
// promptly and must not call the loop's Stop (nor post to a loop whose
// inbox may be full).
//
// Group commit needs nothing from the driver: the machine keeps one
// Persist in flight, and every produce that arrives during its fsync goes
// into the next one.
package driver
